import FHIRCore
import Store

extension FHIREngine {
    /// search: `GET [base]/[type]?…` and `POST [base]/[type]/_search`.
    ///
    /// Until the search engine lands this answers the criteria the store
    /// indexes (`_id`, `identifier`), with `_count`; any other parameter is
    /// refused by name rather than silently ignored, so no clinician mistakes
    /// an unfiltered list for a filtered one.
    func search(_ request: FHIRRequest, type: String) async throws -> FHIRResponse {
        // POST _search sends a form; the HTTP layer has already added its fields to the query.
        let parameters = request.query
        let resultControl: Set<String> = ["_count", "_format", "_pretty", "_summary", "_elements", "_total"]
        let criteria = parameters.filter { !resultControl.contains($0.name) }
        guard !criteria.isEmpty else {
            throw FHIRError(.unsupported, code: "not-supported",
                            "searching \(type) without criteria is not supported yet; search by _id or identifier")
        }
        let query = criteria.map { "\($0.name.percentEncodedForQuery)=\($0.value.percentEncodedForQuery)" }.joined(separator: "&")
        let conditional = try ConditionalCriteria(type: type, query: query)
        let count = try count(request)
        let ids = try await store.find(conditional)
        var bundle = BundleWriter(type: "searchset")
        bundle.total = ids.count
        bundle.links.append(("self", "\(baseURL)/\(type)?\(query)&_count=\(count)"))
        if request.parameter("_summary") != "count" {
            for id in ids.prefix(count) {
                guard let stored = try await store.read(type: type, id: id), !stored.isDeleted else { continue }
                bundle.entries.append(BundleWriter.Entry(
                    fullUrl: "\(baseURL)/\(type)/\(id)", resource: stored.json,
                    search: .object(JSONObject([("mode", .string("match"))]))))
            }
        }
        return FHIRResponse(status: 200, body: bundle.bytes())
    }
}
