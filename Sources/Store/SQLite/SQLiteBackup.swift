import Foundation
import GRDB
import StoreModel

/// What a backup or a restore checked in a copy of the database: SQLite's integrity check and the rows it holds.
public struct SQLiteCopyReport: Sendable, CustomStringConvertible {
    public var integrity: String
    public var resources: Int
    public var versions: Int
    public var auditRecords: Int
    public var lastAuditSequence: Int64
    /// The first audit record that breaks the chain, or nil when the whole chain verifies.
    public var auditBreak: AuditChain.Break?

    public var description: String {
        "integrity \(integrity); \(resources) resources in \(versions) versions; \(auditRecords) audit records, chain "
            + (auditBreak.map { "BROKEN at \($0)" } ?? "intact up to \(lastAuditSequence)")
    }
}

extension SQLiteStore {
    /// Copies the database to a new file while the server runs: SQLite's online backup API copies one consistent
    /// snapshot (writes committed during the copy are in a later backup, never half in this one).
    public func backup(to path: String) async throws {
        guard !FileManager.default.fileExists(atPath: path) else {
            throw StoreBackupError(description: "\(path) exists already; a backup is written to a new file")
        }
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        let copy = try DatabaseQueue(path: path)
        try pool.backup(to: copy)
        // One self-contained file: a copy in WAL mode would need its -wal beside it.
        try await copy.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = DELETE") }
        try copy.close()
    }

    /// Opens a copy read-only (it stays byte for byte as it was) and checks it: SQLite's integrity check, the counts
    /// of its rows, and its whole audit chain.
    public static func inspect(copyAt path: String) throws -> SQLiteCopyReport {
        guard FileManager.default.fileExists(atPath: path) else { throw StoreBackupError(description: "\(path) does not exist") }
        var configuration = Configuration()
        configuration.readonly = true
        let copy = try DatabaseQueue(path: path, configuration: configuration)
        defer { try? copy.close() }
        return try copy.read { db in
            let integrity = try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: "; ")
            guard try db.tableExists("resource"), try db.tableExists("audit_log") else {
                throw StoreBackupError(description: "\(path) is not a Kärna database (no resource or audit_log table)")
            }
            var previousHash = "", previousSequence: Int64 = 0, auditBreak: AuditChain.Break?
            while auditBreak == nil {
                let page = try Row.fetchAll(db, sql: """
                    SELECT seq, recorded_at, actor, patient_id, action, outcome, flags, json, previous_hash, hash FROM audit_log
                    WHERE seq > ? ORDER BY seq LIMIT 5000
                    """, arguments: [previousSequence]).map(SQLiteStore.auditRecord)
                guard let last = page.last else { break }
                auditBreak = AuditChain.verify(page, previousHash: previousHash, previousSequence: previousSequence)
                (previousHash, previousSequence) = (last.hash, last.sequence)
            }
            return SQLiteCopyReport(integrity: integrity,
                                    resources: try Int.fetchOne(db, sql: "SELECT count(*) FROM resource") ?? 0,
                                    versions: try Int.fetchOne(db, sql: "SELECT count(*) FROM resource_version") ?? 0,
                                    auditRecords: try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_log") ?? 0,
                                    lastAuditSequence: previousSequence, auditBreak: auditBreak)
        }
    }
}

extension SQLiteStore {
    /// Puts a verified backup in the database's place (the server stopped); a database already there is kept
    /// beside it as `PATH.before-restore-TIME`, with its WAL files. Returns the check of the backup and where the
    /// old database went. A backup that fails its check is not restored and nothing is moved.
    public static func restore(from backup: String, to path: String, now: Date = Date()) throws -> (report: SQLiteCopyReport, kept: String?) {
        let report = try inspect(copyAt: backup)
        guard report.integrity == "ok" else { throw StoreBackupError(description: "\(backup) failed SQLite's integrity check: \(report.integrity)") }
        if let broken = report.auditBreak { throw StoreBackupError(description: "\(backup): the audit chain is broken at \(broken)") }
        let files = FileManager.default
        var kept: String?
        if files.fileExists(atPath: path) {
            let stamp = ISO8601DateFormatter().string(from: now).replacingOccurrences(of: ":", with: "")
            let aside = "\(path).before-restore-\(stamp)"
            try files.moveItem(atPath: path, toPath: aside)
            // WAL and shared-memory files belong to the database they sit beside: they go with it.
            for suffix in ["-wal", "-shm"] where files.fileExists(atPath: path + suffix) { try files.moveItem(atPath: path + suffix, toPath: aside + suffix) }
            kept = aside
        }
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty { try files.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        try files.copyItem(atPath: backup, toPath: path)
        return (report, kept)
    }
}

/// A backup or restore that cannot go ahead, saying why.
public struct StoreBackupError: Error, CustomStringConvertible {
    public let description: String
}
