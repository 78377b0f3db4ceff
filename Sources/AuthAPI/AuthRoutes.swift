import Access
import Crypto
import FHIRCore
import Foundation
import Hummingbird

/// OpenID Connect and SMART App Launch 2.0 under `/auth`: discovery, the login
/// page (password + TOTP, then the assignment), authorization code with PKCE,
/// client credentials (secret or signed assertion), refresh, revocation, EHR launch.
public struct AuthRoutes<Context: RequestContext>: Sendable {
    let tokens: TokenService
    let accounts: AccountService
    let directory: OrganisationDirectory
    /// The FHIR base URL tokens are for (`aud`).
    let fhirBaseURL: String
    /// Whether cookies get the Secure attribute (the public URL is https).
    let secureCookies: Bool
    /// Idle time after which a web session ends.
    let sessionSeconds: Int

    public init(tokens: TokenService, accounts: AccountService, directory: OrganisationDirectory, fhirBaseURL: String, sessionSeconds: Int = 1_800) {
        self.tokens = tokens
        self.accounts = accounts
        self.directory = directory
        self.fhirBaseURL = fhirBaseURL
        self.secureCookies = fhirBaseURL.hasPrefix("https://")
        self.sessionSeconds = sessionSeconds
    }

    var issuer: String { tokens.issuer }

    public func register(on router: Router<Context>) {
        router.get(".well-known/smart-configuration") { _, _ in json(smartConfiguration) }
        router.get("fhir/.well-known/smart-configuration") { _, _ in json(smartConfiguration) }
        router.get(".well-known/openid-configuration") { _, _ in json(smartConfiguration) }
        router.get("auth/.well-known/openid-configuration") { _, _ in json(smartConfiguration) }
        router.get("auth/jwks") { _, _ in json(JSONObject([("keys", .array([.object(tokens.publicJWK)]))])) }
        router.get("auth/authorize") { request, _ in try await authorizePage(request) }
        router.post("auth/authorize") { request, _ in try await authorizeSubmit(request) }
        router.post("auth/token") { request, _ in try await token(request) }
        router.post("auth/revoke") { request, _ in try await revoke(request) }
        router.post("auth/launch") { request, _ in try await launch(request) }
        router.get("auth/userinfo") { request, _ in try await userinfo(request) }
    }

    // MARK: Discovery

    var smartConfiguration: JSONObject {
        JSONObject([
            ("issuer", .string(issuer)),
            ("jwks_uri", .string("\(issuer)/jwks")),
            ("authorization_endpoint", .string("\(issuer)/authorize")),
            ("token_endpoint", .string("\(issuer)/token")),
            ("revocation_endpoint", .string("\(issuer)/revoke")),
            ("userinfo_endpoint", .string("\(issuer)/userinfo")),
            ("grant_types_supported", .array(["authorization_code", "refresh_token", "client_credentials"].map { .string($0) })),
            ("response_types_supported", .array([.string("code")])),
            ("subject_types_supported", .array([.string("public")])),
            ("id_token_signing_alg_values_supported", .array([.string("ES256")])),
            ("token_endpoint_auth_methods_supported", .array(["client_secret_basic", "client_secret_post", "private_key_jwt"].map { .string($0) })),
            ("token_endpoint_auth_signing_alg_values_supported", .array(["RS384", "ES384", "ES256", "RS256"].map { .string($0) })),
            ("scopes_supported", .array(["openid", "fhirUser", "launch", "launch/patient", "offline_access", "online_access",
                                         "patient/*.rs", "user/*.cruds", "system/*.rs", "system/*.cruds"].map { .string($0) })),
            ("code_challenge_methods_supported", .array([.string("S256")])),
            ("capabilities", .array(["launch-ehr", "launch-standalone", "client-public", "client-confidential-symmetric",
                                     "client-confidential-asymmetric", "context-ehr-patient", "context-standalone-patient",
                                     "permission-offline", "permission-patient", "permission-user", "permission-v1", "permission-v2",
                                     "sso-openid-connect", "authorize-post"].map { .string($0) })),
        ])
    }

