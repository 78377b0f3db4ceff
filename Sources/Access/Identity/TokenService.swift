import Crypto
import FHIRCore
import Foundation
import JWTKit
import Logging
import Store
import StoreModel
import Synchronization

/// The claims of a Kärna access token (a JWT signed with ES256).
struct AccessTokenPayload: JWTPayload {
    var iss: IssuerClaim
    var sub: SubjectClaim
    var aud: AudienceClaim
    var exp: ExpirationClaim
    var iat: IssuedAtClaim
    var jti: IDClaim
    var scope: String
    var kind: String
    var client_id: String
    var assignment: String?
    var patient: String?
    var fhirUser: String?
    var name: String?

    func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
    }
}

/// An OpenID Connect id token.
struct IDTokenPayload: JWTPayload {
    var iss: IssuerClaim
    var sub: SubjectClaim
    var aud: AudienceClaim
    var exp: ExpirationClaim
    var iat: IssuedAtClaim
    var fhirUser: String?
    var name: String?
    var nonce: String?

    func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
    }
}

/// The minimal claims read from a client's `private_key_jwt` assertion (SMART Backend Services).
struct ClientAssertionPayload: JWTPayload {
    var iss: IssuerClaim
    var sub: SubjectClaim
    var aud: AudienceClaim
    var exp: ExpirationClaim
    var jti: IDClaim

    func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
    }
}

/// Claims an external OpenID Connect issuer (the region's identity provider) puts in its tokens.
struct ExternalTokenPayload: JWTPayload {
    var iss: IssuerClaim
    var sub: SubjectClaim
    var aud: AudienceClaim
    var exp: ExpirationClaim
    var scope: String?
    var hsa_id: String?
    var assignment: String?
    var name: String?

    func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
    }
}

/// What a token is issued for: the subject, client, scopes and launch context.
public struct Grant: Codable, Sendable, Equatable {
    public var kind: Principal.Kind
    /// The username (users) or client id (system clients).
    public var subject: String
    public var displayName: String
    public var clientID: String
    public var scope: String
    public var assignmentID: String?
    public var patient: String?
    /// `Practitioner/…` or `Patient/…` for users.
    public var fhirUser: String?
    public var nonce: String?
    /// When the user logged in (ms since 1970): a password set after it ends the grant. Absent in grants
    /// stored before it was recorded, which then end only by their own expiry.
    public var issuedAt: Int64?

    public init(kind: Principal.Kind, subject: String, displayName: String, clientID: String, scope: String, assignmentID: String? = nil,
                patient: String? = nil, fhirUser: String? = nil, nonce: String? = nil, issuedAt: Int64? = Instant.now()) {
        self.issuedAt = issuedAt
        self.kind = kind
        self.subject = subject
        self.displayName = displayName
        self.clientID = clientID
        self.scope = scope
        self.assignmentID = assignmentID
        self.patient = patient
        self.fhirUser = fhirUser
        self.nonce = nonce
    }
}

/// The token endpoint's answer (RFC 6749 §5.1 with SMART's launch context).
public struct TokenResponse: Sendable {
    public var accessToken: String
    public var expiresIn: Int
    public var scope: String
    public var refreshToken: String?
    public var idToken: String?
    public var patient: String?

    public var json: JSONObject {
        var members: [(key: String, value: JSONValue)] = [("access_token", .string(accessToken)), ("token_type", .string("Bearer")),
                                                          ("expires_in", .number(String(expiresIn))), ("scope", .string(scope))]
        if let refreshToken { members.append(("refresh_token", .string(refreshToken))) }
        if let idToken { members.append(("id_token", .string(idToken))) }
        if let patient { members.append(("patient", .string(patient))) }
        return JSONObject(members)
    }
}

/// A trusted external OpenID Connect issuer: its tokens name the user by HSA-id and the assignment by PractitionerRole id.
public struct TrustedIssuer: Sendable {
    public var issuer: String
    public var audience: String
    /// The issuer's JWK set as JSON (downloaded by the region; no network fetch at run time).
    public var jwks: String

    public init(issuer: String, audience: String, jwks: String) {
        self.issuer = issuer
        self.audience = audience
        self.jwks = jwks
    }
}

