import Access
import FHIRCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import KarnaServer
import KarnaTesting
import NIOCore
import PatientAdministration
import StoreModel
import Testing
@testable import WebApp

/// What a person sees on the pages, read as text: a list item shows only its own values, messages are
/// Swedish and name things by their names, and an unknown address has the app's page.
@Suite("Rendered pages read right")
struct RenderingTests {
    @Test("a list item answers for its own names: a page's error does not mark every field, only the page-wide names reach past it")
    func rowsAreClosed() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("karna-rows-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try "{{#fields}}[{{name}}{{#error}} fel: {{error}}{{/error}} {{formToken}}]{{/fields}}{{#days}}({{#rows}}{{time}}{{#booked}} bokad{{/booked}}{{#free}} ledig{{/free}};{{/rows}}){{/days}}"
            .write(to: folder.appendingPathComponent("rows-test.mustache"), atomically: true, encoding: .utf8)
        let pages = try await PageRenderer.load(modules: [("test", folder)])
        let html = pages.render("rows-test", [
            "error": "Rätta de markerade fälten.", "formToken": "T",
            "fields": [["name": "identity", "error": "Fel kontrollsiffra."], ["name": "given"]] as [[String: Any]],
            "days": [["booked": 1, "free": 2, "rows": [["time": "08:00", "booked": true], ["time": "09:00", "free": true], ["time": "10:00"]] as [[String: Any]]]]
                as [[String: Any]],
        ])
        #expect(html == "[identity fel: Fel kontrollsiffra. T][given T](08:00 bokad;09:00 ledig;10:00;)")
    }

    @Test("one wrong personnummer marks one field; the week view reads a time as booked, free or passed, never both", arguments: backends)
    func formAndWeek(_ backend: StoreBackend) async throws {
        try await WebAppTests.withApp(backend) { services, client in
            var browser = Browser(client: client)
            _ = try await WebAppTests.logIn(&browser)
            let form = try await browser.send(.get, "/registrera")
            let token = try #require(form.field("formToken"))
            let wrong = try await browser.send(.post, "/registrera", form: [("formToken", token), ("identity", "19121212-1213"), ("given", "Tolvan"),
                                                                            ("family", "Tolvansson")])
            #expect(wrong.status == 400)
            #expect(wrong.html.matches(of: /class="field invalid"/).count == 1, "only the personnummer is marked")
            #expect(wrong.html.matches(of: /class="field-error"/).count == 1)
            #expect(VisibleText.of(wrong.html).contains("Numret är inte giltigt. Kontrollsiffran (den sista siffran) stämmer inte."))

            // Today: one time passed hours ago, one later today (free), one booked.
            let job = try await WebAppTests.addSchedule(services)
            let today = SwedishTime.formatDay(SwedishTime.today)
            let template = try AppointmentBook.SlotTemplate.parse(from: today, to: today, weekdays: "1,2,3,4,5,6,7", start: "00:00", end: "23:59",
                                                                  minutes: "240", visitType: "lakarbesok")
            let made = try await services.administration.book.generateSlots(scheduleID: "s1", template: template, session: job).created
            let week = try await browser.send(.get, "/tidbok?dag=\(today)&vy=vecka")
            let text = VisibleText.of(week.html)
            #expect(week.status == 200 && !text.contains("Bokadledig") && !text.contains("ledigledig") && !week.html.contains("href=\"/patienter/\""))
            let passed = week.html.matches(of: /passerad/).count, free = week.html.matches(of: /<span class="meta">ledig<\/span>/).count
            #expect(made >= 5 && passed + free == made && passed >= 1, "each of the day's times is either passed or free")
            #expect(text.contains("0 bokade · \(free) lediga"), "the count of free times leaves out those passed")
        }
    }

    @Test("the checks find English and raw references in a page", arguments: [
        ("<p>Patient/p1 does not exist</p>", true, true), ("<li>Aktuell vårdkontakt: Besök, Organization/vc-karnstad</li>", false, true),
        ("<td>Blood pressure panel</td>", true, false), ("<p>Patienten finns inte.</p><details lang=\"en\"><p>the slot is not free</p></details>", false, false),
    ])
    func checksFindProblems(_ sample: (html: String, english: Bool, raw: Bool)) {
        #expect(VisibleText.englishSentences(sample.html).isEmpty != sample.english)
        #expect(VisibleText.rawReferences(sample.html).isEmpty != sample.raw)
    }

    @Test("the markup checks find a twice-used id, a label for nothing and an empty link", arguments: [
        ("<main id=\"main\"></main><label for=\"main\">Huvuddiagnos</label><input id=\"main\">", 1),
        ("<label for=\"x\">X</label><input id=\"y\">", 1), ("<li>08:00 <a href=\"/patienter/\"></a></li>", 1),
        ("<label for=\"x\">X</label><input id=\"x\"><a href=\"/start\">Start</a><a href=\"/\" aria-label=\"Kärna\"></a>", 0),
    ])
    func markupChecks(_ sample: (html: String, problems: Int)) {
        #expect(VisibleText.markupProblems(sample.html).count == sample.problems, "\(VisibleText.markupProblems(sample.html))")
    }

    @Test("a vital sign's LOINC code reads by its Swedish name, not LOINC's English display")
    func swedishDisplays() throws {
        let panel = try JSONParser.parse(Array(#"{"coding":[{"system":"http://loinc.org","code":"85354-9","display":"Blood pressure panel"}]}"#.utf8))
        #expect(Display.concept(panel) == "Blodtryck")
        let own = try JSONParser.parse(Array(#"{"coding":[{"system":"http://loinc.org","code":"85354-9"}],"text":"Blodtryck, liggande"}"#.utf8))
        #expect(Display.concept(own) == "Blodtryck, liggande", "the record's own text comes first")
    }

    @Test("a reference without a display reads by the unit's name in the banner; a refusal is said in Swedish", arguments: backends)
    func namesAndSwedish(_ backend: StoreBackend) async throws {
        try await WebAppTests.withApp(backend) { _, client in
            var browser = Browser(client: client)
            _ = try await WebAppTests.logIn(&browser)
            let chart = try await browser.send(.get, "/patienter/p1")
            #expect(VisibleText.of(chart.html).contains("Vårdcentralen Ek"), "the contact's unit by name")
            let stranger = try await browser.send(.get, "/patienter/p2")
            #expect(VisibleText.of(stranger.html).contains("Du har ingen vårdrelation med patienten vid Vårdcentralen Ek."))
        }
    }

    @Test("an unknown address gets the app's page in Swedish; an API client and the FHIR API keep their answers", arguments: backends)
    func notFound(_ backend: StoreBackend) async throws {
        try await WebAppTests.withApp(backend) { _, client in
            let page = try await client.execute(uri: "/finns-inte", method: .get, headers: [.accept: "text/html,application/xhtml+xml"])
            #expect(page.status == .notFound && String(buffer: page.body).contains("Sidan finns inte") && String(buffer: page.body).contains("href=\"/start\""))
            let bare = try await client.execute(uri: "/finns-inte", method: .get, headers: [.accept: "application/json"])
            #expect(bare.status == .notFound && !String(buffer: bare.body).contains("Sidan finns inte"))
            let fhir = try await client.execute(uri: "/fhir/Patient/finns-inte", method: .get, headers: [.accept: "text/html"])
            #expect(fhir.status == .notFound || fhir.status == .unauthorized)
            #expect(!String(buffer: fhir.body).contains("Sidan finns inte"))
        }
    }

    @Test("the Patientdatalag question identifies the patient; nödåtkomst is offered to care professions only and marks every page after", arguments: backends)
    func breakingTheGlass(_ backend: StoreBackend) async throws {
        try await WebAppTests.withApp(backend) { services, client in
            try await WebAppTests.addSecretary(services)
            _ = try await services.gateway.session(.job("web-tests"), action: "create").commit(.update(JSONObject([
                ("resourceType", .string("Patient")), ("id", .string("p3")), ("birthDate", .string("1961-04-05")), ("gender", .string("female")),
                ("name", .array([.object(JSONObject([("family", .string("Okänd")), ("given", .array([.string("Ingrid")]))]))])),
                ("identifier", .array([.object(JSONObject([("system", .string("urn:oid:1.2.752.129.2.1.3.1")), ("value", .string("196104052383"))]))])),
            ]), type: "Patient", id: "p3", ifMatch: nil))
            var secretary = Browser(client: client)
            _ = try await WebAppTests.logIn(&secretary, username: "sek")
            let asked = try await secretary.send(.get, "/patienter/p3")
            let text = VisibleText.of(asked.html)
            #expect(asked.status == 403 && text.contains("Okänd, Ingrid") && text.contains("19610405-2383") && text.contains("år"))
            #expect(!asked.html.contains("action=\"/patienter/p3/nodatkomst\"") && text.contains("bara användas av vårdprofessioner"))
            let forced = try await secretary.send(.post, "/patienter/p3/nodatkomst", form: [("formToken", try #require(asked.field("formToken"))), ("reason", "Akut")])
            #expect(forced.status == 403, "the gateway refuses nödåtkomst to an administrative assignment, however asked")

            var doctor = Browser(client: client)
            _ = try await WebAppTests.logIn(&doctor)
            let question = try await doctor.send(.get, "/patienter/p3")
            #expect(question.html.contains("action=\"/patienter/p3/nodatkomst\"") && VisibleText.of(question.html).contains("Okänd, Ingrid"))
            let opened = try await doctor.send(.post, "/patienter/p3/nodatkomst", form: [("formToken", try #require(question.field("formToken"))),
                                                                                   ("reason", "Medvetslös, kan inte tillfrågas")])
            #expect(opened.status == 303)
            for page in ["/patienter/p3", "/patienter/p3/journal", "/patienter/p3/signaler"] {
                #expect(VisibleText.of(try await doctor.send(.get, page).html).contains("Nödåtkomst – gäller till"), "\(page) marks the nödåtkomst")
            }
            #expect(!VisibleText.of(try await doctor.send(.get, "/patienter/p1").html).contains("Nödåtkomst – gäller till"))
        }
    }

    @Test("the substance list names each substance once (no ATC groups); a second allergy to the same substance is asked about; codes are searched on the server",
          arguments: backends)
    func substancesAndCodes(_ backend: StoreBackend) async throws {
        try await WebAppTests.withApp(backend) { _, client in
            var browser = Browser(client: client)
            _ = try await WebAppTests.logIn(&browser)
            let page = try await browser.send(.get, "/patienter/p1/signaler")
            let list = try #require(page.html.firstMatch(of: /(?s)<datalist id="allergen-list">(.*?)<\/datalist>/)).1
            let offered = list.matches(of: /value="([^"]+)"/).map { String($0.1) }
            let names = offered.map { $0.split(separator: " ", maxSplits: 1).last.map(String.init)?.lowercased() ?? "" }
            #expect(Set(names).count == names.count, "each substance once: \(offered)")
            #expect(offered.contains("penicillin Penicillin (alla penicilliner)") && offered.contains("J01CE02 Fenoximetylpenicillin"), "\(offered)")
            #expect(!offered.contains { $0.hasPrefix("J01C ") || $0.hasPrefix("J ") }, "an ATC group is a class, not a substance")

            let token = try #require(page.field("formToken"))
            let again = try await browser.send(.post, "/patienter/p1/allergi", form: [("formToken", token), ("substance", "jordnöt "), ("reaction", "Klåda")])
            #expect(again.status == 409 && VisibleText.of(again.html).contains("Patienten har redan en aktiv allergi mot Jordnöt"))
            #expect(again.html.contains("name=\"duplicate\"") && again.field("reaction") == "Klåda")
            let confirmed = try await browser.send(.post, "/patienter/p1/allergi", form: [("formToken", token), ("substance", "jordnöt"), ("duplicate", "ja")])
            #expect(confirmed.status == 303)

            let found = try await browser.send(.get, "/terminologi/diagnoser?q=hyperton")
            #expect(found.status == 200 && found.html.contains(#""code":"I10""#))
            #expect(try await browser.send(.get, "/terminologi/diagnoser?q=h").html == "[]", "one letter asks for nothing")
            #expect(try await browser.send(.get, "/terminologi/okand?q=hyperton").status == 404)
        }
    }

    @Test("a patient is put on the waiting list from the chart and from the appointment book by personnummer; wrong input is said at its field",
          arguments: backends)
    func waitingListFromTheWeb(_ backend: StoreBackend) async throws {
        try await WebAppTests.withApp(backend) { _, client in
            var browser = Browser(client: client)
            _ = try await WebAppTests.logIn(&browser)
            let chart = try await browser.send(.get, "/patienter/p1")
            #expect(chart.html.contains("href=\"/patienter/p1/vantelista/ny\"") && VisibleText.of(chart.html).contains("Ställ på väntelista"))
            let form = try await browser.send(.get, "/patienter/p1/vantelista/ny")
            let token = try #require(form.field("formToken"))
            #expect(form.status == 200 && VisibleText.of(form.html).contains("Ek, Greta"))
            let badDay = try await browser.send(.post, "/patienter/p1/vantelista", form: [("formToken", token), ("visitType", "lakarbesok"), ("priority", "4"),
                                                                                         ("stage", "bedomning"), ("startDay", "igår"), ("comment", "Ont i knät")])
            #expect(badDay.status == 400 && badDay.html.contains("id=\"wl-start-error\"") && badDay.field("comment") == "Ont i knät")
            let added = try await browser.send(.post, "/patienter/p1/vantelista", form: [("formToken", token), ("visitType", "lakarbesok"), ("priority", "4"),
                                                                                        ("stage", "bedomning"), ("comment", "Ont i knät")])
            #expect(added.status == 303)
            let list = try await browser.send(.get, try #require(added.location))
            #expect(VisibleText.of(list.html).contains("Patienten står på väntelistan") && VisibleText.of(list.html).contains("Ek, Greta"))

            let fromBook = try await browser.send(.get, "/tidbok")
            #expect(fromBook.html.contains("/vantelista/ny?tillbaka="))
            let unknown = try await browser.send(.post, "/vantelista", form: [("formToken", token), ("patient", "19121212-1212"), ("visitType", "lakarbesok"),
                                                                               ("priority", "5"), ("stage", "bedomning")])
            #expect(unknown.status == 400 && VisibleText.of(unknown.html).contains("Ingen patient med det numret."))
            let byNumber = try await browser.send(.post, "/vantelista", form: [("formToken", token), ("patient", "19500203-9286"), ("visitType", "sjukskoterskebesok"),
                                                                                ("priority", "6"), ("stage", "bedomning")])
            #expect(byNumber.status == 303)
            #expect(VisibleText.of(try await browser.send(.get, "/vantelista").html).contains("Sjuksköterskebesök"))
        }
    }

    @Test("log review: the queue narrowed by user and date, and one decision for several ticked accesses", arguments: backends)
    func logReviewInBulk(_ backend: StoreBackend) async throws {
        try await WebAppTests.withApp(backend) { services, client in
            try await WebAppTests.addReviewer(services)
            var doc = Browser(client: client)
            _ = try await WebAppTests.logIn(&doc)
            let question = try await doc.send(.get, "/patienter/p2")
            _ = try await doc.send(.post, "/patienter/p2/nodatkomst", form: [("formToken", try #require(question.field("formToken"))), ("reason", "Medvetslös")])
            for page in ["/patienter/p2", "/patienter/p2/journal", "/patienter/p2/signaler"] { _ = try await doc.send(.get, page) }

            var rev = Browser(client: client)
            _ = try await WebAppTests.logIn(&rev, username: "rev")
            // The doctor's refused and emergency accesses.
            _ = try await doc.send(.post, "/patienter/p2/allergi", form: [("formToken", try #require(question.field("formToken"))), ("substance", "Latex")])
            let queue = try await rev.send(.get, "/loggranskning?anvandare=Practitioner/doc")
            let ticks = queue.html.matches(of: /name="valj-(\d+)"/).map { String($0.1) }
            #expect(queue.status == 200 && ticks.count >= 2, "\(ticks)")
            #expect(VisibleText.of(queue.html).contains("Ett beslut för de markerade händelserna"))
            let nobody = try await rev.send(.get, "/loggranskning?flagga=emergency-access&anvandare=Practitioner/rev")
            #expect(nobody.html.contains("Inga loggposter"), "narrowed to a user without flagged accesses")
            let tomorrow = SwedishTime.formatDay(SwedishTime.today + 1)
            #expect(try await rev.send(.get, "/loggranskning?flagga=emergency-access&fran=\(tomorrow)").html.contains("Inga loggposter"), "narrowed to days to come")

            let token = try #require(queue.field("formToken"))
            let chosen = Array(ticks.prefix(2))
            let noVerdict = try await rev.send(.post, "/loggranskning/beslut", form: [("formToken", token)] + chosen.map { ("valj-\($0)", "ja") })
            #expect(noVerdict.status == 400 && VisibleText.of(noVerdict.html).contains("Välj ett beslut för de markerade händelserna."))
            let decided = try await rev.send(.post, "/loggranskning/beslut", form: [("formToken", token), ("verdict", "justified")]
                                                 + chosen.map { ("valj-\($0)", "ja") })
            #expect(decided.status == 303)
            let after = try await rev.send(.get, try #require(decided.location))
            #expect(VisibleText.of(after.html).contains("Beslutet är sparat för 2 händelser"))
            let left = after.html.matches(of: /name="valj-(\d+)"/).map { String($0.1) }
            #expect(Set(left).isDisjoint(with: chosen), "the decided accesses leave the queue")
        }
    }

    @Test("every audit action the sources write has a Swedish name in log review (no raw event code such as patient-search)")
    func everyActionHasAName() throws {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources")
        var actions = Set<String>()
        let files = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)?.compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" } ?? []
        for file in files {
            let text = try String(contentsOf: file, encoding: .utf8)
            for match in text.matches(of: /action: "([a-z-]+)"/) { actions.insert(String(match.1)) }
        }
        #expect(actions.count > 40, "the scan found the actions: \(actions.count)")
        let unnamed = actions.filter { AuditActions.labels[$0] == nil }.sorted()
        #expect(unnamed.isEmpty, "actions without a Swedish name: \(unnamed)")
    }
}