    // MARK: Authorization code flow

    /// The parameters of an authorization request, carried through the login form.
    struct AuthorizationRequest {
        var clientID: String
        var redirectURI: String
        var scope: String
        var state: String
        var codeChallenge: String
        var launch: String?
        var nonce: String?

        var hiddenFields: [(String, String)] {
            [("client_id", clientID), ("redirect_uri", redirectURI), ("scope", scope), ("state", state), ("code_challenge", codeChallenge),
             ("code_challenge_method", "S256"), ("launch", launch ?? ""), ("nonce", nonce ?? "")]
        }
    }

    /// Checks an authorization request; errors that cannot be redirected safely are shown as a page.
    func authorizationRequest(_ fields: [String: String]) async throws -> AuthorizationRequest {
        guard let clientID = fields["client_id"], let client = try await tokens.clients.client(clientID) else {
            throw AuthPageError("Okänd klient (client_id). Appen är inte registrerad i Kärna.")
        }
        guard let redirect = fields["redirect_uri"], client.allowsRedirect(redirect) else {
            throw AuthPageError("redirect_uri är inte registrerad för \(client.name).")
        }
        guard fields["response_type"] == nil || fields["response_type"] == "code" else {
            throw AuthPageError("Endast response_type=code stöds.")
        }
        guard let challenge = fields["code_challenge"], !challenge.isEmpty, (fields["code_challenge_method"] ?? "S256") == "S256" else {
            throw AuthPageError("PKCE krävs: skicka code_challenge med code_challenge_method=S256.")
        }
        if let aud = fields["aud"], !aud.isEmpty, aud.trimmingCharacters(in: ["/"]) != fhirBaseURL.trimmingCharacters(in: ["/"]) {
            throw AuthPageError("aud (\(aud)) är inte denna FHIR-server (\(fhirBaseURL)).")
        }
        let scope = ScopeSet(fields["scope"] ?? "openid fhirUser").narrowed(to: ScopeSet(client.scopes)).description
        return AuthorizationRequest(clientID: clientID, redirectURI: redirect, scope: scope, state: fields["state"] ?? "", codeChallenge: challenge,
                                    launch: fields["launch"].flatMap { $0.isEmpty ? nil : $0 }, nonce: fields["nonce"].flatMap { $0.isEmpty ? nil : $0 })
    }

    func authorizePage(_ request: Request) async throws -> Response {
        let fields = Dictionary((request.uri.query ?? "").queryPairs.map { ($0.name, $0.value) }, uniquingKeysWith: { _, b in b })
        do {
            let authorization = try await authorizationRequest(fields)
            return loginPage(authorization, message: nil, username: "")
        } catch let error as AuthPageError {
            return page(title: "Inloggningen kan inte starta", body: "<p class=\"error\" role=\"alert\">\(error.message.htmlEscaped)</p>", status: .badRequest)
        }
    }

