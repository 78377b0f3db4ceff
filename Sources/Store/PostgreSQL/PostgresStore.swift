import StoreModel
import FHIRCore
import Foundation
import Logging
import NIOCore
import NIOSSL
import PostgresNIO

/// The regional store: PostgreSQL through PostgresNIO's connection pool.
///
/// Every statement goes through `PostgresQuery` interpolation, which binds
/// each value as a parameter; no SQL is built from strings.
public final class PostgresStore: ResourceStore {
    public let backendName = "postgresql"
    let client: GuardedPostgresClient
    private let runTask: Task<Void, Never>
    /// Connections that run one patient's prepared searches with their generic plan
    /// (`plan_cache_mode = force_generic_plan` holds for a whole connection, so it gets its own pool).
    let onePatientClient: GuardedPostgresClient?
    /// The search planner's index-row counts, kept for `probeSeconds`.
    let probeCounts: ProbeCounts
    /// Index rows above which a filter counts as broad (`SearchSQL.scanThreshold`; tests lower it to exercise every plan).
    let scanThreshold: Int
    /// The most resources a scan in id order checks before it finds the page from the filter's matches (`scanThreshold` unless set).
    let scanBudget: Int
    /// Whether reads by id run as statements prepared once per connection (not behind a pooler in
    /// transaction mode, whose server connections change under a client's statement names).
    let preparesReads: Bool
    private let onePatientRunTask: Task<Void, Never>?
    let logger: Logger
    private let compartment = PatientCompartment()
    /// One patient's searches, planned once per connection.
    private let prepared: PreparedSearches
    /// When a bulk load through the API has grown the tables enough to analyse them again.
    private let statistics: BulkLoadStatistics
    /// One direct connection's settings, for `probe`, and what it names in its message.
    private let probeConfiguration: PostgresConnection.Configuration
    private let probeTarget: String

    /// Connects to the database a `postgres://user:password@host:port/database` URL names.
    /// `probeSeconds`: how long the search planner's index-row counts are kept (0 counts for every search).
    /// `analyzeAfterRows`: the fewest resources written through the store before it refreshes the planner's statistics itself.
    /// `waitSeconds`: the longest a request waits for a connection before it is answered "unavailable".
    public init(url: String, maximumConnections: Int = 20, preparedSearchesPerConnection: Int = 64, probeSeconds: Int = 60,
                analyzeAfterRows: Int = 5_000, waitSeconds: Double = 5, scanThreshold: Int? = nil, scanBudget: Int? = nil, options: PostgresOptions = PostgresOptions(),
                logger: Logger = Logger(label: "karna.store.postgres")) throws {
        guard let components = URLComponents(string: url), ["postgres", "postgresql"].contains(components.scheme ?? ""),
              let user = components.user
        else {
            throw FHIRError(.invalid, code: .invalid, "the database URL must look like postgres://user[:password]@host[:port]/database")
        }
        let database = components.path.split(separator: "/").first.map(String.init)
        var configuration: PostgresClient.Configuration
        var probeConfiguration: PostgresConnection.Configuration
        if let host = components.host, !host.isEmpty {
            let tls = try Self.tls(components)
            configuration = PostgresClient.Configuration(host: host, port: components.port ?? 5432, username: user,
                                                         password: components.password, database: database, tls: tls.map { .require($0) } ?? .disable)
            probeConfiguration = PostgresConnection.Configuration(host: host, port: components.port ?? 5432, username: user, password: components.password,
                                                                  database: database, tls: try tls.map { .require(try NIOSSLContext(configuration: $0)) } ?? .disable)
            probeTarget = "\(host):\(components.port ?? 5432) (database \(database ?? user), user \(user))"
        } else if let socket = components.queryItems?.first(where: { $0.name == "host" })?.value {
            configuration = PostgresClient.Configuration(unixSocketPath: socket + "/.s.PGSQL.\(components.port ?? 5432)", username: user,
                                                         password: components.password, database: database)
            probeConfiguration = PostgresConnection.Configuration(unixSocketPath: socket + "/.s.PGSQL.\(components.port ?? 5432)", username: user,
                                                                  password: components.password, database: database)
            probeTarget = "\(socket) (database \(database ?? user), user \(user))"
        } else {
            throw FHIRError(.invalid, code: .invalid, "the database URL names no host")
        }
        configuration.options.maximumConnections = maximumConnections
        // Searches are short index reads; the planner's cost estimates for the correlated checks run
        // high enough to trigger JIT compilation, which took 20 ms to save microseconds.
        // PostgreSQL's default random_page_cost (4) prices an index probe for a spinning disk; with the
        // search tables in memory or on SSD it made the planner scan all 100,000 patients rather than
        // probe the 7,000 whose name starts "nils" (50 ms → 9 ms for the statement at 1.1).
        // Behind PgBouncer these are set on the database instead (it refuses startup parameters it does not know).
        let planner = options.behindPooler ? [] : [("jit", "off"), ("random_page_cost", "1.1")]
        configuration.options.additionalStartupParameters = planner
        // Connecting is part of the bounded wait; a refused or silent server should not hold a request longer.
        configuration.options.connectTimeout = .milliseconds(Int64(min(waitSeconds, options.connectSeconds) * 1_000))
        probeConfiguration.options.additionalStartupParameters = planner
        probeConfiguration.options.connectTimeout = .milliseconds(Int64(options.connectSeconds * 1_000))
        self.client = GuardedPostgresClient(client: PostgresClient(configuration: configuration), waitSeconds: waitSeconds)
        self.probeConfiguration = probeConfiguration
        self.logger = logger
        self.prepared = PreparedSearches(limitPerConnection: preparedSearchesPerConnection)
        self.probeCounts = ProbeCounts(seconds: probeSeconds)
        self.scanThreshold = scanThreshold ?? SearchSQL.scanThreshold
        self.scanBudget = scanBudget ?? self.scanThreshold
        self.preparesReads = !options.behindPooler
        self.statistics = BulkLoadStatistics(minimumRows: analyzeAfterRows)
        let client = self.client
        self.runTask = Task { await client.run() }
        if preparedSearchesPerConnection > 0 {
            configuration.options.additionalStartupParameters = planner + [("plan_cache_mode", "force_generic_plan")]
            configuration.options.maximumConnections = options.searchConnections
            let onePatient = GuardedPostgresClient(client: PostgresClient(configuration: configuration), waitSeconds: waitSeconds)
            self.onePatientClient = onePatient
            self.onePatientRunTask = Task { await onePatient.run() }
        } else {
            self.onePatientClient = nil
            self.onePatientRunTask = nil
        }
    }

