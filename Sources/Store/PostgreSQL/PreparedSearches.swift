import StoreModel
import FHIRCore
import Logging
import PostgresNIO
import Synchronization

/// One patient's searches as named statements, prepared once per pooled connection and run with
/// PostgreSQL's generic plan.
///
/// A chart's searches all start from one patient, so their best plan hardly depends on the values
/// bound; planning them anew took as long as running them (the chart overview: 2.5–3 ms of planning
/// for 4 ms of reading, more under load). They run on a pool of their own whose connections start
/// with `plan_cache_mode = force_generic_plan`: the setting holds for every statement of a
/// connection, and on the shared pool it made other statements' plans generic too (the log-review
/// queue went from 51 to 254 ms). Other searches keep one-off statements: how many rows a status or
/// a date range matches decides their plan.
final class PreparedSearches: Sendable {
    /// At most this many statements per connection, the least recently used replaced (the store makes none when it is 0).
    let limitPerConnection: Int
    /// A connection's statements by SQL text (nil where PostgreSQL refused to prepare one), each with when it was last used.
    private struct Connection {
        var statements: [String: (query: PreparedQuery?, used: UInt64)] = [:]
    }
    private let connections = Mutex<(byID: [PostgresConnection.ID: Connection], clock: UInt64)>(([:], 0))

    init(limitPerConnection: Int = 64) {
        self.limitPerConnection = limitPerConnection
    }

    /// How many statements are prepared now, over all connections.
    var count: Int {
        connections.withLock { state in state.byID.values.reduce(0) { $0 + $1.statements.values.filter { $0.query != nil }.count } }
    }

    /// Whether a search is one patient's: every part starts from one patient or from ids (the chart
    /// overview reads the Patient by id with the rest).
    static func applies(to queries: [SearchQuery]) -> Bool {
        !queries.isEmpty && queries.allSatisfy { query in
            query.beforeID == nil && query.filters.contains { filter in
                if case .ids = filter { return true }
                return SearchSQL.isOnePatient(filter)
            }
        }
    }

    /// The rows of a statement, run as a prepared statement on this connection; nil when PostgreSQL
    /// refused to prepare it or preparing is off, so the caller runs it as usual.
    func rows(_ statement: SQLStatement, on connection: PostgresConnection, logger: Logger) async throws -> [PostgresRow]? {
        guard let prepared = try await prepared(statement.sql, on: connection, logger: logger) else { return nil }
        let binds = statement.binds.map { value -> PostgresData in
            switch value {
            case .text(let s): PostgresData(string: s)
            case .integer(let i): PostgresData(int64: i)
            case .real(let d): PostgresData(double: d)
            }
        }
        return try await prepared.execute(binds).get()
    }

    /// A prepared statement's row as cells to decode. PostgresNIO labels such a statement's columns with
    /// the format its Describe answered (text) while the rows come in the binary format it asked for.
    static func cells(_ row: PostgresRow) -> [PostgresCell] {
        row.map { cell in
            var cell = cell
            cell.format = .binary
            return cell
        }
    }

    private func prepared(_ sql: String, on connection: PostgresConnection, logger: Logger) async throws -> PreparedQuery? {
        // The connection is leased to this caller alone, so nothing else changes its entry meanwhile.
        let (known, evicted) = connections.withLock { state -> (PreparedQuery??, PreparedQuery?) in
            state.clock += 1
            let now = state.clock
            if state.byID[connection.id]?.statements[sql] != nil {
                state.byID[connection.id]!.statements[sql]!.used = now
                return (.some(state.byID[connection.id]!.statements[sql]!.query), nil)
            }
            let statements = state.byID[connection.id]?.statements ?? [:]
            guard statements.count >= limitPerConnection, let oldest = statements.min(by: { $0.value.used < $1.value.used }) else {
                return (nil, nil)
            }
            state.byID[connection.id]!.statements[oldest.key] = nil
            return (nil, oldest.value.query)
        }
        if let known { return known }
        if let evicted { try await evicted.deallocate().get() }
        let prepared: PreparedQuery?
        do {
            prepared = try await connection.prepare(query: sql).get()
        } catch {
            logger.warning("a one-patient search could not be prepared and runs unprepared: \(String(reflecting: error))")
            prepared = nil
        }
        connections.withLock { state in
            // A pool replaces closed connections with new ids: forget them all rather than grow.
            if state.byID[connection.id] == nil, state.byID.count >= 1_000 { state.byID.removeAll() }
            state.byID[connection.id, default: Connection()].statements[sql] = (prepared, state.clock)
        }
        return prepared
    }
}
