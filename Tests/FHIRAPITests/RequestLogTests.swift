import Access
import FHIRCore
import Foundation
import Hummingbird
import HummingbirdTesting
import KarnaServer
import KarnaTesting
import Logging
import Store
import StoreModel
import Synchronization
import Testing

/// Issue 21, item 5: one structured log line per request (method, route template, status, duration,
/// principal kind — no patient data), and the request id in every audit record of that request.
@Suite("Request log lines and request ids")
struct RequestLogTests {
    /// Log records collected in memory.
    final class Collected: Sendable {
        let records = Mutex<[(message: String, metadata: Logger.Metadata)]>([])
    }

    struct Collector: LogHandler {
        let collected: Collected
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            collected.records.withLock { $0.append(("\(event.message)", merged)) }
        }
    }

    @Test("each request writes one line naming its route, status and principal kind, never the patient; its audit records carry its id")
    func oneLinePerRequest() async throws {
        let store = try await StoreBackend.sqlite.makeStore()
        let configuration = try KarnaConfiguration(flags: ["password-cost": "10", "base-url": base], environment: [:])
        let services = try await KarnaApplication.services(configuration, store: store, logger: Logger(label: "test"))
        try await services.tokens.clients.register(OAuthClient(id: testClientID, name: "API tests", kind: .system,
                                                               secretHash: OAuthClient.hashSecret(testClientSecret), scopes: "system/*.cruds"))
        let collected = Collected()
        let logger = Logger(label: "test.requests") { _ in Collector(collected: collected) }
        let app = Application(router: try await KarnaApplication.router(services, requestLogger: logger))
        try await app.test(.router) { client in
            var api = API(client: client, store: store, services: services)
            api.token = try await api.systemToken()
            _ = try await api.create(#"{"resourceType":"Patient","identifier":[{"system":"http://electronichealth.se/identifier/personnummer","value":"191212121212"}],"name":[{"family":"Tolvansson","given":["Tolvan"]}],"birthDate":"1912-12-12","gender":"male"}"#)
            collected.records.withLock { $0.removeAll() }
            let found = try await api.send(.get, "/fhir/Patient?identifier=191212121212&name=Tolvansson")
            #expect(found.status == 200)
        }
        let lines = collected.records.withLock { $0 }.filter { $0.message == "request" }
        #expect(lines.count == 1, "one line per request: \(lines.map(\.metadata))")
        let line = try #require(lines.first)
        #expect(line.metadata["http.method"] == "GET" && line.metadata["http.route"] == "/fhir/Patient" && line.metadata["http.status"] == "200")
        #expect(line.metadata["principal"] == "system" && line.metadata["duration.ms"] != nil)
        let everything = "\(lines.map(\.message)) \(lines.map(\.metadata))"
        #expect(!everything.contains("191212121212") && !everything.contains("Tolvansson"), "a log line names the patient: \(everything)")
        let requestID = try #require(line.metadata["request.id"].map { "\($0)" })
        #expect(requestID.count > 4)
        let audit = try await store.auditRecords(AuditQuery(limit: 100))
        let ofRequest = audit.filter { String(decoding: $0.entry.json, as: UTF8.self).contains(#""request":"\#(requestID)""#) }
        #expect(!ofRequest.isEmpty && ofRequest.allSatisfy { $0.entry.action == "search" }, "the search's audit records carry its request id")
        try await store.close()
    }

    @Test("a personnummer that fails its check digit is refused without being echoed")
    func refusedIdentityIsNotEchoed() async throws {
        try await withAPI(.sqlite) { api in
            let refused = try await api.send(.get, "/fhir/Patient/$find?q=19121212-1213")
            #expect(refused.status == 400 && refused.text.contains("check the digits"))
            #expect(!refused.text.contains("1212"), "the diagnostics echo what was typed: \(refused.text)")
        }
    }
}