/// Issues and checks tokens: access tokens (JWT, ES256), id tokens, refresh tokens
/// (opaque, rotated on use), and revocation. The signing key lives in the database.
public final class TokenService: Sendable {
    public let issuer: String
    public let audience: String
    public let accessTokenSeconds: Int
    public let refreshTokenSeconds: Int
    let store: any ResourceStore
    let keys: JWTKeyCollection
    let external: (issuer: TrustedIssuer, keys: JWTKeyCollection)?
    let directory: OrganisationDirectory
    let accounts: AccountService
    public let clients: ClientRegistry
    /// The public signing key as a JWK, for `/auth/jwks`.
    public let publicJWK: JSONObject
    private let verified = Mutex<[String: (principal: Principal, expires: Int64)]>([:])
    private let revoked = Mutex<Set<String>>([])
    let logger = Logger(label: "karna.tokens")

    static let keyID = "karna-es256-1"

    public init(store: any ResourceStore, directory: OrganisationDirectory, accounts: AccountService, issuer: String, audience: String,
                accessTokenSeconds: Int = 900, refreshTokenSeconds: Int = 8 * 3_600, trustedIssuer: TrustedIssuer? = nil) async throws {
        self.store = store
        self.directory = directory
        self.accounts = accounts
        self.clients = ClientRegistry(store: store)
        self.issuer = issuer
        self.audience = audience
        self.accessTokenSeconds = accessTokenSeconds
        self.refreshTokenSeconds = refreshTokenSeconds
        // Read, or made once: two nodes starting together on a new database both ask under the record's lock, and
        // the second takes the first one's key (each keeping its own had made every token valid on one node only).
        let candidate = ES256PrivateKey().pemRepresentation
        let pem = try await store.changeControlRecord(kind: ControlKind.signingKey, key: Self.keyID) { existing in
            if let existing { return ControlRecordChange(.keep, result: String(decoding: existing.json, as: UTF8.self)) }
            return ControlRecordChange(.write(ControlRecord(kind: ControlKind.signingKey, key: Self.keyID, json: Array(candidate.utf8))), result: candidate)
        }
        let key = try ES256PrivateKey(pem: pem)
        keys = JWTKeyCollection()
        await keys.add(ecdsa: key, kid: JWKIdentifier(string: Self.keyID))
        let parameters = key.parameters
        publicJWK = JSONObject([("kty", .string("EC")), ("crv", .string("P-256")), ("kid", .string(Self.keyID)), ("use", .string("sig")),
                                ("alg", .string("ES256")), ("x", .string(parameters?.x ?? "")), ("y", .string(parameters?.y ?? ""))])
        if let trustedIssuer {
            let externalKeys = JWTKeyCollection()
            try await externalKeys.add(jwksJSON: trustedIssuer.jwks)
            external = (trustedIssuer, externalKeys)
        } else {
            external = nil
        }
    }

    // MARK: Issuing

    /// An access token (and an id token when `openid` was granted, a refresh token when `offline_access` or `online_access` was).
    public func issue(_ grant: Grant) async throws -> TokenResponse {
        try await issue(grant, family: nil)
    }

    /// As `issue(_:)`; a refresh token joins `family` (the refresh tokens rotated from one login), or starts one.
    private func issue(_ grant: Grant, family: String?) async throws -> TokenResponse {
        let now = Date()
        let payload = AccessTokenPayload(
            iss: IssuerClaim(value: issuer), sub: SubjectClaim(value: grant.subject), aud: AudienceClaim(value: [audience]),
            exp: ExpirationClaim(value: now.addingTimeInterval(TimeInterval(accessTokenSeconds))), iat: IssuedAtClaim(value: now),
            jti: IDClaim(value: UUID().uuidString.lowercased()), scope: grant.scope, kind: grant.kind.rawValue, client_id: grant.clientID,
            assignment: grant.assignmentID, patient: grant.patient, fhirUser: grant.fhirUser, name: grant.displayName)
        var response = TokenResponse(accessToken: try await keys.sign(payload, kid: JWKIdentifier(string: Self.keyID)),
                                     expiresIn: accessTokenSeconds, scope: grant.scope, patient: grant.patient)
        let scopes = ScopeSet(grant.scope)
        if scopes.contains("openid"), grant.kind != .system {
            let idToken = IDTokenPayload(iss: IssuerClaim(value: issuer), sub: SubjectClaim(value: grant.subject), aud: AudienceClaim(value: [grant.clientID]),
                                         exp: ExpirationClaim(value: now.addingTimeInterval(TimeInterval(accessTokenSeconds))), iat: IssuedAtClaim(value: now),
                                         fhirUser: scopes.contains("fhirUser") ? grant.fhirUser : nil, name: grant.displayName, nonce: grant.nonce)
            response.idToken = try await keys.sign(idToken, kid: JWKIdentifier(string: Self.keyID))
        }
        if grant.kind != .system, scopes.contains("offline_access") || scopes.contains("online_access") {
            response.refreshToken = try await storeOneTime(kind: ControlKind.refreshToken, grant: grant, seconds: refreshTokenSeconds,
                                                           extra: [Self.familyKey: family ?? UUID().uuidString.lowercased()])
        }
        return response
    }