    /// TLS as libpq's URL parameters say it: `sslmode=disable` (the default, nil), `require` (encrypted, the
    /// server's certificate not checked) or `verify-full` (checked against `sslrootcert`, a CA file, and the host name).
    static func tls(_ components: URLComponents) throws -> TLSConfiguration? {
        let mode = components.queryItems?.first { $0.name == "sslmode" }?.value ?? "disable"
        let rootCertificate = components.queryItems?.first { $0.name == "sslrootcert" }?.value
        switch mode {
        case "disable":
            return nil
        case "require":
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.certificateVerification = .none
            return tls
        case "verify-full":
            guard let rootCertificate, !rootCertificate.isEmpty else {
                throw FHIRError(.invalid, code: .invalid, "the database URL asks for sslmode=verify-full but names no sslrootcert (the CA file to check the server against)")
            }
            guard FileManager.default.isReadableFile(atPath: rootCertificate) else {
                throw FHIRError(.invalid, code: .invalid, "the database URL's sslrootcert \(rootCertificate) cannot be read")
            }
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(rootCertificate)
            tls.certificateVerification = .fullVerification
            return tls
        default:
            throw FHIRError(.invalid, code: .invalid, "the database URL's sslmode must be disable, require or verify-full; got '\(mode)'")
        }
    }

    public func acquireLease(_ name: String, holder: String, until: Int64, now: Int64) async throws -> Bool {
        let rows = try await client.query("""
            INSERT INTO job_lease (name, holder, expires_at) VALUES (\(name), \(holder), \(until))
            ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
            WHERE job_lease.holder = EXCLUDED.holder OR job_lease.expires_at < \(now)
            RETURNING holder
            """, logger: logger)
        var held = false
        for try await _ in rows { held = true }
        return held
    }

    /// Connects once, directly, and says what went wrong if it cannot: a start (or `karna migrate`) against a
    /// wrong or unreachable database stops at once with the server's own words, instead of waiting on the pool.
    public func probe() async throws {
        do {
            let connection = try await PostgresConnection.connect(configuration: probeConfiguration, id: 0, logger: logger)
            try await connection.close()
        } catch {
            var reason = "\(error)"
            if let problem = error as? PSQLError {
                reason = problem.serverInfo?[.message] ?? problem.underlying.map { "\($0)" } ?? "\(problem.code)"
            }
            var hint = ""
            if reason.contains("unsupported startup parameter") {
                hint = " (PgBouncer? set database-pooler to pgbouncer)"
            } else if reason.contains("onnection refused") || reason.contains("connectTimeout") || reason.contains("timed out") {
                hint = " (is PostgreSQL running there, and is the address right?)"
            }
            throw DatabaseConnectError(description: "cannot connect to PostgreSQL at \(probeTarget): \(reason)\(hint)")
        }
    }