    func authorizeSubmit(_ request: Request) async throws -> Response {
        let form = try await formFields(request)
        let authorization: AuthorizationRequest
        do {
            authorization = try await authorizationRequest(form)
        } catch let error as AuthPageError {
            return page(title: "Inloggningen kan inte fortsätta", body: "<p class=\"error\" role=\"alert\">\(error.message.htmlEscaped)</p>", status: .badRequest)
        }
        guard let csrf = form["csrf"], let cookie = request.cookies["karna_csrf"]?.value, !csrf.isEmpty, csrf == cookie else {
            return loginPage(authorization, message: "Formuläret har gått ut. Logga in igen.", username: form["username"] ?? "", status: .forbidden)
        }
        // Step 2: the assignment chosen after a successful login.
        if let pending = form["pending"] {
            guard let (grant, _) = try await tokens.takeOneTime(kind: ControlKind.session, token: pending) else {
                return loginPage(authorization, message: "Inloggningen har gått ut. Logga in igen.", username: "")
            }
            return try await complete(authorization, account: grant, assignmentID: form["assignment"])
        }
        let username = form["username"] ?? ""
        let account: UserAccount
        do {
            account = try await accounts.login(username: username, password: form["password"] ?? "", code: form["code"] ?? "", client: authorization.clientID)
        } catch let failure as LoginFailure {
            guard let seconds = AccountService.retryAfter(failure) else {
                return loginPage(authorization, message: failure.description, username: username, status: .unauthorized)
            }
            var page = loginPage(authorization, message: failure.description, username: username, status: .tooManyRequests)
            page.headers[.retryAfter] = String(seconds)
            return page
        }
        // A reset password is the systemförvaltare's, not the user's: no app gets a token until the user has chosen one.
        if account.mustChangePassword == true {
            return loginPage(authorization, message: "Ditt lösenord har återställts. Logga in i Kärnas webbapp och välj ett eget lösenord först.",
                             username: username, status: .forbidden)
        }
        let grant = Grant(kind: account.kind, subject: account.username, displayName: account.displayName, clientID: authorization.clientID,
                          scope: authorization.scope, fhirUser: account.fhirUser, nonce: authorization.nonce)
        if account.kind == .practitioner {
            let assignments = try await directory.assignments(practitionerID: account.subjectID)
            if assignments.isEmpty {
                return loginPage(authorization, message: "Du har inget aktivt medarbetaruppdrag. Kontakta din systemförvaltare.", username: username,
                                 status: .forbidden)
            }
            if assignments.count > 1 {
                let pending = try await tokens.storeOneTime(kind: ControlKind.session, grant: grant, seconds: 300)
                return assignmentPage(authorization, assignments: assignments, pending: pending)
            }
            return try await complete(authorization, account: grant, assignmentID: assignments[0].id)
        }
        return try await complete(authorization, account: grant, assignmentID: nil)
    }

    /// Issues the code and redirects back to the app, with a web session cookie for single sign-on.
    func complete(_ authorization: AuthorizationRequest, account grant: Grant, assignmentID: String?) async throws -> Response {
        var grant = grant
        if grant.kind == .practitioner {
            guard let assignmentID, let assignment = try await directory.assignment(id: assignmentID),
                  "Practitioner/\(assignment.practitionerID)" == grant.fhirUser
            else {
                return page(title: "Välj medarbetaruppdrag", body: "<p class=\"error\" role=\"alert\">Välj ett av dina medarbetaruppdrag.</p>", status: .badRequest)
            }
            grant.assignmentID = assignment.id
        }
        let scopes = ScopeSet(grant.scope)
        if let launch = authorization.launch {
            guard let context = try await tokens.peekOneTime(kind: ControlKind.launch, token: launch) else {
                return redirect(authorization, error: "invalid_request", description: "the launch context has expired")
            }
            grant.patient = context.patient
        } else if scopes.contains("launch/patient") {
            if grant.kind == .patient { grant.patient = grant.fhirUser.map { String($0.dropFirst("Patient/".count)) } }
        }
        let code = try await tokens.storeOneTime(kind: ControlKind.authorizationCode, grant: grant, seconds: 60,
                                                 extra: ["redirect_uri": authorization.redirectURI, "code_challenge": authorization.codeChallenge])
        var response = redirect(authorization, code: code)
        let session = try await tokens.storeOneTime(kind: ControlKind.session, grant: grant, seconds: sessionSeconds)
        response.setCookie(Cookie(name: "karna_session", value: session, maxAge: sessionSeconds, path: "/", secure: secureCookies, httpOnly: true, sameSite: .lax))
        return response
    }

    func redirect(_ authorization: AuthorizationRequest, code: String) -> Response {
        var components = URLComponents(string: authorization.redirectURI) ?? URLComponents()
        components.queryItems = (components.queryItems ?? []) + [URLQueryItem(name: "code", value: code), URLQueryItem(name: "state", value: authorization.state)]
        return Response(status: .found, headers: [.location: components.string ?? authorization.redirectURI])
    }

