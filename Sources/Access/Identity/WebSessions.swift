import FHIRCore
import Foundation
import Store
import StoreModel

/// The clinician app's server-side sessions: the cookie holds a random token, the store holds its
/// hash with the login grant, a form token and an idle deadline, so logging out or timing out ends
/// the session on every server at once. They live here, beside the grants they hold, because only
/// Access may touch the store: the web app keeps the cookie and asks.
public struct WebSessions: Sendable {
    public static let kind = "web-session"
    /// What every request reads with its session: the user's account and assignment, named by the grant.
    static let signInRecords = TokenService.recordsNamed(byGrantAt: ["grant"])

    /// What a session remembers between requests.
    public struct Stored: Codable, Sendable {
        public var grant: Grant
        /// Sent back with every form (CSRF): a form posted from another site does not know it.
        public var formToken: String
        public var expiresAt: Int64
        public var renewedAt: Int64
        /// The password was reset: the session opens only the page that changes it.
        public var mustChangePassword: Bool? = nil
        /// When the login was (sessions stored before it was recorded end by idling only).
        public var startedAt: Int64? = nil
    }

    /// A session found by its cookie.
    public enum Lookup: Sendable {
        /// With its user's account and assignment, read in the same statement (`TokenService.principal(for:named:)`).
        case active(Stored, named: ControlRecordWithNamed)
        /// It existed but was idle too long: the page says so instead of a bare login form.
        case expired
        case missing
    }

    let store: any ResourceStore
    /// Idle time after which a session ends.
    public let idleSeconds: Int
    /// Time after the login at which a session ends however active it is.
    public let maximumSeconds: Int

    public init(tokens: TokenService, idleSeconds: Int, maximumSeconds: Int = 43_200) {
        self.init(store: tokens.store, idleSeconds: idleSeconds, maximumSeconds: maximumSeconds)
    }

    /// Sessions on a store directly: for the composition root and tests, which may hold one.
    public init(store: any ResourceStore, idleSeconds: Int, maximumSeconds: Int = 43_200) {
        self.store = store
        self.idleSeconds = idleSeconds
        self.maximumSeconds = maximumSeconds
    }

    /// Starts a session for a grant; returns the cookie value.
    public func start(_ grant: Grant, mustChangePassword: Bool = false) async throws -> (token: String, session: Stored) {
        let token = Secrets.randomToken()
        let now = Instant.now()
        let stored = Stored(grant: grant, formToken: Secrets.randomToken(), expiresAt: now + Int64(idleSeconds) * 1000, renewedAt: now,
                            mustChangePassword: mustChangePassword ? true : nil, startedAt: now)
        try await save(stored, token: token)
        return (token, stored)
    }

    /// The session a cookie names; an active one's deadline moves on (written at most once a minute).
    public func resume(_ token: String?) async throws -> Lookup {
        guard let token, !token.isEmpty else { return .missing }
        let key = Secrets.sha256Hex(token)
        // The account and assignment come with the session: one round trip before any page work, not three.
        guard let read = try await store.controlRecord(kind: Self.kind, key: key, naming: Self.signInRecords),
              var stored = try? JSONDecoder().decode(Stored.self, from: Data(read.record.json))
        else { return .missing }
        let now = Instant.now()
        let ended = stored.startedAt.map { now - $0 >= Int64(maximumSeconds) * 1000 } ?? false
        guard stored.expiresAt > now, !ended else {
            try await store.writeControlRecords([], deleting: [ControlRecordKey(kind: Self.kind, key: key)], audit: [])
            return .expired
        }
        // Renewed at most once a minute, and at least four times per idle period: with a one-minute idle
        // setting, renewing once a minute would let an active session lapse.
        if now - stored.renewedAt > min(60_000, Int64(idleSeconds) * 250) {
            stored.expiresAt = now + Int64(idleSeconds) * 1000
            stored.renewedAt = now
            try await save(stored, token: token)
        }
        return .active(stored, named: read)
    }

    /// Stores what changed in an active session.
    public func update(_ stored: Stored, token: String) async throws {
        try await save(stored, token: token)
    }

    /// Ends a session (logout).
    public func end(_ token: String) async throws {
        try await store.writeControlRecords([], deleting: [ControlRecordKey(kind: Self.kind, key: Secrets.sha256Hex(token))], audit: [])
    }

    private func save(_ stored: Stored, token: String) async throws {
        let record = ControlRecord(kind: Self.kind, key: Secrets.sha256Hex(token), json: [UInt8](try JSONEncoder().encode(stored)))
        try await store.writeControlRecords([record], deleting: [], audit: [])
    }
}
