import Foundation

/// A helper program started with `posix_spawn`, for test support's servers and watchdogs.
///
/// Not Foundation's `Process`: on Linux its `run()` has crashed under the parallel test run (it reads
/// `/proc/self/fd` entries past their names, swift-corelibs-foundation#5472), and its wait hangs when a
/// grandchild (the postmaster started by `pg_ctl`) inherits its channel. Here the child gets exactly the
/// descriptors named and no other: every inherited one from 3 up is closed in the child.
struct ChildProcess: Sendable {
    /// What the child's standard input or output is.
    enum Stream {
        /// `/dev/null`.
        case null
        /// A file, created or truncated.
        case file(String)
        /// A new pipe; the parent's end is returned in `ChildProcess.stdin` or `.stdout`.
        case pipe
    }

    let pid: pid_t
    /// The parent's write end of the child's standard input, when it is a pipe.
    let stdin: Int32?
    /// The parent's read end of the child's standard output, when it is a pipe.
    let stdout: Int32?

    struct SpawnError: Error, CustomStringConvertible { let description: String }

    /// Starts `executable` with `arguments`; standard error goes where standard output goes unless `quietErrors`
    /// sends it to `/dev/null` (a pipe read only for a first line must not fill with a server's log).
    init(_ executable: String, _ arguments: [String], stdin input: Stream = .null, stdout output: Stream = .null,
         quietErrors: Bool = false) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var parentInput: Int32?
        var parentOutput: Int32?
        var childEnds: [Int32] = []
        defer { childEnds.forEach { close($0) } }
        switch input {
        case .null: posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        case .file(let path): posix_spawn_file_actions_addopen(&actions, 0, path, O_RDONLY, 0)
        case .pipe:
            var ends: [Int32] = [0, 0]
            guard Self.cloexecPipe(&ends) else { throw SpawnError(description: "pipe: errno \(errno)") }
            posix_spawn_file_actions_adddup2(&actions, ends[0], 0)
            parentInput = ends[1]
            childEnds.append(ends[0])
        }
        switch output {
        case .null: posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        case .file(let path): posix_spawn_file_actions_addopen(&actions, 1, path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        case .pipe:
            var ends: [Int32] = [0, 0]
            guard Self.cloexecPipe(&ends) else { throw SpawnError(description: "pipe: errno \(errno)") }
            posix_spawn_file_actions_adddup2(&actions, ends[1], 1)
            parentOutput = ends[0]
            childEnds.append(ends[1])
        }
        if quietErrors {
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        } else {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        // No descriptor of the test process (other servers' pipes, sockets) leaks into the child.
        Self.closeFrom3?(&actions, 3)
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard spawned == 0 else {
            [parentInput, parentOutput].compactMap { $0 }.forEach { close($0) }
            throw SpawnError(description: "could not start \(executable): errno \(spawned)")
        }
        self.pid = pid
        stdin = parentInput
        stdout = parentOutput
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34 and later), looked up at run time: Swift's Glibc
    /// module does not declare it (it is a GNU extension).
    private static let closeFrom3: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)? = {
        guard let symbol = dlsym(nil /* RTLD_DEFAULT */, "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
    }()

    /// A pipe whose ends close on exec (the child gets its end by `dup2`, which clears the flag).
    private static func cloexecPipe(_ ends: inout [Int32]) -> Bool {
        guard pipe(&ends) == 0 else { return false }
        _ = fcntl(ends[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(ends[1], F_SETFD, FD_CLOEXEC)
        return true
    }

    /// Waits for the child to end; its exit status (128 + signal when a signal ended it).
    @discardableResult
    func wait() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    /// Reads the child's standard output up to the first newline (or its end).
    func readLine() -> String {
        guard let stdout else { return "" }
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while read(stdout, &byte, 1) == 1 {
            if byte == UInt8(ascii: "\n") { break }
            line.append(byte)
        }
        return String(decoding: line, as: UTF8.self)
    }

    /// Ends the child (SIGTERM), closes the parent's ends and reaps it.
    func terminate() {
        kill(pid, SIGTERM)
        if let stdin { close(stdin) }
        if let stdout { close(stdout) }
        wait()
    }
}
