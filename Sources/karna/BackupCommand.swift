import ArgumentParser
import Foundation
import KarnaServer
import Store
import StoreModel

/// `karna backup` and `karna backup restore`: for the embedded SQLite database, an online, consistent copy that
/// is checked before it is called a backup (SQLite's integrity check and the whole audit chain), and a restore
/// that checks the copy the same way before it takes the database's place. PostgreSQL is backed up continuously
/// with pgBackRest (docs/operations.md).
struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Back up the SQLite database to a new file while the server runs, and verify the copy.",
        discussion: "PostgreSQL: continuous archiving and point-in-time restore with pgBackRest (docs/operations.md, scripts/pitr-drill.sh).",
        subcommands: [Take.self, Restore.self],
        defaultSubcommand: Take.self)

    struct Take: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "take", abstract: "Copy the database to --out and verify the copy.")
        @OptionGroup var options: ServerOptions
        @Option(help: "The new backup file.") var out: String

        func run() async throws {
            let configuration = try options.resolve()
            let path = try sqlitePath(configuration.databaseURL)
            let store = try SQLiteStore(path: path)
            let started = ContinuousClock.now
            do {
                try await store.backup(to: out)
            } catch let refusal as StoreBackupError {
                try await store.close()
                throw ValidationError(refusal.description)
            }
            try await store.close()
            let report = try verify(out)
            print("backup \(out): \(report) - verified in \(ContinuousClock.now - started)")
        }
    }

    struct Restore: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify a backup and put it in the database's place (the server stopped).",
            discussion: "An existing database is kept beside it as PATH.before-restore-TIME unless it is missing.")
        @OptionGroup var options: ServerOptions
        @Option(help: "The backup file to restore.") var from: String

        func run() async throws {
            let configuration = try options.resolve()
            let path = try sqlitePath(configuration.databaseURL)
            let restored: (report: SQLiteCopyReport, kept: String?)
            do {
                restored = try SQLiteStore.restore(from: from, to: path)
            } catch let refusal as StoreBackupError {
                throw ValidationError(refusal.description)
            }
            let report = restored.report
            if let kept = restored.kept { print("the database that was there is kept as \(kept)") }
            print("restored \(from) to \(path): \(report)")
        }
    }
}

/// The SQLite file a database URL names; PostgreSQL is refused with where to look instead.
private func sqlitePath(_ url: String) throws -> String {
    if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
        throw ValidationError("karna backup copies the embedded SQLite database; PostgreSQL is backed up with pgBackRest (docs/operations.md)")
    }
    var path = url
    for prefix in ["sqlite://", "sqlite:"] where path.hasPrefix(prefix) { path = String(path.dropFirst(prefix.count)); break }
    guard !path.isEmpty else { throw ValidationError("the database URL names no SQLite file") }
    return path
}

/// A copy counts as a backup only when SQLite finds it intact and its whole audit chain verifies.
private func verify(_ path: String) throws -> SQLiteCopyReport {
    let report: SQLiteCopyReport
    do {
        report = try SQLiteStore.inspect(copyAt: path)
    } catch let refusal as StoreBackupError {
        throw ValidationError(refusal.description)
    }
    guard report.integrity == "ok" else { throw ValidationError("\(path) failed SQLite's integrity check: \(report.integrity)") }
    if let broken = report.auditBreak { throw ValidationError("\(path): the audit chain is broken at \(broken)") }
    return report
}
