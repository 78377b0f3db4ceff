import StoreModel
import FHIRCore
import Foundation
import Logging

/// Opens the store a database URL names: `sqlite:PATH` (or a bare path) or `postgres://…`.
public enum StoreFactory {
    /// `preparedSearches`: one-patient search statements PostgreSQL keeps planned per connection.
    /// `probeSeconds`: how long PostgreSQL's search planner keeps its index-row counts.
    /// `waitSeconds`: the longest a request waits for a PostgreSQL connection before it is answered 503.
    public static func open(url: String, preparedSearches: Int = 64, probeSeconds: Int = 60, waitSeconds: Double = 5,
                            logger: Logger = Logger(label: "karna.store")) throws -> any ResourceStore {
        if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
            return try PostgresStore(url: url, preparedSearchesPerConnection: preparedSearches, probeSeconds: probeSeconds, waitSeconds: waitSeconds,
                                     logger: logger)
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
