import StoreModel
import Synchronization

/// The search planner's index-row counts, kept for a short while. A count only
/// chooses which filter a search starts from, never what it answers, so a count
/// a minute old is as good as PostgreSQL's own statistics; and the same counts
/// come back all day (a unit's appointments, today's dates), each costing a
/// round trip and up to `SearchSQL.scanThreshold` index rows.
final class ProbeCounts: Sendable {
    private struct Key: Hashable {
        let sql: String
        let binds: [SQLValue]
    }

    private let lifetime: Int64
    private let capacity: Int
    private let counts = Mutex<[Key: (count: Int, until: Int64)]>([:])

    /// `seconds` 0 keeps nothing: every search counts again.
    init(seconds: Int, capacity: Int = 10_000) {
        self.lifetime = Int64(seconds) * 1_000
        self.capacity = capacity
    }

    /// How many counts are kept.
    var count: Int { counts.withLock { $0.count } }

    func count(_ statement: SQLStatement, now: Int64) -> Int? {
        guard lifetime > 0 else { return nil }
        return counts.withLock { counts in
            guard let kept = counts[Self.key(statement)], kept.until > now else { return nil }
            return kept.count
        }
    }

    func keep(_ count: Int, for statement: SQLStatement, now: Int64) {
        guard lifetime > 0 else { return }
        counts.withLock { counts in
            // Full: start over rather than track use; the next searches count again.
            if counts.count >= capacity { counts.removeAll(keepingCapacity: true) }
            counts[Self.key(statement)] = (count, now + lifetime)
        }
    }

    private static func key(_ statement: SQLStatement) -> Key {
        Key(sql: statement.sql, binds: statement.binds)
    }
}
