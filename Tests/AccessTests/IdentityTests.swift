import Access
import Foundation
import KarnaTesting
import Store
import Testing

@Suite("Identity: passwords, one-time codes, lockout, scopes")
struct IdentityTests {
    @Test("scrypt hashes are salted and verify only the right password")
    func passwords() throws {
        let hasher = PasswordHasher(costExponent: 10)
        let a = try hasher.hash("rätt häst batteri")
        let b = try hasher.hash("rätt häst batteri")
        #expect(a != b, "each hash has its own salt")
        #expect(a.hasPrefix("scrypt$1024$8$1$"))
        #expect(hasher.verify("rätt häst batteri", against: a))
        #expect(!hasher.verify("rätt häst batteri ", against: a))
        #expect(!hasher.verify("x", against: "not a hash"))
    }

    @Test("TOTP matches RFC 6238's SHA-1 test vector and allows one step of drift")
    func totp() {
        let secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  // "12345678901234567890"
        #expect(TOTP.code(secret: secret, step: 59 / 30) == "287082")
        #expect(TOTP.code(secret: secret, step: 1_111_111_109 / 30) == "081804")
        let now = Date(timeIntervalSince1970: 1_111_111_109)
        #expect(TOTP.matchingStep(secret: secret, code: "081804", at: now.addingTimeInterval(30)) != nil)
        #expect(TOTP.matchingStep(secret: secret, code: "081804", at: now.addingTimeInterval(90)) == nil)
    }

    @Test("logins need password and code; a code works once; failures lock the account with back-off", arguments: backends)
    func lockout(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let accounts = AccountService(store: store, hasher: PasswordHasher(costExponent: 10), lockout: LockoutPolicy(freeAttempts: 3, firstLockSeconds: 60))
        let secret = TOTP.newSecret()
        _ = try await accounts.create(username: "Anna", kind: .practitioner, subjectID: "doc1", displayName: "Anna", password: "lösenord-123", totpSecret: secret)
        let code = TOTP.code(secret: secret, step: TOTP.step())!
        await #expect(throws: LoginFailure.invalidCode) { _ = try await accounts.login(username: "anna", password: "lösenord-123", code: "000000", client: "t") }
        let account = try await accounts.login(username: "anna", password: "lösenord-123", code: code, client: "t")
        #expect(account.subjectID == "doc1")
        await #expect(throws: LoginFailure.invalidCode, "a used code does not work twice") {
            _ = try await accounts.login(username: "anna", password: "lösenord-123", code: code, client: "t")
        }
        for _ in 0..<2 { _ = try? await accounts.login(username: "anna", password: "fel", code: code, client: "t") }
        do {
            _ = try await accounts.login(username: "anna", password: "lösenord-123", code: TOTP.code(secret: secret, step: TOTP.step() + 1)!, client: "t")
            Issue.record("a locked account logged in")
        } catch let failure as LoginFailure {
            guard case .locked = failure else { Issue.record("expected locked, got \(failure)"); return }
        }
        let attempts = try await store.auditRecords(AuditQuery(action: "login", limit: 50))
        #expect(attempts.filter { $0.entry.outcome == "denied" }.count >= 4)
        #expect(attempts.contains { $0.entry.outcome == "allowed" })
        try await store.close()
    }

    @Test("SMART v1 and v2 scopes")
    func scopes() {
        let scopes = ScopeSet("openid fhirUser patient/*.rs user/Observation.cruds system/Patient.read launch/patient")
        #expect(scopes.allows("r", on: "Condition", in: [.patient]))
        #expect(!scopes.allows("c", on: "Condition", in: [.patient]))
        #expect(scopes.allows("d", on: "Observation", in: [.user]))
        #expect(!scopes.allows("r", on: "Condition", in: [.user]))
        #expect(scopes.allows("s", on: "Patient", in: [.system]))
        #expect(ScopeSet("user/Observation.sr").resources.isEmpty, "v2 letters must be in c r u d s order")
        #expect(ScopeSet("patient/*.rs user/*.cruds").narrowed(to: ScopeSet("patient/*.rs")).description == "patient/*.rs")
    }
}
