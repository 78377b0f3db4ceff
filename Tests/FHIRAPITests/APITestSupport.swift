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

/// Drives the real router (no sockets) over a fresh store of the given backend.
struct API {
    let client: any TestClientProtocol
    let store: any ResourceStore

    func send(_ method: HTTPRequest.Method, _ path: String, _ body: String? = nil, bytes: [UInt8]? = nil,
              headers: [String: String] = [:]) async throws -> APIResponse {
        var fields = HTTPFields()
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

func withAPI(_ backend: StoreBackend, limits: APILimits = APILimits(), _ body: @Sendable (API) async throws -> Void) async throws {
    let store = try await backend.makeStore()
    let engine = FHIREngine(store: store, limits: limits, baseURL: base)
    let app = Application(router: KarnaApplication.router(engine: engine))
    try await app.test(.router) { client in
        try await body(API(client: client, store: store))
    }
    try await store.close()
}
