import FHIRCore
import Store

extension FHIREngine {
    /// `GET [base]/Patient/[id]/$everything`: the patient, everything in the patient's compartment,
    /// and what those resources reference outside it (practitioners, organisations, medications),
    /// paged by a (type, id) cursor. `_since` limits by last update; `start`/`end` by the clinical
    /// dates the resources carry (resources without one are always included).
    func everything(_ request: FHIRRequest, patientID: String) async throws -> FHIRResponse {
        guard let patient = try await store.read(type: "Patient", id: patientID), !patient.isDeleted else {
            throw FHIRError(.notFound, code: "not-found", "Patient/\(patientID) does not exist")
        }
        let count = try self.count(request)
        var since: Int64?
        if let text = request.parameter("_since") {
            guard let t = FHIRPathTemporal.parse(text), t.kind != .time else {
                throw FHIRError(.invalid, code: "invalid", "_since must be an instant such as 2024-01-01T00:00:00Z; got '\(text)'")
            }
            since = t.range.low
        }
        func bound(_ name: String, low: Bool) throws(FHIRError) -> Int64? {
            guard let text = request.parameter(name) else { return nil }
            guard let t = FHIRPathTemporal.parse(text), t.kind != .time else {
                throw FHIRError(.invalid, code: "invalid", "\(name) must be a date such as 2024-01-01; got '\(text)'")
            }
            return low ? t.range.low : t.range.high
        }
        let start = try bound("start", low: true), end = try bound("end", low: false)
        var after: ResourceKey?
        if let cursor = request.parameter("_cursor") {
            guard let key = ResourceKey(reference: cursor) else {
                throw FHIRError(.invalid, code: "invalid", "_cursor must be Type/id as the next link gives it; got '\(cursor)'")
            }
            after = key
        }

        let page = try await store.compartment(patientID: patientID, since: since, after: after, limit: count + 1)
        let hasMore = page.count > count
        var matches = Array(page.prefix(count))
        let indexer = SearchIndexer.r4
        var referenced = Set<ResourceKey>()
        var seen = Set(matches.map(\.key))
        matches = try matches.filter { stored in
            guard case .object(let object) = try JSONParser.parse(stored.json, limits: JSONLimits(maxDepth: 512, maxStringBytes: .max)) else { return true }
            let entries = indexer.entries(for: object, type: stored.type)
            for reference in entries.references where !reference.targetType.isEmpty && definitions.patientCompartment[reference.targetType] == nil
                && reference.targetType != "Patient" {
                referenced.insert(ResourceKey(type: reference.targetType, id: reference.targetID))
            }
            guard start != nil || end != nil else { return true }
            let dates = entries.dates.filter { $0.parameter != "_lastUpdated" }
            if dates.isEmpty { return true }
            return dates.contains { $0.high >= (start ?? .min) && $0.low <= (end ?? .max) }
        }
        var bundle = BundleWriter(type: "searchset")
        let base = "\(baseURL)/Patient/\(patientID)/$everything"
        var kept = request.query.filter { ["_since", "start", "end"].contains($0.name) }
        kept.append(("_count", String(count)))
        func url(_ extra: [(String, String)]) -> String {
            base + "?" + (kept + extra).map { "\($0.0.percentEncodedForQuery)=\($0.1.percentEncodedForQuery)" }.joined(separator: "&")
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
        for stored in try await store.read(keys: Array(referenced.subtracting(seen))) {
            bundle.entries.append(entry(stored, "include"))
        }
        return FHIRResponse(status: 200, body: bundle.bytes())
    }
}
