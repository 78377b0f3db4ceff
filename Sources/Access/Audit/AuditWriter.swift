import Store
import StoreModel

/// Appends read audit records with group commit: requests that arrive while a
/// batch is being written wait for the next batch, so the chain's single
/// writer is not one transaction per read. A caller's data is released only
/// after its records are durable.
actor AuditWriter {
    private let store: any ResourceStore
    private var pending: [(entries: [AuditEntry], done: CheckedContinuation<Void, any Error>)] = []
    private var flushing = false

    init(store: any ResourceStore) {
        self.store = store
    }

    func write(_ entries: [AuditEntry]) async throws {
        guard !entries.isEmpty else { return }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            pending.append((entries, continuation))
            if !flushing {
                flushing = true
                Task { await self.flush() }
            }
        }
    }

    private func flush() async {
        while !pending.isEmpty {
            let batch = pending
            pending = []
            do {
                try await store.appendAudit(batch.flatMap(\.entries))
                for waiter in batch { waiter.done.resume() }
            } catch {
                for waiter in batch { waiter.done.resume(throwing: error) }
            }
        }
        flushing = false
    }
}
