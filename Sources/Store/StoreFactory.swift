import StoreModel
import FHIRCore
import Foundation
import Logging

/// Opens the store a database URL names: `sqlite:PATH` (or a bare path) or `postgres://…`.
public enum StoreFactory {
    /// `preparedSearches`: one-patient search statements PostgreSQL keeps planned per connection.
    /// `probeSeconds`: how long PostgreSQL's search planner keeps its index-row counts.
    /// `waitSeconds`: the longest a request waits for a PostgreSQL connection before it is answered 503.
    /// `postgres`: pool sizes, the connect timeout and whether a pooler (PgBouncer) stands between.
    public static func open(url: String, preparedSearches: Int = 64, probeSeconds: Int = 60, waitSeconds: Double = 5,
                            postgres: PostgresOptions = PostgresOptions(), logger: Logger = Logger(label: "karna.store")) throws -> any ResourceStore {
        if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
            return try PostgresStore(url: url, maximumConnections: postgres.maximumConnections,
                                     preparedSearchesPerConnection: postgres.behindPooler ? 0 : preparedSearches, probeSeconds: probeSeconds,
                                     waitSeconds: waitSeconds, options: postgres, logger: logger)
        }
        var path = url
        if path.hasPrefix("sqlite://") { path = String(path.dropFirst("sqlite://".count)) }
        else if path.hasPrefix("sqlite:") { path = String(path.dropFirst("sqlite:".count)) }
        guard !path.isEmpty, !path.contains("://") else {
            throw FHIRError(.invalid, code: .invalid, "the database URL '\(url)' is neither sqlite:PATH nor postgres://…")
        }
        return try SQLiteStore(path: path)
    }
}

/// How Kärna connects to PostgreSQL beyond the URL (which also carries `sslmode` and `sslrootcert`).
public struct PostgresOptions: Sendable {
    /// Connections in the main pool.
    public var maximumConnections = 20
    /// Connections in the pool for one patient's prepared searches (when prepared searches are on).
    public var searchConnections = 20
    /// The longest one connection attempt may take before the database counts as unreachable.
    public var connectSeconds: Double = 5
    /// PgBouncer in transaction mode stands between: it refuses startup parameters (`jit`) and keeps no
    /// prepared statement across transactions, so neither is used (set `jit` and `random_page_cost` on the
    /// database instead: docs/operations.md).
    public var behindPooler = false

    public init(maximumConnections: Int = 20, searchConnections: Int = 20, connectSeconds: Double = 5, behindPooler: Bool = false) {
        self.maximumConnections = maximumConnections
        self.searchConnections = searchConnections
        self.connectSeconds = connectSeconds
        self.behindPooler = behindPooler
    }
}

/// A database that cannot be reached or refuses the connection, in the server's words.
public struct DatabaseConnectError: Error, CustomStringConvertible {
    public let description: String
}
