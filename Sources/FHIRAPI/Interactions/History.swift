import FHIRCore
import StoreModel
import Access

extension FHIREngine {
    /// history: instance, type and system (FHIR R4 §3.1.0.9), newest first,
    /// paged by a cursor on the store's version sequence so that writes between
    /// pages neither repeat nor skip a version.
    func history(_ request: FHIRRequest, type: String?, id: String?) async throws -> FHIRResponse {
        var query = HistoryQuery(type: type, id: id, count: try count(request))
        if let since = request.parameter("_since") {
            guard let millis = Instant.parse(since) else {
                throw FHIRError(.invalid, code: .invalid, "_since must be an instant like 2024-01-31T12:00:00Z; got '\(since)'")
            }
            query.since = millis
        }
        if let at = request.parameter("_at") {
            guard let millis = Instant.parse(at) else {
                throw FHIRError(.invalid, code: .invalid, "_at must be a date or dateTime; got '\(at)'")
            }
            query.before = millis
        }
        if let cursor = request.parameter("_cursor") {
            guard let sequence = Int64(cursor) else {
                throw FHIRError(.invalid, code: .invalid, "_cursor is a paging token the server gives in a 'next' link; '\(cursor)' is not one")
            }
            query.beforeSequence = sequence
        }
        if let id, type != nil, try await data.read(type: type!, id: id) == nil {
            throw FHIRError(.notFound, code: .notFound, "\(type!)/\(id) does not exist")
        }
        let (versions, nextCursor) = query.count == 0 ? ([], nil) : try await data.history(query)
        var bundle = BundleWriter(type: "history")
        let path = [type, id, "_history"].compactMap { $0 }.joined(separator: "/")
        var selfQuery: [String] = ["_count=\(query.count)"]
        if let since = request.parameter("_since") { selfQuery.append("_since=\(since.percentEncodedForQuery)") }
        if let at = request.parameter("_at") { selfQuery.append("_at=\(at.percentEncodedForQuery)") }
        let cursorPart = request.parameter("_cursor").map { ["_cursor=\($0)"] } ?? []
        bundle.links.append(("self", "\(baseURL)/\(path)?" + (selfQuery + cursorPart).joined(separator: "&")))
        if let nextCursor {
            bundle.links.append(("next", "\(baseURL)/\(path)?" + (selfQuery + ["_cursor=\(nextCursor)"]).joined(separator: "&")))
        }
        bundle.entries = versions.map { version in
            BundleWriter.Entry(
                fullUrl: "\(baseURL)/\(version.type)/\(version.id)",
                resource: version.isDeleted ? nil : version.json,
                request: .object(JSONObject([
                    ("method", .string(version.method.rawValue)),
                    ("url", .string(version.method == .create ? version.type : "\(version.type)/\(version.id)")),
                ])),
                response: .object(JSONObject([
                    ("status", .string(version.isDeleted ? "204" : version.method == .create ? "201" : "200")),
                    ("etag", .string("W/\"\(version.versionId)\"")),
                    ("lastModified", .string(version.lastUpdatedInstant)),
                ]))
            )
        }
        return FHIRResponse(status: 200, body: bundle.bytes())
    }
}
