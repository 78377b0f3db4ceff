import Access
import FHIRCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KarnaServer
import KarnaTesting
import Logging
import Store
import StoreModel
import Synchronization
import Testing

/// Issue 31, item 11: when the database is gone or full, the server says so at once with 503 and
/// `Retry-After`, writes nothing half-way, and serves again once the database is back.
@Suite("The server when its database is down or full", .serialized)
struct UnavailableTests {
    @Test("a PostgreSQL outage is answered 503 with Retry-After within the bounded wait, and the server recovers when the database returns",
          .enabled(if: StoreBackend.postgresql.isAvailable, "PostgreSQL binaries are not installed"))
    func postgresOutage() async throws {
        // The suite runs beside others on two cores: a connection that takes longer than the bounded wait
        // before the outage begins is load, not the behaviour under test, so the set-up is tried again.
        for attempt in 1...3 {
            let outageBegan = OutageMark()
            do {
                try await outage(outageBegan)
                return
            } catch is StoreUnavailable where !outageBegan.isSet && attempt < 3 {
                print("PostgreSQL outage test: the set-up met a busy machine (attempt \(attempt)); trying again")
                try await Task.sleep(for: .seconds(2))
            }
        }
    }

    /// Set when the database is paused, so a failure after it is the test's, not the machine's.
    final class OutageMark: Sendable {
        private let state = Mutex(false)
        var isSet: Bool { state.withLock { $0 } }
        func set() { state.withLock { $0 = true } }
    }

    private func outage(_ outageBegan: OutageMark) async throws {
        let server = try TemporaryPostgres()
        defer { server.stop() }
        let url = try server.createDatabase("outage")
        let store = try PostgresStore(url: url, maximumConnections: 4, waitSeconds: 3)
        try await store.migrate()
        try await withAPI(on: store) { api in
            #expect(try await api.send(.post, "/fhir/Organization", #"{"resourceType":"Organization","name":"Före"}"#).status == 201)
            try server.pause()
            outageBegan.set()
            let clock = ContinuousClock()
            for (method, path, body) in [(HTTPRequest.Method.get, "/fhir/Organization?name=Före", nil as String?),
                                         (.post, "/fhir/Organization", #"{"resourceType":"Organization","name":"Under"}"#)] {
                let started = clock.now
                let response = try await api.send(method, path, body)
                let waited = clock.now - started
                #expect(response.status == 503, "\(method) \(path): \(response.status) \(response.text.prefix(200))")
                #expect(response["Retry-After"] != nil)
                // The wait is 3 s; the margin covers a 2-core machine running the whole suite at once (8.9 s seen), and an
                // unbounded wait (the fault this guards against) still fails it.
                #expect(waited < .seconds(15), "\(method) \(path) waited \(waited)")
            }
            try server.resume()
            let back = clock.now
            var status = 0
            while status != 200, clock.now - back < .seconds(60) {
                status = try await api.send(.get, "/fhir/Organization?name=Före").status
                if status != 200 { try await Task.sleep(for: .milliseconds(250)) }
            }
            #expect(status == 200)
            print("PostgreSQL outage: served again \(clock.now - back) after the database returned")
            let found = try await api.send(.get, "/fhir/Organization?name=Under&_summary=count")
            #expect(found.json?["total"]?.numberText == "0", "the write refused during the outage left nothing")
        }
        try await store.close()
    }

    @Test("a full SQLite database refuses writes with 503 and Retry-After, writes nothing half-way, and still answers reads")
    func fullDisk() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("karna-full-\(UUID().uuidString).sqlite").path
        let first = try SQLiteStore(path: path)
        try await first.migrate()
        try await first.close()
        let pages = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0) / 4_096
        let store = try SQLiteStore(path: path, maximumPages: pages + 400)
        try await withAPI(on: store) { api in
            let filler = String(repeating: "Anteckning om läget. ", count: 400)
            var status = 201, written = 0
            while status == 201, written < 2_000 {
                status = try await api.send(.post, "/fhir/Basic", #"{"resourceType":"Basic","code":{"text":"\#(filler)"}}"#).status
                if status == 201 { written += 1 }
            }
            #expect(status == 503 && written > 0, "after \(written) writes")
            let refused = try await api.send(.post, "/fhir/Basic", #"{"resourceType":"Basic","code":{"text":"\#(filler)"}}"#)
            #expect(refused.status == 503 && refused["Retry-After"] != nil)
            #expect(refused.issues.first?.diagnostics.contains("full") == true)
            let count = try await api.send(.get, "/fhir/Basic?_summary=count")
            #expect(count.status == 200)
            #expect(count.json?["total"]?.numberText == String(written), "every accepted write is there, the refused ones are not")
        }
        try await store.close()
    }
}
