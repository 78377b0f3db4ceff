import Access
import FHIRCore
import Foundation
import Store
import StoreModel

/// Which node runs a periodic job when several share one database: the one holding the job's lease, taken or
/// renewed in one statement before each run. A node that stops renewing (stopped, crashed, cut off) loses it
/// when it expires and another node's next run takes it, so notifications, orders and files go out once.
public struct JobLease: Sendable {
    let store: any ResourceStore
    /// This process, as the lease table names it.
    public let holder: String
    /// A job that writes clinical records pauses in läsläge (its writes would be refused, an outbox's after sending).
    let pausedBy: ReadOnlyMode?

    /// `holder` is the node's name (`KarnaConfiguration.nodeName`), the one its other leases and the logs use.
    public init(store: any ResourceStore, holder: String, pausedBy: ReadOnlyMode? = nil) {
        self.store = store
        self.holder = holder
        self.pausedBy = pausedBy
    }

    /// Whether this node runs `job` now, holding it for `seconds` more (a run longer than that could overlap
    /// another node's: the lease is three runs' interval, at least a minute).
    public func holds(_ job: String, seconds: Int, now: Int64 = Instant.now()) async throws -> Bool {
        if pausedBy?.current(now: now) != nil { return false }
        return try await store.acquireLease(job, holder: holder, until: now + Int64(seconds) * 1_000, now: now)
    }

    /// The lease length for a job that runs every `interval` seconds.
    public static func seconds(forInterval interval: Int) -> Int { max(60, interval * 3) }
}
