import FHIRCore
import Foundation
import Store
import StoreModel

/// A login of the built-in identity provider: a practitioner or a patient,
/// with a scrypt password hash and a TOTP second factor.
public struct UserAccount: Codable, Sendable, Equatable {
    public var username: String
    public var kind: Principal.Kind
    /// The Practitioner or Patient id.
    public var subjectID: String
    public var displayName: String
    public var passwordHash: String
    public var totpSecret: String
    public var failedAttempts: Int = 0
    public var lockedUntil: Int64?
    /// The last TOTP step used, so a code works once.
    public var lastTOTPStep: Int64?
    public var personalDetails: Principal.PersonalDetails?
    public var disabled = false
    /// Set when a systemförvaltare reset the password: the next login must choose a new one.
    public var mustChangePassword: Bool? = nil
    public var passwordChangedAt: Int64? = nil

    public init(username: String, kind: Principal.Kind, subjectID: String, displayName: String, passwordHash: String, totpSecret: String,
                personalDetails: Principal.PersonalDetails? = nil) {
        self.username = username
        self.kind = kind
        self.subjectID = subjectID
        self.displayName = displayName
        self.passwordHash = passwordHash
        self.totpSecret = totpSecret
        self.personalDetails = personalDetails
    }

    /// The FHIR reference of the user (`fhirUser`).
    public var fhirUser: String { kind == .patient ? "Patient/\(subjectID)" : "Practitioner/\(subjectID)" }
}

/// Lockout after failed logins: `freeAttempts` misses, then a lock that doubles per further miss.
public struct LockoutPolicy: Sendable {
    public var freeAttempts: Int
    public var firstLockSeconds: Int
    public var maximumLockSeconds: Int

    public init(freeAttempts: Int = 5, firstLockSeconds: Int = 60, maximumLockSeconds: Int = 3_600) {
        self.freeAttempts = freeAttempts
        self.firstLockSeconds = firstLockSeconds
        self.maximumLockSeconds = maximumLockSeconds
    }

    func lockSeconds(afterFailures failures: Int) -> Int? {
        guard failures >= freeAttempts else { return nil }
        let doublings = min(failures - freeAttempts, 20)
        return min(firstLockSeconds << doublings, maximumLockSeconds)
    }
}

/// What a new password must be: long enough, and not built on the username. Length is a setting.
public struct PasswordPolicy: Sendable {
    public var minimumLength: Int

    public init(minimumLength: Int = 12) {
        self.minimumLength = minimumLength
    }

    /// Why a new password is refused, as the form says it; nil when it is accepted.
    public func problem(_ password: String, username: String) -> String? {
        if password.count < minimumLength { return "Lösenordet måste ha minst \(minimumLength) tecken." }
        if password.count > 256 { return "Lösenordet får ha högst 256 tecken." }
        // A short username (two letters) is in too many words to forbid.
        if username.count >= 4, password.lowercased().contains(username.lowercased()) { return "Lösenordet får inte innehålla användarnamnet." }
        if Set(password).count < 5 { return "Lösenordet har för få olika tecken." }
        return nil
    }
}

/// Why a password change was refused.
public enum PasswordChangeFailure: Error, Sendable, Equatable, CustomStringConvertible {
    case wrongCurrentPassword
    case unchanged
    case refused(String)

    public var description: String {
        switch self {
        case .wrongCurrentPassword: "Det nuvarande lösenordet stämmer inte."
        case .unchanged: "Det nya lösenordet är detsamma som det gamla."
        case .refused(let why): why
        }
    }
}

