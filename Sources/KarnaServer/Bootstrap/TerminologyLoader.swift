import FHIRCore
import Store
import Terminology

/// Takes the CodeSystems and ValueSets stored in the database (imported releases, a region's own
/// lists) into the terminology service at start-up, over the shipped subsets.
enum TerminologyLoader {
    static func load(store: any ResourceStore, into service: TerminologyService) async throws -> Int {
        var loaded = 0
        // Code systems before value sets: a value set's filters need its systems.
        for type in ["CodeSystem", "ValueSet"] {
            var query = SearchQuery(type: type)
            while true {
                let ids = try await store.search(query, limit: 200)
                for stored in try await store.read(keys: ids.map { ResourceKey(type: type, id: $0) }) where !stored.isDeleted {
                    try service.load(resource: stored.object)
                    loaded += 1
                }
                guard ids.count == 200, let last = ids.last else { break }
                query.afterID = last
            }
        }
        return loaded
    }
}
