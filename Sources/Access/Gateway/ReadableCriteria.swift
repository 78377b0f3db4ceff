import FHIRCore
import Store
import StoreModel

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
            throw FHIRError(.invalid, code: .tooCostly, "the search nests chains and _has \(depth) deep; at most \(gateway.settings.maximumChainDepth) "
                            + "(KARNA_MAX_CHAIN_DEPTH)")
        }
        guard depth > 0, !seesEverything(query) else { return query }
        var query = query
        // `Patient?_id=p1&_has:Observation:subject:…` asks only about p1's observations: the inner search is
        // narrowed to the outer ids, not run over the region.
        let outerIDs = query.filters.compactMap { filter -> [String]? in
            if case .ids(let ids) = filter { return ids }
            return nil
        }.first
        var filters: [SearchFilter] = []
        for filter in query.filters { filters.append(try await readable(filter, type: query.type, outerIDs: outerIDs)) }
        query.filters = filters
        return query
    }

    /// A type every record of which the principal may find anyway: a practitioner finds any Patient in the
    /// directory, so a chain through Patient (`subject:Patient.name`) needs no rewrite of its own.
    private func findsEvery(_ type: String) -> Bool {
        type == "Patient" && principal.kind == .practitioner && principal.permissions.mayRead("Patient")
            && scopeProblem("s", type: "Patient", patientID: nil) == nil
    }

    /// A system client whose scopes let it search every type the query passes through reads what the database does.
    private func seesEverything(_ query: SearchQuery) -> Bool {
        guard principal.kind == .system else { return false }
        var types = Set([query.type])
        for filter in query.filters { Self.types(filter, into: &types) }
        return types.allSatisfy { scopeProblem("s", type: $0, patientID: nil) == nil }
    }

    private func readable(_ filter: SearchFilter, type: String, outerIDs: [String]? = nil) async throws -> SearchFilter {
        switch filter {
        case .reverseChain(let sourceType, let parameter, let inner):
            var narrowing: [SearchFilter] = []
            if let outerIDs {
                narrowing.append(.values(parameter: parameter, type: "reference", modifier: nil,
                                         values: outerIDs.map { .reference(type: type, id: $0, url: nil) }))
            }
            let sources = try await readableIDs(type: sourceType, filters: [try await readable(inner, type: sourceType)] + narrowing,
                                                what: "_has:\(sourceType):\(parameter)")
            let targets = sources.isEmpty ? [] : try await store.referenced(sourceType: sourceType, ids: sources, parameter: parameter, targetType: type)
            let ids = Set(targets.filter { $0.type == type }.map(\.id))
            return .ids(ids.isEmpty ? [Self.noMatch] : ids.sorted())
        case .chain(let parameter, let targetTypes, let inner):
            var references: [SearchValue] = []
            if targetTypes.allSatisfy(findsEvery) {
                // What the database finds through the chain the principal could find itself; only what the chain nests is rewritten.
                var rewritten: [String: SearchFilter] = [:]
                for (target, innerFilter) in inner { rewritten[target] = try await readable(innerFilter, type: target) }
                return .chain(parameter: parameter, targetTypes: targetTypes, filter: rewritten)
            }
            for target in targetTypes {
                guard let innerFilter = inner[target] else { continue }
                let ids = try await readableIDs(type: target, filters: [try await readable(innerFilter, type: target)], what: "\(parameter):\(target)")
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

    /// The ids of `type` matching `filters` that the principal may read; refuses more than the configured
    /// maximum, and a part whose matches it would take more than ten times that many looks to sort out.
    private func readableIDs(type: String, filters: [SearchFilter], what: String) async throws -> [String] {
        var query = SearchQuery(type: type)
        query.filters = filters
        var ids: [String] = []
        let maximum = gateway.settings.maximumChainMatches
        var examined = 0
        while true {
            let batch = try await store.searchResources(query, limit: 1_000)
            examined += batch.count
            if examined > maximum * 10 {
                throw FHIRError(.invalid, code: .tooCostly, "'\(what)' matches more than \(maximum * 10) records to sort out which you may read; "
                                + "narrow it (KARNA_MAX_CHAIN_MATCHES)")
            }
            try await prefetchFacts(batch)
            for candidate in batch {
                guard case .allowed = try await decide(candidate, interaction: "s").0 else { continue }
                ids.append(candidate.id)
                if ids.count > maximum {
                    throw FHIRError(.invalid, code: .tooCostly, "'\(what)' matches more than \(maximum) records you may read; narrow it "
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
