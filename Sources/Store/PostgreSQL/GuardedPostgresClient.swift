import StoreModel
import Dispatch
import Logging
import Metrics
import PostgresNIO
import Synchronization

/// PostgresNIO's client with a bounded wait: a request that cannot get a connection within
/// `waitSeconds` (the database is down, or every connection is busy) fails with `StoreUnavailable`
/// instead of queueing for a minute, and a lost connection or a full disk is said as such. Once a
/// connection is in hand the work takes as long as it takes; a single statement (`query`) gets the
/// bound for connecting and answering together, as the pool does not say when it has leased.
struct GuardedPostgresClient: Sendable {
    let client: PostgresClient
    let waitSeconds: Double

    func run() async { await client.run() }

    func query(_ query: PostgresQuery, logger: Logger? = nil) async throws -> PostgresRowSequence {
        try await bounded(started: nil) { try await client.query(query, logger: logger) }
    }

    func withConnection<Result: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> Result) async throws -> Result {
        let started = Started()
        return try await bounded(started: started) {
            try await client.withConnection { connection in
                try await started.leased { try await body(connection) }
            }
        }
    }

    func withTransaction<Result: Sendable>(logger: Logger, _ body: @escaping @Sendable (PostgresConnection) async throws -> Result) async throws -> Result {
        let started = Started()
        return try await bounded(started: started) {
            try await client.withTransaction(logger: logger) { connection in
                try await started.leased { try await body(connection) }
            }
        }
    }

    /// The pool's use, for `/metrics`: how long work waited for a connection, and how many are in use now.
    /// Made at each use (the registry hands back the same series) so a handle made before the metrics system
    /// was bootstrapped does not stay a no-op.
    static var waitTimer: Timer { Timer(label: "karna.db.pool.wait") }
    static var inUse: Meter { Meter(label: "karna.db.pool.in_use") }

    /// Whether the work has its connection.
    final class Started: Sendable {
        private let value = Mutex(false)
        private let asked = DispatchTime.now().uptimeNanoseconds
        func mark() { value.withLock { $0 = true } }
        var isSet: Bool { value.withLock { $0 } }

        /// Runs the work on its leased connection, counting the wait for it and the connection's use.
        func leased<Result>(_ work: () async throws -> Result) async throws -> Result {
            mark()
            GuardedPostgresClient.waitTimer.recordNanoseconds(DispatchTime.now().uptimeNanoseconds - asked)
            GuardedPostgresClient.inUse.increment()
            defer { GuardedPostgresClient.inUse.decrement() }
            return try await work()
        }
    }

    private func bounded<Result: Sendable>(started: Started?, _ work: @escaping @Sendable () async throws -> Result) async throws -> Result {
        do {
            return try await withThrowingTaskGroup(of: Result?.self) { group in
                group.addTask { try await work() }
                group.addTask {
                    try await Task.sleep(for: .milliseconds(Int64(waitSeconds * 1_000)))
                    return nil
                }
                while let next = try await group.next() {
                    if let value = next {
                        group.cancelAll()
                        return value
                    }
                    // The deadline passed: without a connection it is an outage; with one, the work goes on.
                    if started?.isSet != true {
                        group.cancelAll()
                        throw StoreUnavailable(.unreachable, retryAfterSeconds: Self.retryAfter)
                    }
                }
                throw StoreUnavailable(.unreachable, retryAfterSeconds: Self.retryAfter)
            }
        } catch let error as PostgresTransactionError {
            if let unavailable = Self.unavailable(error.closureError ?? error.beginError ?? error.commitError ?? error) { throw unavailable }
            throw error
        } catch {
            if let unavailable = Self.unavailable(error) { throw unavailable }
            throw error
        }
    }

    /// Seconds a client is asked to wait before retrying.
    static let retryAfter = 5

    /// A failure that is the database's state, not the request's.
    static func unavailable(_ error: any Error) -> StoreUnavailable? {
        if let unavailable = error as? StoreUnavailable { return unavailable }
        guard let psql = error as? PSQLError else { return nil }
        if let state = psql.serverInfo?[.sqlState] {
            // 53100 disk_full; 08 connection exceptions; 57P01–57P03 shutdown and "cannot connect now"; 25006 a write
            // that reached a read-only server (a replica, or the old primary in the moments of a failover).
            if state == "53100" { return StoreUnavailable(.full, retryAfterSeconds: 60) }
            if state.hasPrefix("08") || ["57P01", "57P02", "57P03", "53300", "25006"].contains(state) {
                return StoreUnavailable(.unreachable, retryAfterSeconds: retryAfter)
            }
            return nil
        }
        switch psql.code {
        case .connectionError, .serverClosedConnection, .uncleanShutdown, .clientClosedConnection, .poolClosed:
            return StoreUnavailable(.unreachable, retryAfterSeconds: retryAfter)
        default:
            return nil
        }
    }
}
