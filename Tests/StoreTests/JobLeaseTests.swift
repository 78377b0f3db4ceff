import Foundation
import KarnaTesting
import Store
import StoreModel
import Testing

/// Issue 29, part 5: several nodes on one database run each periodic job once — the lease is taken in one
/// statement, renewed by its holder, refused to others while it lasts, and free once it expires.
@Suite("Job leases across nodes")
struct JobLeaseTests {
    @Test("one holder at a time; the holder renews; another takes an expired lease", arguments: backends)
    func oneHolder(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let now: Int64 = 1_800_000_000_000
        #expect(try await store.acquireLease("outbox", holder: "node-a", until: now + 90_000, now: now))
        #expect(try await !store.acquireLease("outbox", holder: "node-b", until: now + 90_000, now: now + 1_000), "a second node took a held lease")
        #expect(try await store.acquireLease("outbox", holder: "node-a", until: now + 120_000, now: now + 30_000), "the holder could not renew")
        #expect(try await !store.acquireLease("outbox", holder: "node-b", until: now + 200_000, now: now + 100_000), "the renewal did not extend the lease")
        #expect(try await store.acquireLease("other-job", holder: "node-b", until: now + 90_000, now: now), "leases are per job")
        // node-a stops renewing: once its lease has expired, node-b's next run takes it and node-a's is refused.
        #expect(try await store.acquireLease("outbox", holder: "node-b", until: now + 300_000, now: now + 121_000))
        #expect(try await !store.acquireLease("outbox", holder: "node-a", until: now + 300_000, now: now + 122_000))
        try await store.close()
    }

    @Test("nodes asking at the same moment: exactly one gets the lease", arguments: backends)
    func raceForOneLease(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let now: Int64 = 1_800_000_000_000
        let granted = try await withThrowingTaskGroup(of: Bool.self) { group in
            for node in 0..<16 { group.addTask { try await store.acquireLease("race", holder: "node-\(node)", until: now + 60_000, now: now) } }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(granted == 1, "\(granted) nodes hold one job's lease")
        try await store.close()
    }
}
