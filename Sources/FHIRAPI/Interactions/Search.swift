import FHIRCore
import StoreModel
import Access

extension FHIREngine {
    /// search: `GET [base]/[type]?…`, `POST [base]/[type]/_search`, and compartment search
    /// `GET [base]/Patient/[id]/[type]?…`.
    ///
    /// Paging follows the id order with a keyset cursor, so `next` and `previous` neither skip nor
    /// repeat a resource when others are written between pages. A one-key `_sort` pages by a keyset
    /// cursor too (`_after`: the last match's sort value and id), so each page costs what the first
    /// does; a sort by several keys pages by offset.
    func search(_ request: FHIRRequest, type: String, compartment: ResourceKey? = nil) async throws -> FHIRResponse {
        // POST _search sends a form; the HTTP layer has already added its fields to the query.
        var query = try SearchQuery.parse(type: type, parameters: request.query, baseURL: baseURL, strict: request.prefer.strictHandling,
                                          definitions: definitions)
        let count = min(query.count ?? limits.defaultPageSize, limits.maxPageSize)
        if let compartment {
            query.filters.append(try compartmentFilter(compartment, type: type))
        }
        let subset = try ResourceSubset.parse(summary: query.summary == "count" ? nil : query.summary, elements: query.elements?.joined(separator: ","))

        var page: [StoredResource] = []
        var hasMore = false
        if query.summary != "count", count > 0 {
            (page, hasMore) = try await data.search(query, limit: count)
            if query.beforeID != nil { page.reverse() }
        }
        let ids = page.map(\.id)
        var bundle = BundleWriter(type: "searchset")
        let firstPage = query.afterID == nil && query.beforeID == nil && query.offset == 0 && query.sortAfter == nil
        // The total is free when the first page holds every match. Otherwise counting a broad search
        // costs as much as the search, so it is done only when asked for (`_total=accurate`) or
        // for `_summary=count`.
        switch query.total {
        case .none?:
            break
        case .accurate?, .estimate?:
            // Only what the caller may see is counted; when that would take too long the total is left out.
            bundle.total = firstPage && !hasMore && query.summary != "count" && count > 0 ? ids.count : try await data.count(query)
        case nil:
            if query.summary == "count" || count == 0 {
                bundle.total = try await data.count(query)
            } else if firstPage && !hasMore {
                bundle.total = ids.count
            }
        }

        let base = compartment.map { "\(baseURL)/\($0.type)/\($0.id)/\(type)" } ?? "\(baseURL)/\(type)"
        bundle.links = pageLinks(query, base: base, count: count, ids: ids, last: page.last, hasMore: hasMore, request: request)

        if !page.isEmpty {
            for resource in page {
                bundle.entries.append(try entry(resource, mode: "match", subset: subset))
            }
            for resource in try await included(query, matches: ids.map { ResourceKey(type: type, id: $0) }) {
                bundle.entries.append(try entry(resource, mode: "include", subset: subset))
            }
        }
        if !query.ignored.isEmpty {
            let issues = query.ignored.map { FHIRIssue(severity: .warning, code: .notSupported, diagnostics: "ignored '\($0.name)': \($0.reason)") }
            bundle.entries.append(BundleWriter.Entry(resource: OperationOutcome.bytes(issues),
                                                     search: .object(JSONObject([("mode", .string("outcome"))]))))
        }
        return FHIRResponse(status: 200, body: bundle.bytes())
    }

    private func entry(_ stored: StoredResource, mode: String, subset: ResourceSubset?) throws -> BundleWriter.Entry {
        BundleWriter.Entry(fullUrl: "\(baseURL)/\(stored.type)/\(stored.id)", resource: try subsetted(stored, subset),
                                  search: .object(JSONObject([("mode", .string(mode))])))
    }

    /// Compartment membership: any of the compartment's parameters of `type` references the patient.
    private func compartmentFilter(_ compartment: ResourceKey, type: String) throws(FHIRError) -> SearchFilter {
        guard compartment.type == "Patient" else {
            throw FHIRError(.unsupported, code: .notSupported, "only the Patient compartment is supported, not \(compartment.type)")
        }
        guard let parameters = definitions.patientCompartment[type], !parameters.isEmpty else {
            throw FHIRError(.invalid, code: .invalid, "\(type) is not in the Patient compartment")
        }
        return .anyOf(parameters.map { .values(parameter: $0, type: "reference", modifier: nil,
                                                values: [.reference(type: "Patient", id: compartment.id, url: nil)]) })
    }

