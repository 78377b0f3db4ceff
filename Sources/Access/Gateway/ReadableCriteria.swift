import FHIRCore
import Store

/// Chains and `_has` evaluated over what the principal may read (issue 31, item 4). The database
/// answers a chain or `_has` by looking at the records it passes through, and a search that only
/// filters what it returns still answers *whether* such a record exists: `Patient?_id=x&_has:Condition:subject:code=…`
/// told a doctor without a care relationship a blocked diagnosis, and eleven searches narrowed a
/// stranger's HbA1c to 0.4. So each chained or reverse-chained part is searched first through the
/// gateway's own decision (not audited: nothing of it is returned), and the outer search is asked
/// only about the readable matches, by id.
extension PatientDataSession {
    /// An id no resource can have (FHIR ids are `[A-Za-z0-9\-\.]{1,64}`): matches nothing.
    static let noMatch = "!"

    /// The query with every chain and `_has` replaced by the ids the principal may read; refuses a query
    /// nested deeper than the configured maximum.
    func readable(_ query: SearchQuery) async throws -> SearchQuery {
        let depth = query.filters.map(Self.depth).max() ?? 0
        if depth > gateway.settings.maximumChainDepth {
            throw FHIRError(.invalid, code: "too-costly", "the search nests chains and _has \(depth) deep; at most \(gateway.settings.maximumChainDepth) "
                            + "(KARNA_MAX_CHAIN_DEPTH)")
        }
        guard depth > 0, !seesEverything(query) else { return query }
        var query = query
        var filters: [SearchFilter] = []
        for filter in query.filters { filters.append(try await readable(filter, type: query.type)) }
        query.filters = filters
        return query
    }

    /// A system client whose scopes let it search every type the query passes through reads what the database does.
    private func seesEverything(_ query: SearchQuery) -> Bool {
        guard principal.kind == .system else { return false }
        var types = Set([query.type])
        for filter in query.filters { Self.types(filter, into: &types) }
        return types.allSatisfy { scopeProblem("s", type: $0, patientID: nil) == nil }
    }

    private func readable(_ filter: SearchFilter, type: String) async throws -> SearchFilter {
        switch filter {
        case .reverseChain(let sourceType, let parameter, let inner):
            let sources = try await readableIDs(type: sourceType, filter: try await readable(inner, type: sourceType), what: "_has:\(sourceType):\(parameter)")
            let targets = sources.isEmpty ? [] : try await store.referenced(sourceType: sourceType, ids: sources, parameter: parameter, targetType: type)
            let ids = Set(targets.filter { $0.type == type }.map(\.id))
            return .ids(ids.isEmpty ? [Self.noMatch] : ids.sorted())
        case .chain(let parameter, let targetTypes, let inner):
            var references: [SearchValue] = []
            for target in targetTypes {
                guard let innerFilter = inner[target] else { continue }
                let ids = try await readableIDs(type: target, filter: try await readable(innerFilter, type: target), what: "\(parameter):\(target)")
                references += ids.map { .reference(type: target, id: $0, url: nil) }
            }
            return references.isEmpty ? .ids([Self.noMatch]) : .values(parameter: parameter, type: "reference", modifier: nil, values: references)
        case .anyOf(let filters):
            var rewritten: [SearchFilter] = []
            for filter in filters { rewritten.append(try await readable(filter, type: type)) }
            return .anyOf(rewritten)
        case .ids, .values, .missing:
            return filter
        }
    }

    /// The ids of `type` matching `filter` that the principal may read; refuses more than the configured maximum.
    private func readableIDs(type: String, filter: SearchFilter, what: String) async throws -> [String] {
        var query = SearchQuery(type: type)
        query.filters = [filter]
        var ids: [String] = []
        let maximum = gateway.settings.maximumChainMatches
        while true {
            let batch = try await store.searchResources(query, limit: 1_000)
            try await prefetchFacts(batch)
            for candidate in batch {
                guard case .allowed = try await decide(candidate, interaction: "s").0 else { continue }
                ids.append(candidate.id)
                if ids.count > maximum {
                    throw FHIRError(.invalid, code: "too-costly", "'\(what)' matches more than \(maximum) records you may read; narrow it "
                                    + "(KARNA_MAX_CHAIN_MATCHES)")
                }
            }
            guard batch.count == 1_000, let last = batch.last else { return ids }
            query.afterID = last.id
        }
    }

    /// How deeply chains and `_has` nest in a filter (0: none).
    static func depth(_ filter: SearchFilter) -> Int {
        switch filter {
        case .reverseChain(_, _, let inner): 1 + depth(inner)
        case .chain(_, _, let inner): 1 + (inner.values.map(depth).max() ?? 0)
        case .anyOf(let filters): filters.map(depth).max() ?? 0
        case .ids, .values, .missing: 0
        }
    }

    private static func types(_ filter: SearchFilter, into types: inout Set<String>) {
        switch filter {
        case .reverseChain(let source, _, let inner):
            types.insert(source)
            Self.types(inner, into: &types)
        case .chain(_, let targets, let inner):
            types.formUnion(targets)
            for filter in inner.values { Self.types(filter, into: &types) }
        case .anyOf(let filters):
            for filter in filters { Self.types(filter, into: &types) }
        case .ids, .values, .missing:
            break
        }
    }
}