    /// Stores a grant under a random one-time token (authorization codes, refresh tokens, launch contexts); returns the token.
    public func storeOneTime(kind: String, grant: Grant, seconds: Int, extra: [String: String] = [:]) async throws -> String {
        let token = Secrets.randomToken()
        let stored = StoredGrant(grant: grant, expiresAt: Instant.now() + Int64(seconds) * 1000, extra: extra)
        try await store.writeControlRecords([ControlRecord(kind: kind, key: Secrets.sha256Hex(token), json: [UInt8](try JSONEncoder().encode(stored)))],
                                            deleting: [], audit: [])
        return token
    }

    /// Takes a one-time token: returns its grant and deletes it; nil when unknown or expired. The read and
    /// the delete are one atomic change: of parallel requests with one authorization code, one gets it.
    public func takeOneTime(kind: String, token: String) async throws -> (grant: Grant, extra: [String: String])? {
        guard case .taken(let grant, let extra) = try await take(kind: kind, token: token, keepAsUsed: false) else { return nil }
        return (grant, extra)
    }

    /// What taking a one-time token found.
    enum Taken: Sendable {
        case taken(Grant, [String: String])
        case unknown
        /// Used before (a rotated refresh token): its extra names its family.
        case reused([String: String])
    }

    /// Takes a one-time token atomically; with `keepAsUsed`, the record stays, marked used, until it expires.
    private func take(kind: String, token: String, keepAsUsed: Bool) async throws -> Taken {
        let now = Instant.now()
        return try await store.changeControlRecord(kind: kind, key: Secrets.sha256Hex(token)) { record in
            guard let record, var stored = try? JSONDecoder().decode(StoredGrant.self, from: Data(record.json)) else {
                return ControlRecordChange(.keep, result: .unknown)
            }
            if stored.usedAt != nil { return ControlRecordChange(.keep, result: .reused(stored.extra)) }
            guard stored.expiresAt > now else { return ControlRecordChange(.delete, result: .unknown) }
            guard keepAsUsed else { return ControlRecordChange(.delete, result: .taken(stored.grant, stored.extra)) }
            stored.usedAt = now
            let used = ControlRecord(kind: record.kind, key: record.key, patientID: record.patientID, json: [UInt8](try JSONEncoder().encode(stored)))
            return ControlRecordChange(.write(used), result: .taken(stored.grant, stored.extra))
        }
    }

    /// The extra member naming a refresh token's family.
    static let familyKey = "family"

    /// Reads a one-time token without taking it (launch contexts may be used by several authorizations).
    public func peekOneTime(kind: String, token: String) async throws -> Grant? {
        guard let record = try await store.controlRecord(kind: kind, key: Secrets.sha256Hex(token)),
              let stored = try? JSONDecoder().decode(StoredGrant.self, from: Data(record.json)), stored.expiresAt > Instant.now()
        else { return nil }
        return stored.grant
    }

    /// Exchanges a refresh token for new tokens; the old refresh token stops working (rotation). A rotated
    /// token used again means it was copied: the whole family (every refresh token rotated from the same
    /// login) is revoked (OAuth 2.0 Security BCP, refresh token rotation).
    public func refresh(_ token: String, clientID: String) async throws -> TokenResponse? {
        let grant: Grant, family: String?
        switch try await take(kind: ControlKind.refreshToken, token: token, keepAsUsed: true) {
        case .unknown:
            return nil
        case .reused(let extra):
            if let family = extra[Self.familyKey] { try await revokeFamily(family) }
            return nil
        case .taken(let taken, let extra):
            grant = taken
            family = extra[Self.familyKey]
        }
        guard grant.clientID == clientID else { return nil }
        if let family, try await store.controlRecord(kind: ControlKind.revokedRefreshFamily, key: family) != nil { return nil }
        // A user disabled, reset or moved off the assignment since the login gets no new tokens.
        if grant.kind != .system {
            do { _ = try await principal(for: grant) } catch let error as FHIRError where error.category == .unauthorized { return nil }
        }
        return try await issue(grant, family: family)
    }