    /// `self`, `first`, `next` and `previous`, carrying the filters and result controls the server honoured.
    private func pageLinks(_ query: SearchQuery, base: String, count: Int, ids: [String], last: StoredResource?, hasMore: Bool,
                           request: FHIRRequest) -> [(String, String)] {
        var kept: [(String, String)] = query.filterText
        for (name, value) in request.query where ["_sort", "_total", "_summary", "_elements"].contains(name)
            || name.hasPrefix("_include") || name.hasPrefix("_revinclude") {
            kept.append((name, value))
        }
        kept.append(("_count", String(count)))
        func url(_ extra: [(String, String)]) -> String {
            base + "?" + FHIRRequest.queryString(kept + extra)
        }
        var current: [(String, String)] = []
        if let after = query.afterID { current.append(("_cursor", after)) }
        if let before = query.beforeID { current.append(("_before", before)) }
        if query.offset > 0 { current.append(("_offset", String(query.offset))) }
        if let after = query.sortAfter { current.append(("_after", after.encoded)) }
        var links = [("self", url(current)), ("first", url([]))]
        let backwards = query.beforeID != nil
        if query.sort.isEmpty {
            // Going forward, more rows mean a next page; going backward they mean a previous one.
            if let last = ids.last, backwards || hasMore { links.append(("next", url([("_cursor", last)]))) }
            if let first = ids.first, (query.afterID != nil) || (backwards && hasMore) { links.append(("previous", url([("_before", first)]))) }
        } else if query.isKeysetSorted {
            if hasMore, let last { links.append(("next", url([("_after", sortCursor(after: last, key: query.sort[0]).encoded)]))) }
        } else {
            if hasMore { links.append(("next", url([("_offset", String(query.offset + count))]))) }
            if query.offset > 0 { links.append(("previous", url([("_offset", String(max(0, query.offset - count)))]))) }
        }
        return links
    }

    /// The cursor after `resource` in a one-key order: its value for the key as the search index holds it
    /// (the lowest ascending, the highest descending; text in byte order, as a C-collated database
    /// and SQLite compare it).
    func sortCursor(after resource: StoredResource, key: SearchQuery.SortKey) -> SortCursor {
        if key.parameter == "_lastUpdated" { return SortCursor(value: .integer(resource.lastUpdated), id: resource.id) }
        guard case .object(let object)? = try? JSONParser.parse(resource.json) else { return SortCursor(value: nil, id: resource.id) }
        let index = SearchIndexer.r4.entries(for: object, type: resource.type)
        func pick<T>(_ values: [T], _ less: (T, T) -> Bool) -> T? { key.descending ? values.max(by: less) : values.min(by: less) }
        func textLess(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }
        let value: SortCursor.Value?
        switch key.type {
        case "date":
            let rows = index.dates.filter { $0.parameter == key.parameter }
            value = (key.descending ? rows.map(\.high).max() : rows.map(\.low).min()).map { .integer($0) }
        case "string": value = pick(index.strings.filter { $0.parameter == key.parameter }.map(\.value), textLess).map { .text($0) }
        case "token": value = pick(index.tokens.filter { $0.parameter == key.parameter }.map(\.code), textLess).map { .text($0) }
        case "reference": value = pick(index.references.filter { $0.parameter == key.parameter }.map(\.targetID), textLess).map { .text($0) }
        case "quantity": value = pick(index.quantities.filter { $0.parameter == key.parameter }.map(\.value), <).map { .real($0) }
        case "number": value = pick(index.numbers.filter { $0.parameter == key.parameter }.map(\.value), <).map { .real($0) }
        default: value = pick(index.uris.filter { $0.parameter == key.parameter }.map(\.uri), textLess).map { .text($0) }
        }
        return SortCursor(value: value, id: resource.id)
    }

    /// `_include` and `_revinclude`, repeating the `:iterate` ones over what they add (three rounds at most).
    private func included(_ query: SearchQuery, matches: [ResourceKey]) async throws -> [StoredResource] {
        guard !query.includes.isEmpty || !query.revIncludes.isEmpty else { return [] }
        var seen = Set(matches)
        var result: [StoredResource] = []
        var frontier = matches
        for round in 0..<3 {
            var found: [ResourceKey] = []
            let byType = Dictionary(grouping: frontier, by: \.type)
            for include in query.includes where round == 0 || include.iterate {
                guard let sources = byType[include.sourceType] else { continue }
                found += try await data.referenced(sourceType: include.sourceType, ids: sources.map(\.id), parameter: include.parameter,
                                                    targetType: include.targetType)
            }
            for include in query.revIncludes where round == 0 || include.iterate {
                for (targetType, targets) in byType {
                    found += try await data.referencing(sourceType: include.sourceType, parameter: include.parameter,
                                                         targetType: targetType, ids: targets.map(\.id))
                }
            }
            let fresh = found.filter { seen.insert($0).inserted }
            guard !fresh.isEmpty else { break }
            result += try await data.read(keys: fresh)
            frontier = fresh
        }
        return result
    }
}
