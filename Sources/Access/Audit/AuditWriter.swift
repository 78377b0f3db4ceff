import Dispatch
import Metrics
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

    /// For `/metrics`: how long one group commit takes, and how many records it carries (reads waiting together).
    /// Made at each use, so a handle made before the metrics system was bootstrapped does not stay a no-op.
    static var appendTimer: Timer { Timer(label: "karna.audit.append") }
    static var batchSize: Recorder { Recorder(label: "karna.audit.batch_size") }

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
            let entries = batch.flatMap(\.entries), started = DispatchTime.now().uptimeNanoseconds
            do {
                try await store.appendAudit(entries)
                Self.appendTimer.recordNanoseconds(DispatchTime.now().uptimeNanoseconds - started)
                Self.batchSize.record(entries.count)
                for waiter in batch { waiter.done.resume() }
            } catch {
                for waiter in batch { waiter.done.resume(throwing: error) }
            }
        }
        flushing = false
    }
}
