import FHIRAPI
import FHIRCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KarnaServer
import KarnaTesting
import NIOCore
import Store
import StoreModel
import Access
import Logging
import Testing

let backends = StoreBackend.allCases.filter(\.isAvailable)
let base = "http://localhost:8080/fhir"

/// One HTTP answer, with its body parsed when it is JSON.
struct APIResponse {
    let status: Int
    let headers: HTTPFields
    let body: [UInt8]

    var json: JSONObject? { (try? JSONParser.parse(body))?.objectValue }
    var text: String { String(decoding: body, as: UTF8.self) }
    subscript(_ name: String) -> String? { headers[HTTPField.Name(name)!] }
    /// The OperationOutcome's diagnostics and expressions, for checking that errors say what and where.
    var issues: [(diagnostics: String, expression: [String])] {
        (json?["issue"]?.arrayValue ?? []).compactMap { $0.objectValue }.map {
            ($0["diagnostics"]?.stringValue ?? "", $0["expression"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        }
    }
}

/// Drives the real router (no sockets) over a fresh store of the given backend, as a system client
/// with a bearer token from the real token endpoint (override with an `Authorization` header).
struct API {
    let client: any TestClientProtocol
    let store: any ResourceStore
    let services: KarnaServices
    var token: String = ""

    func send(_ method: HTTPRequest.Method, _ path: String, _ body: String? = nil, bytes: [UInt8]? = nil,
              headers: [String: String] = [:]) async throws -> APIResponse {
        var fields = HTTPFields()
        if !token.isEmpty { fields[.authorization] = "Bearer \(token)" }
        if body != nil || bytes != nil { fields[.contentType] = "application/fhir+json" }
        for (name, value) in headers { fields[HTTPField.Name(name)!] = value }
        let payload = bytes.map { ByteBuffer(bytes: $0) } ?? body.map { ByteBuffer(string: $0) }
        let response = try await client.execute(uri: path, method: method, headers: fields, body: payload)
        return APIResponse(status: Int(response.status.code), headers: response.headers, body: Array(response.body.readableBytesView))
    }

    func create(_ json: String) async throws -> JSONObject {
        let type = try #require(try JSONParser.parse(json).objectValue?.resourceType)
        let response = try await send(.post, "/fhir/\(type)", json)
        #expect(response.status == 201, "\(response.text)")
        return try #require(response.json)
    }
}

/// The system client the API tests authenticate as.
let testClientID = "api-tests"
let testClientSecret = "api-tests-secret-0123456789"

func withAPI(_ backend: StoreBackend, limits: APILimits = APILimits(), flags: [String: String] = [:],
             _ body: @Sendable (API) async throws -> Void) async throws {
    let store = try await backend.makeStore()
    try await withAPI(on: store, limits: limits, flags: flags, body)
    try await store.close()
}

/// As `withAPI(_:…)`, over a store the test opened itself (and closes).
func withAPI(on store: any ResourceStore, limits: APILimits = APILimits(), flags: [String: String] = [:],
             _ body: @Sendable (API) async throws -> Void) async throws {
    var configuration = try KarnaConfiguration(flags: ["password-cost": "10", "base-url": base].merging(flags) { $1 }, environment: [:])
    configuration.limits = limits
    let services = try await KarnaApplication.services(configuration, store: store, logger: Logger(label: "test"))
    try await services.tokens.clients.register(OAuthClient(id: testClientID, name: "API tests", kind: .system,
                                                           secretHash: OAuthClient.hashSecret(testClientSecret), scopes: "system/*.cruds"))
    let app = Application(router: try await KarnaApplication.router(services))
    try await app.test(.router) { client in
        var api = API(client: client, store: store, services: services)
        api.token = try await api.systemToken()
        try await body(api)
    }
}

extension API {
    /// A token from the real token endpoint by the client-credentials grant.
    func systemToken(scope: String = "system/*.cruds") async throws -> String {
        let form = "grant_type=client_credentials&client_id=\(testClientID)&client_secret=\(testClientSecret)&scope=\(scope.percentEncodedForForm)"
        let response = try await client.execute(uri: "/auth/token", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                                                body: ByteBuffer(string: form))
        let json = try #require((try? JSONParser.parse(Array(response.body.readableBytesView)))?.objectValue)
        return try #require(json["access_token"]?.stringValue, "token endpoint answered \(json)")
    }
}

extension String {
    var percentEncodedForForm: String { addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? self }
}
