import StoreModel
import FHIRCore
import Foundation
import GRDB

/// The embedded store: one SQLite file in WAL mode through GRDB's
/// `DatabasePool` (concurrent readers, one serialized writer).
public final class SQLiteStore: ResourceStore {
    public let backendName = "sqlite"
    let pool: DatabasePool
    private let compartment = PatientCompartment()

    /// Opens (creating if needed) the database file at `path`, creating its folder too.
    /// `scanThreshold` tunes search planning (see `search`); tests lower it to exercise both plans.
    /// `maximumPages`: a cap on the database's size in pages (PRAGMA max_page_count), for a disk shared with others.
    public init(path: String, scanThreshold: Int? = nil, maximumPages: Int? = nil) throws {
        self.scanThreshold = scanThreshold ?? SearchSQL.scanThreshold
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.maximumReaderCount = 8
        configuration.prepareDatabase { db in
            // WAL with synchronous=NORMAL is durable across application crashes,
            // and loses at most the last commits on power loss (SQLite docs).
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            // A 64 MB page cache per connection and 256 MB of memory-mapped reads: the index tables are large
            // and SQLite's 2 MB default sends most lookups to the kernel.
            try db.execute(sql: "PRAGMA cache_size = -65536")
            try db.execute(sql: "PRAGMA mmap_size = 268435456")
            if let maximumPages { try db.execute(sql: "PRAGMA max_page_count = \(maximumPages)") }
        }
        pool = try DatabasePool(path: path, configuration: configuration)
    }

    /// A write transaction; a full disk (or the size cap) is `StoreUnavailable(.full)`, answered 503, not a fault.
    private func writing<T: Sendable>(_ updates: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.write(updates)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_FULL {
            throw StoreUnavailable(.full, retryAfterSeconds: 60)
        }
    }

    @discardableResult
    public func migrate() async throws -> [String] {
        var migrator = DatabaseMigrator()
        for migration in Migrations.all {
            migrator.registerMigration(migration.name) { db in
                for statement in migration.sqlite { try db.execute(sql: statement) }
            }
        }
        let finalMigrator = migrator
        let before = try await pool.read { db in try finalMigrator.appliedIdentifiers(db) }
        try migrator.migrate(pool)
        return Migrations.all.map(\.name).filter { !before.contains($0) }
    }

    private static let selectColumns = "v.resource_type, v.id, v.version_id, v.last_updated, v.method, v.json, v.seq, v.patient_id"

    private static func stored(_ row: Row) -> StoredResource {
        let data: Data = row[5]
        return StoredResource(
            type: row[0], id: row[1], versionId: row[2], lastUpdated: row[3],
            method: StoredResource.Method(rawValue: row[4]) ?? .update, json: [UInt8](data), sequence: row[6], patientID: row[7]
        )
    }

    public func read(type: String, id: String) async throws -> StoredResource? {
        try await pool.read { db in try Self.current(db, type: type, id: id) }
    }

    private static func current(_ db: Database, type: String, id: String) throws -> StoredResource? {
        let statement = try db.cachedStatement(sql: """
            SELECT \(selectColumns) FROM resource r
            JOIN resource_version v ON v.resource_type = r.resource_type AND v.id = r.id AND v.version_id = r.version_id
            WHERE r.resource_type = ? AND r.id = ?
            """)
        return try Row.fetchOne(statement, arguments: [type, id]).map(stored)
    }

    public func vread(type: String, id: String, versionId: Int) async throws -> StoredResource? {
        try await pool.read { db in
            let statement = try db.cachedStatement(sql: """
                SELECT \(Self.selectColumns) FROM resource_version v WHERE v.resource_type = ? AND v.id = ? AND v.version_id = ?
                """)
            return try Row.fetchOne(statement, arguments: [type, id, versionId]).map(Self.stored)
        }
    }

