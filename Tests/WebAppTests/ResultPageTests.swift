import Access
import FHIRCore
import Foundation
import HL7v2
import HTTPTypes
import KarnaServer
import KarnaTesting
import Results
import Store
import StoreModel
import Testing

@Suite("The results pages read right: order, cumulative table and trend, one result to sign, critical values, unmatched and undelivered")
struct ResultPageTests {
    /// The shipped channels with the lab's unmatched results owned at the test's vårdcentral, and its order route
    /// taking only P-Kalium, so an order of natrium has no route.
    static func channelFile(labID: String = "klinkem") throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("channels-\(UUID().uuidString).json")
        var channels = try LabChannels.shipped().channels
        for i in channels.indices { channels[i].unmatched.unit = "vc" }
        channels[0].id = labID
        channels[0].orders?.codes = ["NPU03230"]
        channels[0].orders?.port = TemporaryPostgres.freePort()
        let data = try JSONSerialization.data(withJSONObject: ["channels": try JSONSerialization.jsonObject(with: try JSONEncoder().encode(channels))])
        try data.write(to: url)
        return url.path
    }

    static func deliver(_ services: KarnaServices, _ text: String) async throws -> ResultIngest.Receipt {
        let results = try #require(services.modules.compactMap { $0 as? Results }.first)
        return await results.ingest.receive(Array(text.utf8), session: services.gateway.session(.job("karna-mllp"), action: "hl7-result"))
    }

    static func oru(_ control: String, placer: String, filler: String, time: String, obx: [String], nte: [String] = []) -> String {
        (["MSH|^~\\&|KEMLAB|KLINKEM|KARNA|REGION|\(time)||ORU^R01^ORU_R01|\(control)|P|2.5|||||SWE|UNICODE UTF-8",
          "PID|||195002039286^^^^PNR||Ek^Greta", "ORC|RE|\(placer)|\(filler)",
          obr(placer: placer, filler: filler, time: time)] + nte.map { "NTE|1||\($0)" } + obx).joined(separator: "\r") + "\r"
    }

    /// An OBR by field number: 4 the analysis, 7 sampled, 22 reported, 25 final.
    static func obr(placer: String, filler: String, time: String) -> String {
        var fields = Array(repeating: "", count: 26)
        (fields[0], fields[1], fields[2], fields[3], fields[4]) = ("OBR", "1", placer, filler, "K^Kalium^L")
        (fields[7], fields[22], fields[25]) = (time, time, "F")
        return fields.joined(separator: "|")
    }

    @Test("a doctor orders from the chart, reads the cumulative table and the trend, opens and signs a result, and acknowledges a critical value by telephone",
          arguments: backends)
    func doctorsDay(_ backend: StoreBackend) async throws {
        let channels = try Self.channelFile()
        defer { try? FileManager.default.removeItem(atPath: channels) }
        try await WebAppTests.withApp(backend, flags: ["lab-channels-file": channels]) { services, client in
            var browser = Browser(client: client)
            _ = try await WebAppTests.logIn(&browser)
            let form = try await browser.send(.get, "/patienter/p1/bestall")
            #expect(form.status == 200)
            #expect(VisibleText.of(form.html).contains("P—Kalium; substanskoncentration (NPU03230)"))
            let token = try #require(form.field("formToken"))
            let missing = try await browser.send(.post, "/patienter/p1/bestall", form: [("formToken", token), ("code", "")])
            #expect(missing.status == 400 && VisibleText.of(missing.html).contains("Välj en analys."))
            let ordered = try await browser.send(.post, "/patienter/p1/bestall", form: [("formToken", token), ("code", "NPU03230"), ("priority", "urgent")])
            #expect(ordered.status == 303)
            let notice = VisibleText.of(try await browser.send(.get, try #require(ordered.location)).html)
            #expect(notice.contains("Beställningen av P—Kalium; substanskoncentration är registrerad med beställningsnummer"))
            let job = services.gateway.session(.job("web-tests"), action: "read")
            let order = try #require(try await Records(session: job).search("ServiceRequest", [("patient", "p1")]).first)
            let placer = try #require(order.object["identifier"]?.arrayValue?.first?.objectValue?["value"]?.stringValue)

            // Natrium has no route here: ej levererad the moment it is ordered, said at once and on the list.
            let unrouted = try await browser.send(.post, "/patienter/p1/bestall", form: [("formToken", token), ("code", "NPU03429")])
            #expect(VisibleText.of(try await browser.send(.get, try #require(unrouted.location)).html).contains("Den kan inte skickas: Ingen kanal tar emot"))
            let undelivered = VisibleText.of(try await browser.send(.get, "/bestallningar/ej-levererade").html)
            #expect(undelivered.contains("P—Natrium; substanskoncentration") && undelivered.contains("Ingen kanal tar emot beställningar av NPU03429"))

            // Two results over time, the second critical, and a report comment kept as written.
            #expect(try await Self.deliver(services, Self.oru("W1", placer: placer, filler: "F1", time: "20261201080000+0100",
                                                              obx: ["OBX|1|NM|K^Kalium^L||4,1|mmol/L|3.5-4.6||||F", "OBX|2|NM|X-UNK^Okänd analys^L||12|g/L|||||F"])).code == .accepted)
            let second = try await Self.deliver(services, Self.oru("W2", placer: placer, filler: "F2", time: "20261205080000+0100",
                                                                   obx: ["OBX|1|NM|K^Kalium^L||6,4|mmol/L|3.5-4.6|H|||F"], nte: ["Ingen hemolys.\\.br\\Omtaget prov."]))
            #expect(second.alarms.count == 1, "\(second.problem ?? "")")
            let stored = try await Records(session: job).search("Observation", [("patient", "p1")])
            #expect(stored.count == 3)
            let start = VisibleText.of(try await browser.send(.get, "/start").html)
            #expect(start.contains("1 larmvärden att kvittera") && start.contains("svar att vidimera"), "\(start)")

            let tab = try await browser.send(.get, "/patienter/p1/provsvar")
            let text = VisibleText.of(tab.html)
            #expect(text.contains("Kumulativ tabell") && text.contains("4,1") && text.contains("6,4") && text.contains("Kritiskt högt"), "\(text)")
            #expect(text.contains("3.5-4.6") && text.contains("inget referensintervall"), "a value without range says so")
            #expect(!text.contains("NPU03230|") && !text.contains("urn:oid"), "no raw codes on the page")
            let trend = try await browser.send(.get, "/patienter/p1/provsvar?analys=NPU03230")
            #expect(trend.html.contains("<svg class=\"trend\"") && trend.html.contains("class=\"band\""))
            let trendText = VisibleText.of(trend.html)
            #expect(trendText.contains("Trend: Kalium") && trendText.contains("2026-12-01") && trendText.contains("2026-12-05"))

            let report = try #require(try await Records(session: job).search("DiagnosticReport", [("identifier", "\(ResultsVocabulary.fillerSystem(channel: "klinkem"))|F2")]).first)
            let page = try await browser.send(.get, "/provsvar/\(report.id)")
            let pageText = VisibleText.of(page.html)
            #expect(pageText.contains("Vidimering") && pageText.contains("Öppnat") && pageText.contains("Ingen hemolys.\nOmtaget prov."))
            let signed = try await browser.send(.post, "/provsvar/\(report.id)/vidimera", form: [("formToken", token)])
            #expect(signed.status == 303)
            #expect(VisibleText.of(try await browser.send(.get, try #require(signed.location)).html).contains("Svaret är vidimerat."))

            let inbox = try await browser.send(.get, "/provsvar")
            #expect(VisibleText.of(inbox.html).contains("Larmvärden att kvittera") && VisibleText.of(inbox.html).contains("P-Kalium 6,4 mmol/L"))
            let alarm = try #require(try await results(services).ingest.critical.open(ownerRole: "doc-role", unitID: nil, session: job).first)
            let unread = try await browser.send(.post, "/larm/\(alarm.id)/kvittera", form: [("formToken", token), ("method", "telefon"), ("readBack", "")])
            #expect(unread.status == 400 && VisibleText.of(unread.html).contains("Skriv värdet som det lästes tillbaka i telefon."))
            let acknowledged = try await browser.send(.post, "/larm/\(alarm.id)/kvittera", form: [("formToken", token), ("method", "telefon"), ("readBack", "Kalium 6,4")])
            #expect(acknowledged.status == 303)
            #expect(!VisibleText.of(try await browser.send(.get, "/provsvar").html).contains("Larmvärden att kvittera"))

            // A result for no order is on the unmatched list with its message and owner.
            #expect(try await Self.deliver(services, Self.oru("W3", placer: "12345678-0000", filler: "F3", time: "20261205090000+0100",
                                                              obx: ["OBX|1|NM|K^Kalium^L||4,0|mmol/L|3.5-4.6||||F"])).unmatched != nil)
            let unmatched = VisibleText.of(try await browser.send(.get, "/provsvar/omatchade").html)
            #expect(unmatched.contains("ingen beställning har beställningsnumret 12345678-0000") && unmatched.contains("Provsvarssamordnare, Klinisk kemi"))
            // The first kalium order is answered and natrium goes to no lab: nothing to suggest. A new kalium order is.
            #expect(!unmatched.contains("Möjliga beställningar"))
            _ = try await browser.send(.post, "/patienter/p1/bestall", form: [("formToken", token), ("code", "NPU03230")])
            let open = try #require(try await Records(session: job).search("ServiceRequest", [("patient", "p1"), ("status", "active"), ("code", "\(ResultsVocabulary.npuSystem)|NPU03230")]).first)
            let openPlacer = try #require(open.object["identifier"]?.arrayValue?.first?.objectValue?["value"]?.stringValue)
            let suggesting = VisibleText.of(try await browser.send(.get, "/provsvar/omatchade").html)
            #expect(suggesting.contains("Möjliga beställningar") && suggesting.contains("beställningsnummer \(openPlacer)") && suggesting.contains("Koppla till \(openPlacer)"), "\(suggesting)")
            // Matched by hand: a wrong number is said; the right one files it and empties the list.
            let entry = try #require(try await Records(session: job).search("Task", [("code", "\(ResultsVocabulary.taskSystem)|\(ResultsVocabulary.unmatchedCode)")]).first)
            let wrong = try await browser.send(.post, "/provsvar/omatchade/\(entry.id)/matcha", form: [("formToken", token), ("placer", "12345678")])
            #expect(wrong.status == 400 && VisibleText.of(wrong.html).contains("Ingen beställning har beställningsnumret 12345678."), "\(VisibleText.of(wrong.html))")
            let matched = try await browser.send(.post, "/provsvar/omatchade/\(entry.id)/matcha", form: [("formToken", token), ("placer", placer)])
            #expect(matched.status == 303)
            let after = VisibleText.of(try await browser.send(.get, try #require(matched.location)).html)
            #expect(after.contains("Svaret är kopplat till beställning \(placer).") && after.contains("Inga omatchade svar."), "\(after)")
        }
    }

    func results(_ services: KarnaServices) throws -> Results { try #require(services.modules.compactMap { $0 as? Results }.first) }

    @Test("a doctor registers an absence with a substitute on the inbox, and the next result goes to the substitute; an escalated one is marked on the unit's list",
          arguments: backends)
    func absenceOnTheInbox(_ backend: StoreBackend) async throws {
        let channels = try Self.channelFile()
        defer { try? FileManager.default.removeItem(atPath: channels) }
        try await WebAppTests.withApp(backend, flags: ["lab-channels-file": channels]) { services, client in
            let lakare = try #require(Position.defaults.first { $0.code == "lakare" })
            var colleague = Assignment.resource(id: "doc2-role", practitionerID: "doc2", unitID: "vc", purpose: .care, position: lakare)
            colleague["practitioner"] = .object(JSONObject([("reference", .string("Practitioner/doc2")), ("display", .string("Doktor Al"))]))
            _ = try await services.store.commit([.update(colleague, type: "PractitionerRole", id: "doc2-role", ifMatch: nil)])
            var browser = Browser(client: client)
            _ = try await WebAppTests.logIn(&browser)
            let inbox = try await browser.send(.get, "/provsvar")
            #expect(VisibleText.of(inbox.html).contains("Medan du är borta går nya svar, larmvärden och dina svar att vidimera till ersättaren du anger."))
            #expect(inbox.html.contains(#"<option value="doc2-role">Doktor Al"#), "the unit's colleagues to choose from")
            let token = try #require(inbox.field("formToken"))
            let today = SwedishTime.formatDay(SwedishTime.today), later = SwedishTime.formatDay(SwedishTime.today + 14)
            let backwards = try await browser.send(.post, "/provsvar/franvaro", form: [("formToken", token), ("start", later), ("end", today), ("substitute", "doc2-role")])
            #expect(backwards.status == 400 && VisibleText.of(backwards.html).contains("Ange när frånvaron slutar, efter början."))
            let recorded = try await browser.send(.post, "/provsvar/franvaro", form: [("formToken", token), ("start", today), ("end", later), ("substitute", "doc2-role"), ("reason", "Semester")])
            #expect(recorded.status == 303)
            #expect(VisibleText.of(try await browser.send(.get, "/provsvar").html).contains("\(today) – \(later): ersättare Doktor Al (Semester)"))

            let ordered = try await browser.send(.post, "/patienter/p1/bestall", form: [("formToken", token), ("code", "NPU03230"), ("priority", "routine")])
            #expect(ordered.status == 303)
            let job = services.gateway.session(.job("web-tests"), action: "read")
            let order = try #require(try await Records(session: job).search("ServiceRequest", [("patient", "p1")]).first)
            let placer = try #require(order.object["identifier"]?.arrayValue?.first?.objectValue?["value"]?.stringValue)
            _ = try await Self.deliver(services, Self.oru("A1", placer: placer, filler: "F900", time: "20261206101000+0100", obx: ["OBX|1|NM|K^Kalium^L||4.0|mmol/L|3.5-4.6||||F"]))
            let task = try #require(try await Records(session: job).search("Task", [("patient", "p1")]).first)
            #expect(task.object.referenceID("owner", type: "PractitionerRole") == "doc2-role")
            let results = try #require(services.modules.compactMap { $0 as? Results }.first)
            _ = try await results.signOff.sweep(session: services.gateway.session(.job("karna-lab-outbox"), action: "lab-outbox"), now: Date().addingTimeInterval(100 * 3_600))
            let unit = VisibleText.of(try await browser.send(.get, "/provsvar?vy=enhet").html)
            #expect(unit.contains("Eskalerat till enheten") && unit.contains("Doktor Al (ersättare för Doktor Ek)"), "\(unit)")
        }
    }
}