    @discardableResult
    public func migrate() async throws -> [String] {
        try await client.withConnection { [self] connection in
            // Under the lock too: two instances creating the table at once would collide in the catalogue.
            try await connection.withTransaction(logger: logger) { transaction in
                try await transaction.query("SELECT pg_advisory_xact_lock(8675309)", logger: logger)
                try await transaction.query("CREATE TABLE IF NOT EXISTS schema_migration (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())", logger: logger)
            }
            var applied: [String] = []
            for migration in Migrations.all {
                // One migrator at a time, whichever server instance starts first: a lock held by the transaction, so
                // it is released with it and holds through PgBouncer in transaction mode (a session lock would not).
                let ran = try await connection.withTransaction(logger: logger) { transaction in
                    try await transaction.query("SELECT pg_advisory_xact_lock(8675309)", logger: logger)
                    let rows = try await transaction.query("SELECT 1 FROM schema_migration WHERE name = \(migration.name)", logger: logger)
                    var exists = false
                    for try await _ in rows { exists = true }
                    if exists { return false }
                    for statement in migration.postgres {
                        try await transaction.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await transaction.query("INSERT INTO schema_migration (name) VALUES (\(migration.name))", logger: logger)
                    return true
                }
                if ran { applied.append(migration.name) }
            }
            return applied
        }
    }

    private typealias VersionRow = (String, String, Int, Int64, String, ByteBuffer, Int64, String?)

    private static func stored(_ row: VersionRow) -> StoredResource {
        StoredResource(type: row.0, id: row.1, versionId: row.2, lastUpdated: row.3,
                       method: StoredResource.Method(rawValue: row.4) ?? .update, json: Array(row.5.readableBytesView), sequence: row.6, patientID: row.7)
    }

    private func collect(_ rows: PostgresRowSequence) async throws -> [StoredResource] {
        var result: [StoredResource] = []
        for try await row in rows.decode(VersionRow.self) { result.append(Self.stored(row)) }
        return result
    }

    public func read(type: String, id: String) async throws -> StoredResource? {
        try await client.withConnection { [self] connection in try await current(connection, type: type, id: id, lock: false) }
    }

    /// The current version of one resource, prepared once per connection: read by id is the commonest
    /// request, and parsing and planning it anew cost PostgreSQL twice the read itself (pgbench, four
    /// clients on two cores: 11,384 reads/s as one-off statements, 35,353 prepared).
    private struct ReadCurrent: PostgresPreparedStatement {
        static let name = "karna_read_current"
        static let sql = """
            SELECT v.resource_type, v.id, v.version_id, v.last_updated, v.method, v.json, v.seq, v.patient_id FROM resource r
            JOIN resource_version v ON v.resource_type = r.resource_type AND v.id = r.id AND v.version_id = r.version_id
            WHERE r.resource_type = $1 AND r.id = $2
            """
        typealias Row = VersionRow
        let type: String
        let id: String

        func makeBindings() -> PostgresBindings {
            var bindings = PostgresBindings()
            bindings.append(type)
            bindings.append(id)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
    }

    /// One resource's current version: prepared when it only reads, one-off when it locks the row for a write.
    private func current(_ connection: PostgresConnection, type: String, id: String, lock: Bool) async throws -> StoredResource? {
        let statement = ReadCurrent(type: type, id: id)
        if !lock, preparesReads {
            for try await row in try await connection.execute(statement, logger: logger) { return Self.stored(row) }
            return nil
        }
        // A fixed clause, never user input: the one place this store appends SQL text.
        let query = PostgresQuery(unsafeSQL: ReadCurrent.sql + (lock ? " FOR UPDATE OF r" : ""), binds: statement.makeBindings())
        return try await collect(try await connection.query(query, logger: logger)).first
    }

    public func vread(type: String, id: String, versionId: Int) async throws -> StoredResource? {
        let rows = try await client.query("""
            SELECT resource_type, id, version_id, last_updated, method, json, seq, patient_id FROM resource_version
            WHERE resource_type = \(type) AND id = \(id) AND version_id = \(versionId)
            """, logger: logger)
        return try await collect(rows).first
    }

    public func history(_ query: HistoryQuery) async throws -> [StoredResource] {
        // NULL-tolerant predicates keep this one bound statement for every combination of filters.
        let rows = try await client.query("""
            SELECT resource_type, id, version_id, last_updated, method, json, seq, patient_id FROM resource_version
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
        try await client.withConnection { [self] connection in try await find(connection, criteria) }
    }

    private func find(_ connection: PostgresConnection, _ criteria: ConditionalCriteria) async throws -> [String] {
        try await strings(connection, SearchSQL.page(criteria.search, limit: conditionalMatchLimit, dialect: .postgres))
    }

    private static func query(_ statement: SQLStatement) throws -> PostgresQuery {
        var bindings = PostgresBindings()
        for value in statement.binds {
            switch value {
            case .text(let s): try bindings.append(s)
            case .integer(let i): try bindings.append(i)
            case .real(let d): try bindings.append(d)
            }
        }
        return PostgresQuery(unsafeSQL: statement.sql, binds: bindings)
    }

    private func strings(_ connection: PostgresConnection, _ statement: SQLStatement) async throws -> [String] {
        var result: [String] = []
        for try await id in try await connection.query(Self.query(statement), logger: logger).decode(String.self) { result.append(id) }
        return result
    }

    private func keys(_ statement: SQLStatement) async throws -> [ResourceKey] {
        var result: [ResourceKey] = []
        for try await (type, id) in try await client.query(Self.query(statement), logger: logger).decode((String, String).self) {
            result.append(ResourceKey(type: type, id: id))
        }
        return result
    }

    public func search(_ query: SearchQuery, limit: Int) async throws -> [String] {
        // One patient's ids (a care-relationship ground, a chart's look-up) with the plan made once.
        if let rows = try await preparedRows([(query, limit)], versions: false) {
            return try rows.map { try PreparedSearches.cells($0)[0].decode(String.self) }
        }
        return try await client.withConnection { [self] connection in
            try await strings(connection, try await plannedPage(connection, query, limit: limit))
        }
    }

    public func searchResources(_ query: SearchQuery, limit: Int) async throws -> [StoredResource] {
        try await searchResources(together: [(query, limit)])[0]
    }

    public func searchResources(together parts: [(query: SearchQuery, limit: Int)]) async throws -> [[StoredResource]] {
        guard !parts.isEmpty else { return [] }
        var result = [[StoredResource]](repeating: [], count: parts.count)
        if let rows = try await preparedRows(parts, versions: true) {
            for row in rows {
                let cells = PreparedSearches.cells(row)
                guard cells.count == 9 else { throw FHIRError(.internalError, code: .exception, "a prepared search answered \(cells.count) columns, not 9") }
                result[try cells[0].decode(Int.self)].append(Self.stored((
                    try cells[1].decode(String.self), try cells[2].decode(String.self), try cells[3].decode(Int.self), try cells[4].decode(Int64.self),
                    try cells[5].decode(String.self), try cells[6].decode(ByteBuffer.self), try cells[7].decode(Int64.self),
                    try cells[8].decode(String?.self))))
            }
            return result
        }
        let empty = result
        return try await client.withConnection { [self] connection in
            var result = empty
            var pages: [(page: SQLStatement, type: String)] = []
            for part in parts { pages.append((try await plannedPage(connection, part.query, limit: part.limit, versions: true), part.query.type)) }
            let rows = try await connection.query(Self.query(SearchSQL.withVersions(pages)), logger: logger)
            for try await row in rows.decode((Int, String, String, Int, Int64, String, ByteBuffer, Int64, String?).self) {
                result[row.0].append(Self.stored((row.1, row.2, row.3, row.4, row.5, row.6, row.7, row.8)))
            }
            return result
        }
    }

    /// How many one-patient search statements are prepared now, over all connections (for monitoring and tests).
    public var preparedSearchCount: Int { prepared.count }

    /// How many of the search planner's index-row counts are kept now (for monitoring and tests).
    public var keptProbeCount: Int { probeCounts.count }

    /// The page statement for the measured counts of the query's filters.
    private func plannedPage(_ connection: PostgresConnection, _ query: SearchQuery, limit: Int, versions: Bool = false) async throws -> SQLStatement {
        var counts: [(filter: Int, count: Int)] = []
        for probe in SearchSQL.probes(query, cap: scanThreshold, dialect: .postgres) {
            let now = Instant.now()
            if let kept = probeCounts.count(probe.statement, now: now) {
                counts.append((probe.filter, kept))
            } else {
                for try await n in try await connection.query(Self.query(probe.statement), logger: logger).decode(Int.self) {
                    counts.append((probe.filter, n))
                    probeCounts.keep(n, for: probe.statement, now: now)
                }
            }
            if let last = counts.last, last.count < SearchSQL.settledCount { break }
        }
        return SearchSQL.plannedPage(query, limit: limit, dialect: .postgres, counts: counts, threshold: scanThreshold, scanBudget: scanBudget,
                                     versions: versions)
    }

    public func count(_ query: SearchQuery) async throws -> Int {
        let rows = try await client.query(Self.query(SearchSQL.count(query, dialect: .postgres)), logger: logger)
        for try await n in rows.decode(Int.self) { return n }
        return 0
    }

    public func firstMatches(_ queries: [SearchQuery], patientIDs: [String]) async throws -> [String: ResourceKey] {
        var found: [String: ResourceKey] = [:]
        for statement in try SearchSQL.firstMatchStatements(queries, patientIDs: patientIDs, dialect: .postgres) {
            var pairs: [(String, String)] = []
            // Starting from the patients, its best plan does not depend on the values: the generic-plan pool's.
            if let onePatientClient, let rows = try await onePatientClient.withConnection({ [self] in try await prepared.rows(statement, on: $0, logger: logger) }) {
                for row in rows {
                    let cells = PreparedSearches.cells(row)
                    pairs.append((try cells[0].decode(String.self), try cells[1].decode(String.self)))
                }
            } else {
                for try await pair in try await client.query(Self.query(statement), logger: logger).decode((String, String).self) { pairs.append(pair) }
            }
            for (patientID, reference) in pairs { found[patientID] = ResourceKey(reference: reference) }
        }
        return found
    }

    public func read(keys: [ResourceKey]) async throws -> [StoredResource] {
        guard !keys.isEmpty else { return [] }
        let rows = try await client.query("""
            SELECT v.resource_type, v.id, v.version_id, v.last_updated, v.method, v.json, v.seq, v.patient_id
            FROM unnest(\(keys.map(\.type))::text[], \(keys.map(\.id))::text[]) AS k(resource_type, id)
            JOIN resource r ON r.resource_type = k.resource_type AND r.id = k.id AND NOT r.deleted
            JOIN resource_version v ON v.resource_type = r.resource_type AND v.id = r.id AND v.version_id = r.version_id
            """, logger: logger)
        var seen = Set<ResourceKey>()
        return try await collect(rows).filter { seen.insert($0.key).inserted }
    }

    public func referenced(sourceType: String, ids: [String], parameter: String, targetType: String?) async throws -> [ResourceKey] {
        guard !ids.isEmpty else { return [] }
        return try await keys(SearchSQL.referenced(sourceType: sourceType, ids: ids, parameter: parameter, targetType: targetType, dialect: .postgres))
    }

    public func referencing(sourceType: String, parameter: String, targetType: String, ids: [String]) async throws -> [ResourceKey] {
        guard !ids.isEmpty else { return [] }
        return try await keys(SearchSQL.referencing(sourceType: sourceType, parameter: parameter, targetType: targetType, ids: ids, dialect: .postgres))
    }

    public func compartment(patientID: String, since: Int64?, after: ResourceKey?, limit: Int) async throws -> [StoredResource] {
        let rows = try await client.query("""
            SELECT v.resource_type, v.id, v.version_id, v.last_updated, v.method, v.json, v.seq, v.patient_id FROM resource r
            JOIN resource_version v ON v.resource_type = r.resource_type AND v.id = r.id AND v.version_id = r.version_id
            WHERE r.patient_id = \(patientID) AND NOT r.deleted AND (\(since)::bigint IS NULL OR v.last_updated >= \(since))
              AND (\(after?.type)::text IS NULL OR (r.resource_type, r.id) > (\(after?.type), \(after?.id)))
            ORDER BY r.resource_type, r.id LIMIT \(limit)
            """, logger: logger)
        return try await collect(rows)
    }

    public func outsideCompartments(types: [String], since: Int64?, after: ResourceKey?, limit: Int) async throws -> [StoredResource] {
        let rows = try await client.query("""
            SELECT v.resource_type, v.id, v.version_id, v.last_updated, v.method, v.json, v.seq, v.patient_id FROM resource r
            JOIN resource_version v ON v.resource_type = r.resource_type AND v.id = r.id AND v.version_id = r.version_id
            WHERE r.patient_id IS NULL AND r.resource_type = ANY(\(types)::text[]) AND NOT r.deleted
              AND (\(since)::bigint IS NULL OR v.last_updated >= \(since))
              AND (\(after?.type)::text IS NULL OR (r.resource_type, r.id) > (\(after?.type), \(after?.id)))
            ORDER BY r.resource_type, r.id LIMIT \(limit)
            """, logger: logger)
        return try await collect(rows)
    }

    public func commit(_ operations: [WriteOperation], inserting records: [ControlRecord], audit: [AuditEntry]) async throws -> [WriteResult] {
        let indexes = await WriteOperation.precomputeIndexes(operations)
        let now = Instant.now()
        do {
            let results = try await client.withTransaction(logger: logger) { [self] connection in
                let results = Self.canBatch(operations)
                    ? try await commitBatch(connection, operations, now: now, indexes: indexes)
                    : try await commitEach(connection, operations, now: now, indexes: indexes)
                for record in records {
                    // A concurrent insert of the same key waits here for the other transaction, then finds it taken.
                    let inserted = try await connection.query("""
                        INSERT INTO control_record (kind, key, patient_id, json, updated_at)
                        VALUES (\(record.kind), \(record.key), \(record.patientID), \(ByteBuffer(bytes: record.json)), \(record.updatedAt))
                        ON CONFLICT (kind, key) DO NOTHING RETURNING key
                        """, logger: logger)
                    guard try await inserted.collect().count == 1 else { throw ControlRecordTaken(key: ControlRecordKey(kind: record.kind, key: record.key)) }
                }
                try await append(connection, audit)
                return results
            }
            if statistics.wrote(operations.count) { analyzeInBackground() }
            return results
        } catch let error as PostgresTransactionError {
            throw Self.translate(error.closureError ?? error.beginError ?? error.commitError ?? error)
        } catch {
            throw Self.translate(error)
        }
    }

    private func commitEach(_ connection: PostgresConnection, _ operations: [WriteOperation], now: Int64,
                            indexes: [SearchIndexEntries?]) async throws -> [WriteResult] {
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
                    // Every commit naming the same key waits here for the others to end, then sees what they wrote.
                    for key in Set(operation.guards.map(\.key)).sorted() {
                        try await connection.query("SELECT pg_advisory_xact_lock(hashtext(\(key)))", logger: logger)
                    }
                    for uniqueness in operation.guards {
                        for holder in try await find(connection, uniqueness.criteria) where holder != operation.id {
                            if let stored = try await current(connection, type: uniqueness.criteria.type, id: holder, lock: false), !stored.isDeleted,
                               uniqueness.holds(stored.object) {
                                throw uniqueness.conflict(holder)
                            }
                        }
                    }
                    let current = try await current(connection, type: operation.type, id: operation.id, lock: true)
                    switch try VersionPolicy.decide(operation, current: current, now: now, compartment: compartment, index: indexes[index]) {
                    case .none(let result):
                        results.append(result)
                    case .write(let version, let outcome, let patientID, let index):
                        try await write(connection, [PendingWrite(version: version, patientID: patientID, index: index, replacing: current != nil)])
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

    // MARK: Audit log and control records

    /// Serialises appenders across connections and server instances for the rest of the transaction.
    private static let auditLockKey: Int64 = 0x4B41524E41  // "KARNA"

    /// Chains entries onto the log inside the caller's transaction.
    @discardableResult
    /// Appends to the audit chain in one statement (the `audit_log_append` function of migration 0006).
    private func append(_ connection: PostgresConnection, _ entries: [AuditEntry]) async throws -> [Int64] {
        guard !entries.isEmpty else { return [] }
        let rows = try await connection.query("""
            SELECT audit_log_append(\(Self.auditLockKey), \(entries.map(\.recordedAt))::bigint[], \(entries.map(\.actor))::text[],
                \(entries.map { $0.patientID ?? "" })::text[], \(entries.map(\.action))::text[], \(entries.map(\.outcome))::text[],
                \(entries.map { $0.flags.joined(separator: ",") })::text[], \(entries.map { ByteBuffer(bytes: $0.json) })::bytea[])
            """, logger: logger)
        var sequences: [Int64] = []
        for try await sequence in rows.decode(Int64.self) { sequences.append(sequence) }
        return sequences
    }

    @discardableResult
    public func appendAudit(_ entries: [AuditEntry]) async throws -> [Int64] {
        guard !entries.isEmpty else { return [] }
        // One statement: its own transaction, the lock held until it ends.
        return try await client.withConnection { [self] connection in try await append(connection, entries) }
    }

    public func auditRecords(_ query: AuditQuery) async throws -> [AuditRecord] {
        let flagPattern = query.flag.map { $0 == AuditQuery.anyFlag ? "%" : "%," + $0 + ",%" }
        // A fixed clause chosen here, never user input.
        let order = query.ascending ? "ASC" : "DESC"
        let rows = try await client.query("""
            SELECT seq, recorded_at, actor, patient_id, action, outcome, flags, json, previous_hash, hash FROM audit_log
            WHERE (\(query.patientID)::text IS NULL OR patient_id = \(query.patientID))
              AND (\(query.actor)::text IS NULL OR actor = \(query.actor))
              AND (\(query.action)::text IS NULL OR action = \(query.action))
              AND (\(flagPattern)::text IS NULL OR (flags <> '' AND (',' || flags || ',') LIKE \(flagPattern)))
              AND (\(query.from)::bigint IS NULL OR recorded_at >= \(query.from))
              AND (\(query.to)::bigint IS NULL OR recorded_at <= \(query.to))
              AND (\(query.afterSequence)::bigint IS NULL OR seq > \(query.afterSequence))
              AND (\(query.beforeSequence)::bigint IS NULL OR seq < \(query.beforeSequence))
            ORDER BY seq \(unescaped: order) LIMIT \(query.limit)
            """, logger: logger)
        var records: [AuditRecord] = []
        for try await row in rows {
            let (seq, at, actor, patient, action, outcome, flags, json, previous, hash) =
                try row.decode((Int64, Int64, String, String?, String, String, String, ByteBuffer, String, String).self)
            records.append(AuditRecord(sequence: seq,
                                       entry: AuditEntry(recordedAt: at, actor: actor, patientID: patient, action: action, outcome: outcome,
                                                         flags: flags.isEmpty ? [] : flags.split(separator: ",").map(String.init),
                                                         json: Array(json.readableBytesView)),
                                       previousHash: previous, hash: hash))
        }
        return records
    }

    private func controlRecords(_ rows: PostgresRowSequence) async throws -> [ControlRecord] {
        var records: [ControlRecord] = []
        for try await (kind, key, patient, json, updated) in rows.decode((String, String, String?, ByteBuffer, Int64).self) {
            records.append(ControlRecord(kind: kind, key: key, patientID: patient, json: Array(json.readableBytesView), updatedAt: updated))
        }
        return records
    }

    public func controlRecord(kind: String, key: String) async throws -> ControlRecord? {
        try await controlRecords(client.query(
            "SELECT kind, key, patient_id, json, updated_at FROM control_record WHERE kind = \(kind) AND key = \(key)", logger: logger)).first
    }

    /// One statement: the record's JSON is parsed once in the database and each name followed there,
    /// so a page's sign-in (session, account, assignment) is one round trip and one snapshot.
    public func controlRecord(kind: String, key: String, naming: [NamedRecord]) async throws -> ControlRecordWithNamed? {
        var targets: [String] = [], names: [String] = [], paths: [String] = []
        for name in naming {
            switch name.target {
            case .control(let kind): targets.append("control"); names.append(kind)
            case .resource(let type): targets.append("resource"); names.append(type)
            }
            // A text[] literal, each key quoted, so a key with a comma or brace stays one key.
            paths.append("{" + name.path.map { "\"" + $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
                .joined(separator: ",") + "}")
        }
        let rows = try await client.query("""
            WITH s AS (SELECT kind, key, patient_id, json, updated_at, convert_from(json, 'UTF8')::jsonb AS doc
                       FROM control_record WHERE kind = \(kind) AND key = \(key)),
                 f AS (SELECT n, target, name, s.doc #>> path::text[] AS value
                       FROM s, unnest(\(targets)::text[], \(names)::text[], \(paths)::text[]) WITH ORDINALITY AS u(target, name, path, n))
            SELECT 0::bigint, kind, key, patient_id, json, updated_at, 0, '', 0::bigint FROM s
            UNION ALL
            SELECT f.n, c.kind, c.key, c.patient_id, c.json, c.updated_at, 0, '', 0::bigint
            FROM f JOIN control_record c ON f.target = 'control' AND c.kind = f.name AND c.key = f.value
            UNION ALL
            SELECT f.n, v.resource_type, v.id, v.patient_id, v.json, v.last_updated, v.version_id, v.method, v.seq
            FROM f JOIN resource r ON f.target = 'resource' AND r.resource_type = f.name AND r.id = f.value
            JOIN resource_version v ON v.resource_type = r.resource_type AND v.id = r.id AND v.version_id = r.version_id
            """, logger: logger)
        var record: ControlRecord?
        var named = [NamedRecord.Found?](repeating: nil, count: naming.count)
        for try await (n, kind, key, patient, json, updated, version, method, sequence)
            in rows.decode((Int64, String, String, String?, ByteBuffer, Int64, Int, String, Int64).self) {
            let bytes = Array(json.readableBytesView)
            guard n > 0 else {
                record = ControlRecord(kind: kind, key: key, patientID: patient, json: bytes, updatedAt: updated)
                continue
            }
            let index = Int(n) - 1
            switch naming[index].target {
            case .control: named[index] = .control(ControlRecord(kind: kind, key: key, patientID: patient, json: bytes, updatedAt: updated))
            case .resource: named[index] = .resource(Self.stored((kind, key, version, updated, method, json, sequence, patient)))
            }
        }
        return record.map { ControlRecordWithNamed(record: $0, named: named) }
    }

    public func controlRecords(kind: String, patientID: String?) async throws -> [ControlRecord] {
        try await controlRecords(client.query("""
            SELECT kind, key, patient_id, json, updated_at FROM control_record
            WHERE kind = \(kind) AND (\(patientID)::text IS NULL OR patient_id = \(patientID)) ORDER BY key
            """, logger: logger))
    }

    public func controlRecords(kind: String, patientIDs: [String]) async throws -> [ControlRecord] {
        guard !patientIDs.isEmpty else { return [] }
        return try await controlRecords(client.query("""
            SELECT kind, key, patient_id, json, updated_at FROM control_record
            WHERE kind = \(kind) AND patient_id = ANY(\(patientIDs)::text[]) ORDER BY key
            """, logger: logger))
    }

    public func nextNumber(series: String) async throws -> Int64 {
        let rows = try await client.query("""
            INSERT INTO control_record (kind, key, patient_id, json, updated_at) VALUES ('sequence', \(series), NULL, convert_to('1', 'UTF8'), \(Instant.now()))
            ON CONFLICT (kind, key) DO UPDATE
            SET json = convert_to((convert_from(control_record.json, 'UTF8')::bigint + 1)::text, 'UTF8'), updated_at = excluded.updated_at
            RETURNING convert_from(json, 'UTF8')::bigint
            """, logger: logger)
        for try await value in rows.decode(Int64.self) { return value }
        throw FHIRError(.internalError, code: .exception, "series \(series) returned no number")
    }

    public func changeControlRecord<Result: Sendable>(kind: String, key: String,
                                                      _ change: @escaping @Sendable (ControlRecord?) throws -> ControlRecordChange<Result>) async throws -> Result {
        do {
            return try await client.withTransaction(logger: logger) { [self] connection in
                // The row lock makes every other change of this record wait; a record not there yet is
                // covered by an advisory lock on its key, so two first writers do not both read nothing.
                try await connection.query("SELECT pg_advisory_xact_lock(hashtext(\(kind + "\u{1F}" + key)))", logger: logger)
                let current = try await controlRecords(connection.query(
                    "SELECT kind, key, patient_id, json, updated_at FROM control_record WHERE kind = \(kind) AND key = \(key) FOR UPDATE", logger: logger)).first
                let decided = try change(current)
                switch decided.action {
                case .keep: break
                case .write(let record):
                    try await connection.query("""
                        INSERT INTO control_record (kind, key, patient_id, json, updated_at)
                        VALUES (\(record.kind), \(record.key), \(record.patientID), \(ByteBuffer(bytes: record.json)), \(record.updatedAt))
                        ON CONFLICT (kind, key) DO UPDATE SET patient_id = excluded.patient_id, json = excluded.json, updated_at = excluded.updated_at
                        """, logger: logger)
                case .delete:
                    try await connection.query("DELETE FROM control_record WHERE kind = \(kind) AND key = \(key)", logger: logger)
                }
                try await append(connection, decided.audit)
                return decided.result
            }
        } catch let error as PostgresTransactionError {
            throw error.closureError ?? error.beginError ?? error.commitError ?? error
        }
    }

    public func writeControlRecords(_ records: [ControlRecord], deleting: [ControlRecordKey], audit: [AuditEntry]) async throws {
        try await client.withTransaction(logger: logger) { [self] connection in
            for record in records {
                try await connection.query("""
                    INSERT INTO control_record (kind, key, patient_id, json, updated_at)
                    VALUES (\(record.kind), \(record.key), \(record.patientID), \(ByteBuffer(bytes: record.json)), \(record.updatedAt))
                    ON CONFLICT (kind, key) DO UPDATE SET patient_id = excluded.patient_id, json = excluded.json, updated_at = excluded.updated_at
                    """, logger: logger)
            }
            for key in deleting {
                try await connection.query("DELETE FROM control_record WHERE kind = \(key.kind) AND key = \(key.key)", logger: logger)
            }
            try await append(connection, audit)
        }
    }

    /// Several plain writes to distinct resources go to the database as two statements
    /// (lock and read the current versions, then write everything), not two per resource.
    private static func canBatch(_ operations: [WriteOperation]) -> Bool {
        guard operations.count > 1 else { return false }
        var keys = Set<ResourceKey>()
        for operation in operations {
            if case .create(_, _?) = operation.kind { return false }
            guard keys.insert(ResourceKey(type: operation.type, id: operation.id)).inserted else { return false }
        }
        return true
    }

    private func commitBatch(_ connection: PostgresConnection, _ operations: [WriteOperation], now: Int64,
                             indexes: [SearchIndexEntries?]) async throws -> [WriteResult] {
        // Guarded values (a personal identity number) are locked first, all in one sorted order so two batches
        // never wait on each other crosswise; an array unnests in order, so the locks are taken in that order.
        let guardKeys = Set(operations.flatMap { $0.guards.map(\.key) }).sorted()
        if !guardKeys.isEmpty {
            try await connection.query("SELECT count(pg_advisory_xact_lock(hashtext(k))) FROM unnest(\(guardKeys)::text[]) AS x(k)", logger: logger)
        }
        let rows = try await connection.query("""
            SELECT v.resource_type, v.id, v.version_id, v.last_updated, v.method, v.json, v.seq, v.patient_id
            FROM resource r JOIN resource_version v ON v.resource_type = r.resource_type AND v.id = r.id AND v.version_id = r.version_id
            WHERE (r.resource_type, r.id) IN (SELECT * FROM unnest(\(operations.map(\.type))::text[], \(operations.map(\.id))::text[]))
            FOR UPDATE OF r
            """, logger: logger)
        let currents = Dictionary(try await collect(rows).map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        // What a resource holds after this batch: its new content when the batch writes it, else as stored.
        let written = Dictionary(operations.map { (ResourceKey(type: $0.type, id: $0.id), $0.resource) }, uniquingKeysWith: { a, _ in a })
        var results: [WriteResult] = []
        var pending: [PendingWrite] = []
        for (index, operation) in operations.enumerated() {
            let current = currents[ResourceKey(type: operation.type, id: operation.id)]
            do {
                for uniqueness in operation.guards {
                    for holder in try await find(connection, uniqueness.criteria) where holder != operation.id {
                        let key = ResourceKey(type: uniqueness.criteria.type, id: holder)
                        let held: JSONObject?
                        if let after = written[key] {
                            held = after
                        } else if let stored = try await self.current(connection, type: key.type, id: holder, lock: false), !stored.isDeleted {
                            held = stored.object
                        } else {
                            held = nil
                        }
                        if let held, uniqueness.holds(held) { throw uniqueness.conflict(holder) }
                    }
                }
                switch try VersionPolicy.decide(operation, current: current, now: now, compartment: compartment, index: indexes[index]) {
                case .none(let result):
                    results.append(result)
                case .write(let version, let outcome, let patientID, let entries):
                    pending.append(PendingWrite(version: version, patientID: patientID, index: entries, replacing: current != nil))
                    results.append(WriteResult(outcome: outcome, resource: version))
                }
            } catch let error as FHIRError {
                throw CommitFailure(index: index, error: error)
            }
        }
        try await write(connection, pending)
        return results
    }

    private static let concurrentChange = FHIRError(.conflict, code: .conflict,
        "another request changed the same resource at the same time; read it again and retry")

    /// A unique violation means a concurrent writer created the same resource first.
    private static func translate(_ error: any Error) -> any Error {
        if let psql = error as? PSQLError, psql.serverInfo?[.sqlState] == "23505" {
            return concurrentChange
        }
        return error
    }

    /// One version to write, with its index rows.
    private struct PendingWrite {
        let version: StoredResource
        let patientID: String?
        let index: SearchIndexEntries
        let replacing: Bool
    }

    /// Writes versions in a single round trip: the version rows, the head rows, and the search
    /// index rows (old ones removed), as data-modifying CTEs of one statement over arrays.
    /// A concurrent first create still fails on the version row's unique key (→ 409).
    private func write(_ connection: PostgresConnection, _ writes: [PendingWrite]) async throws {
        guard !writes.isEmpty else { return }
        let versions = writes.map(\.version)
        let replaced = writes.filter(\.replacing).map(\.version)
        // One (type, id) pair per index row.
        func owners<T>(_ rows: KeyPath<SearchIndexEntries, [T]>) -> ([String], [String]) {
            var types: [String] = [], ids: [String] = []
            for w in writes {
                let n = w.index[keyPath: rows].count
                types += repeatElement(w.version.type, count: n)
                ids += repeatElement(w.version.id, count: n)
            }
            return (types, ids)
        }
        let tokens = writes.flatMap(\.index.tokens), strings = writes.flatMap(\.index.strings), dates = writes.flatMap(\.index.dates)
        let references = writes.flatMap(\.index.references), quantities = writes.flatMap(\.index.quantities)
        let numbers = writes.flatMap(\.index.numbers), uris = writes.flatMap(\.index.uris), c = writes.flatMap(\.index.composites)
        let datePatients = writes.flatMap { repeatElement($0.patientID ?? "", count: $0.index.dates.count) }
        let (tt, ti) = owners(\.tokens), (st, si) = owners(\.strings), (dt, di) = owners(\.dates), (rt, ri) = owners(\.references)
        let (qt, qi) = owners(\.quantities), (nt, ni) = owners(\.numbers), (ut, ui) = owners(\.uris), (ct, ci) = owners(\.composites)
        // Arrays cannot carry NULLs through PostgresNIO's encoders; "" / NaN / Int64.min stand for "none" and NULLIF restores them.
        try await connection.query("""
            WITH new_version AS (
                INSERT INTO resource_version (resource_type, id, version_id, last_updated, method, patient_id, json)
                SELECT t, i, v, u, m, NULLIF(p, ''), j FROM unnest(\(versions.map(\.type))::text[], \(versions.map(\.id))::text[],
                    \(versions.map { Int64($0.versionId) })::bigint[], \(versions.map(\.lastUpdated))::bigint[], \(versions.map(\.method.rawValue))::text[],
                    \(writes.map { $0.patientID ?? "" })::text[], \(versions.map { ByteBuffer(bytes: $0.json) })::bytea[]) AS x(t, i, v, u, m, p, j)
            ), head AS (
                INSERT INTO resource (resource_type, id, version_id, deleted, patient_id)
                SELECT t, i, v, d, NULLIF(p, '') FROM unnest(\(versions.map(\.type))::text[], \(versions.map(\.id))::text[],
                    \(versions.map { Int64($0.versionId) })::bigint[], \(versions.map(\.isDeleted))::boolean[],
                    \(writes.map { $0.patientID ?? "" })::text[]) AS x(t, i, v, d, p)
                ON CONFLICT (resource_type, id) DO UPDATE
                SET version_id = excluded.version_id, deleted = excluded.deleted, patient_id = excluded.patient_id
            ), old AS (
                SELECT * FROM unnest(\(replaced.map(\.type))::text[], \(replaced.map(\.id))::text[]) AS x(t, i)
            ),
            d1 AS (DELETE FROM search_token s USING old WHERE s.resource_type = old.t AND s.id = old.i),
            d2 AS (DELETE FROM search_string s USING old WHERE s.resource_type = old.t AND s.id = old.i),
            d3 AS (DELETE FROM search_date s USING old WHERE s.resource_type = old.t AND s.id = old.i),
            d4 AS (DELETE FROM search_reference s USING old WHERE s.resource_type = old.t AND s.id = old.i),
            d5 AS (DELETE FROM search_quantity s USING old WHERE s.resource_type = old.t AND s.id = old.i),
            d6 AS (DELETE FROM search_number s USING old WHERE s.resource_type = old.t AND s.id = old.i),
            d7 AS (DELETE FROM search_uri s USING old WHERE s.resource_type = old.t AND s.id = old.i),
            d8 AS (DELETE FROM search_composite s USING old WHERE s.resource_type = old.t AND s.id = old.i),
            i1 AS (INSERT INTO search_token (resource_type, id, parameter, system, code, text)
                SELECT * FROM unnest(\(tt)::text[], \(ti)::text[], \(tokens.map(\.parameter))::text[], \(tokens.map(\.system))::text[],
                    \(tokens.map(\.code))::text[], \(tokens.map(\.text))::text[])),
            i2 AS (INSERT INTO search_string (resource_type, id, parameter, value, exact)
                SELECT * FROM unnest(\(st)::text[], \(si)::text[], \(strings.map(\.parameter))::text[], \(strings.map(\.value))::text[],
                    \(strings.map(\.exact))::text[])),
            i3 AS (INSERT INTO search_date (resource_type, id, parameter, low, high, patient_id)
                SELECT t, i, p, l, h, NULLIF(o, '') FROM unnest(\(dt)::text[], \(di)::text[], \(dates.map(\.parameter))::text[],
                    \(dates.map(\.low))::bigint[], \(dates.map(\.high))::bigint[], \(datePatients)::text[]) AS x(t, i, p, l, h, o)),
            i4 AS (INSERT INTO search_reference (resource_type, id, parameter, target_type, target_id, url)
                SELECT * FROM unnest(\(rt)::text[], \(ri)::text[], \(references.map(\.parameter))::text[], \(references.map(\.targetType))::text[],
                    \(references.map(\.targetID))::text[], \(references.map(\.url))::text[])),
            i5 AS (INSERT INTO search_quantity (resource_type, id, parameter, value, system, code, unit)
                SELECT * FROM unnest(\(qt)::text[], \(qi)::text[], \(quantities.map(\.parameter))::text[], \(quantities.map(\.value))::float8[],
                    \(quantities.map(\.system))::text[], \(quantities.map(\.code))::text[], \(quantities.map(\.unit))::text[])),
            i6 AS (INSERT INTO search_number (resource_type, id, parameter, value)
                SELECT * FROM unnest(\(nt)::text[], \(ni)::text[], \(numbers.map(\.parameter))::text[], \(numbers.map(\.value))::float8[])),
            i7 AS (INSERT INTO search_uri (resource_type, id, parameter, uri)
                SELECT * FROM unnest(\(ut)::text[], \(ui)::text[], \(uris.map(\.parameter))::text[], \(uris.map(\.uri))::text[]))
            INSERT INTO search_composite (resource_type, id, parameter, system1, code1, system2, code2, number2, low2, high2)
            SELECT t, i, p, s1, c1, s2, c2, NULLIF(n2, 'NaN'::float8), NULLIF(l2, -9223372036854775808), NULLIF(h2, -9223372036854775808)
            FROM unnest(\(ct)::text[], \(ci)::text[], \(c.map(\.parameter))::text[], \(c.map(\.system1))::text[], \(c.map(\.code1))::text[],
                \(c.map(\.system2))::text[], \(c.map(\.code2))::text[], \(c.map { $0.number2 ?? .nan })::float8[],
                \(c.map { $0.low2 ?? Int64.min })::bigint[], \(c.map { $0.high2 ?? Int64.min })::bigint[]) AS x(t, i, p, s1, c1, s2, c2, n2, l2, h2)
            """, logger: logger)
    }

    public func count(type: String?) async throws -> Int {
        let rows = try await client.query(
            "SELECT count(*) FROM resource WHERE NOT deleted AND (\(type)::text IS NULL OR resource_type = \(type))", logger: logger)
        for try await n in rows.decode(Int.self) { return n }
        return 0
    }

    /// Analyses the tables without holding up the write that made it due.
    private func analyzeInBackground() {
        let statistics = self.statistics, client = self.client, logger = self.logger
        Task {
            defer { statistics.finished() }
            do {
                _ = try await client.withConnection { connection in try await connection.query("ANALYZE", logger: logger) }
                logger.info("refreshed the planner's statistics after a bulk load")
            } catch {
                logger.warning("could not refresh the planner's statistics: \(String(describing: error))")
            }
        }
    }

    public func optimize() async throws {
        // Without statistics after a bulk load, PostgreSQL plans index-table joins as if tables were empty.
        let logger = self.logger
        _ = try await client.withConnection { connection in try await connection.query("ANALYZE", logger: logger) }
    }

    public func close() async throws {
        runTask.cancel()
        onePatientRunTask?.cancel()
        _ = await runTask.value
        _ = await onePatientRunTask?.value
    }

    /// The rows of one patient's searches (ids, or with `versions` the parts' current versions in one
    /// statement), prepared on the generic-plan pool; nil when they are not one patient's or PostgreSQL
    /// would not prepare them (the caller runs them as usual). One patient's searches are never probed
    /// (`SearchSQL.probes`), so their statements are built without a connection of the shared pool.
    private func preparedRows(_ parts: [(query: SearchQuery, limit: Int)], versions: Bool) async throws -> [PostgresRow]? {
        guard let onePatientClient, PreparedSearches.applies(to: parts.map(\.query)) else { return nil }
        func page(_ part: (query: SearchQuery, limit: Int)) -> SQLStatement {
            SearchSQL.plannedPage(part.query, limit: part.limit, dialect: .postgres, counts: [], threshold: scanThreshold, versions: versions)
        }
        let statement = versions ? SearchSQL.withVersions(parts.map { (page($0), $0.query.type) }) : page(parts[0])
        return try await onePatientClient.withConnection { [self] connection in try await prepared.rows(statement, on: connection, logger: logger) }
    }
}
