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
}
