import Access
import Foundation
import Glibc
import Hummingbird
import HummingbirdTesting
import KarnaServer
import KarnaTesting
import Logging
import Testing
import Store

/// A plain TCP client socket, to behave as no HTTP library would: hold a connection idle, trickle a header.
struct RawSocket {
    let fd: Int32

    /// Connects to 127.0.0.1:`port` from `source` (another loopback address is another client to the server).
    init(port: Int, source: String = "127.0.0.1") throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EMFILE) }
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        inet_pton(AF_INET, source, &local.sin_addr)
        var remote = sockaddr_in()
        remote.sin_family = sa_family_t(AF_INET)
        remote.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr)
        let bound = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        let connected = withUnsafePointer(to: &remote) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, connected == 0 else { Glibc.close(fd); throw POSIXError(.ECONNREFUSED) }
    }

    @discardableResult
    func send(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, bytes.count, Int32(MSG_NOSIGNAL)) } == bytes.count
    }

    /// Whether the server closed the connection within `seconds` (end of stream or reset), reading past any answer.
    func closedByServer(within seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        var buffer = [UInt8](repeating: 0, count: 4_096)
        while Date() < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(max(1, deadline.timeIntervalSinceNow * 1_000)))
            guard ready > 0 else { return false }
            let read = recv(fd, &buffer, buffer.count, 0)
            if read <= 0 { return true }
        }
        return false
    }

    /// What the server answered to a request, up to the end of the head and a short body.
    func answer(within seconds: Double = 5) -> String {
        var text = ""
        let deadline = Date().addingTimeInterval(seconds)
        var buffer = [UInt8](repeating: 0, count: 4_096)
        while Date() < deadline, !text.contains("\r\n\r\n") {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 200) > 0 else { continue }
            let read = recv(fd, &buffer, buffer.count, 0)
            guard read > 0 else { break }
            text += String(decoding: buffer[0..<read], as: UTF8.self)
        }
        return text
    }

    func close() { Glibc.close(fd) }
}

/// Live servers, one test at a time: their deadlines are seconds, and a busy machine must not blur them.
@Suite("A live server's limits", .serialized)
struct LiveServerTests {}