    func redirect(_ authorization: AuthorizationRequest, error: String, description: String) -> Response {
        var components = URLComponents(string: authorization.redirectURI) ?? URLComponents()
        components.queryItems = (components.queryItems ?? []) + [URLQueryItem(name: "error", value: error),
                                                                  URLQueryItem(name: "error_description", value: description),
                                                                  URLQueryItem(name: "state", value: authorization.state)]
        return Response(status: .found, headers: [.location: components.string ?? authorization.redirectURI])
    }

    // MARK: Token endpoint

    func token(_ request: Request) async throws -> Response {
        let form = try await formFields(request)
        do {
            switch form["grant_type"] {
            case "authorization_code": return json(try await exchangeCode(form, request: request).json)
            case "refresh_token":
                let client = try await authenticateClient(form, request: request, requireForConfidential: true)
                guard let token = form["refresh_token"], let response = try await tokens.refresh(token, clientID: client.id) else {
                    throw OAuthError("invalid_grant", "the refresh token is unknown, expired, revoked or already used")
                }
                return json(response.json)
            case "client_credentials":
                let client = try await authenticateClient(form, request: request, requireForConfidential: true)
                guard client.kind == .system else { throw OAuthError("unauthorized_client", "only system clients may use client_credentials") }
                let requested = ScopeSet(form["scope"] ?? client.scopes)
                let scope = requested.narrowed(to: ScopeSet(client.scopes))
                guard !scope.resources.isEmpty else { throw OAuthError("invalid_scope", "none of the requested scopes is allowed for \(client.id)") }
                let grant = Grant(kind: .system, subject: client.id, displayName: client.name, clientID: client.id, scope: scope.description)
                return json(try await tokens.issue(grant).json)
            default:
                throw OAuthError("unsupported_grant_type", "grant_type must be authorization_code, refresh_token or client_credentials")
            }
        } catch let error as OAuthError {
            if error.code == "invalid_client" || error.code == "invalid_grant" {
                await tokens.auditFailedAuthentication(client: form["client_id"].map { String($0.prefix(128)) }, interface: "token", reason: error.description)
            }
            return json(JSONObject([("error", .string(error.code)), ("error_description", .string(error.description))]),
                        status: error.code == "invalid_client" ? .unauthorized : .badRequest)
        }
    }

    func exchangeCode(_ form: [String: String], request: Request) async throws -> TokenResponse {
        let client = try await authenticateClient(form, request: request, requireForConfidential: true)
        guard let code = form["code"], let (grant, extra) = try await tokens.takeOneTime(kind: ControlKind.authorizationCode, token: code),
              grant.clientID == client.id
        else { throw OAuthError("invalid_grant", "the authorization code is unknown, expired or already used") }
        guard form["redirect_uri"] == extra["redirect_uri"] else { throw OAuthError("invalid_grant", "redirect_uri differs from the authorization request") }
        guard let verifier = form["code_verifier"], Self.challenge(verifier) == extra["code_challenge"] else {
            throw OAuthError("invalid_grant", "code_verifier does not match the code_challenge (PKCE)")
        }
        return try await tokens.issue(grant)
    }

    /// PKCE S256: BASE64URL(SHA256(verifier)).
    static func challenge(_ verifier: String) -> String {
        Secrets.base64URL(Data(SHA256.hash(data: Data(verifier.utf8))))
    }

