import FHIRCore
import StoreModel
import Access

extension FHIREngine {
    /// delete: `DELETE [base]/[type]/[id]` (FHIR R4 §3.1.0.7). The history stays
    /// readable; reading the resource answers 410 Gone.
    func delete(_ request: FHIRRequest, type: String, id: String) async throws -> FHIRResponse {
        let ifMatch = try request.ifMatch.map { (etag: String) throws(FHIRError) -> Int in try Self.version(fromETag: etag) }
        let result = try await data.commit(.delete(type: type, id: id, ifMatch: ifMatch))
        guard let stored = result.resource else {
            return FHIRResponse(status: 200, body: OperationOutcome.information("\(type)/\(id) has no current version; nothing was deleted"))
        }
        var response = FHIRResponse(status: 200, versionId: stored.versionId, lastModified: stored.lastUpdated,
                                    body: OperationOutcome.information("deleted \(type)/\(id); version \(stored.versionId) records the deletion"))
        response.outcome = .deleted
        return response
    }

    /// conditional delete: `DELETE [base]/[type]?criteria` (single match only).
    func conditionalDelete(_ request: FHIRRequest, type: String) async throws -> FHIRResponse {
        let query = request.criteriaQuery
        guard !query.isEmpty else {
            throw FHIRError(.invalid, code: .invalid, "DELETE on a type needs search criteria (conditional delete) or an id in the URL")
        }
        let matches = try await data.find(try ConditionalCriteria(type: type, query: query))
        switch matches.count {
        case 0: return FHIRResponse(status: 200, body: OperationOutcome.information("no \(type) matches '\(query)'; nothing was deleted"))
        case 1: return try await delete(request, type: type, id: matches[0])
        default:
            throw FHIRError(.preconditionFailed, code: .multipleMatches,
                            "the criteria '\(query)' match \(matches.count) resources; a conditional delete removes at most one")
        }
    }
}
