import FHIRCore
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// The regional store: PostgreSQL through PostgresNIO's connection pool.
///
/// Every statement goes through `PostgresQuery` interpolation, which binds
/// each value as a parameter; no SQL is built from strings.
public final class PostgresStore: ResourceStore {
    public let backendName = "postgresql"
    private let client: PostgresClient
    private let runTask: Task<Void, Never>
    private let logger: Logger
    private let compartment = PatientCompartment()

    /// Connects to the database a `postgres://user:password@host:port/database` URL names.
    public init(url: String, maximumConnections: Int = 20, logger: Logger = Logger(label: "karna.store.postgres")) throws {
        guard let components = URLComponents(string: url), ["postgres", "postgresql"].contains(components.scheme ?? ""),
              let user = components.user
        else {
            throw FHIRError(.invalid, code: "invalid", "the database URL must look like postgres://user[:password]@host[:port]/database")
        }
        let database = components.path.split(separator: "/").first.map(String.init)
        var configuration: PostgresClient.Configuration
        if let host = components.host, !host.isEmpty {
            configuration = PostgresClient.Configuration(host: host, port: components.port ?? 5432, username: user,
                                                         password: components.password, database: database, tls: .disable)
        } else if let socket = components.queryItems?.first(where: { $0.name == "host" })?.value {
            configuration = PostgresClient.Configuration(unixSocketPath: socket + "/.s.PGSQL.\(components.port ?? 5432)", username: user,
                                                         password: components.password, database: database)
        } else {
            throw FHIRError(.invalid, code: "invalid", "the database URL names no host")
        }
        configuration.options.maximumConnections = maximumConnections
        self.client = PostgresClient(configuration: configuration)
        self.logger = logger
        let client = self.client
        self.runTask = Task { await client.run() }
    }

    @discardableResult
    public func migrate() async throws -> [String] {
        try await client.withConnection { connection in
            try await connection.query("CREATE TABLE IF NOT EXISTS schema_migration (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())", logger: logger)
            // One migrator at a time, whichever server instance starts first.
            try await connection.query("SELECT pg_advisory_lock(8675309)", logger: logger)
            do {
                var applied: [String] = []
                for migration in Migrations.all {
                    let rows = try await connection.query("SELECT 1 FROM schema_migration WHERE name = \(migration.name)", logger: logger)
                    var exists = false
                    for try await _ in rows { exists = true }
                    if exists { continue }
                    try await connection.withTransaction(logger: logger) { transaction in
                        for statement in migration.postgres {
                            try await transaction.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                        }
                        try await transaction.query("INSERT INTO schema_migration (name) VALUES (\(migration.name))", logger: logger)
                    }
                    applied.append(migration.name)
                }
                try await connection.query("SELECT pg_advisory_unlock(8675309)", logger: logger)
                return applied
            } catch {
                try? await connection.query("SELECT pg_advisory_unlock(8675309)", logger: logger)
                throw error
            }
        }
    }

    private typealias VersionRow = (String, String, Int, Int64, String, ByteBuffer, Int64)

    private static func stored(_ row: VersionRow) -> StoredResource {
        StoredResource(type: row.0, id: row.1, versionId: row.2, lastUpdated: row.3,
                       method: StoredResource.Method(rawValue: row.4) ?? .update, json: Array(row.5.readableBytesView), sequence: row.6)
    }

    private func collect(_ rows: PostgresRowSequence) async throws -> [StoredResource] {
        var result: [StoredResource] = []
        for try await row in rows.decode(VersionRow.self) { result.append(Self.stored(row)) }
        return result
    }

    public func read(type: String, id: String) async throws -> StoredResource? {
        try await client.withConnection { connection in
            try await current(connection, type: type, id: id, lock: false)
        }
    }

    private func current(_ connection: PostgresConnection, type: String, id: String, lock: Bool) async throws -> StoredResource? {
        // A fixed clause, never user input: the one place this store appends SQL text.
        let locking = lock ? "FOR UPDATE OF r" : ""
        let rows = try await connection.query("""
            SELECT v.resource_type, v.id, v.version_id, v.last_updated, v.method, v.json, v.seq FROM resource r
            JOIN resource_version v ON v.resource_type = r.resource_type AND v.id = r.id AND v.version_id = r.version_id
            WHERE r.resource_type = \(type) AND r.id = \(id) \(unescaped: locking)
            """, logger: logger)
        return try await collect(rows).first
    }

    public func vread(type: String, id: String, versionId: Int) async throws -> StoredResource? {
        let rows = try await client.query("""
            SELECT resource_type, id, version_id, last_updated, method, json, seq FROM resource_version
            WHERE resource_type = \(type) AND id = \(id) AND version_id = \(versionId)
            """, logger: logger)
        return try await collect(rows).first
    }

    public func history(_ query: HistoryQuery) async throws -> [StoredResource] {
        // NULL-tolerant predicates keep this one bound statement for every combination of filters.
        let rows = try await client.query("""
            SELECT resource_type, id, version_id, last_updated, method, json, seq FROM resource_version
            WHERE (\(query.type)::text IS NULL OR resource_type = \(query.type))
              AND (\(query.id)::text IS NULL OR id = \(query.id))
              AND (\(query.since)::bigint IS NULL OR last_updated >= \(query.since))
              AND (\(query.before)::bigint IS NULL OR last_updated <= \(query.before))
              AND (\(query.beforeSequence)::bigint IS NULL OR seq < \(query.beforeSequence))
            ORDER BY seq DESC LIMIT \(query.count)
            """, logger: logger)
        return try await collect(rows)
    }

