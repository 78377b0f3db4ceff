import Access
import FHIRCore
import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import KarnaServer
import KarnaTesting
import Logging
import Store
import StoreModel
import Synchronization
import Testing

/// Issue 29, part 1: what an operator sees — Prometheus metrics per route template, liveness and readiness that
/// check the database and the audit chain's head, and JSON log lines.
@Suite("Metrics, health and log format")
struct ObservabilityTests {
    @Test("/metrics counts requests and their latency per route template (ids replaced), with the audit appends, and names no patient")
    func metricsPerRouteTemplate() async throws {
        try await withAPI(.sqlite) { api in
            let created = try await api.create(#"{"resourceType":"Patient","identifier":[{"system":"http://electronichealth.se/identifier/personnummer","value":"191212121212"}],"name":[{"family":"Metricsson","given":["Tolvan"]}],"birthDate":"1912-12-12","gender":"male"}"#)
            let id = try #require(created["id"]?.stringValue)
            for _ in 0..<3 { #expect(try await api.send(.get, "/fhir/Patient/\(id)").status == 200) }
            #expect(try await api.send(.get, "/fhir/NoSuchType/\(id)").status >= 400)
            let metrics = try await api.send(.get, "/metrics")
            #expect(metrics.status == 200 && metrics.headers[.contentType]?.hasPrefix("text/plain") == true)
            let text = metrics.text
            let reads = try #require(text.split(separator: "\n").first {
                $0.hasPrefix("karna_http_requests{") && $0.contains(#"http_route="/fhir/Patient/{id}""#) && $0.contains(#"http_request_method="GET""#)
                    && $0.contains(#"http_response_status_code="200""#)
            }, "no request counter for the read's template in:\n\(text.prefix(3_000))")
            #expect((Int(reads.split(separator: " ").last ?? "") ?? 0) >= 3)
            #expect(text.contains(#"karna_http_request_duration_bucket{http_route="/fhir/Patient/{id}""#), "no latency histogram per template")
            #expect(text.contains(#"http_route="/fhir/{type}/{id}""#), "an unknown type is one template, not one per name")
            #expect(text.contains("karna_audit_append_count") && text.contains("karna_audit_batch_size_bucket"), "no audit append metrics")
            #expect(!text.contains(id) && !text.contains("191212121212") && !text.contains("Metricsson"), "the metrics name a patient")
        }
    }

    @Test("live answers while the process runs; ready names the database and the audit chain's head")
    func liveAndReady() async throws {
        try await withAPI(.sqlite) { api in
            let live = try await api.send(.get, "/health/live")
            #expect(live.status == 200 && live.text == "ok\n")
            _ = try await api.create(#"{"resourceType":"Patient","name":[{"family":"Beredd"}],"gender":"female"}"#)
            _ = try await api.send(.get, "/fhir/Patient?family=Beredd")
            let ready = try await api.send(.get, "/health/ready")
            #expect(ready.status == 200, "\(ready.text)")
            #expect(ready.text.contains("database: ok") && ready.text.contains("audit chain head: intact at "), "\(ready.text)")
            // The same report, the head's sequence aside: a background job may append to the chain between the two.
            let health = try await api.send(.get, "/health")
            func withoutSequence(_ text: String) -> String { text.replacing(/intact at \d+/, with: "intact at N") }
            #expect(health.status == ready.status && withoutSequence(health.text) == withoutSequence(ready.text), "/health is readiness: \(health.text)")
        }
    }

    @Test("ready says not ready when the audit chain's head was altered")
    func notReadyOnBrokenHead() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("karna-health-\(UUID().uuidString).sqlite").path
        let store = try SQLiteStore(path: path)
        _ = try await store.migrate()
        for number in 0..<3 {
            _ = try await store.appendAudit([AuditEntry(recordedAt: Instant.now(), actor: "Practitioner/x", patientID: nil, action: "read", outcome: "0",
                                                        flags: [], json: Array("{\"n\":\(number)}".utf8))])
        }
        let health = Health(store: store, timeoutSeconds: 60)  // not the timeout under test: a loaded CI machine is slow
        #expect(await health.check().ready)
        let database = try DatabaseQueue(path: path)
        try await database.write { db in
            try db.execute(sql: "DROP TRIGGER audit_log_no_update")
            try db.execute(sql: "UPDATE audit_log SET actor = 'Practitioner/someone-else' WHERE seq = (SELECT max(seq) FROM audit_log)")
        }
        let report = await health.check()
        #expect(!report.ready && report.auditHead.contains("broken") && report.auditHead.contains("does not match its hash"), "\(report)")
        try await store.close()
    }

    @Test("ready says not ready, within its time limit, when PostgreSQL cannot be reached")
    func notReadyWithoutDatabase() async throws {
        let store = try PostgresStore(url: "postgres://karna@127.0.0.1:9/karna", waitSeconds: 2)
        let started = ContinuousClock.now
        let report = await Health(store: store, timeoutSeconds: 2).check()
        #expect(!report.ready && report.database != "ok", "\(report)")
        // Bounded, not exact: with the whole suite (and CI's other work) on two cores, the answer waits for a thread.
        #expect(ContinuousClock.now - started < .seconds(60), "the check waited on past its limit")
        try await store.close()
    }

    @Test("a JSON log line is one object with the time in UTC, the level, the message and the metadata")
    func jsonLines() throws {
        let lines = Mutex<[String]>([])
        var handler = JSONLogHandler(label: "karna.requests") { line in lines.withLock { $0.append(line) } }
        handler.logLevel = .info
        let logger = Logger(label: "karna.requests") { _ in handler }
        logger.info("request", metadata: ["http.route": "/fhir/Patient/{id}", "http.status": "200"])
        logger.debug("not written at info")
        let written = lines.withLock { $0 }
        #expect(written.count == 1 && written[0].hasSuffix("\n") && !written[0].dropLast().contains("\n"))
        let object = try #require(try JSONParser.parse(Array(written[0].utf8)).objectValue)
        #expect(object["message"]?.stringValue == "request" && object["level"]?.stringValue == "info" && object["label"]?.stringValue == "karna.requests")
        #expect(object["http.route"]?.stringValue == "/fhir/Patient/{id}" && object["http.status"]?.stringValue == "200")
        #expect(object["time"]?.stringValue?.hasSuffix("Z") == true, "\(written[0])")
    }
}
