import FHIRCore
import StoreModel
import Access

extension FHIREngine {
    /// create: `POST [base]/[type]` (FHIR R4 §3.1.0.7); the server assigns the id.
    /// With `If-None-Exist` it is a conditional create (§3.1.0.8.1).
    func create(_ request: FHIRRequest, type: String) async throws -> FHIRResponse {
        let resource = try validResource(request.body, type: type)
        try await requireHeldProfiles(resource, expression: type)
        var criteria: ConditionalCriteria?
        if let ifNoneExist = request.ifNoneExist {
            let query = ifNoneExist.hasPrefix("?") ? String(ifNoneExist.dropFirst()) : ifNoneExist
            let parsed = try ConditionalCriteria(type: type, query: query.split(separator: "?").last.map(String.init) ?? query)
            let matches = try await data.find(parsed)
            if matches.count > 1 {
                throw FHIRError(.preconditionFailed, code: .multipleMatches,
                                "If-None-Exist '\(ifNoneExist)' matches \(matches.count) resources; make the criteria more selective")
            }
            criteria = parsed
        }
        let id = Self.newID()
        let result = try await data.commit(.create(resource, type: type, id: id, ifNoneExist: criteria))
        guard let stored = result.resource else { throw FHIRError(.internalError, code: .exception, "the create returned no resource") }
        if result.outcome == .matched {
            return writeResponse(stored, status: 200, outcome: .matched, prefer: request.prefer, message: "\(type)/\(stored.id) already matches If-None-Exist; nothing was created")
        }
        return writeResponse(stored, status: 201, outcome: .created, prefer: request.prefer, message: "created \(type)/\(id) version \(stored.versionId)")
    }
}
