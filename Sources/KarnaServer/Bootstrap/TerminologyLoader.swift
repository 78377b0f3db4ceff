import FHIRCore
import Store
import StoreModel
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
                let page = try await store.searchResources(query, limit: 200)
                for stored in page where !stored.isDeleted {
                    try service.load(resource: stored.object)
                    loaded += 1
                }
                guard page.count == 200, let last = page.last else { break }
                query.afterID = last.id
            }
        }
        return loaded
    }
}