    /// Ends every refresh token of a family: the family is marked revoked until its tokens have expired.
    private func revokeFamily(_ family: String) async throws {
        let until = Instant.now() + Int64(refreshTokenSeconds) * 1000
        try await store.writeControlRecords([ControlRecord(kind: ControlKind.revokedRefreshFamily, key: family, json: Array(String(until).utf8))],
                                            deleting: [], audit: [])
    }

    /// Records a refused authentication (401) with the client it named and the address it came from, flagged
    /// so the log review shows a pattern of guessed or stolen tokens and secrets.
    public func auditFailedAuthentication(client: String?, interface: String, reason: String) async {
        let now = Instant.now()
        var members: [(key: String, value: JSONValue)] = [
            ("recorded", .string(Instant.format(milliseconds: now))), ("action", .string("authenticate")), ("outcome", .string("denied")),
            ("interface", .string(interface)), ("client", .string(client ?? "unknown")), ("reason", .string(reason)),
        ]
        if let address = RequestOrigin.address { members.append(("address", .string(address))) }
        if let request = RequestOrigin.requestID { members.append(("request", .string(request))) }
        members.append(("flags", .array([.string(ReviewFlag.denied.rawValue), .string(ReviewFlag.failedAuthentication.rawValue)])))
        let entry = AuditEntry(recordedAt: now, actor: "Client/\(client ?? "unknown")", patientID: nil, action: "authenticate", outcome: "denied",
                               flags: [ReviewFlag.denied.rawValue, ReviewFlag.failedAuthentication.rawValue], json: JSONWriter.bytes(.object(JSONObject(members))))
        // The refusal is answered whether or not it could be recorded; a failure to record is logged.
        do { try await store.appendAudit([entry]) } catch { logger.warning("could not audit a failed authentication: \(String(describing: error))") }
    }

    /// The client a bearer token names, read without trusting it (for the audit of a refused token).
    public func claimedClient(authorization header: String?) async -> String? {
        guard let header, header.lowercased().hasPrefix("bearer ") else { return nil }
        guard let claimed = try? await keys.unverified(String(header.dropFirst(7)), as: ClaimedClient.self),
              let client = claimed.client_id, client.count <= 128 else { return nil }
        return client.filter { $0.isLetter || $0.isNumber || "-_.".contains($0) }
    }

    /// RFC 7009: revokes a refresh token or an access token; unknown tokens are not an error.
    public func revoke(_ token: String) async throws {
        switch try await take(kind: ControlKind.refreshToken, token: token, keepAsUsed: false) {
        case .taken(_, let extra), .reused(let extra):
            if let family = extra[Self.familyKey] { try await revokeFamily(family) }
            return
        case .unknown:
            break
        }
        guard let payload = try? await keys.verify(token, as: AccessTokenPayload.self) else { return }
        let jti = payload.jti.value
        revoked.withLock { _ = $0.insert(jti) }
        verified.withLock { _ = $0.removeValue(forKey: token) }
        let until = Int64(payload.exp.value.timeIntervalSince1970 * 1000)
        try await store.writeControlRecords([ControlRecord(kind: ControlKind.revokedToken, key: jti, json: Array(String(until).utf8))], deleting: [], audit: [])
    }

    // MARK: Checking

    /// The principal of an `Authorization: Bearer …` header; throws 401 saying what is missing or wrong.
    public func principal(authorization header: String?) async throws -> Principal {
        guard let header else {
            throw FHIRError(.unauthorized, code: .login, "an access token is needed: send 'Authorization: Bearer …' from \(issuer)/token")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw FHIRError(.unauthorized, code: .login, "the Authorization header must be 'Bearer <access token>'")
        }
        return try await principal(bearer: String(parts[1]).trimmingCharacters(in: .whitespaces))
    }

