import PatientAdministration
import Access
import FHIRCore
import Foundation
import KarnaTesting
import Store
import StoreModel
import Testing

/// Issue 31, item 8: what works once works once also when twenty clients try it at the same instant.
@Suite("One-time codes, refresh tokens, TOTP and lockout under 20 concurrent clients")
struct OneTimeRaceTests {
    static let clients = 20

    /// Runs `body` `clients` times at once and returns what each answered.
    static func atOnce<T: Sendable>(_ body: @escaping @Sendable (Int) async throws -> T) async throws -> [T] {
        try await withThrowingTaskGroup(of: T.self) { group in
            for i in 0..<clients { group.addTask { try await body(i) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
    }

    func services(_ store: any ResourceStore, freeAttempts: Int = 5) async throws -> (AccountService, TokenService) {
        let gateway = AccessGateway(store: store, modules: [PatientAdministration()])
        let accounts = AccountService(store: store, hasher: PasswordHasher(costExponent: 10), lockout: LockoutPolicy(freeAttempts: freeAttempts, firstLockSeconds: 60))
        let tokens = try await TokenService(store: store, directory: gateway.directory, accounts: accounts, issuer: "http://localhost/auth",
                                            audience: "http://localhost/fhir")
        return (accounts, tokens)
    }

    @Test("one authorization code gives one token set", arguments: backends)
    func authorizationCodeOnce(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let (_, tokens) = try await services(store)
        let grant = Grant(kind: .system, subject: "app", displayName: "App", clientID: "app", scope: "system/*.rs")
        let code = try await tokens.storeOneTime(kind: ControlKind.authorizationCode, grant: grant, seconds: 60)
        let taken = try await Self.atOnce { _ in try await tokens.takeOneTime(kind: ControlKind.authorizationCode, token: code) != nil }
        #expect(taken.filter { $0 }.count == 1)
        try await store.close()
    }

    @Test("one refresh token rotates once; replaying a rotated token revokes its whole family", arguments: backends)
    func refreshTokenOnce(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let (accounts, tokens) = try await services(store)
        _ = try await accounts.create(username: "anna", kind: .practitioner, subjectID: "doc1", displayName: "Anna", password: "lösenord-123",
                                      totpSecret: TOTP.newSecret())
        let grant = Grant(kind: .practitioner, subject: "anna", displayName: "Anna", clientID: "app", scope: "openid offline_access user/*.rs",
                          fhirUser: "Practitioner/doc1")
        // Used once: a new token. The first used again (stolen, replayed): nothing, and the token rotated from it stops working too.
        let first = try #require(try await tokens.issue(grant).refreshToken)
        let next = try #require(try await tokens.refresh(first, clientID: "app")?.refreshToken)
        #expect(try await tokens.refresh(first, clientID: "app") == nil)
        #expect(try await tokens.refresh(next, clientID: "app") == nil, "the family is revoked")
        // Twenty at once: at most one gets new tokens, and the nineteen replays revoke the family, so not even that one lasts.
        let shared = try #require(try await tokens.issue(grant).refreshToken)
        let renewed = try await Self.atOnce { _ in try await tokens.refresh(shared, clientID: "app")?.refreshToken }.compactMap { $0 }
        #expect(renewed.count <= 1)
        for token in renewed { #expect(try await tokens.refresh(token, clientID: "app") == nil) }
        // Another login's family is not touched.
        let other = try #require(try await tokens.issue(grant).refreshToken)
        #expect(try await tokens.refresh(other, clientID: "app") != nil)
        try await store.close()
    }

    @Test("one TOTP code logs in one of twenty parallel logins", arguments: backends)
    func totpOnce(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let (accounts, _) = try await services(store, freeAttempts: 100)
        let secret = TOTP.newSecret()
        _ = try await accounts.create(username: "anna", kind: .practitioner, subjectID: "doc1", displayName: "Anna", password: "lösenord-123", totpSecret: secret)
        let code = TOTP.code(secret: secret, step: TOTP.step())!
        let outcomes = try await Self.atOnce { _ -> Bool in
            do {
                _ = try await accounts.login(username: "anna", password: "lösenord-123", code: code, client: "t")
                return true
            } catch is LoginFailure {
                return false
            }
        }
        #expect(outcomes.filter { $0 }.count == 1)
        try await store.close()
    }

    @Test("twenty parallel wrong passwords: the lockout counts every one, and those past the limit are not checked", arguments: backends)
    func lockoutCountsAtomically(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let (accounts, _) = try await services(store, freeAttempts: 5)
        _ = try await accounts.create(username: "anna", kind: .practitioner, subjectID: "doc1", displayName: "Anna", password: "lösenord-123",
                                      totpSecret: TOTP.newSecret())
        _ = try await Self.atOnce { i in try? await accounts.login(username: "anna", password: "gissning-\(i)", code: "000000", client: "t") }
        let account = try #require(try await accounts.account("anna"))
        #expect(account.failedAttempts == 5, "attempts past the lock are refused before they count")
        #expect((account.lockedUntil ?? 0) > Instant.now())
        let denied = try await store.auditRecords(AuditQuery(action: "login", limit: 100)).filter { $0.entry.outcome == "denied" }
        let checked = denied.filter { String(decoding: $0.entry.json, as: UTF8.self).contains("wrong password") }
        let refused = denied.filter { String(decoding: $0.entry.json, as: UTF8.self).contains("\"locked\"") }
        #expect(checked.count == 5, "only five guesses were checked against the password")
        #expect(refused.count == Self.clients - 5)
        try await store.close()
    }
}