/// Issue 31, item 9: one client cannot starve the others of connections, and a connection that sends
/// nothing, or a header that never ends, is closed.
extension LiveServerTests {
@Suite("Connection limits of a live server", .serialized)
struct ConnectionLimitTests {
    static func withLiveServer(_ flags: [String: String], _ body: @Sendable (Int) async throws -> Void) async throws {
        let store = try await StoreBackend.sqlite.makeStore()
        let configuration = try KarnaConfiguration(flags: ["password-cost": "10"].merging(flags) { $1 }, environment: [:])
        let services = try await KarnaApplication.services(configuration, store: store, logger: Logger(label: "test"))
        let app = try await KarnaApplication.build(services, logger: Logger(label: "test"))
        try await app.test(.live) { client in
            try await body(try #require(client.port))
        }
        try await store.close()
    }

    @Test("a client past its connection limit is refused at once while another client is served")
    func perClientLimit() async throws {
        try await Self.withLiveServer(["connections-per-client": "5", "header-timeout-seconds": "30"]) { port in
            let hogs = try (0..<8).map { _ in try RawSocket(port: port) }
            defer { hogs.forEach { $0.close() } }
            // Give the server a moment to see all eight.
            try await Task.sleep(for: .milliseconds(300))
            let closed = hogs.filter { $0.closedByServer(within: 0.3) }.count
            // At most five stay open (a loaded machine may also see one of the five drop, so not exactly three).
            #expect(closed >= 3, "eight connections against a limit of five: \(closed) closed")
            let other = try RawSocket(port: port, source: "127.0.0.2")
            defer { other.close() }
            // Liveness, not readiness: the database check behind /health is not what this test is about, and under the
            // whole suite on two cores it once outlasted a 5 s read.
            other.send("GET /health/live HTTP/1.1\r\nHost: karna\r\n\r\n")
            #expect(other.answer(within: 20).hasPrefix("HTTP/1.1 200"))
        }
    }

    @Test("a header trickled a line at a time is cut off at the header deadline; an idle kept-alive connection at the idle deadline")
    func slowHeaderAndIdle() async throws {
        try await Self.withLiveServer(["header-timeout-seconds": "1"]) { port in
            let slow = try RawSocket(port: port)
            defer { slow.close() }
            slow.send("GET /health HTTP/1.1\r\nHost: karna\r\n")
            let started = Date()
            var stillOpen = true
            // Up to 20 s: the whole suite runs in parallel on two cores, and under it the 1 s deadline has been seen to
            // fire only after 10 s (unexplained; alone it fires at once), but it fires.
            for i in 0..<80 where stillOpen {
                stillOpen = slow.send("X-Slow-\(i): a\r\n") && !slow.closedByServer(within: 0.25)
            }
            #expect(!stillOpen, "a slowloris header was still open after 20 s")
            #expect(Date().timeIntervalSince(started) < 19)
        }
        // The idle deadline on its own server: a header deadline of a second could close a busy machine's first request.
        try await Self.withLiveServer(["idle-timeout-seconds": "1"]) { port in
            let idle = try RawSocket(port: port)
            defer { idle.close() }
            idle.send("GET /health HTTP/1.1\r\nHost: karna\r\n\r\n")
            #expect(idle.answer().hasPrefix("HTTP/1.1 200"))
            // 20 s for the same reason as above; the default idle deadline (75 s) would not close it in that time.
            #expect(idle.closedByServer(within: 20), "an idle kept-alive connection stayed open")
        }
    }
}

}

/// Issue 31, item 10: logins, token requests and API calls are limited per client, and logins per account.
extension LiveServerTests {
@Suite("Rate limits of a live server", .serialized)
struct RateLimitTests {
    @Test("past its API limit a client gets 429 with Retry-After and an OperationOutcome; another client does not")
    func apiPerClient() async throws {
        try await LiveServerTests.ConnectionLimitTests.withLiveServer(["rate-api": "5"]) { port in
            func status(from source: String) throws -> String {
                let socket = try RawSocket(port: port, source: source)
                defer { socket.close() }
                socket.send("GET /fhir/metadata HTTP/1.1\r\nHost: karna\r\nConnection: close\r\n\r\n")
                return socket.answer()
            }
            for _ in 0..<5 { #expect(try status(from: "127.0.0.1").hasPrefix("HTTP/1.1 200")) }
            let throttled = try status(from: "127.0.0.1")
            #expect(throttled.hasPrefix("HTTP/1.1 429"), "\(throttled.prefix(200))")
            #expect(throttled.lowercased().contains("retry-after: "))
            #expect(try status(from: "127.0.0.2").hasPrefix("HTTP/1.1 200"), "another client is not held back")
        }
    }

    @Test("login posts and token requests past their limits get 429 before any password is checked")
    func loginsAndTokens() async throws {
        try await LiveServerTests.ConnectionLimitTests.withLiveServer(["rate-logins": "3", "rate-tokens": "2"]) { port in
            func post(_ path: String, _ body: String) throws -> String {
                let socket = try RawSocket(port: port)
                defer { socket.close() }
                socket.send("POST \(path) HTTP/1.1\r\nHost: karna\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)")
                return socket.answer()
            }
            let logins = try (0..<4).map { _ in try post("/login", "username=nobody&password=x&code=000000") }
            #expect(logins.prefix(3).allSatisfy { !$0.hasPrefix("HTTP/1.1 429") })
            #expect(logins[3].hasPrefix("HTTP/1.1 429"))
            let tokens = try (0..<3).map { _ in try post("/auth/token", "grant_type=client_credentials&client_id=x&client_secret=y") }
            #expect(tokens[2].hasPrefix("HTTP/1.1 429") && !tokens[1].hasPrefix("HTTP/1.1 429"), "\(tokens.map { $0.prefix(60) })")
        }
    }

    @Test("logins per account are limited from any address, before the password is checked")
    func perAccount() async throws {
        let store = try await StoreBackend.sqlite.makeStore()
        let accounts = AccountService(store: store, hasher: PasswordHasher(costExponent: 10), lockout: LockoutPolicy(freeAttempts: 100),
                                      accountLimiter: RateLimiter(perMinute: 3))
        _ = try await accounts.create(username: "anna", kind: .practitioner, subjectID: "doc1", displayName: "Anna", password: "lösenord-123",
                                      totpSecret: TOTP.newSecret())
        for _ in 0..<3 { _ = try? await accounts.login(username: "anna", password: "fel", code: "000000", client: "t") }
        do {
            _ = try await accounts.login(username: "ANNA", password: "fel", code: "000000", client: "t")
            Issue.record("a fourth attempt this minute was checked")
        } catch let failure as LoginFailure {
            #expect(AccountService.retryAfter(failure) != nil, "\(failure)")
        }
        #expect(try await accounts.account("anna")?.failedAttempts == 3, "the limited attempt was not counted or checked")
        try await store.close()
    }
}
}
