import Foundation
import Store
import StoreModel

/// The backends a contract test runs on: SQLite in a temporary file, and a
/// throwaway PostgreSQL database.
public enum StoreBackend: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite
    case postgresql

    public var description: String { rawValue }

    /// Whether this backend can run here (PostgreSQL needs its binaries).
    public var isAvailable: Bool {
        self == .sqlite || SharedPostgres.unavailableReason == nil
    }

    /// A fresh, migrated, empty store. `scanThreshold`: the index rows above which the search planner
    /// treats a filter as broad (lowered, a handful of records take the plans of a region's millions).
    public func makeStore(scanThreshold: Int? = nil) async throws -> any ResourceStore {
        let store: any ResourceStore
        switch self {
        case .sqlite:
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("karna-test-\(UUID().uuidString).sqlite").path
            store = try SQLiteStore(path: path, scanThreshold: scanThreshold)
        case .postgresql:
            // The whole suite shares two cores and one server: a connection may be minutes' worth of
            // queue away, which is load, not an outage (the outage tests set their own bounded wait).
            store = try PostgresStore(url: try SharedPostgres.freshDatabase(), maximumConnections: 8, waitSeconds: 60, scanThreshold: scanThreshold)
        }
        try await store.migrate()
        return store
    }
}