    public func history(_ query: HistoryQuery) async throws -> [StoredResource] {
        var conditions: [String] = []
        var arguments: StatementArguments = []
        if let type = query.type { conditions.append("v.resource_type = ?"); arguments += [type] }
        if let id = query.id { conditions.append("v.id = ?"); arguments += [id] }
        if let since = query.since { conditions.append("v.last_updated >= ?"); arguments += [since] }
        if let before = query.before { conditions.append("v.last_updated <= ?"); arguments += [before] }
        if let cursor = query.beforeSequence { conditions.append("v.seq < ?"); arguments += [cursor] }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        arguments += [query.count]
        let finalArguments = arguments
        return try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.selectColumns) FROM resource_version v \(whereClause) ORDER BY v.seq DESC LIMIT ?",
                             arguments: finalArguments).map(Self.stored)
        }
    }

    public func find(_ criteria: ConditionalCriteria) async throws -> [String] {
        try await pool.read { db in try Self.find(db, criteria) }
    }

    private static func find(_ db: Database, _ criteria: ConditionalCriteria) throws -> [String] {
        try strings(db, SearchSQL.page(criteria.search, limit: conditionalMatchLimit, dialect: .sqlite))
    }

    private static func arguments(_ statement: SQLStatement) -> StatementArguments {
        StatementArguments(statement.binds.map { value -> (any DatabaseValueConvertible) in
            switch value {
            case .text(let s): s
            case .integer(let i): i
            case .real(let d): d
            }
        })
    }

    private static func strings(_ db: Database, _ statement: SQLStatement) throws -> [String] {
        try String.fetchAll(db.cachedStatement(sql: statement.sql), arguments: arguments(statement))
    }

    private static func keys(_ db: Database, _ statement: SQLStatement) throws -> [ResourceKey] {
        try Row.fetchAll(db.cachedStatement(sql: statement.sql), arguments: arguments(statement)).map { ResourceKey(type: $0[0], id: $0[1]) }
    }

    /// Above this many index rows of its smallest filter, a single-filter search scans in id order.
    let scanThreshold: Int

    public func search(_ query: SearchQuery, limit: Int) async throws -> [String] {
        let probes = SearchSQL.probes(query, cap: scanThreshold, dialect: .sqlite)
        let scanThreshold = self.scanThreshold
        return try await pool.read { db in
            var counts: [(filter: Int, count: Int)] = []
            for probe in probes {
                counts.append((probe.filter, try Int.fetchOne(db.cachedStatement(sql: probe.statement.sql), arguments: Self.arguments(probe.statement)) ?? 0))
                if counts[counts.count - 1].count < SearchSQL.settledCount { break }
            }
            return try Self.strings(db, SearchSQL.plannedPage(query, limit: limit, dialect: .sqlite, counts: counts, threshold: scanThreshold))
        }
    }

    public func count(_ query: SearchQuery) async throws -> Int {
        let statement = SearchSQL.count(query, dialect: .sqlite)
        return try await pool.read { db in try Int.fetchOne(db.cachedStatement(sql: statement.sql), arguments: Self.arguments(statement)) ?? 0 }
    }

    public func firstMatches(_ queries: [SearchQuery], patientIDs: [String]) async throws -> [String: ResourceKey] {
        let statements = try SearchSQL.firstMatchStatements(queries, patientIDs: patientIDs, dialect: .sqlite)
        return try await pool.read { db in
            var found: [String: ResourceKey] = [:]
            for statement in statements {
                for row in try Row.fetchAll(db.cachedStatement(sql: statement.sql), arguments: Self.arguments(statement)) {
                    found[row[0]] = ResourceKey(reference: row[1])
                }
            }
            return found
        }
    }

    public func read(keys: [ResourceKey]) async throws -> [StoredResource] {
        guard !keys.isEmpty else { return [] }
        return try await pool.read { db in
            var result: [StoredResource] = []
            // One statement per type keeps the IN list on the primary key.
            for (type, group) in Dictionary(grouping: keys, by: \.type) {
                let ids = Array(Set(group.map(\.id)))
                let marks = Array(repeating: "?", count: ids.count).joined(separator: ", ")
                let rows = try Row.fetchAll(db, sql: """
                    SELECT \(Self.selectColumns) FROM resource r
                    JOIN resource_version v ON v.resource_type = r.resource_type AND v.id = r.id AND v.version_id = r.version_id
                    WHERE r.resource_type = ? AND r.id IN (\(marks)) AND r.deleted = 0
                    """, arguments: StatementArguments([type] + ids))
                result += rows.map(Self.stored)
            }
            return result
        }
    }

    public func referenced(sourceType: String, ids: [String], parameter: String, targetType: String?) async throws -> [ResourceKey] {
        guard !ids.isEmpty else { return [] }
        let statement = SearchSQL.referenced(sourceType: sourceType, ids: ids, parameter: parameter, targetType: targetType, dialect: .sqlite)
        return try await pool.read { db in try Self.keys(db, statement) }
    }

    public func referencing(sourceType: String, parameter: String, targetType: String, ids: [String]) async throws -> [ResourceKey] {
        guard !ids.isEmpty else { return [] }
        let statement = SearchSQL.referencing(sourceType: sourceType, parameter: parameter, targetType: targetType, ids: ids, dialect: .sqlite)
        return try await pool.read { db in try Self.keys(db, statement) }
    }

    public func compartment(patientID: String, since: Int64?, after: ResourceKey?, limit: Int) async throws -> [StoredResource] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT \(Self.selectColumns) FROM resource r
                JOIN resource_version v ON v.resource_type = r.resource_type AND v.id = r.id AND v.version_id = r.version_id
                WHERE r.patient_id = ? AND r.deleted = 0 AND (? IS NULL OR v.last_updated >= ?)
                  AND (? IS NULL OR r.resource_type > ? OR (r.resource_type = ? AND r.id > ?))
                ORDER BY r.resource_type, r.id LIMIT ?
                """, arguments: [patientID, since, since, after?.type, after?.type, after?.type, after?.id, limit]).map(Self.stored)
        }
    }

    public func outsideCompartments(types: [String], since: Int64?, after: ResourceKey?, limit: Int) async throws -> [StoredResource] {
        guard !types.isEmpty else { return [] }
        return try await pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT \(Self.selectColumns) FROM resource r
                JOIN resource_version v ON v.resource_type = r.resource_type AND v.id = r.id AND v.version_id = r.version_id
                WHERE r.patient_id IS NULL AND r.resource_type IN (\(Array(repeating: "?", count: types.count).joined(separator: ", "))) AND r.deleted = 0
                  AND (? IS NULL OR v.last_updated >= ?)
                  AND (? IS NULL OR r.resource_type > ? OR (r.resource_type = ? AND r.id > ?))
                ORDER BY r.resource_type, r.id LIMIT ?
                """, arguments: StatementArguments(types.map { $0 as (any DatabaseValueConvertible)? } + [since, since, after?.type, after?.type, after?.type, after?.id, limit])).map(Self.stored)
        }
    }

    public func commit(_ operations: [WriteOperation], inserting records: [ControlRecord], audit: [AuditEntry]) async throws -> [WriteResult] {
        let indexes = await WriteOperation.precomputeIndexes(operations)
        let now = Instant.now()
        let compartment = self.compartment
        return try await writing { db in
            var results: [WriteResult] = []
            results.reserveCapacity(operations.count)
            for (index, operation) in operations.enumerated() {
                if case .create(_, let criteria?) = operation.kind, let match = try Self.find(db, criteria).first {
                    results.append(WriteResult(outcome: .matched, resource: try Self.current(db, type: operation.type, id: match)))
                    continue
                }
                // One writer at a time here: the check sees every earlier commit, and no later one can slip in.
                for uniqueness in operation.guards {
                    for holder in try Self.find(db, uniqueness.criteria) where holder != operation.id {
                        if let stored = try Self.current(db, type: uniqueness.criteria.type, id: holder), !stored.isDeleted, uniqueness.holds(stored.object) {
                            throw CommitFailure(index: index, error: uniqueness.conflict(holder))
                        }
                    }
                }
                let current = try Self.current(db, type: operation.type, id: operation.id)
                let decision: VersionPolicy.Decision
                do {
                    decision = try VersionPolicy.decide(operation, current: current, now: now, compartment: compartment, index: indexes[index])
                } catch let error as FHIRError {
                    throw CommitFailure(index: index, error: error)
                }
                switch decision {
                case .none(let result):
                    results.append(result)
                case .write(let version, let outcome, let patientID, let index):
                    try Self.write(db, version, patientID: patientID, index: index, replacing: current)
                    results.append(WriteResult(outcome: outcome, resource: version))
                }
            }
            for record in records {
                try db.cachedStatement(sql: """
                    INSERT INTO control_record (kind, key, patient_id, json, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (kind, key) DO NOTHING
                    """).execute(arguments: [record.kind, record.key, record.patientID, Data(record.json), record.updatedAt])
                // Throwing rolls the whole transaction back: the resources go with the record or not at all.
                if db.changesCount == 0 { throw ControlRecordTaken(key: ControlRecordKey(kind: record.kind, key: record.key)) }
            }
            try Self.append(db, audit)
            return results
        }
    }

    // MARK: Audit log and control records

    @discardableResult
    public func appendAudit(_ entries: [AuditEntry]) async throws -> [Int64] {
        guard !entries.isEmpty else { return [] }
        return try await writing { db in try Self.append(db, entries) }
    }

    /// Chains entries onto the log; the caller's write transaction serialises appenders.
    @discardableResult
    private static func append(_ db: Database, _ entries: [AuditEntry]) throws -> [Int64] {
        guard !entries.isEmpty else { return [] }
        let last = try Row.fetchOne(db.cachedStatement(sql: "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"))
        var sequence: Int64 = last?[0] ?? 0
        var previous: String = last?[1] ?? ""
        let insert = try db.cachedStatement(sql: """
            INSERT INTO audit_log (seq, recorded_at, actor, patient_id, action, outcome, flags, json, previous_hash, hash)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        var sequences: [Int64] = []
        for entry in entries {
            sequence += 1
            let hash = AuditChain.hash(previous: previous, sequence: sequence, entry: entry)
            try insert.execute(arguments: [sequence, entry.recordedAt, entry.actor, entry.patientID, entry.action, entry.outcome,
                                           entry.flags.joined(separator: ","), Data(entry.json), previous, hash])
            sequences.append(sequence)
            previous = hash
        }
        return sequences
    }

    /// The file was opened (and created) in `init`: nothing more to reach.
    public func probe() async throws {}

    public func acquireLease(_ name: String, holder: String, until: Int64, now: Int64) async throws -> Bool {
        try await writing { db in
            try db.execute(sql: """
                INSERT INTO job_lease (name, holder, expires_at) VALUES (?, ?, ?)
                ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
                WHERE job_lease.holder = excluded.holder OR job_lease.expires_at < ?
                """, arguments: [name, holder, until, now])
            return db.changesCount > 0
        }
    }

    public func auditRecords(_ query: AuditQuery) async throws -> [AuditRecord] {
        var conditions: [String] = []
        var arguments: StatementArguments = []
        if let patientID = query.patientID { conditions.append("patient_id = ?"); arguments += [patientID] }
        if let actor = query.actor { conditions.append("actor = ?"); arguments += [actor] }
        if let action = query.action { conditions.append("action = ?"); arguments += [action] }
        if query.flag == AuditQuery.anyFlag {
            conditions.append("flags <> ''")
        } else if let flag = query.flag {
            conditions.append("flags <> '' AND (',' || flags || ',') LIKE ?")
            arguments += ["%," + flag + ",%"]
        }
        if let from = query.from { conditions.append("recorded_at >= ?"); arguments += [from] }
        if let to = query.to { conditions.append("recorded_at <= ?"); arguments += [to] }
        if let after = query.afterSequence { conditions.append("seq > ?"); arguments += [after] }
        if let before = query.beforeSequence { conditions.append("seq < ?"); arguments += [before] }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        arguments += [query.limit]
        let sql = """
            SELECT seq, recorded_at, actor, patient_id, action, outcome, flags, json, previous_hash, hash FROM audit_log
            \(whereClause) ORDER BY seq \(query.ascending ? "ASC" : "DESC") LIMIT ?
            """
        let finalArguments = arguments
        return try await pool.read { db in
            try Row.fetchAll(db, sql: sql, arguments: finalArguments).map(Self.auditRecord)
        }
    }

    /// A row of `SELECT seq, recorded_at, actor, patient_id, action, outcome, flags, json, previous_hash, hash FROM audit_log`.
    static func auditRecord(_ row: Row) -> AuditRecord {
        let flags: String = row[6]
        let data: Data = row[7]
        return AuditRecord(sequence: row[0],
                           entry: AuditEntry(recordedAt: row[1], actor: row[2], patientID: row[3], action: row[4], outcome: row[5],
                                             flags: flags.isEmpty ? [] : flags.split(separator: ",").map(String.init), json: [UInt8](data)),
                           previousHash: row[8], hash: row[9])
    }

    private static func controlRecord(_ row: Row) -> ControlRecord {
        let data: Data = row[3]
        return ControlRecord(kind: row[0], key: row[1], patientID: row[2], json: [UInt8](data), updatedAt: row[4])
    }

    public func controlRecord(kind: String, key: String) async throws -> ControlRecord? {
        try await pool.read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT kind, key, patient_id, json, updated_at FROM control_record WHERE kind = ? AND key = ?"),
                             arguments: [kind, key]).map(Self.controlRecord)
        }
    }

    public func controlRecords(kind: String, patientID: String?) async throws -> [ControlRecord] {
        try await pool.read { db in
            if let patientID {
                return try Row.fetchAll(db, sql: "SELECT kind, key, patient_id, json, updated_at FROM control_record WHERE kind = ? AND patient_id = ? ORDER BY key",
                                        arguments: [kind, patientID]).map(Self.controlRecord)
            }
            return try Row.fetchAll(db, sql: "SELECT kind, key, patient_id, json, updated_at FROM control_record WHERE kind = ? ORDER BY key",
                                    arguments: [kind]).map(Self.controlRecord)
        }
    }

    public func nextNumber(series: String) async throws -> Int64 {
        try await writing { db in
            // The counter lives in a control record of kind "sequence", its value as decimal text.
            let row = try Row.fetchOne(db.cachedStatement(sql: """
                INSERT INTO control_record (kind, key, patient_id, json, updated_at) VALUES ('sequence', ?, NULL, CAST('1' AS BLOB), ?)
                ON CONFLICT (kind, key) DO UPDATE SET json = CAST(CAST(CAST(json AS TEXT) AS INTEGER) + 1 AS TEXT), updated_at = excluded.updated_at
                RETURNING CAST(CAST(json AS TEXT) AS INTEGER)
                """), arguments: [series, Instant.now()])
            guard let value = row?[0] as Int64? else { throw FHIRError(.internalError, code: .exception, "series \(series) returned no number") }
            return value
        }
    }

    public func changeControlRecord<Result: Sendable>(kind: String, key: String,
                                                      _ change: @escaping @Sendable (ControlRecord?) throws -> ControlRecordChange<Result>) async throws -> Result {
        // SQLite has one writer: reading inside the write transaction is reading what no one else can change meanwhile.
        try await writing { db in
            let current = try Row.fetchOne(db.cachedStatement(sql: "SELECT kind, key, patient_id, json, updated_at FROM control_record WHERE kind = ? AND key = ?"),
                                           arguments: [kind, key]).map(Self.controlRecord)
            let decided = try change(current)
            switch decided.action {
            case .keep: break
            case .write(let record):
                try db.cachedStatement(sql: """
                    INSERT INTO control_record (kind, key, patient_id, json, updated_at) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (kind, key) DO UPDATE SET patient_id = excluded.patient_id, json = excluded.json, updated_at = excluded.updated_at
                    """).execute(arguments: [record.kind, record.key, record.patientID, Data(record.json), record.updatedAt])
            case .delete:
                try db.cachedStatement(sql: "DELETE FROM control_record WHERE kind = ? AND key = ?").execute(arguments: [kind, key])
            }
            try Self.append(db, decided.audit)
            return decided.result
        }
    }

    public func writeControlRecords(_ records: [ControlRecord], deleting: [ControlRecordKey], audit: [AuditEntry]) async throws {
        try await writing { db in
            for record in records {
                try db.cachedStatement(sql: """
                    INSERT INTO control_record (kind, key, patient_id, json, updated_at) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (kind, key) DO UPDATE SET patient_id = excluded.patient_id, json = excluded.json, updated_at = excluded.updated_at
                    """).execute(arguments: [record.kind, record.key, record.patientID, Data(record.json), record.updatedAt])
            }
            for key in deleting {
                try db.cachedStatement(sql: "DELETE FROM control_record WHERE kind = ? AND key = ?").execute(arguments: [key.kind, key.key])
            }
            try Self.append(db, audit)
        }
    }

    private static func write(_ db: Database, _ version: StoredResource, patientID: String?, index: SearchIndexEntries, replacing current: StoredResource?) throws {
        try db.cachedStatement(sql: """
            INSERT INTO resource_version (resource_type, id, version_id, last_updated, method, patient_id, json) VALUES (?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [version.type, version.id, version.versionId, version.lastUpdated, version.method.rawValue, patientID, Data(version.json)])
        try db.cachedStatement(sql: """
            INSERT INTO resource (resource_type, id, version_id, deleted, patient_id) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (resource_type, id) DO UPDATE SET version_id = excluded.version_id, deleted = excluded.deleted, patient_id = excluded.patient_id
            """).execute(arguments: [version.type, version.id, version.versionId, version.isDeleted, patientID])
        if current != nil {
            for table in SearchSQL.indexTables {
                try db.cachedStatement(sql: "DELETE FROM \(table) WHERE resource_type = ? AND id = ?").execute(arguments: [version.type, version.id])
            }
        }
        let key: [any DatabaseValueConvertible] = [version.type, version.id]
        func insert(_ table: String, _ columns: String, _ rows: [[(any DatabaseValueConvertible)?]]) throws {
            guard !rows.isEmpty else { return }
            let marks = Array(repeating: "?", count: rows[0].count + 2).joined(separator: ", ")
            let statement = try db.cachedStatement(sql: "INSERT INTO \(table) (resource_type, id, \(columns)) VALUES (\(marks))")
            for row in rows { try statement.execute(arguments: StatementArguments(key + row)) }
        }
        try insert("search_token", "parameter, system, code, text", index.tokens.map { [$0.parameter, $0.system, $0.code, $0.text] })
        try insert("search_string", "parameter, value, exact", index.strings.map { [$0.parameter, $0.value, $0.exact] })
        try insert("search_date", "parameter, low, high, patient_id", index.dates.map { [$0.parameter, $0.low, $0.high, patientID] })
        try insert("search_reference", "parameter, target_type, target_id, url", index.references.map { [$0.parameter, $0.targetType, $0.targetID, $0.url] })
        try insert("search_quantity", "parameter, value, system, code, unit", index.quantities.map { [$0.parameter, $0.value, $0.system, $0.code, $0.unit] })
        try insert("search_number", "parameter, value", index.numbers.map { [$0.parameter, $0.value] })
        try insert("search_uri", "parameter, uri", index.uris.map { [$0.parameter, $0.uri] })
        try insert("search_composite", "parameter, system1, code1, system2, code2, number2, low2, high2", index.composites.map {
            [$0.parameter, $0.system1, $0.code1, $0.system2, $0.code2, $0.number2, $0.low2, $0.high2]
        })
    }

    public func count(type: String?) async throws -> Int {
        try await pool.read { db in
            if let type {
                return try Int.fetchOne(db, sql: "SELECT count(*) FROM resource WHERE resource_type = ? AND deleted = 0", arguments: [type]) ?? 0
            }
            return try Int.fetchOne(db, sql: "SELECT count(*) FROM resource WHERE deleted = 0") ?? 0
        }
    }

    public func optimize() async throws {
        try await writing { db in try db.execute(sql: "PRAGMA optimize") }
    }

    public func close() async throws {
        try pool.close()
    }
}