    public func find(_ criteria: ConditionalCriteria) async throws -> [String] {
        try await client.withConnection { connection in try await find(connection, criteria) }
    }

    private func find(_ connection: PostgresConnection, _ criteria: ConditionalCriteria) async throws -> [String] {
        var candidates: Set<String>?
        func narrow(_ ids: [String]) {
            candidates = candidates.map { $0.intersection(ids) } ?? Set(ids)
        }
        func ids(_ rows: PostgresRowSequence) async throws -> [String] {
            var result: [String] = []
            for try await id in rows.decode(String.self) { result.append(id) }
            return result
        }
        if !criteria.ids.isEmpty {
            narrow(try await ids(connection.query(
                "SELECT id FROM resource WHERE resource_type = \(criteria.type) AND id = ANY(\(criteria.ids)) AND NOT deleted", logger: logger)))
        }
        for token in criteria.identifiers {
            if let system = token.system {
                narrow(try await ids(connection.query("""
                    SELECT id FROM search_token WHERE resource_type = \(criteria.type) AND parameter = 'identifier'
                    AND code = \(token.value) AND system = \(system)
                    """, logger: logger)))
            } else {
                narrow(try await ids(connection.query("""
                    SELECT id FROM search_token WHERE resource_type = \(criteria.type) AND parameter = 'identifier' AND code = \(token.value)
                    """, logger: logger)))
            }
        }
        return (candidates ?? []).sorted()
    }

    public func commit(_ operations: [WriteOperation]) async throws -> [WriteResult] {
        let now = Instant.now()
        do {
            return try await client.withTransaction(logger: logger) { connection in
                var results: [WriteResult] = []
                results.reserveCapacity(operations.count)
                for (index, operation) in operations.enumerated() {
                  do {
                    if case .create(_, let criteria?) = operation.kind {
                        // Serialises conditional creates with the same criteria, so two never both create.
                        try await connection.query("SELECT pg_advisory_xact_lock(hashtext(\(criteria.description)))", logger: logger)
                        if let match = try await find(connection, criteria).first {
                            results.append(WriteResult(outcome: .matched, resource: try await current(connection, type: operation.type, id: match, lock: false)))
                            continue
                        }
                    }
                    let current = try await current(connection, type: operation.type, id: operation.id, lock: true)
                    switch try VersionPolicy.decide(operation, current: current, now: now, compartment: compartment) {
                    case .none(let result):
                        results.append(result)
                    case .write(let version, let outcome, let patientID, let tokens):
                        try await write(connection, version, patientID: patientID, tokens: tokens, replacing: current)
                        results.append(WriteResult(outcome: outcome, resource: version))
                    }
                  } catch let error as FHIRError {
                    throw CommitFailure(index: index, error: error)
                  } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
                    throw CommitFailure(index: index, error: Self.concurrentChange)
                  }
                }
                return results
            }
        } catch let error as PostgresTransactionError {
            throw Self.translate(error.closureError ?? error.beginError ?? error.commitError ?? error)
        } catch {
            throw Self.translate(error)
        }
    }

    private static let concurrentChange = FHIRError(.conflict, code: "conflict",
        "another request changed the same resource at the same time; read it again and retry")

    /// A unique violation means a concurrent writer created the same resource first.
    private static func translate(_ error: any Error) -> any Error {
        if let psql = error as? PSQLError, psql.serverInfo?[.sqlState] == "23505" {
            return concurrentChange
        }
        return error
    }

    /// Writes one version in a single round trip: the version row, the head row, and the
    /// identifier tokens (old ones removed), as data-modifying CTEs of one statement.
    /// A concurrent first create still fails on the version row's unique key (→ 409).
    private func write(_ connection: PostgresConnection, _ version: StoredResource, patientID: String?, tokens: [IndexedToken],
                       replacing current: StoredResource?) async throws {
        let json = ByteBuffer(bytes: version.json)
        try await connection.query("""
            WITH new_version AS (
                INSERT INTO resource_version (resource_type, id, version_id, last_updated, method, patient_id, json)
                VALUES (\(version.type), \(version.id), \(version.versionId), \(version.lastUpdated), \(version.method.rawValue), \(patientID), \(json))
            ), head AS (
                INSERT INTO resource (resource_type, id, version_id, deleted, patient_id)
                VALUES (\(version.type), \(version.id), \(version.versionId), \(version.isDeleted), \(patientID))
                ON CONFLICT (resource_type, id) DO UPDATE
                SET version_id = excluded.version_id, deleted = excluded.deleted, patient_id = excluded.patient_id
            ), old_tokens AS (
                DELETE FROM search_token WHERE resource_type = \(version.type) AND id = \(version.id)
            )
            INSERT INTO search_token (resource_type, id, parameter, system, code)
            SELECT \(version.type), \(version.id), * FROM unnest(\(tokens.map(\.parameter))::text[], \(tokens.map(\.system))::text[], \(tokens.map(\.code))::text[])
            """, logger: logger)
    }

    public func count(type: String?) async throws -> Int {
        let rows = try await client.query(
            "SELECT count(*) FROM resource WHERE NOT deleted AND (\(type)::text IS NULL OR resource_type = \(type))", logger: logger)
        for try await n in rows.decode(Int.self) { return n }
        return 0
    }

    public func close() async throws {
        runTask.cancel()
        _ = await runTask.value
    }
}