extension ResultPageTests {
    @Test("the Provsvar tab lists the orders waiting for an answer; one is cancelled there with a reason (none given is said at its form), and leaves the list",
          arguments: backends)
    func cancelFromTheTab(_ backend: StoreBackend) async throws {
        let channels = try Self.channelFile()
        defer { try? FileManager.default.removeItem(atPath: channels) }
        try await WebAppTests.withApp(backend, flags: ["lab-channels-file": channels]) { services, client in
            var browser = Browser(client: client)
            _ = try await WebAppTests.logIn(&browser)
            let form = try await browser.send(.get, "/patienter/p1/bestall")
            #expect(VisibleText.of(form.html).contains("(NPU03230) – Plasma, Litiumheparinrör med gel, ljusgrön propp, 3,5 mL"), "the order form names the specimen of each analysis")
            let token = try #require(form.field("formToken"))
            _ = try await browser.send(.post, "/patienter/p1/bestall", form: [("formToken", token), ("code", "NPU03230"), ("priority", "urgent")])
            let job = services.gateway.session(.job("web-tests"), action: "read")
            let order = try #require(try await Records(session: job).search("ServiceRequest", [("patient", "p1")]).first)
            let placer = try #require(order.object["identifier"]?.arrayValue?.first?.objectValue?["value"]?.stringValue)

            let tab = VisibleText.of(try await browser.send(.get, "/patienter/p1/provsvar").html)
            #expect(tab.contains("Beställningar utan svar") && tab.contains(placer) && tab.contains("Akut") && tab.contains("Ej skickad"), "\(tab)")
            #expect(tab.contains("Makulera beställningen") && tab.contains("Dubbelbeställning"))
            #expect(tab.contains("Prov: Plasma, Litiumheparinrör med gel, ljusgrön propp, 3,5 mL"), "the specimen to draw is on the order")

            let missing = try await browser.send(.post, "/bestallningar/\(order.id)/makulera", form: [("formToken", token), ("reason", "")])
            #expect(missing.status == 400 && VisibleText.of(missing.html).contains("Ange varför beställningen makuleras."))
            #expect(try await Records(session: job).require("ServiceRequest", order.id).object["status"]?.stringValue == "active")

            let cancelled = try await browser.send(.post, "/bestallningar/\(order.id)/makulera", form: [("formToken", token), ("reason", "dubblett"), ("note", "Tagen i morse")])
            #expect(cancelled.status == 303)
            let after = VisibleText.of(try await browser.send(.get, try #require(cancelled.location)).html)
            #expect(after.contains("(\(placer)) är makulerad. Den hade inte nått labbet."), "\(after)")
            #expect(!after.contains("Beställningar utan svar"), "a cancellation the lab need not hear of is done")
            let stored = try await Records(session: job).require("ServiceRequest", order.id).object
            #expect(stored["status"]?.stringValue == "revoked" && LabOrders.cancellation(stored)?.note == "Tagen i morse")
        }
    }
}

extension ResultPageTests {
    @Test("a lab the outbox cannot reach shows as down in /metrics (karna_channel_reachable), naming the channel and no patient")
    func unreachableLabInMetrics() async throws {
        // A channel of its own: the gauge is the process's, and other tests' labs answer.
        let lab = "lab-\(UUID().uuidString.prefix(8).lowercased())"
        let channels = try Self.channelFile(labID: lab)
        defer { try? FileManager.default.removeItem(atPath: channels) }
        try await WebAppTests.withApp(.sqlite, flags: ["lab-channels-file": channels, "mllp-timeout-seconds": "1"]) { services, client in
            var browser = Browser(client: client)
            _ = try await WebAppTests.logIn(&browser)
            let token = try #require(try await browser.send(.get, "/patienter/p1/bestall").field("formToken"))
            _ = try await browser.send(.post, "/patienter/p1/bestall", form: [("formToken", token), ("code", "NPU03230")])
            let run = try await results(services).orders.delivery.sendWaiting(session: services.gateway.session(.job("karna-lab-outbox"), action: "lab-outbox"))
            #expect(run.failures.count == 1 && run.undelivered.isEmpty, "\(run)")
            let metrics = try await browser.send(.get, "/metrics")
            #expect(metrics.html.contains("karna_channel_reachable{channel=\"lab:\(lab)\"} 0"), "\(metrics.html.split(separator: "\n").filter { $0.contains("channel") })")
        }
    }
}
