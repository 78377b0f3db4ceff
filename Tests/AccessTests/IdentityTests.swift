import PatientAdministration
import Access
import FHIRCore
import Foundation
import KarnaTesting
import Store
import StoreModel
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

    @Test("a user changes their own password: the current one is checked (and counts as a failed login), the new one must meet the policy", arguments: backends)
    func passwordChange(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let accounts = AccountService(store: store, hasher: PasswordHasher(costExponent: 10), lockout: LockoutPolicy(freeAttempts: 3),
                                      policy: PasswordPolicy(minimumLength: 12))
        let secret = TOTP.newSecret()
        _ = try await accounts.create(username: "anna", kind: .practitioner, subjectID: "doc1", displayName: "Anna", password: "gammalt-lösen-1", totpSecret: secret)
        await #expect(throws: PasswordChangeFailure.wrongCurrentPassword) {
            try await accounts.changePassword(username: "anna", current: "fel", new: "ett-helt-nytt-lösen", client: "t")
        }
        #expect(try await accounts.account("anna")?.failedAttempts == 1)
        for (new, why) in [("kort-1", "Lösenordet måste ha minst 12 tecken."), ("anna-anna-anna-1", "Lösenordet får inte innehålla användarnamnet."),
                           ("aaaabbbbcccc", "Lösenordet har för få olika tecken.")] {
            await #expect(throws: PasswordChangeFailure.refused(why)) {
                try await accounts.changePassword(username: "anna", current: "gammalt-lösen-1", new: new, client: "t")
            }
        }
        await #expect(throws: PasswordChangeFailure.unchanged) {
            try await accounts.changePassword(username: "anna", current: "gammalt-lösen-1", new: "gammalt-lösen-1", client: "t")
        }
        try await accounts.changePassword(username: "anna", current: "gammalt-lösen-1", new: "ett-helt-nytt-lösen", client: "t")
        let code = TOTP.code(secret: secret, step: TOTP.step())!
        await #expect(throws: LoginFailure.invalidCredentials) { _ = try await accounts.login(username: "anna", password: "gammalt-lösen-1", code: code, client: "t") }
        #expect(try await accounts.login(username: "anna", password: "ett-helt-nytt-lösen", code: code, client: "t").failedAttempts == 0)
        let changes = try await store.auditRecords(AuditQuery(action: "password-change", limit: 10))
        #expect(changes.map(\.entry.outcome).sorted() == ["allowed", "denied"])
        try await store.close()
    }

    @Test("a new login is written with its practitioner or not at all: an invalid or taken username, also one taken in the same instant, writes nothing",
          arguments: backends)
    func newLoginWithItsPractitioner(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let accounts = AccountService(store: store, hasher: PasswordHasher(costExponent: 10), lockout: LockoutPolicy(freeAttempts: 2))
        let gateway = AccessGateway(store: store, settings: AccessSettings(defaultProviderID: "provA"), modules: [PatientAdministration()])
        let position = try #require(Position.defaults.first { $0.code == "systemforvaltare" })
        let assignment = Assignment(id: "a1", practitionerID: "admin1", unitID: "u1", providerID: "provA", unitName: "U1", purpose: .administration, position: position)
        let admin = gateway.session(Principal(kind: .practitioner, id: "admin1", displayName: "Admin", assignment: assignment, scopes: ScopeSet("user/*.cruds"),
                                              clientID: "tests"), action: "administration")
        @Sendable func practitioner(_ id: String) -> [WriteOperation] {
            [.create(JSONObject([("resourceType", .string("Practitioner")), ("id", .string(id))]), type: "Practitioner", id: id)]
        }
        @Sendable func create(_ username: String, _ id: String) async throws {
            try await admin.createAccount(accounts, username: username, practitionerID: id, displayName: id, password: "ett-lösen-\(id)",
                                          totpSecret: TOTP.newSecret(), writing: practitioner(id))
        }
        try await create("nils", "pr-nils")
        #expect(try await accounts.account("nils")?.subjectID == "pr-nils")
        #expect(try await store.read(type: "Practitioner", id: "pr-nils") != nil)

        for (username, id) in [("åsa öberg", "pr-asa"), ("n", "pr-n"), ("NILS", "pr-nils-2")] {
            do {
                try await create(username, id)
                Issue.record("\(username) was accepted")
            } catch let error as FHIRError {
                #expect(error.issues.first?.expression == ["username"], "\(username): \(error)")
            }
            #expect(try await store.read(type: "Practitioner", id: id) == nil, "\(username): no practitioner without a login")
        }
        #expect(try await accounts.account("nils")?.subjectID == "pr-nils", "the existing login is unchanged")

        // Four administrators choose the same new username at once: however their checks and writes
        // interleave, one login and its practitioner are written.
        let created = await withTaskGroup(of: Bool.self) { group in
            for n in 0..<4 { group.addTask { (try? await create("samtidig", "pr-samtidig-\(n)")) != nil } }
            return await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
        }
        #expect(created == 1)
        let owner = try #require(try await accounts.account("samtidig")?.subjectID)
        for n in 0..<4 {
            #expect((try await store.read(type: "Practitioner", id: "pr-samtidig-\(n)") != nil) == (owner == "pr-samtidig-\(n)"))
        }
        #expect(try await store.auditRecords(AuditQuery(action: "create-account", limit: 10)).count == 2)
        try await store.close()
    }

    @Test("a systemförvaltare resets, unlocks, disables and enables logins; nobody else may", arguments: backends)
    func administratorChangesAccounts(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let accounts = AccountService(store: store, hasher: PasswordHasher(costExponent: 10), lockout: LockoutPolicy(freeAttempts: 2))
        let gateway = AccessGateway(store: store, settings: AccessSettings(defaultProviderID: "provA"), modules: [PatientAdministration()])
        func session(_ position: String) throws -> PatientDataSession {
            let position = try #require(Position.defaults.first { $0.code == position })
            let assignment = Assignment(id: "a1", practitionerID: "admin1", unitID: "u1", providerID: "provA", unitName: "U1", purpose: .administration, position: position)
            return gateway.session(Principal(kind: .practitioner, id: "admin1", displayName: "Admin", assignment: assignment, scopes: ScopeSet("user/*.cruds"),
                                             clientID: "tests"), action: "administration")
        }
        let secret = TOTP.newSecret()
        _ = try await accounts.create(username: "bo", kind: .practitioner, subjectID: "doc2", displayName: "Bo", password: "bos-lösenord-1", totpSecret: secret)
        let admin = try session("systemforvaltare"), doctor = try session("lakare")
        #expect(await isForbidden { _ = try await doctor.changeAccount(accounts, username: "bo", .resetPassword) })
        // Locked by wrong passwords, then unlocked.
        for _ in 0..<2 { _ = try? await accounts.login(username: "bo", password: "fel", code: "000000", client: "t") }
        #expect((try await accounts.account("bo")?.lockedUntil ?? 0) > Instant.now())
        _ = try await admin.changeAccount(accounts, username: "bo", .unlock)
        #expect(try await accounts.account("bo")?.lockedUntil == nil)
        // A SMART app's grant from before the reset: refreshed before it, refused after it.
        let tokens = try await TokenService(store: store, directory: gateway.directory, accounts: accounts, issuer: "http://localhost/auth",
                                            audience: "http://localhost/fhir")
        let before = Grant(kind: .practitioner, subject: "bo", displayName: "Bo", clientID: "app", scope: "openid offline_access user/*.rs",
                           fhirUser: "Practitioner/doc2")
        let firstRefresh = try #require(try await tokens.issue(before).refreshToken)
        let renewed = try #require(try await tokens.refresh(firstRefresh, clientID: "app")?.refreshToken, "a refresh before the reset works")
        // A reset: the old password stops working, the new one must be replaced at the next login; the TOTP secret stays.
        let (password, kept) = try await admin.changeAccount(accounts, username: "bo", .resetPassword)
        #expect(try await tokens.refresh(renewed, clientID: "app") == nil, "the reset ends what the old password opened")
        await #expect(throws: FHIRError.self) { _ = try await tokens.principal(for: before) }
        let temporary = try #require(password)
        #expect(kept == nil)
        let reset = try #require(try await accounts.account("bo"))
        #expect(reset.mustChangePassword == true && reset.totpSecret == secret)
        let code = TOTP.code(secret: secret, step: TOTP.step())!
        await #expect(throws: LoginFailure.invalidCredentials) { _ = try await accounts.login(username: "bo", password: "bos-lösenord-1", code: code, client: "t") }
        #expect(try await accounts.login(username: "bo", password: temporary, code: code, client: "t").mustChangePassword == true)
        try await accounts.changePassword(username: "bo", current: temporary, new: "bos-egna-nya-lösen", client: "t")
        #expect(try await accounts.account("bo")?.mustChangePassword == nil)
        // A new authenticator: a new secret.
        let (_, newSecret) = try await admin.changeAccount(accounts, username: "bo", .resetPasswordAndAuthenticator)
        #expect(newSecret != nil && newSecret != secret)
        #expect(try await accounts.account("bo")?.totpSecret == newSecret)
        // Disabled: no login, whatever the password; enabled again.
        _ = try await admin.changeAccount(accounts, username: "bo", .disable)
        await #expect(throws: LoginFailure.disabled) { _ = try await accounts.login(username: "bo", password: "x", code: "000000", client: "t") }
        _ = try await admin.changeAccount(accounts, username: "bo", .enable)
        #expect(try await accounts.account("bo")?.disabled == false)
        await #expect(throws: FHIRError.self) { _ = try await admin.changeAccount(accounts, username: "nobody", .unlock) }
        let audited = try await store.auditRecords(AuditQuery(actor: "Practitioner/admin1", limit: 20)).map(\.entry.action)
        #expect(Set(audited).isSuperset(of: ["account-unlock", "account-reset-password", "account-reset-password-and-authenticator", "account-disable", "account-enable"]))
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
