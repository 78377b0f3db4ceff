import FHIRCore
import Foundation
import GRDB

/// The embedded store: one SQLite file in WAL mode through GRDB's
/// `DatabasePool` (concurrent readers, one serialized writer).
public final class SQLiteStore: ResourceStore {
    public let backendName = "sqlite"
    private let pool: DatabasePool
    private let compartment = PatientCompartment()

    /// Opens (creating if needed) the database file at `path`, creating its folder too.
    public init(path: String) throws {
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
        }
        pool = try DatabasePool(path: path, configuration: configuration)
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

    private static let selectColumns = "v.resource_type, v.id, v.version_id, v.last_updated, v.method, v.json, v.seq"

    private static func stored(_ row: Row) -> StoredResource {
        let data: Data = row[5]
        return StoredResource(
            type: row[0], id: row[1], versionId: row[2], lastUpdated: row[3],
            method: StoredResource.Method(rawValue: row[4]) ?? .update, json: [UInt8](data), sequence: row[6]
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
        var candidates: Set<String>?
        func narrow(_ ids: [String]) {
            candidates = candidates.map { $0.intersection(ids) } ?? Set(ids)
        }
        if !criteria.ids.isEmpty {
            var found: [String] = []
            for id in criteria.ids {
                if let hit = try String.fetchOne(db, sql: "SELECT id FROM resource WHERE resource_type = ? AND id = ? AND deleted = 0",
                                                  arguments: [criteria.type, id]) { found.append(hit) }
            }
            narrow(found)
        }
        for token in criteria.identifiers {
            let ids: [String]
            if let system = token.system {
                ids = try String.fetchAll(db, sql: """
                    SELECT id FROM search_token WHERE resource_type = ? AND parameter = 'identifier' AND code = ? AND system = ?
                    """, arguments: [criteria.type, token.value, system])
            } else {
                ids = try String.fetchAll(db, sql: """
                    SELECT id FROM search_token WHERE resource_type = ? AND parameter = 'identifier' AND code = ?
                    """, arguments: [criteria.type, token.value])
            }
            narrow(ids)
        }
        return (candidates ?? []).sorted()
    }

    public func commit(_ operations: [WriteOperation]) async throws -> [WriteResult] {
        let now = Instant.now()
        let compartment = self.compartment
        return try await pool.write { db in
            var results: [WriteResult] = []
            results.reserveCapacity(operations.count)
            for (index, operation) in operations.enumerated() {
                if case .create(_, let criteria?) = operation.kind, let match = try Self.find(db, criteria).first {
                    results.append(WriteResult(outcome: .matched, resource: try Self.current(db, type: operation.type, id: match)))
                    continue
                }
                let current = try Self.current(db, type: operation.type, id: operation.id)
                let decision: VersionPolicy.Decision
                do {
                    decision = try VersionPolicy.decide(operation, current: current, now: now, compartment: compartment)
                } catch let error as FHIRError {
                    throw CommitFailure(index: index, error: error)
                }
                switch decision {
                case .none(let result):
                    results.append(result)
                case .write(let version, let outcome, let patientID, let tokens):
                    try Self.write(db, version, patientID: patientID, tokens: tokens, replacing: current)
                    results.append(WriteResult(outcome: outcome, resource: version))
                }
            }
            return results
        }
    }

    private static func write(_ db: Database, _ version: StoredResource, patientID: String?, tokens: [IndexedToken], replacing current: StoredResource?) throws {
        try db.cachedStatement(sql: """
            INSERT INTO resource_version (resource_type, id, version_id, last_updated, method, patient_id, json) VALUES (?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [version.type, version.id, version.versionId, version.lastUpdated, version.method.rawValue, patientID, Data(version.json)])
        try db.cachedStatement(sql: """
            INSERT INTO resource (resource_type, id, version_id, deleted, patient_id) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (resource_type, id) DO UPDATE SET version_id = excluded.version_id, deleted = excluded.deleted, patient_id = excluded.patient_id
            """).execute(arguments: [version.type, version.id, version.versionId, version.isDeleted, patientID])
        if current != nil {
            try db.cachedStatement(sql: "DELETE FROM search_token WHERE resource_type = ? AND id = ?").execute(arguments: [version.type, version.id])
        }
        let insertToken = try db.cachedStatement(sql: "INSERT INTO search_token (resource_type, id, parameter, system, code) VALUES (?, ?, ?, ?, ?)")
        for token in tokens {
            try insertToken.execute(arguments: [version.type, version.id, token.parameter, token.system, token.code])
        }
    }

    public func count(type: String?) async throws -> Int {
        try await pool.read { db in
            if let type {
                return try Int.fetchOne(db, sql: "SELECT count(*) FROM resource WHERE resource_type = ? AND deleted = 0", arguments: [type]) ?? 0
            }
            return try Int.fetchOne(db, sql: "SELECT count(*) FROM resource WHERE deleted = 0") ?? 0
        }
    }

    public func close() async throws {
        try pool.close()
    }
}
