import FHIRCore
import Store
import StoreModel

/// Keeps the organisation tree a tree within each care provider, whichever interface writes an
/// Organization: who may read a record depends on the provider at the root of its unit's chain.
struct OrganisationTreeRule: WriteRule {
    var types: Set<String> { ["Organization"] }

    func check(_ resource: JSONObject, id: String, current: StoredResource?, commit: [WriteOperation], session: PatientDataSession) async throws {
        var pending: [String: String?] = [:]
        for operation in commit where operation.type == "Organization" {
            switch operation.kind {
            case .create(let object, _), .update(let object, _): pending[operation.id] = .some(object.reference("partOf")?.id)
            case .delete: break
            }
        }
        let parentID = resource.reference("partOf")?.id
        guard let problem = try await session.gateway.directory.placementProblem(of: id, under: parentID, pending: pending) else { return }
        let why: String
        switch problem {
        case .partOfItself:
            why = "Organization/\(id) cannot be part of itself"
        case .underItsOwnPart(let parent):
            why = "Organization/\(parent) is part of Organization/\(id); placing \(id) under it would make a loop"
        case .otherProvider(let from, let to):
            why = "moving Organization/\(id) from care provider Organization/\(from) to Organization/\(to) would hand its records to another vårdgivare; create a new unit there instead"
        }
        throw FHIRError(.invalid, code: .businessRule, "partOf: \(why)", expression: ["Organization.partOf"])
    }
}