    /// Client authentication: HTTP Basic, client_secret_post, or a signed assertion (private_key_jwt).
    func authenticateClient(_ form: [String: String], request: Request, requireForConfidential: Bool) async throws -> OAuthClient {
        var clientID = form["client_id"]
        var secret = form["client_secret"]
        if let header = request.headers[.authorization], header.lowercased().hasPrefix("basic "),
           let decoded = Data(base64Encoded: String(header.dropFirst(6))).map({ String(decoding: $0, as: UTF8.self) }),
           let colon = decoded.firstIndex(of: ":") {
            clientID = String(decoded[..<colon]).removingPercentEncoding
            secret = String(decoded[decoded.index(after: colon)...]).removingPercentEncoding
        }
        if form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", let assertion = form["client_assertion"] {
            let issuerOfAssertion = (try? JSONParser.parse(Self.jwtPayload(assertion) ?? [])).flatMap { $0.objectValue?["iss"]?.stringValue }
            guard let id = issuerOfAssertion ?? clientID, let client = try await tokens.clients.client(id),
                  try await tokens.verifyClientAssertion(assertion, client: client, tokenURL: "\(issuer)/token")
            else { throw OAuthError("invalid_client", "the client assertion is not valid for a registered client") }
            return client
        }
        guard let clientID, let client = try await tokens.clients.client(clientID) else {
            throw OAuthError("invalid_client", "unknown client")
        }
        if client.kind == .publicApp { return client }
        guard let secret, client.secretMatches(secret) else { throw OAuthError("invalid_client", "the client secret is wrong or missing") }
        return client
    }

    static func jwtPayload(_ token: String) -> [UInt8]? {
        let parts = token.split(separator: ".")
        guard parts.count == 3 else { return nil }
        var base64 = parts[1].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64).map { [UInt8]($0) }
    }

    func revoke(_ request: Request) async throws -> Response {
        let form = try await formFields(request)
        if let token = form["token"] { try await tokens.revoke(token) }
        return Response(status: .ok)
    }

    /// EHR launch: a signed-in practitioner's web app registers the patient context an app is launched with.
    func launch(_ request: Request) async throws -> Response {
        let principal = try await bearer(request)
        let form = try await formFields(request)
        guard principal.kind == .practitioner, let patient = form["patient"], !patient.isEmpty else {
            return json(JSONObject([("error", .string("invalid_request")), ("error_description", .string("a practitioner token and a patient are required"))]),
                        status: .badRequest)
        }
        let grant = Grant(kind: .practitioner, subject: principal.id, displayName: principal.displayName, clientID: principal.clientID, scope: "", patient: patient)
        let launch = try await tokens.storeOneTime(kind: ControlKind.launch, grant: grant, seconds: 3_600)
        return json(JSONObject([("launch", .string(launch))]))
    }

    func userinfo(_ request: Request) async throws -> Response {
        let principal = try await bearer(request)
        return json(JSONObject([("sub", .string(principal.id)), ("name", .string(principal.displayName)), ("fhirUser", .string(principal.reference))]))
    }

    func bearer(_ request: Request) async throws -> Principal {
        do {
            return try await tokens.principal(authorization: request.headers[.authorization])
        } catch let error as FHIRError {
            throw HTTPError(.unauthorized, message: error.issues.first?.diagnostics ?? "a valid bearer token is required")
        }
    }

    // MARK: Pages

    func loginPage(_ authorization: AuthorizationRequest, message: String?, username: String, status: HTTPResponse.Status = .ok) -> Response {
        let csrf = Secrets.randomToken()
        var body = "<h1>Logga in i Kärna</h1>"
        if let message { body += "<p class=\"error\" role=\"alert\" id=\"login-error\">\(message.htmlEscaped)</p>" }
        body += "<form method=\"post\" action=\"\(issuer)/authorize\">"
        body += hidden(authorization.hiddenFields + [("csrf", csrf)])
        body += field("username", "Användarnamn", type: "text", value: username, autocomplete: "username", describedBy: message == nil ? nil : "login-error")
        body += field("password", "Lösenord", type: "password", value: "", autocomplete: "current-password", describedBy: nil)
        body += field("code", "Engångskod (6 siffror från autentiseringsappen)", type: "text", value: "", autocomplete: "one-time-code", describedBy: nil,
                      extra: "inputmode=\"numeric\" pattern=\"[0-9]{6}\"")
        body += "<button type=\"submit\">Logga in</button></form>"
        var response = page(title: "Logga in", body: body, status: status)
        response.setCookie(Cookie(name: "karna_csrf", value: csrf, path: "/auth", secure: secureCookies, httpOnly: true, sameSite: .strict))
        return response
    }

    func assignmentPage(_ authorization: AuthorizationRequest, assignments: [Assignment], pending: String) -> Response {
        let csrf = Secrets.randomToken()
        var body = "<h1>Välj medarbetaruppdrag</h1><form method=\"post\" action=\"\(issuer)/authorize\">"
        body += hidden(authorization.hiddenFields + [("csrf", csrf), ("pending", pending)])
        body += "<fieldset><legend>Du arbetar under ett uppdrag i taget. Allt du gör loggas under det.</legend>"
        for (index, assignment) in assignments.enumerated() {
            body += "<div><input type=\"radio\" name=\"assignment\" id=\"a\(index)\" value=\"\(assignment.id.htmlEscaped)\"\(index == 0 ? " checked" : "")>"
            body += "<label for=\"a\(index)\">\(assignment.unitName.htmlEscaped) — \(assignment.position.display.htmlEscaped), \(assignment.purpose.display.htmlEscaped)</label></div>"
        }
        body += "</fieldset><button type=\"submit\">Fortsätt</button></form>"
        var response = page(title: "Välj medarbetaruppdrag", body: body, status: .ok)
        response.setCookie(Cookie(name: "karna_csrf", value: csrf, path: "/auth", secure: secureCookies, httpOnly: true, sameSite: .strict))
        return response
    }

    func field(_ name: String, _ label: String, type: String, value: String, autocomplete: String, describedBy: String?, extra: String = "") -> String {
        let described = describedBy.map { " aria-describedby=\"\($0)\"" } ?? ""
        return "<p><label for=\"\(name)\">\(label.htmlEscaped)</label><br><input id=\"\(name)\" name=\"\(name)\" type=\"\(type)\" value=\"\(value.htmlEscaped)\" autocomplete=\"\(autocomplete)\" required\(described) \(extra)></p>"
    }

    func hidden(_ fields: [(String, String)]) -> String {
        fields.map { "<input type=\"hidden\" name=\"\($0.0.htmlEscaped)\" value=\"\($0.1.htmlEscaped)\">" }.joined()
    }

    func page(title: String, body: String, status: HTTPResponse.Status) -> Response {
        let document = """
            <!doctype html><html lang="sv"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(title.htmlEscaped) – Kärna</title>
            <style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#1a1a1a}
            input{font-size:1rem;padding:.4rem;width:100%;box-sizing:border-box;border:1px solid #555}
            input[type=radio]{width:auto}button{font-size:1rem;padding:.5rem 1.2rem;background:#004b87;color:#fff;border:0;margin-top:1rem}
            :focus{outline:3px solid #ffbf47;outline-offset:2px}.error{color:#a00000;font-weight:600}</style></head>
            <body><main>\(body)</main></body></html>
            """
        return Response(status: status, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                        body: ResponseBody(byteBuffer: ByteBuffer(string: document)))
    }

    func json(_ object: JSONObject, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                 body: ResponseBody(byteBuffer: ByteBuffer(bytes: JSONWriter.bytes(.object(object)))))
    }

    func formFields(_ request: Request) async throws -> [String: String] {
        let buffer = try await request.body.collect(upTo: 64 * 1024)
        let text = String(buffer: buffer)
        return Dictionary(text.queryPairs.map { ($0.name, $0.value) }, uniquingKeysWith: { _, b in b })
    }
}

/// A problem with an authorization request shown to the user, never redirected.
struct AuthPageError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// An OAuth 2.0 error response (RFC 6749 §5.2).
struct OAuthError: Error, CustomStringConvertible {
    let code: String
    let description: String
    init(_ code: String, _ description: String) {
        self.code = code
        self.description = description
    }
}