/// Why a login failed; the message never tells which of username and password was wrong.
public enum LoginFailure: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidCredentials
    case invalidCode
    case locked(until: Int64)
    case disabled
    /// Too many attempts on this account this minute, from anywhere: try again after the seconds given.
    case rateLimited(retryAfter: Int)

    public var description: String {
        switch self {
        case .invalidCredentials: "Fel användarnamn eller lösenord."
        case .invalidCode: "Fel engångskod. Ange den sexsiffriga koden från din autentiseringsapp."
        case .locked(let until): "Kontot är låst efter för många misslyckade försök. Försök igen efter \(Instant.format(milliseconds: until).prefix(19).replacingOccurrences(of: "T", with: " ")) UTC."
        case .disabled: "Kontot är avstängt."
        case .rateLimited(let seconds): "För många inloggningsförsök på kontot just nu. Försök igen om \(seconds) sekunder."
        }
    }
}

/// Creates accounts and checks logins, auditing every attempt.
public struct AccountService: Sendable {
    let store: any ResourceStore
    public let hasher: PasswordHasher
    public let lockout: LockoutPolicy
    public let policy: PasswordPolicy
    /// Login attempts per account and minute, from anywhere (nil: no limit beyond the lockout).
    public let accountLimiter: RateLimiter?

    public init(store: any ResourceStore, hasher: PasswordHasher = PasswordHasher(), lockout: LockoutPolicy = LockoutPolicy(),
                policy: PasswordPolicy = PasswordPolicy(), accountLimiter: RateLimiter? = nil) {
        self.store = store
        self.hasher = hasher
        self.lockout = lockout
        self.policy = policy
        self.accountLimiter = accountLimiter
    }

    /// Every account of the kind, by username.
    public func all(kind: Principal.Kind) async throws -> [UserAccount] {
        try await store.controlRecords(kind: ControlKind.account, patientID: nil)
            .compactMap { try? JSONDecoder().decode(UserAccount.self, from: Data($0.json)) }
            .filter { $0.kind == kind }
            .sorted { $0.username < $1.username }
    }

    /// The user changes their own password. A wrong current password counts as a failed login
    /// (and locks like one), so the form cannot be used to guess it.
    public func changePassword(username: String, current: String, new: String, client: String, now: Date = Date()) async throws {
        let millis = Int64(now.timeIntervalSince1970 * 1000)
        let account = try await reserveAttempt(username, action: "password-change", client: client, at: millis)
        guard hasher.verify(current, against: account.passwordHash) else {
            try await store.appendAudit([accountEntry(actor: account.fhirUser, action: "password-change", outcome: "denied",
                                                      reason: "wrong current password", client: client, at: millis)])
            throw PasswordChangeFailure.wrongCurrentPassword
        }
        if let problem = policy.problem(new, username: account.username) {
            try await settleAttempt(username, succeeded: nil, at: millis)
            throw PasswordChangeFailure.refused(problem)
        }
        guard !hasher.verify(new, against: account.passwordHash) else {
            try await settleAttempt(username, succeeded: nil, at: millis)
            throw PasswordChangeFailure.unchanged
        }
        let hash = try hasher.hash(new)
        let entry = accountEntry(actor: account.fhirUser, action: "password-change", outcome: "allowed", reason: nil, client: client, at: millis)
        try await settleAttempt(username, succeeded: { account in
            account.passwordHash = hash
            account.passwordChangedAt = millis
            account.mustChangePassword = nil
            return [entry]
        }, at: millis)
    }