    /// The principal a bearer token stands for; throws 401 with the reason when it is not valid.
    public func principal(bearer token: String) async throws -> Principal {
        let now = Instant.now()
        if let hit = verified.withLock({ $0[token] }), hit.expires > now { return hit.principal }
        let principal: Principal
        let expires: Int64
        if let external, let unverified = try? await keys.unverified(token, as: ExternalTokenPayload.self), unverified.iss.value == external.issuer.issuer {
            (principal, expires) = try await externalPrincipal(token, external)
        } else {
            let payload: AccessTokenPayload
            do {
                payload = try await keys.verify(token, as: AccessTokenPayload.self)
            } catch {
                throw FHIRError(.unauthorized, code: .login, "the access token is not valid or has expired; get a new one from \(issuer)/token")
            }
            guard payload.iss.value == issuer, payload.aud.value.contains(audience) else {
                throw FHIRError(.unauthorized, code: .login, "the access token was issued for another server")
            }
            let jti = payload.jti.value
            let revokedHere = revoked.withLock { $0.contains(jti) }
            let revokedStored = revokedHere ? true : try await store.controlRecord(kind: ControlKind.revokedToken, key: jti) != nil
            if revokedStored {
                revoked.withLock { _ = $0.insert(jti) }
                throw FHIRError(.unauthorized, code: .login, "the access token has been revoked")
            }
            principal = try await resolve(payload)
            expires = Int64(payload.exp.value.timeIntervalSince1970 * 1000)
        }
        verified.withLock { cache in
            // Bounded: a burst of distinct tokens cannot grow the cache without limit.
            if cache.count > 10_000 { cache.removeAll() }
            cache[token] = (principal, expires)
        }
        return principal
    }

    private func resolve(_ payload: AccessTokenPayload) async throws -> Principal {
        guard let kind = Principal.Kind(rawValue: payload.kind) else {
            throw FHIRError(.unauthorized, code: .login, "the access token names an unknown kind of principal")
        }
        let scopes = ScopeSet(payload.scope)
        switch kind {
        case .system:
            return Principal(kind: .system, id: payload.sub.value, displayName: payload.name ?? payload.sub.value, assignment: nil, scopes: scopes,
                             clientID: payload.client_id)
        case .patient, .practitioner:
            return try await user(kind: kind, username: payload.sub.value, assignmentID: payload.assignment, scopes: scopes,
                                  launchPatient: payload.patient, clientID: payload.client_id)
        }
    }

    /// The principal a stored grant stands for (a web session's user), checked against the account and assignment as they are now.
    public func principal(for grant: Grant) async throws -> Principal {
        guard grant.kind != .system else { return Self.systemPrincipal(grant) }
        return try await user(kind: grant.kind, username: grant.subject, assignmentID: grant.assignmentID, scopes: ScopeSet(grant.scope),
                              launchPatient: grant.patient, clientID: grant.clientID, loggedInAt: grant.issuedAt)
    }

    /// What to read together with a stored grant, its JSON at `path` in the stored record, so that
    /// `principal(for:named:)` needs no read of its own: the account, then the assignment it names.
    public static func recordsNamed(byGrantAt path: [String]) -> [NamedRecord] {
        [NamedRecord(.control(kind: ControlKind.account), at: path + ["subject"]),
         NamedRecord(.resource(type: "PractitionerRole"), at: path + ["assignmentID"])]
    }

    /// The principal a stored grant stands for, from the records `recordsNamed(byGrantAt:)` read with it
    /// (names after those two are ignored): the same checks as `principal(for:)`.
    public func principal(for grant: Grant, named read: ControlRecordWithNamed) async throws -> Principal {
        guard grant.kind != .system else { return Self.systemPrincipal(grant) }
        let account = try read.control(0).map(AccountService.account(from:))
        var assignment: Assignment?
        if let role = read.resource(1) { assignment = try await directory.assignment(role) }
        return try user(kind: grant.kind, account: account, assignmentID: grant.assignmentID, assignment: assignment, scopes: ScopeSet(grant.scope),
                        launchPatient: grant.patient, clientID: grant.clientID, loggedInAt: grant.issuedAt)
    }

    private static func systemPrincipal(_ grant: Grant) -> Principal {
        Principal(kind: .system, id: grant.subject, displayName: grant.displayName, assignment: nil, scopes: ScopeSet(grant.scope), clientID: grant.clientID)
    }

    private func user(kind: Principal.Kind, username: String, assignmentID: String?, scopes: ScopeSet, launchPatient: String?,
                      clientID: String, loggedInAt: Int64? = nil) async throws -> Principal {
        let account = try await accounts.account(username)
        var assignment: Assignment?
        if kind == .practitioner, let id = assignmentID, account?.disabled == false { assignment = try await directory.assignment(id: id) }
        return try user(kind: kind, account: account, assignmentID: assignmentID, assignment: assignment, scopes: scopes, launchPatient: launchPatient,
                        clientID: clientID, loggedInAt: loggedInAt)
    }

