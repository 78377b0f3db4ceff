import Access
import FHIRCore
import Foundation
import HTTPTypes
import Hummingbird
import JWTKit
import KarnaServer
import KarnaTesting
import Logging
import NIOCore
import Store
import StoreModel
import Testing
import HummingbirdTesting

/// The token endpoint and token checks beyond the browser flow (which Tests/e2e drives through the login form).
@Suite("Tokens: backend services, scopes, external issuer, administration")
struct AuthFlowTests {
    struct Assertion: JWTPayload {
        var iss: IssuerClaim
        var sub: SubjectClaim
        var aud: AudienceClaim
        var exp: ExpirationClaim
        var jti: IDClaim
        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    struct ExternalClaims: JWTPayload {
        var iss: IssuerClaim
        var sub: SubjectClaim
        var aud: AudienceClaim
        var exp: ExpirationClaim
        var hsa_id: String
        var assignment: String
        var scope: String
        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    func jwks(_ key: ES256PrivateKey, kid: String) -> String {
        let p = key.parameters!
        return #"{"keys":[{"kty":"EC","crv":"P-256","kid":"\#(kid)","alg":"ES256","x":"\#(p.x)","y":"\#(p.y)"}]}"#
    }

    func form(_ api: API, _ fields: [(String, String)]) async throws -> APIResponse {
        let body = fields.map { "\($0.0)=\($0.1.percentEncodedForForm)" }.joined(separator: "&")
        let response = try await api.client.execute(uri: "/auth/token", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                                                    body: ByteBuffer(string: body))
        return APIResponse(status: Int(response.status.code), headers: response.headers, body: Array(response.body.readableBytesView))
    }

    @Test("SMART Backend Services: a signed assertion gets a token once; a replayed or foreign assertion does not", arguments: backends)
    func backendServices(_ backend: StoreBackend) async throws {
        try await withAPI(backend) { api in
            let key = ES256PrivateKey()
            try await api.services.tokens.clients.register(OAuthClient(id: "lab", name: "Labbsystem", kind: .system, jwks: jwks(key, kid: "lab-1"),
                                                                       scopes: "system/Observation.cruds system/Patient.rs"))
            let signer = JWTKeyCollection()
            await signer.add(ecdsa: key, kid: "lab-1")
            let claims = Assertion(iss: "lab", sub: "lab", aud: AudienceClaim(value: ["http://localhost:8080/auth/token"]),
                                   exp: ExpirationClaim(value: Date().addingTimeInterval(120)), jti: IDClaim(value: UUID().uuidString))
            let assertion = try await signer.sign(claims, kid: "lab-1")
            let fields = [("grant_type", "client_credentials"), ("scope", "system/Observation.cruds system/Condition.rs"),
                          ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"), ("client_assertion", assertion)]
            let granted = try await form(api, fields)
            #expect(granted.status == 200, "\(granted.text)")
            #expect(granted.json?["scope"]?.stringValue == "system/Observation.cruds", "scopes are narrowed to the client's registration")
            let replayed = try await form(api, fields)
            #expect(replayed.status == 401 && replayed.json?["error"]?.stringValue == "invalid_client")
            let stranger = try await signer.sign(Assertion(iss: "lab", sub: "lab", aud: AudienceClaim(value: ["http://localhost:8080/auth/token"]),
                                                           exp: ExpirationClaim(value: Date().addingTimeInterval(120)), jti: IDClaim(value: UUID().uuidString)),
                                                 kid: "lab-1")
            let otherKey = ES256PrivateKey()
            let foreign = JWTKeyCollection()
            await foreign.add(ecdsa: otherKey, kid: "lab-1")
            let forged = try await foreign.sign(Assertion(iss: "lab", sub: "lab", aud: AudienceClaim(value: ["http://localhost:8080/auth/token"]),
                                                          exp: ExpirationClaim(value: Date().addingTimeInterval(120)), jti: IDClaim(value: UUID().uuidString)),
                                                kid: "lab-1")
            #expect(try await form(api, [fields[0], fields[1], fields[2], ("client_assertion", forged)]).status == 401)
            #expect(try await form(api, [fields[0], fields[1], fields[2], ("client_assertion", stranger)]).status == 200)

            // The lab's token writes Observations but cannot read Conditions: scopes limit system clients too.
            var lab = api
            lab.token = try #require(granted.json?["access_token"]?.stringValue)
            let condition = try await lab.send(.get, "/fhir/Condition")
            #expect(condition.status == 200 && condition.json?["entry"] == nil, "search results leave out what the scopes do not cover")
            let created = try await lab.send(.post, "/fhir/Condition", #"{"resourceType":"Condition","subject":{"reference":"Patient/x"}}"#)
            #expect(created.status == 403)
            #expect(try await api.store.auditRecords(AuditQuery(actor: "Client/lab", limit: 10)).contains { $0.entry.outcome == "denied" })
        }
    }

    @Test("a token from a trusted external issuer acts under the assignment it names; other issuers' tokens are refused", arguments: backends)
    func externalIssuer(_ backend: StoreBackend) async throws {
        try await withAPI(backend) { api in
            let key = ES256PrivateKey()
            let positions = Dictionary(Position.defaults.map { ($0.code, $0) }, uniquingKeysWith: { a, _ in a })
            _ = try await api.store.commit([
                .update(JSONObject([("resourceType", .string("Organization")), ("id", .string("unit-x")), ("name", .string("Enhet X"))]),
                        type: "Organization", id: "unit-x"),
                .update(JSONObject([("resourceType", .string("Practitioner")), ("id", .string("hsa-doc")),
                                    ("identifier", .array([.object(JSONObject([("system", .string("urn:oid:1.2.752.29.4.19")), ("value", .string("SE123-X"))]))]))]),
                        type: "Practitioner", id: "hsa-doc"),
                .update(Assignment.resource(id: "hsa-doc-role", practitionerID: "hsa-doc", unitID: "unit-x", purpose: .care, position: positions["lakare"]!),
                        type: "PractitionerRole", id: "hsa-doc-role"),
            ])
            let tokens = try await TokenService(store: api.store, directory: api.services.gateway.directory, accounts: api.services.accounts,
                                                issuer: "http://localhost:8080/auth", audience: base,
                                                trustedIssuer: TrustedIssuer(issuer: "https://idp.region.example", audience: base, jwks: jwks(key, kid: "idp")))
            let idp = JWTKeyCollection()
            await idp.add(ecdsa: key, kid: "idp")
            func token(hsa: String, issuer: String = "https://idp.region.example") async throws -> String {
                try await idp.sign(ExternalClaims(iss: IssuerClaim(value: issuer), sub: "u1", aud: AudienceClaim(value: [base]),
                                                  exp: ExpirationClaim(value: Date().addingTimeInterval(300)), hsa_id: hsa, assignment: "hsa-doc-role",
                                                  scope: "user/*.cruds"), kid: "idp")
            }
            let signed = try await token(hsa: "SE123-X")
            let principal = try await tokens.principal(bearer: signed)
            #expect(principal.id == "hsa-doc" && principal.assignment?.unitID == "unit-x")
            #expect(principal.identityToken == signed, "kept for a national service that must see the user (NLL)")
            await #expect(throws: FHIRError.self) { _ = try await tokens.principal(bearer: try await token(hsa: "SE999-NOBODY")) }
            await #expect(throws: FHIRError.self) { _ = try await tokens.principal(bearer: try await token(hsa: "SE123-X", issuer: "https://evil.example")) }
        }
    }

    @Test("only a systemförvaltare configures positions, and the change takes effect", arguments: [StoreBackend.sqlite])
    func configurePositions(_ backend: StoreBackend) async throws {
        try await withAPI(backend) { api in
            let positions = Dictionary(Position.defaults.map { ($0.code, $0) }, uniquingKeysWith: { a, _ in a })
            _ = try await api.store.commit([
                .update(JSONObject([("resourceType", .string("Organization")), ("id", .string("unit-y")), ("name", .string("Enhet Y"))]), type: "Organization", id: "unit-y"),
                .update(Assignment.resource(id: "admin-role", practitionerID: "admin", unitID: "unit-y", purpose: .administration, position: positions["systemforvaltare"]!),
                        type: "PractitionerRole", id: "admin-role"),
            ])
            let parameters = #"{"resourceType":"Parameters","parameter":[{"name":"code","valueString":"kurator"},{"name":"display","valueString":"Kurator"},{"name":"read","valueString":"Patient,Observation"},{"name":"write","valueString":"Communication"}]}"#
            let refused = try await api.send(.post, "/fhir/$configure-position", parameters)
            #expect(refused.status == 403, "a system client is not a systemförvaltare")
            let admin = try #require(try await api.services.gateway.directory.assignment(id: "admin-role"))
            let session = api.services.gateway.session(Principal(kind: .practitioner, id: "admin", displayName: "Admin", assignment: admin,
                                                                 scopes: ScopeSet("user/*.cruds"), clientID: "t"), action: "configure")
            try await session.configure(Position(code: "kurator", display: "Kurator", permissions: Permissions(read: ["Patient"], write: ["Communication"])))
            let listed = try await api.send(.get, "/fhir/$positions")
            #expect(listed.text.contains("kurator"))
            let records = try await api.store.auditRecords(AuditQuery(action: "configure-position", limit: 5))
            #expect(records.map(\.entry.outcome).sorted() == ["allowed", "denied"], "the change and the refused attempt are both audited")
        }
    }
}
