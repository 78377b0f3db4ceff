import FHIRCore
import StoreModel
import Foundation
import Access

extension FHIREngine {
    /// update: `PUT [base]/[type]/[id]` (FHIR R4 §3.1.0.6), also creating with a
    /// client-chosen id; `If-Match` makes it a version-aware update (§3.1.0.6.1).
    func update(_ request: FHIRRequest, type: String, id: String) async throws -> FHIRResponse {
        let resource = try validResource(request.body, type: type)
        try await requireHeldProfiles(resource, expression: type)
        guard let bodyID = resource.id else {
            throw FHIRError(.invalid, code: .required, "an update must carry the id in the body; add \"id\": \"\(id)\"", expression: ["\(type).id"])
        }
        guard bodyID == id else {
            throw FHIRError(.invalid, code: .invalid, "the id in the body ('\(bodyID)') differs from the id in the URL ('\(id)')", expression: ["\(type).id"])
        }
        let ifMatch = try request.ifMatch.map { (etag: String) throws(FHIRError) -> Int in try Self.version(fromETag: etag) }
        let result: WriteResult
        if let ifNoneMatch = request.ifNoneMatch {
            // `If-None-Match: *`: create only (RFC 9110 §13.1.2); the store's create refuses an existing id atomically.
            guard ifNoneMatch.trimmingCharacters(in: .whitespaces) == "*" else {
                throw FHIRError(.invalid, code: .invalid, "If-None-Match on an update takes only '*' (create if absent); got '\(ifNoneMatch)'")
            }
            do {
                result = try await data.commit(.create(resource, type: type, id: id))
            } catch let failure as CommitFailure where failure.error.category == .conflict {
                // The id taken before this request or by one at the same instant (a key violation on PostgreSQL);
                // any other conflict (a duplicate personnummer) is answered as itself.
                guard try await data.find(try ConditionalCriteria(type: type, query: "_id=\(id)")).contains(id) else { throw failure }
                throw FHIRError(.preconditionFailed, code: .conflict, "\(type)/\(id) exists and If-None-Match: * asks to create only; nothing was written")
            }
        } else {
            result = try await data.commit(.update(resource, type: type, id: id, ifMatch: ifMatch))
        }
        guard let stored = result.resource else { throw FHIRError(.internalError, code: .exception, "the update returned no resource") }
        switch result.outcome {
        case .created:
            return writeResponse(stored, status: 201, outcome: .created, prefer: request.prefer, message: "created \(type)/\(id) version \(stored.versionId)")
        case .unchanged:
            return writeResponse(stored, status: 200, outcome: .unchanged, prefer: request.prefer, message: "\(type)/\(id) is unchanged; no new version was made")
        default:
            return writeResponse(stored, status: 200, outcome: .updated, prefer: request.prefer, message: "updated \(type)/\(id) to version \(stored.versionId)")
        }
    }

    /// conditional update: `PUT [base]/[type]?criteria` (FHIR R4 §3.1.0.6.2).
    func conditionalUpdate(_ request: FHIRRequest, type: String, attempt: Int = 0) async throws -> FHIRResponse {
        let query = request.criteriaQuery
        guard !query.isEmpty else {
            throw FHIRError(.invalid, code: .invalid, "PUT on a type needs search criteria (conditional update) or an id in the URL")
        }
        let criteria = try ConditionalCriteria(type: type, query: query)
        let matches = try await data.find(criteria)
        var resource = try validResource(request.body, type: type)
        try await requireHeldProfiles(resource, expression: type)
        switch matches.count {
        case 0 where resource.id == nil && request.ifNoneMatch == nil && request.ifMatch == nil:
            // Created under the criteria, as a conditional create: a parallel conditional update with the
            // same criteria waits for this one and then finds its match, so two never both create.
            let id = Self.newID()
            resource.set("id", .string(id), insertingAt: 1)
            let result = try await data.commit(.create(resource, type: type, id: id, ifNoneExist: criteria))
            guard result.outcome == .created, let stored = result.resource else {
                guard attempt < 2 else { throw FHIRError(.conflict, code: .conflict, "the criteria '\(query)' kept matching and not matching; try again") }
                return try await conditionalUpdate(request, type: type, attempt: attempt + 1)
            }
            return writeResponse(stored, status: 201, outcome: .created, prefer: request.prefer, message: "created \(type)/\(id) version \(stored.versionId)")
        case 0:
            let id = resource.id ?? Self.newID()
            resource.set("id", .string(id), insertingAt: 1)
            var inner = request
            inner.body = .object(resource)
            return try await update(inner, type: type, id: try checkID(id))
        case 1:
            if let bodyID = resource.id, bodyID != matches[0] {
                throw FHIRError(.invalid, code: .invalid, "the body's id '\(bodyID)' differs from the matched \(type)/\(matches[0])", expression: ["\(type).id"])
            }
            resource.set("id", .string(matches[0]), insertingAt: 1)
            var inner = request
            inner.body = .object(resource)
            return try await update(inner, type: type, id: matches[0])
        default:
            throw FHIRError(.preconditionFailed, code: .multipleMatches,
                            "the criteria '\(query)' match \(matches.count) resources; a conditional update needs at most one")
        }
    }
}