    /// A password to hand over once: letters and digits that cannot be mistaken for each other.
    public static func temporaryPassword() -> String {
        let alphabet = Array("abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<16).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
    }

    public func account(_ username: String) async throws -> UserAccount? {
        guard let record = try await store.controlRecord(kind: ControlKind.account, key: username.lowercased()) else { return nil }
        return try Self.account(from: record)
    }

    /// An account as its control record stores it.
    public static func account(from record: ControlRecord) throws -> UserAccount {
        try JSONDecoder().decode(UserAccount.self, from: Data(record.json))
    }

    public func save(_ account: UserAccount, audit: [AuditEntry] = []) async throws {
        try await store.writeControlRecords([try Self.record(account)], deleting: [], audit: audit)
    }

    /// What a new username may be: 2–64 of a–z, digits, '.', '_' and '-' (compared lowercased).
    public static func isValidUsername(_ username: String) -> Bool {
        (2...64).contains(username.count) && username.lowercased().allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
    }

    /// How an account is stored: a control record under its lowercased username.
    public static func record(_ account: UserAccount) throws -> ControlRecord {
        ControlRecord(kind: ControlKind.account, key: account.username.lowercased(),
                      patientID: account.kind == .patient ? account.subjectID : nil, json: [UInt8](try JSONEncoder().encode(account)))
    }

    public func hasAccounts() async throws -> Bool {
        !(try await store.controlRecords(kind: ControlKind.account, patientID: nil)).isEmpty
    }

    /// Creates or replaces an account with a new password and TOTP secret.
    public func create(username: String, kind: Principal.Kind, subjectID: String, displayName: String, password: String, totpSecret: String,
                       personalDetails: Principal.PersonalDetails? = nil, audit: [AuditEntry] = []) async throws -> UserAccount {
        let account = try newAccount(username: username, kind: kind, subjectID: subjectID, displayName: displayName, password: password,
                                     totpSecret: totpSecret, personalDetails: personalDetails)
        try await save(account, audit: audit)
        return account
    }

    /// An account with its password hashed, not yet stored (for a caller that stores it with other writes).
    public func newAccount(username: String, kind: Principal.Kind, subjectID: String, displayName: String, password: String, totpSecret: String,
                           personalDetails: Principal.PersonalDetails? = nil) throws -> UserAccount {
        UserAccount(username: username.lowercased(), kind: kind, subjectID: subjectID, displayName: displayName,
                    passwordHash: try hasher.hash(password), totpSecret: totpSecret, personalDetails: personalDetails)
    }

    /// Seconds to wait before trying again, for an answer's `Retry-After`, when the failure is a rate limit.
    /// (An extension of `LoginFailure` would read better, but its cases are matched where it is thrown.)
    public static func retryAfter(_ failure: LoginFailure) -> Int? {
        if case .rateLimited(let seconds) = failure { return seconds }
        return nil
    }

    /// Checks password and TOTP code; counts failures, locks with back-off, and audits each attempt.
    /// The attempt is counted before the password is checked, in one atomic change of the account: twenty
    /// parallel guesses are twenty attempts, and those past the limit are refused without being checked.
    public func login(username: String, password: String, code: String, client: String, now: Date = Date()) async throws -> UserAccount {
        let millis = Int64(now.timeIntervalSince1970 * 1000)
        // Per account, wherever the attempts come from: the lockout stops guessing one password, this
        // stops spraying an account from many addresses faster than anyone types (ASVS 2.4.1).
        if let seconds = accountLimiter?.use(username.lowercased(), now: millis) { throw LoginFailure.rateLimited(retryAfter: seconds) }
        let account: UserAccount
        do {
            account = try await reserveAttempt(username, action: "login", client: client, at: millis)
        } catch LoginFailure.invalidCredentials {
            // Spend the same time as a real check, so timing does not reveal which usernames exist.
            _ = hasher.verify(password, against: "scrypt$\(1 << hasher.costExponent)$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAA")
            try await store.appendAudit([accountEntry(actor: "User/\(username.lowercased())", action: "login", outcome: "denied", reason: "unknown user",
                                                      client: client, at: millis)])
            throw LoginFailure.invalidCredentials
        }
        let actor = account.fhirUser
        let passwordOK = hasher.verify(password, against: account.passwordHash)
        let step = passwordOK ? TOTP.matchingStep(secret: account.totpSecret, code: code.filter(\.isNumber), at: now) : nil
        func refuse(_ reason: String, _ failure: LoginFailure) async throws -> Never {
            try await store.appendAudit([accountEntry(actor: actor, action: "login", outcome: "denied", reason: reason, client: client, at: millis)])
            if let until = account.lockedUntil, until > millis { throw LoginFailure.locked(until: until) }
            throw failure
        }
        guard passwordOK else { try await refuse("wrong password", .invalidCredentials) }
        guard let step else { try await refuse("wrong one-time code", .invalidCode) }
        let allowed = accountEntry(actor: actor, action: "login", outcome: "allowed", reason: nil, client: client, at: millis)
        // A code works once, and no earlier code after it (RFC 6238 §5.2): taken in the same atomic change
        // that clears the counted attempt, so of parallel logins with one code exactly one gets in.
        let accepted = try await settleAttempt(username, succeeded: { account in
            guard step > (account.lastTOTPStep ?? .min) else { return nil }
            account.lastTOTPStep = step
            return [allowed]
        }, at: millis)
        guard let accepted else { try await refuse("one-time code already used", .invalidCode) }
        return accepted
    }

    /// Counts an attempt on the account before its password is checked, and locks it when this attempt
    /// reaches the limit; refuses a disabled, locked or unknown account (`invalidCredentials`).
    private func reserveAttempt(_ username: String, action: String, client: String, at millis: Int64) async throws -> UserAccount {
        let lockout = self.lockout
        let outcome: Result<UserAccount, LoginFailure> = try await store.changeControlRecord(kind: ControlKind.account, key: username.lowercased()) { record in
            guard let record else { return ControlRecordChange(.keep, result: .failure(.invalidCredentials)) }
            var account = try Self.account(from: record)
            if account.disabled { return ControlRecordChange(.keep, result: .failure(.disabled)) }
            if let until = account.lockedUntil, until > millis {
                return ControlRecordChange(.keep, audit: [self.accountEntry(actor: account.fhirUser, action: action, outcome: "denied", reason: "locked",
                                                                              client: client, at: millis)],
                                           result: .failure(.locked(until: until)))
            }
            account.failedAttempts += 1
            if let seconds = lockout.lockSeconds(afterFailures: account.failedAttempts) { account.lockedUntil = millis + Int64(seconds) * 1000 }
            return ControlRecordChange(.write(try Self.record(account)), result: .success(account))
        }
        return try outcome.get()
    }

    /// Settles a counted attempt: `succeeded` (nil: the attempt was no failure, as a refused new password
    /// is not) changes the account and answers its audit records, or nil to leave it counted as failed.
    /// Answers the account as saved, or nil when `succeeded` refused.
    @discardableResult
    private func settleAttempt(_ username: String, succeeded: (@Sendable (inout UserAccount) -> [AuditEntry]?)?, at millis: Int64) async throws -> UserAccount? {
        try await store.changeControlRecord(kind: ControlKind.account, key: username.lowercased()) { record in
            guard let record else { return ControlRecordChange(.keep, result: nil) }
            var account = try Self.account(from: record)
            var audit: [AuditEntry] = []
            if let succeeded {
                guard let entries = succeeded(&account) else { return ControlRecordChange(.keep, result: nil) }
                audit = entries
            }
            account.failedAttempts = max(0, succeeded == nil ? account.failedAttempts - 1 : 0)
            account.lockedUntil = succeeded == nil ? account.lockedUntil : nil
            return ControlRecordChange(.write(try Self.record(account)), audit: audit, result: account)
        }
    }

    private func accountEntry(actor: String, action: String, outcome: String, reason: String?, client: String, at millis: Int64) -> AuditEntry {
        var members: [(key: String, value: JSONValue)] = [("recorded", .string(Instant.format(milliseconds: millis))), ("action", .string(action)),
                                                          ("outcome", .string(outcome)), ("client", .string(client))]
        if let address = RequestOrigin.address { members.append(("address", .string(address))) }
        if let request = RequestOrigin.requestID { members.append(("request", .string(request))) }
        if let reason { members.append(("reason", .string(reason))) }
        return AuditEntry(recordedAt: millis, actor: actor, patientID: nil, action: action, outcome: outcome, flags: [],
                          json: JSONWriter.bytes(.object(JSONObject(members))))
    }
}