    /// A user's principal from their account and assignment as read: refused when either no longer holds.
    private func user(kind: Principal.Kind, account: UserAccount?, assignmentID: String?, assignment: Assignment?, scopes: ScopeSet,
                      launchPatient: String?, clientID: String, loggedInAt: Int64?) throws -> Principal {
        guard let account, !account.disabled else {
            throw FHIRError(.unauthorized, code: .login, "the user of this token no longer exists or is disabled")
        }
        // A reset (or the user's own change elsewhere) ends what the old password opened.
        if let loggedInAt, let changed = account.passwordChangedAt, loggedInAt < changed {
            throw FHIRError(.unauthorized, code: .login, "the password was changed after this login; log in again")
        }
        var checked: Assignment?
        if kind == .practitioner, assignmentID != nil {
            guard let assignment, assignment.practitionerID == account.subjectID else {
                throw FHIRError(.unauthorized, code: .login, "the assignment in the token is no longer valid; log in again")
            }
            checked = assignment
        }
        return Principal(kind: kind, id: account.subjectID, displayName: account.displayName, assignment: checked, scopes: scopes,
                         launchPatient: launchPatient, clientID: clientID, personalDetails: account.personalDetails)
    }

    private func externalPrincipal(_ token: String, _ external: (issuer: TrustedIssuer, keys: JWTKeyCollection)) async throws -> (Principal, Int64) {
        let payload: ExternalTokenPayload
        do {
            payload = try await external.keys.verify(token, as: ExternalTokenPayload.self)
        } catch {
            throw FHIRError(.unauthorized, code: .login, "the token from \(external.issuer.issuer) is not valid or has expired")
        }
        guard payload.aud.value.contains(external.issuer.audience) else {
            throw FHIRError(.unauthorized, code: .login, "the token from \(external.issuer.issuer) is not for this server")
        }
        guard let hsa = payload.hsa_id, let assignmentID = payload.assignment, let assignment = try await directory.assignment(id: assignmentID) else {
            throw FHIRError(.unauthorized, code: .login, "the token from \(external.issuer.issuer) must carry hsa_id and assignment (a PractitionerRole id)")
        }
        let practitioners = try await store.lookup("Practitioner", [("identifier", "urn:oid:1.2.752.29.4.19|\(hsa)")], limit: 2)
        guard practitioners.count == 1, practitioners[0].id == assignment.practitionerID else {
            throw FHIRError(.unauthorized, code: .login, "no single practitioner with HSA-id \(hsa) holds assignment \(assignmentID)")
        }
        let principal = Principal(kind: .practitioner, id: assignment.practitionerID, displayName: payload.name ?? hsa, assignment: assignment,
                                  scopes: ScopeSet(payload.scope ?? "user/*.cruds openid fhirUser"), clientID: external.issuer.issuer,
                                  identityToken: token)
        return (principal, Int64(payload.exp.value.timeIntervalSince1970 * 1000))
    }

    /// Verifies a client's signed assertion (SMART Backend Services, RFC 7523) against its registered keys.
    public func verifyClientAssertion(_ assertion: String, client: OAuthClient, tokenURL: String) async throws -> Bool {
        guard let jwks = client.jwks else { return false }
        let clientKeys = JWTKeyCollection()
        guard (try? await clientKeys.add(jwksJSON: jwks)) != nil,
              let payload = try? await clientKeys.verify(assertion, as: ClientAssertionPayload.self),
              payload.iss.value == client.id, payload.sub.value == client.id, payload.aud.value.contains(tokenURL)
        else { return false }
        // Each assertion works once (RFC 7523 §3, jti).
        let key = "assertion:" + payload.jti.value
        return try await store.changeControlRecord(kind: ControlKind.revokedToken, key: key) { used in
            used == nil ? ControlRecordChange(.write(ControlRecord(kind: ControlKind.revokedToken, key: key, json: Array("used".utf8))), result: true)
                        : ControlRecordChange(.keep, result: false)
        }
    }

}

/// A grant waiting behind a one-time token.
/// The one claim read from a refused token, unverified: which client it says it is.
struct ClaimedClient: JWTPayload {
    var client_id: String?
    func verify(using algorithm: some JWTAlgorithm) async throws {}
}

struct StoredGrant: Codable {
    var grant: Grant
    var expiresAt: Int64
    var extra: [String: String]
    /// When a rotated refresh token was used: kept until it expires, so a second use is seen as a replay.
    var usedAt: Int64?
}
