import StoreModel
import FHIRCore
import Foundation
import GRDB
import Logging
import NIOCore
import PostgresNIO

/// The database's own ceiling for the benchmark report: the same JSON bytes
/// inserted as plain rows (no versions, no index, no validation), in
/// transactions of the same size as `karna seed` uses.
public enum RawInsertBenchmark {
    /// Rows written, bytes written and the seconds it took.
    public struct Result: Sendable {
        public let rows: Int
        public let bytes: Int
        public let seconds: Double
    }

    public static func run(url: String, payloads: [[UInt8]], batchSize: Int = 1000) async throws -> Result {
        let clock = ContinuousClock()
        let bytes = payloads.reduce(0) { $0 + $1.count }
        let batches = stride(from: 0, to: payloads.count, by: batchSize).map { Array(payloads[$0..<min($0 + batchSize, payloads.count)]) }
        if url.hasPrefix("postgres") {
            let store = try PostgresStore(url: url)
            defer { Task { try? await store.close() } }
            let started = clock.now
            try await store.rawInserts(batches)
            return Result(rows: payloads.count, bytes: bytes, seconds: (clock.now - started) / .seconds(1))
        }
        let path = url.hasPrefix("sqlite:") ? String(url.dropFirst("sqlite:".count)) : url
        let store = try SQLiteStore(path: path)
        let started = clock.now
        try await store.rawInserts(batches)
        let result = Result(rows: payloads.count, bytes: bytes, seconds: (clock.now - started) / .seconds(1))
        try await store.close()
        return result
    }
}

extension SQLiteStore {
    func rawInserts(_ batches: [[[UInt8]]]) async throws {
        try await pool.write { db in
            try db.execute(sql: "DROP TABLE IF EXISTS bench_raw")
            try db.execute(sql: "CREATE TABLE bench_raw (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL, json BLOB NOT NULL)")
        }
        for batch in batches {
            try await pool.write { db in
                let statement = try db.cachedStatement(sql: "INSERT INTO bench_raw (id, json) VALUES (?, ?)")
                for (i, payload) in batch.enumerated() { try statement.execute(arguments: [String(i), Data(payload)]) }
            }
        }
        try await pool.write { db in try db.execute(sql: "DROP TABLE bench_raw") }
    }
}

extension PostgresStore {
    func rawInserts(_ batches: [[[UInt8]]]) async throws {
        try await client.query("DROP TABLE IF EXISTS bench_raw", logger: logger)
        try await client.query("CREATE TABLE bench_raw (seq BIGSERIAL PRIMARY KEY, id TEXT NOT NULL, json BYTEA NOT NULL)", logger: logger)
        // Two writers, as `karna seed` uses on PostgreSQL.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (n, batch) in batches.enumerated() {
                if n >= 2 { try await group.next() }
                group.addTask {
                    try await self.client.withTransaction(logger: self.logger) { connection in
                        for (i, payload) in batch.enumerated() {
                            try await connection.query("INSERT INTO bench_raw (id, json) VALUES (\(String(i)), \(ByteBuffer(bytes: payload)))", logger: self.logger)
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        try await client.query("DROP TABLE bench_raw", logger: logger)
    }
}
