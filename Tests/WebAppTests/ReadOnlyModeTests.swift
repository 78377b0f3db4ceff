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
import Testing

/// Issue 29, part 6: läsläge. On the operators' command (every node follows the stored command), by setting, or
/// when the database refuses a write: every page says so in its banner, a clinical form is refused in Swedish and
/// nothing is written, reads go on, and the Patientdatalag's own decisions still go through.
@Suite("Läsläge (read-only mode)")
struct ReadOnlyModeTests {
    @Test("on command: the banner on every page, a clinical form refused with nothing written, reads and a care-relationship decision go on; off again", arguments: backends)
    func onCommand(_ backend: StoreBackend) async throws {
        try await WebAppTests.withApp(backend) { services, client in
            var browser = Browser(client: client)
            _ = try await WebAppTests.logIn(&browser)
            #expect(!(try await browser.send(.get, "/patienter/p1").html.contains("id=\"read-only\"")))
            // The operators' command, as `karna downtime on` stores it; the node follows the stored record.
            try await ReadOnlyMode.store(ReadOnlyMode.State(reason: .command(text: "planerat underhåll till 06.00", by: "drift"), since: Instant.now()), in: services.store)
            services.gateway.readOnly.follow(command: try await ReadOnlyMode.stored(in: services.store))
            let chart = try await browser.send(.get, "/patienter/p1")
            #expect(chart.status == 200 && chart.html.contains("Greta"), "reads go on")
            #expect(VisibleText.of(chart.html).contains("Läsläge"), "no banner on the chart")
            #expect(VisibleText.of(chart.html).contains("planerat underhåll till 06.00") && VisibleText.of(chart.html).contains("Dokumentera på papper"))
            let token = try #require(chart.field("formToken"))
            let refused = try await browser.send(.post, "/patienter/p1/problem", form: [("formToken", token), ("code", "I10 Essentiell hypertoni")])
            #expect(refused.status == 503 && VisibleText.of(refused.html).contains("Ändringen sparades inte: Kärna är i läsläge"))
            let problems = try await Records(session: services.gateway.session(.job("t"), action: "read")).all("Condition", [("patient", "Patient/p1")], maximum: 10)
            #expect(problems.isEmpty, "a refused form wrote a record")
            // The gateway itself refuses a clinical write from any interface, in Swedish.
            let job = services.gateway.session(.job("t"), action: "create")
            await #expect(throws: FHIRError.self) {
                _ = try await job.commit(.create(JSONObject([("resourceType", .string("Patient")), ("name", .array([FHIR.object([("family", .string("Ny"))])]))]),
                                                 type: "Patient", id: "p9"))
            }
            // A Patientdatalag decision is no clinical record: the care relationship is still recorded.
            let stranger = try await browser.send(.get, "/patienter/p2")
            let pdlToken = try #require(stranger.field("formToken"))
            let relation = try await browser.send(.post, "/patienter/p2/vardrelation", form: [("formToken", pdlToken), ("reason", "Besök på mottagningen")])
            #expect(relation.status != 503, "a care-relationship decision was refused in läsläge")
            // Reading for a long time keeps the session: its keep-alive is no clinical write.
            let kept = try await browser.send(.post, "/session/aktiv", form: [("formToken", token)])
            #expect(kept.status != 503, "the session's keep-alive was refused in läsläge")
            // Off again: forms write.
            try await ReadOnlyMode.store(nil, in: services.store)
            services.gateway.readOnly.follow(command: try await ReadOnlyMode.stored(in: services.store))
            let after = try await browser.send(.get, "/patienter/p1/signaler")
            #expect(!after.html.contains("id=\"read-only\""))
            #expect(try await browser.send(.post, "/patienter/p1/problem", form: [("formToken", token), ("code", "I10 Essentiell hypertoni")]).status == 303)
        }
    }

    @Test("the FHIR API answers a write in läsläge 503 with an OperationOutcome naming it, and reads on")
    func apiWrites() async throws {
        try await WebAppTests.withApp(.sqlite) { services, client in
            services.gateway.readOnly.follow(command: ReadOnlyMode.State(reason: .command(text: "", by: "drift"), since: Instant.now()))
            try await services.tokens.clients.register(OAuthClient(id: "ro-test", name: "test", kind: .system,
                                                                   secretHash: OAuthClient.hashSecret("ro-test-secret-0123456789"), scopes: "system/*.cruds"))
            let token = try await client.execute(uri: "/auth/token", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                                                 body: ByteBuffer(string: "grant_type=client_credentials&client_id=ro-test&client_secret=ro-test-secret-0123456789&scope=system/*.cruds"))
            let access = try #require(try JSONParser.parse(Array(buffer: token.body)).objectValue?["access_token"]?.stringValue)
            let headers: HTTPFields = [.authorization: "Bearer \(access)", .contentType: "application/fhir+json"]
            let write = try await client.execute(uri: "/fhir/Patient", method: .post, headers: headers,
                                                 body: ByteBuffer(string: #"{"resourceType":"Patient","name":[{"family":"Läslägesson"}]}"#))
            #expect(write.status == .serviceUnavailable)
            let outcome = String(buffer: write.body)
            #expect(outcome.contains("OperationOutcome") && outcome.contains("read-only") && outcome.contains("läsläge"), "\(outcome)")
            let read = try await client.execute(uri: "/fhir/Patient/p1", method: .get, headers: headers)
            #expect(read.status == .ok)
        }
        // A node started read-only (against a replica) is so from its first request.
        let store = try await StoreBackend.sqlite.makeStore()
        let configuration = try KarnaConfiguration(flags: ["password-cost": "10", "read-only": "on"], environment: [:])
        let services = try await KarnaApplication.services(configuration, store: store, logger: Logger(label: "test"))
        #expect(services.gateway.readOnly.current()?.reason == .setting && services.gateway.readOnly.notice()?.contains("startad i läsläge") == true)
        try await store.close()
    }

    @Test("a write the database refuses puts the banner up until the retry time, while each write still tries the database")
    func databaseRefusal() async throws {
        let mode = ReadOnlyMode(retrySeconds: 30)
        #expect(mode.current(now: 1_000_000) == nil)
        mode.databaseRefused(now: 1_000_000)
        #expect(mode.current(now: 1_010_000)?.reason == .database && mode.notice(now: 1_010_000)?.contains("databasen tar inte emot ändringar") == true)
        #expect(!mode.refusesWrites(now: 1_010_000), "a database refusal must not stop the writes that would find it back")
        #expect(mode.current(now: 1_031_000) == nil, "the node stays read-only past its retry time")
        // Through the gateway: a database that is full refuses the write, and the node says so.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("karna-readonly-\(UUID().uuidString).sqlite").path
        let unbounded = try SQLiteStore(path: path)
        _ = try await unbounded.migrate()
        try await unbounded.close()
        let pages = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0) / 4_096 + 20
        let store = try SQLiteStore(path: path, maximumPages: pages)
        let gateway = AccessGateway(store: store)
        let job = gateway.session(.job("t"), action: "create")
        let large = String(repeating: "x", count: 400_000)
        await #expect(throws: StoreUnavailable.self) {
            _ = try await job.commit(.create(JSONObject([("resourceType", .string("Basic")), ("id", .string("b1")),
                                                         ("code", FHIR.object([("text", .string(large))]))]), type: "Basic", id: "b1"))
        }
        #expect(gateway.readOnly.current()?.reason == .database)
        // The next write meets the database again, with its own words.
        do {
            _ = try await job.commit(.create(JSONObject([("resourceType", .string("Basic")), ("id", .string("b2")),
                                                         ("code", FHIR.object([("text", .string(large))]))]), type: "Basic", id: "b2"))
            Issue.record("a write into a full database succeeded")
        } catch let unavailable as StoreUnavailable {
            #expect("\(unavailable)".contains("full"), "\(unavailable)")
        }
        try await store.close()
    }

    @Test("after a downtime: a record entered afterwards that happened during it is marked efterregistrerad; the unit's list shows it with both times", arguments: backends)
    func backEntry(_ backend: StoreBackend) async throws {
        try await WebAppTests.withApp(backend) { services, client in
            let now = Instant.now()
            let period = BackEntry.Period(from: now - 3 * 3_600_000, to: now - 3_600_000, reason: "planerat underhåll")
            try await BackEntry.record(period, in: services.store)
            services.gateway.readOnly.follow(periods: try await BackEntry.periods(in: services.store))
            let job = services.gateway.session(.job("t"), action: "create")
            func pulse(_ id: String, at time: Int64) -> WriteOperation {
                let observation = JSONObject([
                    ("resourceType", .string("Observation")), ("id", .string(id)), ("status", .string("final")),
                    ("code", FHIR.object([("text", .string("Puls"))])), ("subject", FHIR.reference("Patient", "p1")),
                    ("effectiveDateTime", .string(Instant.format(milliseconds: time))),
                    ("valueQuantity", FHIR.object([("value", .number("72")), ("unit", .string("/min"))])),
                ])
                return .create(RecordTags.tagged(observation, unit: "vc"), type: "Observation", id: id)
            }
            _ = try await job.commit([pulse("during", at: now - 2 * 3_600_000), pulse("after", at: now - 600_000)])
            func tags(_ id: String) async throws -> [String] {
                let stored = try #require(try await services.store.read(type: "Observation", id: id))
                return (stored.object["meta"]?.objectValue?["tag"]?.arrayValue ?? []).compactMap { $0.objectValue?["code"]?.stringValue }
            }
            #expect(try await tags("during").contains(BackEntry.code), "a record of the downtime's hours entered afterwards is not marked")
            #expect(try await !tags("after").contains(BackEntry.code), "a record of after the downtime is marked")
            // Its own time says when it happened; a later change of it is no new back-entry (the mark stays as it was).
            #expect(BackEntry.clinicalTime(JSONObject([("event", .array([FHIR.object([("period", FHIR.object([("start", .string("2026-12-06T10:00:00Z"))]))])]))]))
                    == Instant.parse("2026-12-06T10:00:00Z"))

            var browser = Browser(client: client)
            _ = try await WebAppTests.logIn(&browser)
            let start = try await browser.send(.get, "/start")
            #expect(VisibleText.of(start.html).contains("Ett driftstopp slutade") && start.html.contains("href=\"/efterregistrering\""))
            let list = try await browser.send(.get, "/efterregistrering")
            let text = VisibleText.of(list.html)
            #expect(list.status == 200 && text.contains("Efter driftstopp") && text.contains("planerat underhåll"), "\(text)")
            #expect(text.contains("Ek, Greta") && text.contains("Mätvärde eller provsvar: Puls"), "\(text)")
            let happened = SwedishTime.format(now - 2 * 3_600_000)
            let shown = String(happened.prefix(10)) + " " + String(happened.dropFirst(11).prefix(5))
            #expect(text.contains(shown), "the time it happened is not shown")
            #expect(list.html.components(separatedBy: "<tr>").count - 1 == 2, "one header row and the one back-entered record")
        }
    }
}
