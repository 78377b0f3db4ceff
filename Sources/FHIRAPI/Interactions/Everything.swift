import FHIRCore
import StoreModel
import Access

extension FHIREngine {
    /// `GET [base]/Patient/[id]/$everything`: the patient, everything in the patient's compartment,
    /// and what those resources reference outside it (practitioners, organisations, medications),
    /// paged by a (type, id) cursor. `_since` limits by last update; `start`/`end` by the clinical
    /// dates the resources carry (resources without one are always included).
    func everything(_ request: FHIRRequest, patientID: String) async throws -> FHIRResponse {
        guard let patient = try await data.read(type: "Patient", id: patientID), !patient.isDeleted else {
            throw FHIRError(.notFound, code: .notFound, "Patient/\(patientID) does not exist")
        }
        let count = try self.count(request)
        var since: Int64?
        if let text = request.parameter("_since") {
            guard let t = FHIRPathTemporal.parse(text), t.kind != .time else {
                throw FHIRError(.invalid, code: .invalid, "_since must be an instant such as 2024-01-01T00:00:00Z; got '\(text)'")
            }
            since = t.range.low
        }
        func bound(_ name: String, low: Bool) throws(FHIRError) -> Int64? {
            guard let text = request.parameter(name) else { return nil }
            guard let t = FHIRPathTemporal.parse(text), t.kind != .time else {
                throw FHIRError(.invalid, code: .invalid, "\(name) must be a date such as 2024-01-01; got '\(text)'")
            }
            return low ? t.range.low : t.range.high
        }
        let start = try bound("start", low: true), end = try bound("end", low: false)
        var after: ResourceKey?
        if let cursor = request.parameter("_cursor") {
            guard let key = ResourceKey(reference: cursor) else {
                throw FHIRError(.invalid, code: .invalid, "_cursor must be Type/id as the next link gives it; got '\(cursor)'")
            }
            after = key
        }

        let page = try await data.compartment(patientID: patientID, since: since, after: after, limit: count + 1)
        let hasMore = page.count > count
        var matches = Array(page.prefix(count))
        if start != nil || end != nil {
            // The clinical dates are what the search index holds for the resource's date parameters.
            matches = try matches.filter { stored in
                guard case .object(let object) = try JSONParser.parse(stored.json, limits: .serverWritten) else { return true }
                let dates = SearchIndexer.r4.entries(for: object, type: stored.type).dates.filter { $0.parameter != "_lastUpdated" }
                return dates.isEmpty || dates.contains { $0.high >= (start ?? .min) && $0.low <= (end ?? .max) }
            }
        }
        // What the page references outside the compartment comes from the reference index, per type.
        var referenced = Set<ResourceKey>()
        for (type, group) in Dictionary(grouping: matches, by: \.type) {
            for key in try await data.referenced(sourceType: type, ids: group.map(\.id), parameter: "*", targetType: nil)
            where definitions.patientCompartment[key.type] == nil && key.type != "Patient" {
                referenced.insert(key)
            }
        }
        var seen = Set(matches.map(\.key))
        var bundle = BundleWriter(type: "searchset")
        let base = "\(baseURL)/Patient/\(patientID)/$everything"
        var kept = request.query.filter { ["_since", "start", "end"].contains($0.name) }
        kept.append(("_count", String(count)))
        func url(_ extra: [(String, String)]) -> String {
            base + "?" + FHIRRequest.queryString(kept + extra)
        }
        bundle.links.append(("self", url(after.map { [("_cursor", $0.description)] } ?? [])))
        if hasMore, let last = page.prefix(count).last { bundle.links.append(("next", url([("_cursor", last.key.description)]))) }
        func entry(_ stored: StoredResource, _ mode: String) -> BundleWriter.Entry {
            BundleWriter.Entry(fullUrl: "\(baseURL)/\(stored.type)/\(stored.id)", resource: stored.json,
                               search: .object(JSONObject([("mode", .string(mode))])))
        }
        if after == nil { bundle.entries.append(entry(patient, "match")) }
        seen.insert(patient.key)
        for stored in matches where stored.key != patient.key { bundle.entries.append(entry(stored, "match")) }
        for stored in try await data.read(keys: Array(referenced.subtracting(seen))) {
            bundle.entries.append(entry(stored, "include"))
        }
        return FHIRResponse(status: 200, body: bundle.bytes())
    }
}
