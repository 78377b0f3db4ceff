import Foundation

/// A throwaway PostgreSQL server started from the machine's own binaries
/// (Debian keeps `initdb` and `pg_ctl` in `/usr/lib/postgresql/N/bin`), in a
/// temporary folder, on a free loopback port. A watchdog stops it when the
/// process that started it ends, so no test run leaves a server behind.
public final class TemporaryPostgres: Sendable {
    /// Why no server could be started; tests skip with this message.
    public struct Unavailable: Error, CustomStringConvertible {
        public let description: String
    }

    public let port: Int
    public let directory: String
    public let binDirectory: String
    private let runAsPostgresUser: Bool

    /// The URL of the server's `postgres` database.
    public var url: String { "postgres://karna@127.0.0.1:\(port)/postgres" }

    public func url(database: String) -> String { "postgres://karna@127.0.0.1:\(port)/\(database)" }

    /// The folder with `initdb` and `pg_ctl`, or nil when PostgreSQL is not installed.
    public static func findBinaries() -> String? {
        if let configured = ProcessInfo.processInfo.environment["KARNA_PG_BIN"], FileManager.default.fileExists(atPath: configured + "/initdb") {
            return configured
        }
        let root = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        for version in versions.sorted(by: { (Int($0) ?? 0) > (Int($1) ?? 0) }) {
            let bin = "\(root)/\(version)/bin"
            if FileManager.default.fileExists(atPath: bin + "/initdb") && FileManager.default.fileExists(atPath: bin + "/pg_ctl") {
                return bin
            }
        }
        return nil
    }

    /// Starts a server; throws `Unavailable` when the binaries are missing or it does not come up.
    public init() throws {
        guard let bin = Self.findBinaries() else {
            throw Unavailable(description: "PostgreSQL binaries not found under /usr/lib/postgresql/*/bin (apt-get install postgresql), or set KARNA_PG_BIN")
        }
        binDirectory = bin
        runAsPostgresUser = getuid() == 0
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("karna-pg-\(UUID().uuidString.prefix(8))").path
        directory = base
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        port = Self.freePort()
        let options = "-p \(port) -k \(base) -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=500"
        self.options = options
        if runAsPostgresUser {
            // initdb refuses to run as root; the Debian package's postgres user owns the cluster instead.
            _ = try Self.run("/bin/chown", ["postgres:postgres", base])
        }
        let data = base + "/data"
        let initdb = try runAsOwner("\(bin)/initdb", ["-D", data, "-U", "karna", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"])
        guard initdb.status == 0 else { throw Unavailable(description: "initdb failed: \(initdb.output)") }
        let start = try runAsOwner("\(bin)/pg_ctl", ["-D", data, "-l", base + "/server.log", "-o", options, "-w", "-t", "60", "start"])
        guard start.status == 0 else {
            let log = (try? String(contentsOfFile: base + "/server.log", encoding: .utf8)) ?? ""
            throw Unavailable(description: "pg_ctl start failed: \(start.output) \(log)")
        }
        startWatchdog(data: data)
    }

    /// Creates a fresh database and returns its URL.
    public func createDatabase(_ name: String) throws -> String {
        let result = try Self.run("\(binDirectory)/createdb", ["-h", "127.0.0.1", "-p", String(port), "-U", "karna", name])
        guard result.status == 0 else { throw Unavailable(description: "createdb \(name) failed: \(result.output)") }
        return url(database: name)
    }

    /// The server's start options, to start it again after `pause()`.
    private let options: String

    /// Stops the server as a crash would (an outage), keeping its data.
    public func pause() throws {
        let stop = try runAsOwner("\(binDirectory)/pg_ctl", ["-D", directory + "/data", "-m", "immediate", "-w", "stop"])
        guard stop.status == 0 else { throw Unavailable(description: "pg_ctl stop failed: \(stop.output)") }
    }

    /// Starts the server paused by `pause()` on the same port and data.
    public func resume() throws {
        let start = try runAsOwner("\(binDirectory)/pg_ctl", ["-D", directory + "/data", "-l", directory + "/server.log", "-o", options, "-w", "-t", "60", "start"])
        guard start.status == 0 else { throw Unavailable(description: "pg_ctl start failed: \(start.output)") }
    }

    /// Stops the server and removes its folder.
    public func stop() {
        _ = try? runAsOwner("\(binDirectory)/pg_ctl", ["-D", directory + "/data", "-m", "immediate", "-w", "stop"])
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func startWatchdog(data: String) {
        let owner = runAsPostgresUser ? "runuser -u postgres -- " : ""
        let script = """
            while kill -0 \(getpid()) 2>/dev/null; do sleep 1; done
            \(owner)'\(binDirectory)/pg_ctl' -D '\(data)' -m immediate -w stop >/dev/null 2>&1
            rm -rf '\(directory)'
            """
        // Left to run on its own: it outlives this process by design, so no one waits for it.
        _ = try? ChildProcess("/bin/bash", ["-c", script])
    }

    private func runAsOwner(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        if runAsPostgresUser {
            return try Self.run("/usr/sbin/runuser", ["-u", "postgres", "--", executable] + arguments)
        }
        return try Self.run(executable, arguments)
    }

    /// Runs a program to completion, its output (standard output and error) captured through a file.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("karna-pg-cmd-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let child: ChildProcess
        do {
            child = try ChildProcess(executable, arguments, stdout: .file(outputPath))
        } catch {
            throw Unavailable(description: "\(error)")
        }
        let status = child.wait()
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        return (status, text)
    }

    /// A port the kernel just handed out, so it is free now.
    public static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
