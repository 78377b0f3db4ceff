import Access
import FHIRCore
import StoreModel

/// How the export module reads in bulk, shared by `$export`, the OMOP export and the PAR delivery.
extension PatientDataSession {
    /// Every match of a search, a thousand at a time by id (unsorted: the pages follow the id).
    func everyMatch(_ query: SearchQuery) async throws -> [StoredResource] {
        var query = query, found: [StoredResource] = []
        query.sort = []
        while true {
            let (page, hasMore) = try await search(query, limit: 1_000)
            found += page.filter { !$0.isDeleted }
            guard hasMore, let last = page.last else { return found }
            query.afterID = last.id
        }
    }

    /// Every patient the session may read, `size` at a time. Each batch is read through a disclosing session named
    /// `action` whose audit records are appended once `body` is done with it (one record per patient and batch);
    /// `committed` then hears how many patients are done (a job's progress and cancellation).
    func forEachPatientBatch(size: Int, action: String, _ body: (_ batch: PatientDataSession, _ patients: [StoredResource]) async throws -> Void,
                             committed: (_ done: Int) async throws -> Void = { _ in }) async throws {
        var after: String?, done = 0
        while true {
            var query = SearchQuery(type: "Patient")
            query.afterID = after
            let audit = RequestAudit()
            let batch = disclosing(action: action, audit: audit)
            let (patients, hasMore) = try await batch.search(query, limit: size)
            try await body(batch, patients)
            try await commitAudit(audit)
            done += patients.count
            try await committed(done)
            guard hasMore, let last = patients.last?.id else { return }
            after = last
        }
    }
}
