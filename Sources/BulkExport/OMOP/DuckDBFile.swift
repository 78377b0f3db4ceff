public import Foundation

/// Turns the OMOP export's CSV files and `load-duckdb.sql` into one DuckDB database file.
///
/// Written by hand rather than linked: no Swift package for DuckDB is on this machine, and DuckDB's C library is
/// in neither Debian nor the Swift toolchain. What the researchers already run is used instead — the `duckdb`
/// command, or Python's `duckdb` package from PyPI — with the very load script the export writes, so the file is
/// what a user loading the folder by hand would get. It is found before anything is exported, and the file
/// appears only whole: written beside the target and renamed over it once DuckDB has loaded every table and key.
/// Used by `karna export omop --out FILE.duckdb` and by `$omop-export?format=duckdb`.
public struct DuckDBFile: Sendable {
    /// The program that loads the script, and how.
    enum Loader {
        case command(String)
        case python(String)
    }

    /// Why no DuckDB file was made, in words for the person who asked.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    let loader: Loader

    /// Finds DuckDB on `PATH`, or says what to install: `asked` names what needed it, `otherwise` what to do without it.
    public static func find(asked: String, otherwise: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> DuckDBFile {
        let path = (environment["PATH"] ?? "").split(separator: ":").map(String.init)
        func executable(_ name: String) -> String? {
            path.map { URL(fileURLWithPath: $0).appendingPathComponent(name).path }.first { FileManager.default.isExecutableFile(atPath: $0) }
        }
        if let command = executable("duckdb") { return DuckDBFile(loader: .command(command)) }
        if let python = executable("python3"), (try? run(python, ["-c", "import duckdb"], in: nil, input: nil))?.status == 0 {
            return DuckDBFile(loader: .python(python))
        }
        throw Failure(description: "\(asked) needs DuckDB: the duckdb command or Python's duckdb package (pip install duckdb) on PATH; \(otherwise)")
    }

    /// Loads `load-duckdb.sql` from `tables` into a new database at `file`, replacing an earlier export only on success.
    /// Blocks its thread until DuckDB is done: `loadAside` runs it off the concurrency pool.
    public func load(tables: URL, into file: URL) throws {
        let partial = file.deletingLastPathComponent().appendingPathComponent(".\(file.lastPathComponent).partial")
        for leftover in [partial, partial.appendingPathExtension("wal")] { try? FileManager.default.removeItem(at: leftover) }
        let script = tables.appendingPathComponent("load-duckdb.sql")
        let result: (status: Int32, errors: String)
        switch loader {
        case .command(let duckdb):
            result = try Self.run(duckdb, [partial.path], in: tables, input: script)
        case .python(let python):
            let program = "import duckdb, sys\nc = duckdb.connect(sys.argv[1])\nc.execute(open('load-duckdb.sql', encoding='utf-8').read())\nc.close()"
            result = try Self.run(python, ["-c", program, partial.path], in: tables, input: nil)
        }
        guard result.status == 0 else {
            try? FileManager.default.removeItem(at: partial)
            throw Failure(description: "DuckDB did not load the export (exit \(result.status)): \(result.errors.suffix(1500)); the CSV files are kept in \(tables.path)")
        }
        guard rename(partial.path, file.path) == 0 else {
            throw Failure(description: "could not move the DuckDB file into place at \(file.path): \(String(cString: strerror(errno)))")
        }
    }

    /// `load` on a thread of its own: DuckDB takes seconds to minutes, and a server's concurrency pool has a
    /// thread per core (two here), so waiting on one of them would halve the server meanwhile.
    public func loadAside(tables: URL, into file: URL) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            Thread.detachNewThread {
                do {
                    try load(tables: tables, into: file)
                    continuation.resume()
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    /// Runs a program to its end: its exit status and what it wrote to standard error.
    private static func run(_ program: String, _ arguments: [String], in directory: URL?, input: URL?) throws -> (status: Int32, errors: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        if let input { process.standardInput = try FileHandle(forReadingFrom: input) }
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let written = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: written, as: UTF8.self))
    }
}
