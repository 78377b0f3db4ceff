import Access
import FHIRCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KarnaServer
import KarnaTesting
import Logging
import NIOCore
import PatientAdministration
import Store
import StoreModel
import Testing
@testable import WebApp

let backends = StoreBackend.allCases.filter(\.isAvailable)

/// A browser-like client over the real router: it keeps cookies and reads form fields.
struct Browser {
    let client: any TestClientProtocol
    var cookies: [String: String] = [:]

    struct Page {
        let status: Int
        let location: String?
        let html: String

        /// The value of a hidden field (or any input) by name.
        func field(_ name: String) -> String? {
            guard let input = html.range(of: "name=\"\(name)\"") else { return nil }
            let tag = html[input.upperBound...].prefix { $0 != ">" }
            guard let value = tag.range(of: "value=\"") else { return nil }
            return String(tag[value.upperBound...].prefix { $0 != "\"" })
        }
    }

    mutating func send(_ method: HTTPRequest.Method, _ path: String, form: [(String, String)]? = nil) async throws -> Browser.Page {
        var headers = HTTPFields()
        if !cookies.isEmpty { headers[.cookie] = cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ") }
        var body: ByteBuffer?
        if let form {
            headers[.contentType] = "application/x-www-form-urlencoded"
            body = ByteBuffer(string: form.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&"))
        }
        let response = try await client.execute(uri: path, method: method, headers: headers, body: body)
        for header in response.headers[values: .setCookie] {
            let pair = header.split(separator: ";")[0].split(separator: "=", maxSplits: 1)
            let name = String(pair[0]), value = pair.count > 1 ? String(pair[1]) : ""
            if value.isEmpty || header.contains("Max-Age=0") { cookies[name] = nil } else { cookies[name] = value }
        }
        let page = Page(status: Int(response.status.code), location: response.headers[.location], html: String(buffer: response.body))
        // Every page any test opens is read as a person would: Swedish words and display names only.
        if response.headers[.contentType]?.hasPrefix("text/html") == true {
            for sentence in VisibleText.englishSentences(page.html) { Issue.record("English on \(method) \(path): \"\(sentence)\"") }
            for reference in VisibleText.rawReferences(page.html) { Issue.record("a raw reference on \(method) \(path): \(reference)") }
            for problem in VisibleText.markupProblems(page.html) { Issue.record("\(method) \(path): \(problem)") }
            for run in VisibleText.emptyBrackets(page.html) { Issue.record("empty brackets on \(method) \(path): \"\(run)\"") }
        }
        return page
    }
}

@Suite("The clinician web app over HTTP")
struct WebAppTests {
    static let password = "korrekt-häst-batteri-häfta"
    static let secret = "JBSWY3DPEHPK3PXP"

    /// A systemförvaltare "adm" at the vårdcentral with a login; answers the job session that wrote them, for further set-up.
    static func addAdministrator(_ services: KarnaServices) async throws -> PatientDataSession {
        let job = services.gateway.session(.job("web-tests"), action: "create")
        let manager = try #require(Position.defaults.first { $0.code == "systemforvaltare" })
        _ = try await job.commit([.update(JSONObject([("resourceType", .string("Practitioner")), ("id", .string("adm"))]), type: "Practitioner", id: "adm", ifMatch: nil),
                                  .update(Assignment.resource(id: "adm-role", practitionerID: "adm", unitID: "vc", purpose: .administration, position: manager),
                                          type: "PractitionerRole", id: "adm-role", ifMatch: nil)])
        _ = try await services.accounts.create(username: "adm", kind: .practitioner, subjectID: "adm", displayName: "Admin Adamsson",
                                               password: password, totpSecret: secret)
        return job
    }

    /// A vårdcentral, a physician with one assignment and a login, a patient with an allergy and an ongoing contact there, and a stranger.
    static func withApp(_ backend: StoreBackend, flags: [String: String] = [:], pages: [any WebModule] = [],
                        _ body: @Sendable (KarnaServices, any TestClientProtocol) async throws -> Void) async throws {
        let store = try await backend.makeStore()
        let configuration = try KarnaConfiguration(flags: flags.merging(["password-cost": "10"]) { a, _ in a }, environment: [:])
        let services = try await KarnaApplication.services(configuration, store: store, logger: Logger(label: "test")).adding(pages: pages)
        let lakare = try #require(Position.defaults.first { $0.code == "lakare" })
        var role = Assignment.resource(id: "doc-role", practitionerID: "doc", unitID: "vc", purpose: .care, position: lakare)
        role["practitioner"] = .object(JSONObject([("reference", .string("Practitioner/doc")), ("display", .string("Doktor Ek"))]))
        let now = Instant.format(milliseconds: Instant.now() - 600_000)
        let resources: [(String, String, String)] = [
            ("Organization", "vc", #"{"resourceType":"Organization","id":"vc","name":"Vårdcentralen Ek"}"#),
            ("Practitioner", "doc", #"{"resourceType":"Practitioner","id":"doc"}"#),
            ("PractitionerRole", "doc-role", JSONWriter.string(.object(role))),
            ("Patient", "p1", #"{"resourceType":"Patient","id":"p1","name":[{"family":"Ek","given":["Greta"]}],"birthDate":"1950-02-03","identifier":[{"system":"urn:oid:1.2.752.129.2.1.3.1","value":"195002039286"}]}"#),
            ("Patient", "p2", #"{"resourceType":"Patient","id":"p2","name":[{"family":"Främling"}]}"#),
            ("AllergyIntolerance", "a1", #"{"resourceType":"AllergyIntolerance","id":"a1","meta":{"tag":[{"system":"https://karna.se/fhir/CodeSystem/vardenhet","code":"vc"}]},"patient":{"reference":"Patient/p1"},"criticality":"high","clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical","code":"active"}]},"code":{"text":"Jordnöt"}}"#),
            ("Encounter", "e1", #"{"resourceType":"Encounter","id":"e1","status":"in-progress","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},"subject":{"reference":"Patient/p1"},"serviceProvider":{"reference":"Organization/vc"},"period":{"start":"\#(now)"}}"#),
        ]
        let job = services.gateway.session(.job("web-tests"), action: "create")
        for (type, id, json) in resources {
            _ = try await job.commit(.update(try #require(try JSONParser.parse(Array(json.utf8)).objectValue), type: type, id: id, ifMatch: nil))
        }
        _ = try await services.accounts.create(username: "doc", kind: .practitioner, subjectID: "doc", displayName: "Doktor Ek",
                                               password: password, totpSecret: secret)
        let app = Application(router: try await KarnaApplication.router(services))
        try await app.test(.router) { client in try await body(services, client) }
        try await store.close()
    }

    /// Doktor Ek's appointment book "s1" at the vårdcentral; answers the job session that wrote it.
    @discardableResult
    static func addSchedule(_ services: KarnaServices) async throws -> PatientDataSession {
        let job = services.gateway.session(.job("web-tests"), action: "create")
        let schedule = #"{"resourceType":"Schedule","id":"s1","meta":{"tag":[{"system":"https://karna.se/fhir/CodeSystem/vardenhet","code":"vc"}]},"active":true,"comment":"Doktor Ek, mottagning","actor":[{"reference":"Practitioner/doc"}]}"#
        _ = try await job.commit(.update(try #require(try JSONParser.parse(Array(schedule.utf8)).objectValue), type: "Schedule", id: "s1", ifMatch: nil))
        return job
    }

    /// A medicinsk sekreterare, "sek", at the vårdcentral: an administrative assignment.
    static func addSecretary(_ services: KarnaServices) async throws {
        let job = services.gateway.session(.job("web-tests"), action: "create")
        let secretary = try #require(Position.defaults.first { $0.code == "medicinsk-sekreterare" })
        let role = Assignment.resource(id: "sek-role", practitionerID: "sek", unitID: "vc", purpose: .administration, position: secretary)
        _ = try await job.commit([.update(JSONObject([("resourceType", .string("Practitioner")), ("id", .string("sek"))]), type: "Practitioner", id: "sek", ifMatch: nil),
                                  .update(role, type: "PractitionerRole", id: "sek-role", ifMatch: nil)])
        _ = try await services.accounts.create(username: "sek", kind: .practitioner, subjectID: "sek", displayName: "Sekreterare Sälg",
                                               password: password, totpSecret: secret)
    }

    /// A logggranskare, "rev", at the vårdcentral.
    static func addReviewer(_ services: KarnaServices) async throws {
        let job = services.gateway.session(.job("web-tests"), action: "create")
        let reviewer = try #require(Position.defaults.first { $0.code == "logggranskare" })
        let role = Assignment.resource(id: "rev-role", practitionerID: "rev", unitID: "vc", purpose: .followUp, position: reviewer)
        _ = try await job.commit([.update(JSONObject([("resourceType", .string("Practitioner")), ("id", .string("rev"))]), type: "Practitioner", id: "rev", ifMatch: nil),
                                  .update(role, type: "PractitionerRole", id: "rev-role", ifMatch: nil)])
        _ = try await services.accounts.create(username: "rev", kind: .practitioner, subjectID: "rev", displayName: "Granskare Gran",
                                               password: password, totpSecret: secret)
    }

    /// The patient a registration redirected to (`/patienter/<id>?registrerad=ja`).
    static func registeredID(_ page: Browser.Page) -> String {
        String(page.location?.dropFirst("/patienter/".count).prefix { $0 != "?" } ?? "")
    }

    static func logIn(_ browser: inout Browser, username: String = "doc", code: String? = nil) async throws -> Browser.Page {
        let form = try await browser.send(.get, "/login")
        let csrf = try #require(form.field("csrf"))
        return try await browser.send(.post, "/login", form: [("csrf", csrf), ("username", username), ("password", password),
                                                               ("code", code ?? TOTP.code(secret: secret, step: TOTP.step(at: Date())) ?? "")])
    }

    @Test("every page behind the login sends a visitor without a session to the login page and touches no patient data", arguments: backends)
    func pagesNeedASession(_ backend: StoreBackend) async throws {
        try await Self.withApp(backend) { services, client in
            let before = try await services.store.auditRecords(AuditQuery(limit: 1)).first?.sequence ?? 0
            var browser = Browser(client: client)
            for (method, path) in [(HTTPRequest.Method.get, "/start"), (.get, "/efterregistrering"), (.get, "/patienter?q=Ek"), (.get, "/patienter/p1"),
                                   (.post, "/patienter/p1/nodatkomst"), (.post, "/patienter/p1/vardrelation"), (.get, "/patienter/p1/journal"), (.get, "/patienter/p1/lakemedel"), (.get, "/lakemedel/avdelning"), (.post, "/patienter/p1/lakemedelsberattelse"), (.post, "/patienter/p1/doser"), (.post, "/patienter/p1/lakemedelsgenomgang"), (.get, "/patienter/p1/ordination/ny"), (.post, "/patienter/p1/ordination"), (.get, "/patienter/p1/recept/ny"), (.post, "/patienter/p1/recept"), (.post, "/patienter/p1/recept/text"), (.get, "/patienter/p1/nll"), (.post, "/recept/r1/fornya"), (.post, "/recept/r1/parallell"), (.post, "/recept/r1/ersatt"), (.post, "/recept/r1/avsluta"), (.post, "/recept/r1/makulera"), (.get, "/recept/ej-skickade"), (.get, "/recept/r1/reservrecept"), (.post, "/recept/r1/skicka"),
                                   (.get, "/patienter/p1/provsvar"), (.get, "/patienter/p1/bestall"), (.post, "/patienter/p1/bestall"), (.get, "/provsvar"), (.get, "/provsvar/omatchade"),
                                   (.get, "/provsvar/r1"), (.post, "/provsvar/r1/vidimera"), (.post, "/larm/t1/kvittera"), (.get, "/bestallningar/ej-levererade"), (.post, "/bestallningar/s1/skicka"),
                                   (.get, "/bilder/b1"), (.get, "/bilder/b1/hamta"),
                                   (.get, "/akut"), (.get, "/akut/tavla"), (.get, "/akut/handelser"), (.get, "/akut/ankomst"), (.post, "/akut/ankomst"), (.post, "/akut/farg"),
                                   (.get, "/akut/ledtider"), (.get, "/akut/besok/e1"), (.post, "/akut/besok/e1/triage"), (.get, "/patienter/p1/vitalparametrar"),
                                   (.post, "/patienter/p1/vitalparametrar"), (.get, "/avdelning/news2"), (.get, "/dagkirurgi"), (.get, "/dagkirurgi/e1"),
                                   (.post, "/dagkirurgi/e1/ankomst"), (.post, "/uppfoljning/t1/klar"), (.get, "/patienter/p1/dagkirurgi"), (.post, "/patienter/p1/dagkirurgi"),
                                   (.get, "/mvc"), (.post, "/mvc/uppgift/t1/klar"), (.get, "/patienter/p1/graviditet"), (.post, "/patienter/p1/graviditet"),
                                   (.get, "/graviditet/g1/besok"), (.post, "/graviditet/g1/besok"), (.post, "/graviditet/g1/risk"), (.get, "/graviditet/g1/mfr"),
                                   (.get, "/forlossning/ny?patient=p1"), (.post, "/forlossning/ny"), (.get, "/forlossning/e1"), (.post, "/forlossning/e1/partogram"),
                                   (.post, "/forlossning/e1/fodelse"),
                                   (.get, "/patienter/p1/anteckning/ny"), (.post, "/patienter/p1/anteckning"), (.post, "/anteckningar/n1/signera"),
                                   (.get, "/registrera"), (.post, "/registrera"), (.post, "/registrera/reservnummer"), (.post, "/utkast"), (.post, "/utkast/slang"), (.post, "/session/aktiv"), (.get, "/terminologi/diagnoser?q=hyp"), (.get, "/vantelista/ny"), (.post, "/vantelista"), (.post, "/loggranskning/beslut"), (.get, "/patienter/p1/vantelista/ny"), (.post, "/patienter/p1/vantelista"),
                                   (.get, "/tidbok"), (.post, "/tidbok/boka"), (.post, "/tidbok/skapa-tider"), (.post, "/tidbok/blockera"), (.post, "/tidbok/hav-blockering"), (.post, "/tidbok/a1/checka-in"), (.get, "/vantelista"),
                                   (.post, "/avdelning/planera"), (.get, "/kassa"), (.get, "/kassa/e1"), (.post, "/kassa/e1/betala"), (.get, "/kassa/dagsrapport"),
                                   (.get, "/kassa/kvitto/i1"), (.post, "/kassa/kvitto/i1/makulera"), (.post, "/kassa/kvitto/i1/aterbetala"),
                                   (.get, "/patienter/p1/signaler"), (.post, "/patienter/p1/allergi"), (.get, "/patienter/p1/remiss/ny"), (.get, "/remisser"),
                                   (.get, "/loggranskning"), (.post, "/loggranskning/1/beslut"), (.post, "/admin/enhet/vc")] {
                let page = try await browser.send(method, path, form: method == .post ? [("reason", "test")] : nil)
                #expect(page.status == 303 && page.location == "/login", "\(method) \(path): \(page.status) \(page.location ?? "")")
            }
            #expect(try await services.store.auditRecords(AuditQuery(limit: 1)).first?.sequence ?? 0 == before)
        }
    }

    @Test("a doctor logs in with password and TOTP, opens the chart under the banner, is asked for a ground for a stranger, and an idle session ends saying so",
          arguments: backends)
    func loginChartAccessAndTimeout(_ backend: StoreBackend) async throws {
        try await Self.withApp(backend) { services, client in
            var browser = Browser(client: client)
            // A wrong code is refused next to what the user typed, which is kept.
            let wrong = try await Self.logIn(&browser, code: "000000")
            #expect(wrong.status == 401 && wrong.html.contains("Fel engångskod") && wrong.field("username") == "doc")

            let login = try await Self.logIn(&browser)
            #expect(login.status == 303 && login.location == "/start", "\(login.status) \(login.html.prefix(400))")
            let start = try await browser.send(.get, "/start")
            #expect(start.status == 200 && start.html.contains("Start – Vårdcentralen Ek") && start.html.contains("Doktor Ek"))

            let beforeChart = try await services.store.auditRecords(AuditQuery(limit: 1)).first?.sequence ?? 0
            let chart = try await browser.send(.get, "/patienter/p1")
            #expect(chart.status == 200)
            #expect(chart.html.contains("Ek, Greta") && chart.html.contains("19500203-9286"))
            #expect(chart.html.contains("Allergi: Jordnöt") && chart.html.contains("hög risk"))
            // The page's reads are written together when it is ready, and are in the log by the time it arrives.
            let chartAudit = try await services.store.auditRecords(AuditQuery(afterSequence: beforeChart, ascending: true))
            #expect(!chartAudit.isEmpty && chartAudit.allSatisfy { $0.entry.patientID == "p1" && $0.entry.outcome == "allowed" && $0.entry.actor == "Practitioner/doc" },
                    "\(chartAudit.map { ($0.entry.patientID ?? "-", $0.entry.action, $0.entry.outcome) })")
            let found = try await browser.send(.get, "/patienter?q=500203-9286")
            #expect(found.status == 303 && found.location == "/patienter/p1", "an exact personnummer opens the chart")

            // A stranger: the Patientdatalag question, no record; an empty reason is refused at the field.
            let beforeQuestion = try await services.store.auditRecords(AuditQuery(limit: 1)).first?.sequence ?? 0
            let question = try await browser.send(.get, "/patienter/p2")
            #expect(question.status == 403 && question.html.contains("ingen vårdrelation") && question.html.contains("Främling"), "the question names the patient")
            // Even the question is an access, in the log when the page arrives; so is a module's refusal.
            let asked = try await services.store.auditRecords(AuditQuery(patientID: "p2", afterSequence: beforeQuestion))
            #expect(asked.map { "\($0.entry.action) \($0.entry.outcome)" }.sorted() == ["access-question allowed", "access-status allowed"], "reading who the patient is, too")
            let refused = try await browser.send(.post, "/patienter/p2/allergi", form: [("formToken", try #require(question.field("formToken"))), ("substance", "Penicillin")])
            let refusal = try await services.store.auditRecords(AuditQuery(patientID: "p2", afterSequence: asked.first?.sequence ?? beforeQuestion))
            #expect(refused.status == 403 && refusal.contains { $0.entry.outcome == "denied" && $0.entry.actor == "Practitioner/doc" },
                    "\(refused.status) \(refusal.map { ($0.entry.action, $0.entry.outcome) })")
            let formToken = try #require(question.field("formToken"))
            let forged = try await browser.send(.post, "/patienter/p2/vardrelation", form: [("formToken", "forged"), ("reason", "Besök")])
            #expect(forged.status == 403, "a form without the session's token is refused")
            let empty = try await browser.send(.post, "/patienter/p2/vardrelation", form: [("formToken", formToken), ("reason", "  ")])
            #expect(empty.status == 400 && empty.html.contains("id=\"care-error\"") && empty.html.contains("Skriv ett skäl"))
            let registered = try await browser.send(.post, "/patienter/p2/vardrelation", form: [("formToken", formToken), ("reason", "Telefonkontakt")])
            #expect(registered.status == 303 && registered.location == "/patienter/p2")
            #expect(try await browser.send(.get, "/patienter/p2").html.contains("Främling"))

            // The session idles past its deadline: the next page says why the user must log in again.
            let token = try #require(browser.cookies[WebApp<KarnaRequestContext>.sessionCookie])
            let key = Secrets.sha256Hex(token)
            let record = try #require(try await services.store.controlRecord(kind: WebSessions.kind, key: key))
            var stored = try JSONDecoder().decode(WebSessions.Stored.self, from: Data(record.json))
            stored.expiresAt = Instant.now() - 1
            try await services.store.writeControlRecords([ControlRecord(kind: WebSessions.kind, key: key, json: Array(try JSONEncoder().encode(stored)))],
                                                         deleting: [], audit: [])
            let after = try await browser.send(.get, "/start")
            #expect(after.status == 303 && after.location == "/login?orsak=timeout&tillbaka=%2Fstart", "the login returns to the page the user was on")
            #expect(try await browser.send(.get, "/login?orsak=timeout").html.contains("utan aktivitet"))
        }
    }

    @Test("scheduling from the appointment book: times created on the chosen weekdays, blocked with a reason and unblocked; wrong input said at its field and kept",
          arguments: backends)
    func createAndBlockTimes(_ backend: StoreBackend) async throws {
        try await Self.withApp(backend) { services, client in
            try await Self.addSchedule(services)
            // The next weekday: times are created Monday to Friday.
            let weekday = try #require((1...7).map { SwedishTime.today + $0 }.first { SwedishTime.weekday($0) <= 5 })
            let day = SwedishTime.formatDay(weekday)
            let returnTo = "/tidbok?dag=\(day)"
            var browser = Browser(client: client)
            _ = try await Self.logIn(&browser)
            let page = try await browser.send(.get, returnTo)
            #expect(page.html.contains("Skapa tider från \(day)") && page.html.contains("<option value=\"s1\">Doktor Ek, mottagning</option>"))
            let token = try #require(page.field("formToken"))
            #expect(page.html.contains(#"name="day1" value="ja" checked"#) && page.html.contains(#"name="day5" value="ja" checked"#)
                    && page.html.contains(#"name="day6" value="ja">"#), "Monday to Friday unless the user chooses")
            let create = [("formToken", token), ("returnTo", returnTo), ("lastDay", day), ("minutes", "30"), ("visitType", "lakarbesok")]
                + (1...5).map { ("day\($0)", "ja") }

            let noBook = try await browser.send(.post, "/tidbok/skapa-tider", form: create + [("schedule", ""), ("from", "09:00"), ("to", "10:00")])
            #expect(noBook.status == 400 && noBook.html.contains("id=\"create-schedule-error\"") && noBook.html.contains("<details open>"))
            let badTime = try await browser.send(.post, "/tidbok/skapa-tider", form: create + [("schedule", "s1"), ("from", "25:00"), ("to", "10:00")])
            #expect(badTime.status == 400 && badTime.html.contains("id=\"create-from-error\"") && badTime.html.contains("value=\"25:00\""),
                    "the wrong time is said at its field and kept")
            let created = try await browser.send(.post, "/tidbok/skapa-tider", form: create + [("schedule", "s1"), ("from", "09:00"), ("to", "10:00")])
            #expect(created.status == 303)
            let withTimes = try await browser.send(.get, try #require(created.location))
            #expect(withTimes.html.contains("2 nya tider") && withTimes.html.contains("09:00–09:30") && withTimes.html.contains("09:30–10:00"))
            let again = try await browser.send(.post, "/tidbok/skapa-tider", form: create + [("schedule", "s1"), ("from", "09:00"), ("to", "10:00")])
            #expect(try await browser.send(.get, try #require(again.location)).html.contains("0 nya tider, 2 fanns redan"), "times already there stay")
            let noDays = try await browser.send(.post, "/tidbok/skapa-tider", form: create.filter { !$0.0.hasPrefix("day") } + [("schedule", "s1"), ("from", "09:00"), ("to", "10:00")])
            #expect(noDays.status == 400 && noDays.html.contains("id=\"create-weekdays-error\"") && !noDays.html.contains(#"name="day1" value="ja" checked"#),
                    "no weekday is said, and the boxes come back as the user left them")
            // A weekend: only the Saturday and Sunday chosen, over the coming week.
            let saturday = try #require((1...7).map { SwedishTime.today + $0 }.first { SwedishTime.weekday($0) == 6 })
            let weekendForm = [("formToken", token), ("returnTo", "/tidbok?dag=\(SwedishTime.formatDay(saturday))"), ("lastDay", SwedishTime.formatDay(saturday + 1)),
                               ("minutes", "60"), ("visitType", "lakarbesok"), ("schedule", "s1"), ("from", "10:00"), ("to", "11:00"), ("day6", "ja"), ("day7", "ja")]
            let weekend = try await browser.send(.post, "/tidbok/skapa-tider", form: weekendForm)
            #expect(try await browser.send(.get, try #require(weekend.location)).html.contains("2 nya tider"), "one time on Saturday, one on Sunday")

            let block = [("formToken", token), ("returnTo", returnTo), ("schedule", "s1")]
            let noReason = try await browser.send(.post, "/tidbok/blockera", form: block + [("from", "09:00"), ("to", "09:30"), ("reason", "")])
            #expect(noReason.status == 400 && noReason.html.contains("id=\"block-reason-error\""))
            let backwards = try await browser.send(.post, "/tidbok/blockera", form: block + [("from", "10:00"), ("to", "09:00"), ("reason", "APT-möte")])
            #expect(backwards.status == 400 && backwards.html.contains("Sluttiden måste vara efter starttiden") && backwards.html.contains("value=\"APT-möte\""))
            let blocked = try await browser.send(.post, "/tidbok/blockera", form: block + [("from", "09:00"), ("to", "09:30"), ("reason", "APT-möte")])
            #expect(blocked.status == 303)
            let after = try await browser.send(.get, try #require(blocked.location))
            #expect(after.html.contains("1 tider blockerade") && after.html.contains("Spärrad tid"))
            #expect(after.html.matches(of: /name="patient"/).count == 1, "only the unblocked time can be booked")

            let noBookToFree = try await browser.send(.post, "/tidbok/hav-blockering", form: [("formToken", token), ("returnTo", returnTo), ("schedule", ""),
                                                                                               ("from", "09:00"), ("to", "9.30")])
            #expect(noBookToFree.status == 400 && noBookToFree.html.contains("id=\"unblock-schedule-error\"") && noBookToFree.html.contains("id=\"unblock-to-error\"")
                    && noBookToFree.html.contains("value=\"9.30\"") && noBookToFree.html.contains("<details open>\n  <summary>Häv blockering"))
            let unblocked = try await browser.send(.post, "/tidbok/hav-blockering", form: block + [("from", "08:00"), ("to", "12:00")])
            let freed = try await browser.send(.get, try #require(unblocked.location))
            #expect(freed.html.contains("1 tider är lediga igen") && !freed.html.contains("Spärrad tid"))
            #expect(freed.html.matches(of: /name="patient"/).count == 2, "both times can be booked again")
        }
    }

    @Test("the appointment book: a time is booked by personnummer (an unknown number said at the time), checked in, paid once at the cashier, in the day's report",
          arguments: backends)
    func bookCheckInAndPay(_ backend: StoreBackend) async throws {
        try await Self.withApp(backend) { services, client in
            let job = try await Self.addSchedule(services)
            let tomorrow = SwedishTime.formatDay(SwedishTime.today + 1)
            let template = try AppointmentBook.SlotTemplate.parse(from: tomorrow, to: tomorrow, weekdays: "1,2,3,4,5,6,7", start: "08:00", end: "09:00",
                                                                  minutes: "20", visitType: "lakarbesok")
            #expect(try await services.administration.book.generateSlots(scheduleID: "s1", template: template, session: job).created == 3)

            var browser = Browser(client: client)
            _ = try await Self.logIn(&browser)
            let day = try await browser.send(.get, "/tidbok?dag=\(tomorrow)")
            #expect(day.status == 200 && day.html.contains("Doktor Ek, mottagning") && day.html.contains("08:00–08:20"))
            let slot = try #require(day.html.firstMatch(of: /id="slot-([^"]+)"/)?.1).description
            let token = try #require(day.field("formToken"))
            let returnTo = "/tidbok?dag=\(tomorrow)"

            let unknown = try await browser.send(.post, "/tidbok/boka", form: [("formToken", token), ("returnTo", returnTo), ("slot", slot), ("patient", "191212121212")])
            #expect(unknown.status == 400 && unknown.html.contains("id=\"error-\(slot)\"") && unknown.html.contains("Ingen patient med det numret"))
            #expect(unknown.html.contains("value=\"191212121212\""), "what the clerk typed is kept")

            let booked = try await browser.send(.post, "/tidbok/boka", form: [("formToken", token), ("returnTo", returnTo), ("slot", slot), ("patient", "19500203-9286")])
            #expect(booked.status == 303 && booked.location?.hasPrefix(returnTo) == true)
            let after = try await browser.send(.get, try #require(booked.location))
            #expect(after.html.contains("Bokad: Ek, Greta kl. 08:00") && after.html.contains("Checka in"))
            let appointment = try #require(after.html.firstMatch(of: /action="\/tidbok\/([^\/"]+)\/checka-in"/)?.1).description
            let taken = try await browser.send(.post, "/tidbok/boka", form: [("formToken", token), ("returnTo", returnTo), ("slot", slot), ("patient", "19500203-9286")])
            #expect(taken.status == 400 && taken.html.contains("Tiden är inte ledig längre"), "a taken time cannot be booked twice")
            let noReason = try await browser.send(.post, "/tidbok/\(appointment)/avboka", form: [("formToken", token), ("returnTo", returnTo), ("slot", slot), ("reason", "")])
            #expect(noReason.status == 400 && noReason.html.contains("Ange varför tiden avbokas"))
            #expect(try await browser.send(.get, "/tidbok?dag=\(tomorrow)&vy=vecka").html.contains("Ek, Greta"))

            // Moved to another free time: the list offers the free ones, the old time is free again.
            let choose = try await browser.send(.get, "/tidbok/\(appointment)/flytta?tillbaka=\(returnTo)")
            #expect(choose.status == 200 && choose.html.contains("Flytta besöket") && !choose.html.contains("value=\"\(slot)\""))
            let other = try #require(choose.html.firstMatch(of: /name="slot" value="([^"]+)"/)?.1).description
            let unchosen = try await browser.send(.post, "/tidbok/\(appointment)/flytta", form: [("formToken", token), ("returnTo", returnTo)])
            #expect(unchosen.status == 400 && unchosen.html.contains("Välj en tid"))
            let moved = try await browser.send(.post, "/tidbok/\(appointment)/flytta", form: [("formToken", token), ("returnTo", returnTo), ("slot", other)])
            #expect(moved.status == 303)
            let movedDay = try await browser.send(.get, try #require(moved.location))
            #expect(movedDay.html.contains("Besöket är flyttat") && movedDay.html.contains("Bokad: ") == false)
            #expect(movedDay.html.contains("08:20–08:40") && movedDay.html.contains("name=\"patient\"") && movedDay.html.contains("id=\"patient-\(slot)\""),
                    "the first time is free again")

            let checkedIn = try await browser.send(.post, "/tidbok/\(appointment)/checka-in", form: [("formToken", token), ("returnTo", returnTo)])
            #expect(checkedIn.status == 303)
            let encounter = try #require(checkedIn.location?.firstMatch(of: /kontakt=([^&]+)/)?.1).description
            #expect(try await browser.send(.get, try #require(checkedIn.location)).html.contains("href=\"/kassa/\(encounter)\""))

            let cashier = try await browser.send(.get, "/kassa")
            #expect(cashier.status == 200 && cashier.html.contains("href=\"/kassa/\(encounter)\"") && cashier.html.contains("Ek, Greta"))
            let form = try await browser.send(.get, "/kassa/\(encounter)")
            #expect(form.html.contains("200 kr") && form.html.contains("Betalt 0 av"))
            let noType = try await browser.send(.post, "/kassa/e1/betala", form: [("formToken", token), ("method", "kort")])
            #expect(noType.status == 400 && noType.html.contains("Kontakten saknar besökstyp"), "a contact without a visit type is refused on the page")
            // … where the cashier names the visit type, each with its fee, and takes the payment.
            #expect(cashier.html.contains("Besökstyp saknas – väljs vid betalning"))
            #expect(noType.html.contains("name=\"visitType\" value=\"lakarbesok\"") && VisibleText.of(noType.html).contains("Läkarbesök – 200 kr"))
            let typed = try await browser.send(.post, "/kassa/e1/betala", form: [("formToken", token), ("method", "kort"), ("visitType", "lakarbesok")])
            #expect(typed.status == 200 && typed.html.contains(": 200 kr"), "\(typed.status) \(VisibleText.of(typed.html).suffix(300))")
            let paid = try await browser.send(.post, "/kassa/\(encounter)/betala", form: [("formToken", token), ("method", "kort")])
            #expect(paid.status == 200 && paid.html.contains("Kvitto K") && paid.html.contains(": 200 kr") && paid.html.contains("KVITTO"))
            let twice = try await browser.send(.post, "/kassa/\(encounter)/betala", form: [("formToken", token), ("method", "kort")])
            #expect(twice.status == 400 && twice.html.contains("Besöket är redan betalt"))
            #expect(try await browser.send(.get, "/kassa").html.contains("Betald"))
            let report = try await browser.send(.get, "/kassa/dagsrapport")
            #expect(report.status == 200 && report.html.contains("2 betalningar, totalt <strong>400 kr</strong>"))

            // The högkostnadsskydd history on the payment page, each receipt a link to reprint, void or pay back.
            let history = try await browser.send(.get, "/kassa/\(encounter)")
            let historyText = VisibleText.of(history.html)
            #expect(historyText.contains("Kvitton mot högkostnadsskyddet") && historyText.contains("Visa kvittot"))
            let receiptHref = try #require(history.html.firstMatch(of: /href="(\/kassa\/kvitto\/[^"]+)">Visa kvittot/)?.1).description
            let receiptPage = try await browser.send(.get, receiptHref)
            #expect(receiptPage.status == 200 && VisibleText.of(receiptPage.html).contains("Makulera kvittot")
                    && VisibleText.of(receiptPage.html).contains("Betala tillbaka 200 kr"))
            let unexplained = try await browser.send(.post, receiptHref + "/makulera", form: [("formToken", token), ("reason", "")])
            #expect(unexplained.status == 400 && VisibleText.of(unexplained.html).contains("Ange varför kvittot makuleras."))
            let voided = try await browser.send(.post, receiptHref + "/makulera", form: [("formToken", token), ("reason", "Fel patient")])
            #expect(voided.status == 303)
            let voidedPage = try await browser.send(.get, try #require(voided.location))
            #expect(VisibleText.of(voidedPage.html).contains("Kvittot är makulerat. Besöket kan betalas igen.")
                    && VisibleText.of(voidedPage.html).contains("Makulerad – Fel patient") && !voidedPage.html.contains("/makulera\""))
            #expect(try await browser.send(.get, "/kassa").html.contains("href=\"/kassa/\(encounter)\""), "the contact is to be paid again")
            _ = try await browser.send(.post, "/kassa/\(encounter)/betala", form: [("formToken", token), ("method", "kort")])
            let repaid = try await browser.send(.get, "/kassa/\(encounter)")
            let newHref = try #require(repaid.html.firstMatch(of: /href="(\/kassa\/kvitto\/[^"]+)">Visa kvittot/)?.1).description
            #expect(newHref != receiptHref)
            let noMethod = try await browser.send(.post, newHref + "/aterbetala", form: [("formToken", token), ("reason", "Frikort i annan region")])
            #expect(noMethod.status == 400 && VisibleText.of(noMethod.html).contains("Välj hur avgiften betalas tillbaka."))
            let refunded = try await browser.send(.post, newHref + "/aterbetala", form: [("formToken", token), ("reason", "Frikort i annan region"), ("method", "kontant")])
            let creditPage = try await browser.send(.get, try #require(refunded.location))
            #expect(VisibleText.of(creditPage.html).contains("Avgiften är återbetald: detta är kreditkvittot.") && creditPage.html.contains("KREDITKVITTO"))
            let corrected = VisibleText.of(try await browser.send(.get, "/kassa/dagsrapport").html)
            #expect(corrected.contains("2 betalningar, totalt 200 kr") && corrected.contains("1 återbetalning på 200 kr är dragen.")
                    && corrected.contains("1 makulerat kvitto räknas inte."), "\(corrected.suffix(600))")
            #expect(try await browser.send(.get, "/vantelista").html.contains("Ingen står på väntelistan"))

            // The waiting list: days left of the care guarantee, and a time booked for the entry.
            let entry = try await services.administration.waitingList.add(patientID: "p1", unitID: "vc", visitType: .doctor, priority: 3, stage: .assessment,
                                                                          startDay: SwedishTime.today - 1, referralID: nil, comment: "Kontroll", session: job)
            let waiting = try await browser.send(.get, "/vantelista")
            #expect(waiting.html.contains("Ek, Greta") && waiting.html.contains("2 dagar kvar") && waiting.html.contains("Kontroll"))
            let times = try await browser.send(.get, "/vantelista/\(entry.id)/boka?tillbaka=/vantelista")
            let free = try #require(times.html.firstMatch(of: /name="slot" value="([^"]+)"/)?.1).description
            let fromList = try await browser.send(.post, "/vantelista/\(entry.id)/boka", form: [("formToken", token), ("returnTo", "/vantelista"), ("slot", free)])
            #expect(fromList.status == 303 && fromList.location?.hasPrefix("/vantelista") == true)
            #expect(try await browser.send(.get, try #require(fromList.location)).html.contains("Ingen står på väntelistan"))
        }
    }

    @Test("a referral is written from the chart (a missing question said at its field), accepted and answered by the receiving clinic, and the sender sees the answer",
          arguments: backends)
    func referralRoundTrip(_ backend: StoreBackend) async throws {
        try await Self.withApp(backend) { services, client in
            let job = services.gateway.session(.job("web-tests"), action: "create")
            let lakare = try #require(Position.defaults.first { $0.code == "lakare" })
            var role = Assignment.resource(id: "spec-role", practitionerID: "spec", unitID: "klinik", purpose: .care, position: lakare)
            role["practitioner"] = .object(JSONObject([("reference", .string("Practitioner/spec")), ("display", .string("Doktor Spets"))]))
            for (type, id, json) in [
                ("Organization", "region", #"{"resourceType":"Organization","id":"region","name":"Regionen"}"#),
                ("Organization", "klinik", #"{"resourceType":"Organization","id":"klinik","name":"Medicinkliniken","partOf":{"reference":"Organization/region"}}"#),
                ("Practitioner", "spec", #"{"resourceType":"Practitioner","id":"spec"}"#), ("PractitionerRole", "spec-role", JSONWriter.string(.object(role))),
            ] {
                _ = try await job.commit(.update(try #require(try JSONParser.parse(Array(json.utf8)).objectValue), type: type, id: id, ifMatch: nil))
            }
            await services.gateway.directory.invalidate()
            _ = try await services.accounts.create(username: "spec", kind: .practitioner, subjectID: "spec", displayName: "Doktor Spets",
                                                   password: Self.password, totpSecret: Self.secret)
            var doc = Browser(client: client)
            _ = try await Self.logIn(&doc)
            let form = try await doc.send(.get, "/patienter/p1/remiss/ny")
            #expect(form.status == 200 && form.html.contains("<option value=\"klinik\">Medicinkliniken</option>"))
            let token = try #require(form.field("formToken"))
            let missing = try await doc.send(.post, "/patienter/p1/remiss", form: [("formToken", token), ("unit", "klinik"), ("question", "?"), ("priority", "urgent")])
            #expect(missing.status == 400 && missing.html.contains("id=\"question-error\"") && missing.html.contains("value=\"klinik\" selected"))
            let sent = try await doc.send(.post, "/patienter/p1/remiss", form: [("formToken", token), ("unit", "klinik"), ("priority", "urgent"),
                                                                                 ("question", "Oregelbunden puls, förmaksflimmer?")])
            #expect(sent.status == 303)
            let task = try #require(sent.location?.firstMatch(of: /\/remisser\/([^?]+)/)?.1).description
            let mine = try await doc.send(.get, try #require(sent.location))
            #expect(mine.html.contains("Remissen är skickad") && mine.html.contains("Inkommen") && mine.html.contains("Återkalla remissen"))
            #expect(!mine.html.contains("Acceptera"), "the sender cannot assess its own referral")

            var spec = Browser(client: client)
            _ = try await Self.logIn(&spec, username: "spec")
            let inbox = try await spec.send(.get, "/remisser")
            #expect(inbox.status == 200 && inbox.html.contains("Oregelbunden puls") && inbox.html.contains("Brådskande"))
            let page = try await spec.send(.get, "/remisser/\(task)")
            let specToken = try #require(page.field("formToken"))
            #expect(page.html.contains("Acceptera") && page.html.contains("Avvisa remissen") && page.html.contains("Ek, Greta"))
            let noReason = try await spec.send(.post, "/remisser/\(task)/avvisa", form: [("formToken", specToken), ("text", "")])
            #expect(noReason.status == 400 && noReason.html.contains("id=\"avvisa-error\""))
            #expect(try await spec.send(.post, "/remisser/\(task)/acceptera", form: [("formToken", specToken), ("text", "")]).status == 303)
            let accepted = try await spec.send(.get, "/remisser/\(task)")
            #expect(accepted.html.contains("Accepterad") && accepted.html.contains("Skicka remissvar") && !accepted.html.contains("Avvisa remissen"))
            // Accepted: the receiving unit puts the patient on its waiting list, the referral carried over.
            let waitingLink = try #require(accepted.html.firstMatch(of: /href="(\/patienter\/[^"]+\/vantelista\/ny\?remiss=[^"]+)"/)?.1).description
            let waitingForm = try await spec.send(.get, waitingLink.replacingOccurrences(of: "&amp;", with: "&"))
            #expect(waitingForm.status == 200 && waitingForm.field("tillbaka") == "/remisser/\(task)" && waitingForm.html.contains("value=\"besok\" selected"))
            let queued = try await spec.send(.post, "/patienter/p1/vantelista", form: [("formToken", specToken), ("visitType", "lakarbesok"), ("priority", "3"),
                                                                                      ("stage", "besok"), ("remiss", try #require(waitingForm.field("remiss"))),
                                                                                      ("tillbaka", "/remisser/\(task)")])
            #expect(queued.status == 303 && queued.location?.hasPrefix("/remisser/\(task)?klar=") == true)
            let answered = try await spec.send(.post, "/remisser/\(task)/besvara", form: [("formToken", specToken), ("text", "Förmaksflimmer bekräftat, antikoagulation insatt.")])
            #expect(answered.status == 303)

            let sentList = try await doc.send(.get, "/remisser?visa=skickade")
            #expect(sentList.html.contains("Besvarad") && sentList.html.contains("Medicinkliniken"))
            let withAnswer = try await doc.send(.get, "/remisser/\(task)")
            #expect(withAnswer.html.contains("id=\"referral-answer\">Förmaksflimmer bekräftat"))
            let forbidden = try await doc.send(.post, "/remisser/\(task)/acceptera", form: [("formToken", token)])
            #expect(forbidden.status == 403 || forbidden.status == 409, "the sender's side cannot take the receiver's steps")
        }
    }

    @Test("the logggranskare finds a doctor's nödåtkomst in the queue, decides on it (a comment needed for a follow-up), and reads the patient's and the user's logs",
          arguments: backends)
    func logReview(_ backend: StoreBackend) async throws {
        try await Self.withApp(backend) { services, client in
            try await Self.addReviewer(services)
            var doc = Browser(client: client)
            _ = try await Self.logIn(&doc)
            let question = try await doc.send(.get, "/patienter/p2")
            let docToken = try #require(question.field("formToken"))
            let opened = try await doc.send(.post, "/patienter/p2/nodatkomst", form: [("formToken", docToken), ("reason", "Medvetslös, kan inte tillfrågas")])
            #expect(opened.status == 303)
            #expect(try await doc.send(.get, "/loggranskning").status == 403, "a doctor does not review the log")
            #expect(!(try await doc.send(.get, "/start").html.contains("Logguppföljning")), "nor is it in the doctor's menu")

            var rev = Browser(client: client)
            _ = try await Self.logIn(&rev, username: "rev")
            // The menu is made from the modules' entries, each shown to the positions that may use it.
            let doctorMenu = try await doc.send(.get, "/tidbok").html
            #expect(doctorMenu.contains(#"<a href="/tidbok" aria-current="page">Tidbok</a>"#) && doctorMenu.contains(">Remisser</a>"),
                    "the doctor's menu offers the appointment book, marked as the current page there")
            #expect(!doctorMenu.contains(">Kassa</a>"), "a doctor has no cash drawer: the cashier is not in the menu")
            let reviewerMenu = try await rev.send(.get, "/start").html
            #expect(reviewerMenu.contains(">Logguppföljning</a>") && !reviewerMenu.contains(">Tidbok</a>") && !reviewerMenu.contains(">Kassa</a>"),
                    "the logggranskare's menu has the log review and none of patient administration's pages")
            let queue = try await rev.send(.get, "/loggranskning?flagga=emergency-access")
            #expect(queue.status == 200 && queue.html.contains("Nödåtkomst") && queue.html.contains("Medvetslös, kan inte tillfrågas") && queue.html.contains("Främling"))
            // The question shown before breaking the glass and the nödåtkomst are one access session: one row, one decision for both.
            let all = try await rev.send(.get, "/loggranskning")
            let text = VisibleText.of(all.html)
            #expect(text.contains("händelser i en session") && text.contains("Visa händelserna"), "\(text.suffix(800))")
            #expect(text.contains("2 händelser i en session") && text.contains("Fick frågan om åtkomst") && text.contains("Spara beslut för sessionen (2 händelser)"))
            #expect(text.contains("Skäl: Loggranskning kräver ett uppdrag som logggranskare.") && !text.contains("audit review permission"),
                    "the doctor's refused look at the log reads in Swedish, as the doctor was told")
            let session = try #require(all.html.firstMatch(of: /name="grupp" value="(\d+)"/)?.1).description
            let members = all.html.matches(of: /<input type="hidden" name="valj-(\d+)" value="ja">/).map { String($0.1) }
            #expect(members.count >= 2 && members.first == session)
            let token = try #require(queue.field("formToken"))
            let form = [("formToken", token), ("grupp", session)] + members.map { ("valj-\($0)", "ja") }
            let bare = try await rev.send(.post, "/loggranskning/beslut", form: form + [("verdict", "follow-up"), ("comment", "")])
            #expect(bare.status == 400 && bare.html.contains("id=\"error-\(session)\"") && VisibleText.of(bare.html).contains("Skriv en kommentar"))
            let decided = try await rev.send(.post, "/loggranskning/beslut", form: form + [("verdict", "justified"), ("comment", "Akut situation")])
            #expect(decided.status == 303 && decided.location?.hasPrefix("/loggranskning?klar=") == true)
            #expect(VisibleText.of(try await rev.send(.get, try #require(decided.location)).html).contains("Beslutet är sparat för \(members.count) händelser"))
            #expect(!(try await rev.send(.get, "/loggranskning?flagga=emergency-access").html.contains("value=\"\(session)\"")), "decided: out of the queue")
            let patientLog = try await rev.send(.get, "/loggranskning/patient/p2")
            #expect(patientLog.html.contains("Befogad, beslutat av Granskare Gran: Akut situation") && patientLog.html.contains("Doktor Ek"))
            let userLog = try await rev.send(.get, "/loggranskning/anvandare?id=Practitioner%2Fdoc")
            #expect(userLog.status == 200 && userLog.html.contains("Logg för användaren Doktor Ek") && userLog.html.contains("Främling"))
        }
    }

    @Test("the log-review queue and a patient's log page on past their limit (web-log-rows) without a gap or an overlap, and a decision keeps its page",
          arguments: backends)
    func logReviewPages(_ backend: StoreBackend) async throws {
        try await Self.withApp(backend, flags: ["web-log-rows": "10"]) { services, client in
            try await Self.addReviewer(services)
            // Twelve nödåtkomst openings, one patient each: twelve flagged accesses in the queue, and p2's own log longer than a page.
            let job = services.gateway.session(.job("web-tests"), action: "create")
            let strangers = (10..<22).map { "p\($0)" }
            _ = try await job.commit(strangers.map { id in
                .update(JSONObject([("resourceType", .string("Patient")), ("id", .string(id)), ("name", .array([.object(JSONObject([("family", .string("Främling"))]))]))]),
                        type: "Patient", id: id, ifMatch: nil)
            })
            var doc = Browser(client: client)
            _ = try await Self.logIn(&doc)
            for id in ["p2"] + strangers {
                let question = try await doc.send(.get, "/patienter/\(id)")
                let docToken = try #require(question.field("formToken"))
                // p2's reason holds markup characters: the log shows them as text.
                let reason = id == "p2" ? "Medvetslös <b>ensam</b> & 'okontaktbar' \"akut\"" : "Medvetslös, kan inte tillfrågas"
                #expect(try await doc.send(.post, "/patienter/\(id)/nodatkomst", form: [("formToken", docToken), ("reason", reason)]).status == 303)
            }
            for _ in 0..<12 { #expect(try await doc.send(.get, "/patienter/p2").status == 200) }

            var rev = Browser(client: client)
            _ = try await Self.logIn(&rev, username: "rev")
            // Every event a page shows, as a row of its own or within an access session's row, in sequence order.
            func sequences(_ page: Browser.Page) -> [Int] {
                (page.html.matches(of: /<tr id="log-(\d+)">/).compactMap { Int($0.1) }
                    + page.html.matches(of: /name="grupp-\d+" id="grupp-\d+" value="([\d,]+)"/).flatMap { $0.1.split(separator: ",").compactMap { Int($0) } }).sorted()
            }
            func nextPage(_ page: Browser.Page) -> String? {
                page.html.firstMatch(of: /<a href="([^"]+)">Nästa sida<\/a>/).map { String($0.1).replacingOccurrences(of: "&amp;", with: "&") }
            }
            let first = try await rev.send(.get, "/loggranskning?flagga=emergency-access")
            #expect(sequences(first).count == 10 && !first.html.contains("Första sidan"))
            #expect(first.html.contains("Skäl: Medvetslös &lt;b&gt;ensam&lt;/b&gt; &amp; &#39;okontaktbar&#39; &quot;akut&quot;") && !first.html.contains("<b>ensam"))
            let next = try #require(nextPage(first))
            #expect(next == "/loggranskning?flagga=emergency-access&efter=\(try #require(sequences(first).last))")
            let second = try await rev.send(.get, next)
            #expect(!sequences(second).isEmpty && second.html.contains("Första sidan"))
            let lastShown = try #require(sequences(first).max())
            #expect(sequences(second).allSatisfy { $0 > lastShown }, "the queue goes on after the first page, oldest first")
            let flagged = try await services.store.auditRecords(AuditQuery(flag: "emergency-access", ascending: true, limit: 1_000)).map { Int($0.sequence) }
            let shown = sequences(first) + sequences(second)
            #expect(flagged.count > 10 && shown == Array(flagged.prefix(shown.count)), "every flagged access in order, none left out between the pages")

            // A refused decision on the second page shows the second page again; a saved one returns to it, its user filter kept.
            let after = try #require(next.split(separator: "=").last).description
            let narrowed = try await rev.send(.get, next + "&anvandare=Practitioner%2Fdoc")
            #expect(sequences(narrowed) == sequences(second))
            let token = try #require(narrowed.field("formToken"))
            let action = try #require(narrowed.html.firstMatch(of: /action="(\/loggranskning\/(\d+)\/beslut[^"]*)"/))
            let sequence = String(action.2), address = String(action.1).replacingOccurrences(of: "&amp;", with: "&")
            #expect(address == "/loggranskning/\(sequence)/beslut?flagga=emergency-access&anvandare=Practitioner%2Fdoc&efter=\(after)")
            let bare = try await rev.send(.post, address, form: [("formToken", token), ("verdict", "follow-up"), ("comment", "")])
            #expect(bare.status == 400 && bare.html.contains("id=\"error-\(sequence)\"") && sequences(bare) == sequences(second))
            #expect(bare.html.contains("value=\"Practitioner/doc\""), "the refused page is the narrowed one")
            let saved = try await rev.send(.post, address, form: [("formToken", token), ("verdict", "justified"), ("comment", "")])
            #expect(saved.status == 303 && saved.location?.hasPrefix("/loggranskning?flagga=emergency-access&anvandare=Practitioner%2Fdoc&efter=\(after)&klar=") == true,
                    "\(saved.location ?? "")")

            let newest = try await rev.send(.get, "/loggranskning/patient/p2")
            #expect(sequences(newest).count == 10)
            let older = try await rev.send(.get, try #require(nextPage(newest)))
            #expect(try #require(nextPage(newest)).hasPrefix("/loggranskning/patient/p2?fore="))
            let oldestShown = try #require(sequences(newest).min())
            #expect(!sequences(older).isEmpty && sequences(older).allSatisfy { $0 < oldestShown }, "older records, newest first")
            let mangled = try await rev.send(.get, "/loggranskning/patient/p2?fore=abc")
            // Reading p2's log is itself logged under p2, so the first page has grown by the reads since.
            #expect(sequences(mangled).count == 10 && !mangled.html.contains("Första sidan") && sequences(mangled).first! > sequences(newest).first!,
                    "a cursor that is not a number opens the first page")
        }
    }

    @Test("attention signals, the problem list and a contact's diagnoses: added, ended with a reason, wrong codes said at their fields", arguments: backends)
    func signalsAndDiagnoses(_ backend: StoreBackend) async throws {
        try await Self.withApp(backend) { _, client in
            var browser = Browser(client: client)
            _ = try await Self.logIn(&browser)
            let page = try await browser.send(.get, "/patienter/p1/signaler")
            #expect(page.status == 200 && page.html.contains("Allergi: Jordnöt") && page.html.contains("value=\"J01CE02 Fenoximetylpenicillin\""))
            #expect(page.html.contains("<option value=\"vardbegransning|ej-hlr\">Ej hjärt-lungräddning (HLR)</option>"))
            let token = try #require(page.field("formToken"))
            func post(_ path: String, _ fields: [(String, String)]) async throws -> Browser.Page {
                try await browser.send(.post, "/patienter/p1/" + path, form: [("formToken", token)] + fields)
            }

            let noSubstance = try await post("allergi", [("substance", " "), ("reaction", "Utslag")])
            #expect(noSubstance.status == 400 && noSubstance.html.contains("id=\"substance-error\"") && noSubstance.html.contains("value=\"Utslag\""))
            #expect(try await post("allergi", [("substance", "J01CE02 Fenoximetylpenicillin"), ("reaction", "Urtikaria"), ("criticality", "high")]).status == 303)
            let withAllergy = try await browser.send(.get, "/patienter/p1/signaler")
            #expect(withAllergy.html.contains("Allergi: Fenoximetylpenicillin") && withAllergy.html.contains("Urtikaria"))

            let noNote = try await post("signal", [("code", "vardbegransning|ej-hlr"), ("note", "")])
            #expect(noNote.status == 400 && noNote.html.contains("id=\"signal-note-error\""))
            let wrongKind = try await post("signal", [("code", "smitta|ej-hlr"), ("note", "x")])
            #expect(wrongKind.status == 400 && wrongKind.html.contains("id=\"signal-code-error\""), "a code of another kind is refused by the value set")
            #expect(try await post("signal", [("code", "vardbegransning|ej-hlr"), ("note", "Beslutat med patienten och dottern"), ("decidedAt", "2026-11-20")]).status == 303)
            #expect(try await browser.send(.get, "/patienter/p1").html.contains("Vårdbegränsning"), "the banner shows the new signal")

            let notEnded = try await post("signaler/AllergyIntolerance/a1/avsluta", [("reason", "")])
            #expect(notEnded.status == 400 && notEnded.html.contains("skriv varför"))
            #expect(try await post("signaler/AllergyIntolerance/a1/avsluta", [("reason", "Provokation utan reaktion")]).status == 303)
            #expect(!(try await browser.send(.get, "/patienter/p1/signaler").html.contains("Allergi: Jordnöt")))

            let badProblem = try await post("problem", [("code", "Q99.99 Påhittad")])
            #expect(badProblem.status == 400 && badProblem.html.contains("id=\"problem-code-error\"") && badProblem.html.contains("value=\"Q99.99 Påhittad\""))
            #expect(try await post("problem", [("code", "I10 Essentiell hypertoni")]).status == 303)
            let problems = try await browser.send(.get, "/patienter/p1/signaler")
            let problem = try #require(problems.html.firstMatch(of: /id="problem-([^"]+)">Essentiell hypertoni/)?.1).description
            let noReason = try await post("problem/\(problem)/avsluta", [])
            #expect(noReason.status == 400 && VisibleText.of(noReason.html).contains("Problemet avslutades inte: Skriv varför problemet avslutas."))
            #expect(try await post("problem/\(problem)/avsluta", [("reason", "Normalt blodtryck utan behandling")]).status == 303)
            #expect(!(try await browser.send(.get, "/patienter/p1/signaler").html.contains("id=\"problem-\(problem)\"")))

            let badProcedure = try await post("diagnoser", [("encounter", "e1"), ("main", "I10"), ("procedures", "ZZ999")])
            #expect(badProcedure.status == 400 && badProcedure.html.contains("id=\"procedures-error\"") && badProcedure.html.contains("value=\"e1\" selected"))
            #expect(try await post("diagnoser", [("encounter", "e1"), ("main", "I10 Essentiell hypertoni"), ("procedures", "AF037")]).status == 303)
            // The contact's main diagnosis is a visit's diagnosis on the chart, not an active problem.
            let chart = try await browser.send(.get, "/patienter/p1")
            let problemsPanel = try #require(chart.html.firstMatch(of: /(?s)id="h-problem">.*?<\/section>/)).0
            let visitPanel = try #require(chart.html.firstMatch(of: /(?s)id="h-visitDiagnosis">.*?<\/section>/)).0
            #expect(visitPanel.contains("Essentiell hypertoni") && !problemsPanel.contains("Essentiell hypertoni"))
        }
    }

    @Test("the ward overview: a patient is admitted into a free bed by personnummer (an unknown number said at the bed), moved, on leave and back, discharged",
          arguments: backends)
    func wardOverview(_ backend: StoreBackend) async throws {
        try await Self.withApp(backend) { services, client in
            let job = services.gateway.session(.job("web-tests"), action: "create")
            for bed in ["bed1", "bed2"] {
                let json = #"{"resourceType":"Location","id":"\#(bed)","name":"Säng \#(bed.suffix(1))","status":"active","physicalType":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/location-physical-type","code":"bd"}]},"managingOrganization":{"reference":"Organization/vc"}}"#
                _ = try await job.commit(.update(try #require(try JSONParser.parse(Array(json.utf8)).objectValue), type: "Location", id: bed, ifMatch: nil))
            }
            var browser = Browser(client: client)
            _ = try await Self.logIn(&browser)
            let empty = try await browser.send(.get, "/avdelning")
            #expect(empty.status == 200 && empty.html.contains("0 belagda · 2 lediga") && empty.html.contains("id=\"bed-bed1\""))
            let token = try #require(empty.field("formToken"))
            let unknown = try await browser.send(.post, "/avdelning/inskrivning", form: [("formToken", token), ("bed", "bed1"), ("patient", "191212121212")])
            #expect(unknown.status == 400 && unknown.html.contains("id=\"error-bed1\"") && unknown.html.contains("value=\"191212121212\""))
            let admitted = try await browser.send(.post, "/avdelning/inskrivning", form: [("formToken", token), ("bed", "bed1"), ("patient", "19500203-9286"),
                                                                                          ("source", "akuten"), ("reason", "Pneumoni")])
            #expect(admitted.status == 303)
            let diagnosis = #"{"resourceType":"Condition","id":"d1","meta":{"tag":[{"system":"https://karna.se/fhir/CodeSystem/vardenhet","code":"vc"}]},"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-category","code":"encounter-diagnosis"}]}],"code":{"text":"Samhällsförvärvad pneumoni"},"subject":{"reference":"Patient/p1"},"recordedDate":"2026-12-01"}"#
            _ = try await job.commit(.update(try #require(try JSONParser.parse(Array(diagnosis.utf8)).objectValue), type: "Condition", id: "d1", ifMatch: nil))
            let ward = try await browser.send(.get, "/avdelning")
            #expect(ward.html.contains("1 belagda · 1 lediga") && ward.html.contains("Ek, Greta"))
            // One line a bed: the allergy among the signals, the diagnosis, who admitted (responsible), the day of the stay, and one action menu.
            let start = try #require(ward.html.range(of: "id=\"bed-bed1\"")).lowerBound
            let row = VisibleText.of(String(ward.html[start...]).components(separatedBy: "</tr>")[0])
            #expect(row.contains("Allergi: Jordnöt") && row.contains("Samhällsförvärvad pneumoni") && row.contains("dag 1") && row.contains(", läkare")
                    && row.contains("Åtgärder"), "\(row)")
            #expect(ward.html.matches(of: /<details class="actions">/).count == 1, "one action menu for the one occupied bed")
            let stay = try #require(ward.html.firstMatch(of: /action="\/avdelning\/([^\/"]+)\/flytta"/)?.1).description
            let taken = try await browser.send(.post, "/avdelning/inskrivning", form: [("formToken", token), ("bed", "bed1"), ("patient", "19500203-9286")])
            #expect(taken.status == 400, "an occupied bed takes no second patient")
            #expect(try await browser.send(.post, "/avdelning/\(stay)/flytta", form: [("formToken", token), ("bed", "bed1"), ("toBed", "bed2")]).status == 303)
            let moved = try await browser.send(.get, "/avdelning")
            #expect(try #require(moved.html.range(of: "id=\"bed-bed2\"")).lowerBound < (moved.html.range(of: "Ek, Greta")?.lowerBound ?? moved.html.startIndex))
            #expect(try await browser.send(.post, "/avdelning/\(stay)/permission", form: [("formToken", token), ("bed", "bed2")]).status == 303)
            #expect(try await browser.send(.get, "/avdelning").html.contains("1 på permission"))
            #expect(try await browser.send(.post, "/avdelning/\(stay)/ater", form: [("formToken", token), ("bed", "bed2")]).status == 303)
            let discharged = try await browser.send(.post, "/avdelning/\(stay)/skriv-ut", form: [("formToken", token), ("bed", "bed2"), ("destination", "hem")])
            #expect(discharged.status == 303)
            let after = try await browser.send(.get, try #require(discharged.location))
            #expect(after.html.contains("0 belagda · 2 lediga") && after.html.contains("Utskriven"))
        }
    }

    @Test("planned admissions: planned for a day by personnummer (wrong input said at its field and kept), written in on the day into a free bed, or cancelled",
          arguments: backends)
    func plannedAdmissions(_ backend: StoreBackend) async throws {
        try await Self.withApp(backend) { services, client in
            let job = services.gateway.session(.job("web-tests"), action: "create")
            let json = #"{"resourceType":"Location","id":"bed1","name":"Säng 1","status":"active","physicalType":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/location-physical-type","code":"bd"}]},"managingOrganization":{"reference":"Organization/vc"}}"#
            _ = try await job.commit(.update(try #require(try JSONParser.parse(Array(json.utf8)).objectValue), type: "Location", id: "bed1", ifMatch: nil))
            var browser = Browser(client: client)
            _ = try await Self.logIn(&browser)
            let empty = try await browser.send(.get, "/avdelning")
            #expect(empty.html.contains("Inga planerade inskrivningar"))
            let token = try #require(empty.field("formToken"))
            let (inTwoDays, inFiveDays) = (SwedishTime.formatDay(SwedishTime.today + 2), SwedishTime.formatDay(SwedishTime.today + 5))

            let wrong = try await browser.send(.post, "/avdelning/planera", form: [("formToken", token), ("patient", "191212121212"), ("plannedDate", ""), ("reason", "Höftprotes")])
            #expect(wrong.status == 400 && wrong.html.contains("id=\"plan-patient-error\"") && wrong.html.contains("id=\"plan-date-error\"")
                    && wrong.html.contains("value=\"Höftprotes\"") && wrong.html.contains("<details open><summary>Planera en inskrivning"))
            let past = try await browser.send(.post, "/avdelning/planera", form: [("formToken", token), ("patient", "19500203-9286"),
                                                                                   ("plannedDate", SwedishTime.formatDay(SwedishTime.today - 1))])
            #expect(past.status == 400 && past.html.contains("Dagen har redan varit") && !past.html.contains("id=\"plan-patient-error\""))
            let backwards = try await browser.send(.post, "/avdelning/planera", form: [("formToken", token), ("patient", "19500203-9286"), ("plannedDate", inFiveDays),
                                                                                        ("expected", inTwoDays)])
            #expect(backwards.status == 400 && backwards.html.contains("id=\"plan-expected-error\""))
            for _ in 0..<2 {
                let planned = try await browser.send(.post, "/avdelning/planera", form: [("formToken", token), ("patient", "19500203-9286"), ("plannedDate", inTwoDays),
                                                                                          ("expected", inFiveDays), ("reason", "Höftprotes")])
                #expect(planned.status == 303)
            }
            let list = try await browser.send(.get, "/avdelning")
            let stays = list.html.matches(of: /id="planned-([^"]+)"/).map { String($0.1) }
            #expect(stays.count == 2 && list.html.contains("<td>\(inTwoDays)</td>") && list.html.contains("Höftprotes") && list.html.contains("0 belagda · 1 lediga"))

            // On the day: the first into the free bed; the second cannot have the same bed, and is cancelled.
            #expect(try await browser.send(.post, "/avdelning/\(stays[0])/skriv-in", form: [("formToken", token), ("bed", "plan-\(stays[0])"), ("toBed", "bed1")]).status == 303)
            let written = try #require(try await services.store.read(type: "Encounter", id: stays[0])).object
            #expect(written["status"]?.stringValue == "in-progress" && (written["period"]?.objectValue?["start"]?.stringValue?.count ?? 0) > 10,
                    "the stay starts now, not on the planned date")
            let episodeID = try #require(written["episodeOfCare"]?.arrayValue?.first?.objectValue?["reference"]?.stringValue.flatMap { ResourceKey(reference: $0)?.id })
            #expect(try await services.store.read(type: "EpisodeOfCare", id: episodeID)?.object["status"]?.stringValue == "active")
            let taken = try await browser.send(.post, "/avdelning/\(stays[1])/skriv-in", form: [("formToken", token), ("bed", "plan-\(stays[1])"), ("toBed", "bed1")])
            #expect(taken.status == 400 && taken.html.contains("id=\"error-plan-\(stays[1])\""), "an occupied bed is said at the planned row")
            #expect(try await services.store.read(type: "Encounter", id: stays[1])?.object["status"]?.stringValue == "planned")
            #expect(try await browser.send(.post, "/avdelning/\(stays[1])/avboka", form: [("formToken", token), ("bed", "plan-\(stays[1])")]).status == 303)
            let after = try await browser.send(.get, "/avdelning")
            #expect(after.html.contains("1 belagda · 0 lediga") && after.html.contains("Inga planerade inskrivningar"))
            #expect(try await services.store.read(type: "Encounter", id: stays[1])?.object["status"]?.stringValue == "cancelled")

            // A patient the ward knows only through the planned stay: cancelling it ends that care relationship, and is still done and said.
            let newcomer = #"{"resourceType":"Patient","id":"p3","name":[{"family":"Nykomling","given":["Nils"]}],"birthDate":"1975-05-05","identifier":[{"system":"urn:oid:1.2.752.129.2.1.3.1","value":"197505052386"}]}"#
            _ = try await job.commit(.update(try #require(try JSONParser.parse(Array(newcomer.utf8)).objectValue), type: "Patient", id: "p3", ifMatch: nil))
            #expect(try await browser.send(.post, "/avdelning/planera", form: [("formToken", token), ("patient", "19750505-2386"), ("plannedDate", inTwoDays)]).status == 303)
            let third = try #require(try await browser.send(.get, "/avdelning").html.firstMatch(of: /id="planned-([^"]+)"/)?.1).description
            let cancelled = try await browser.send(.post, "/avdelning/\(third)/avboka", form: [("formToken", token), ("bed", "plan-\(third)")])
            #expect(cancelled.status == 303 && cancelled.location?.contains("avbokad") == true, "the cancellation is not refused afterwards for want of a relationship")
            #expect(try await services.store.read(type: "Encounter", id: third)?.object["status"]?.stringValue == "cancelled")
        }
    }

    @Test("another care provider's information shows only after the patient's consent, which the chart offers to register", arguments: backends)
    func consentForOtherProviders(_ backend: StoreBackend) async throws {
        try await Self.withApp(backend) { services, client in
            let job = services.gateway.session(.job("web-tests"), action: "create")
            let tag = #""meta":{"tag":[{"system":"https://karna.se/fhir/CodeSystem/vardenhet","code":"privat-vc"}]}"#
            for (type, id, json) in [
                ("Organization", "privat", #"{"resourceType":"Organization","id":"privat","name":"Privatvård AB"}"#),
                ("Organization", "privat-vc", #"{"resourceType":"Organization","id":"privat-vc","name":"Privata vårdcentralen","partOf":{"reference":"Organization/privat"}}"#),
                ("Encounter", "pe1", #"{"resourceType":"Encounter","id":"pe1",\#(tag),"status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},"subject":{"reference":"Patient/p1"},"serviceProvider":{"reference":"Organization/privat-vc"},"period":{"start":"2026-10-01T10:00:00+02:00","end":"2026-10-01T10:30:00+02:00"}}"#),
                ("Observation", "po1", #"{"resourceType":"Observation","id":"po1",\#(tag),"status":"final","code":{"text":"Privat blodsocker"},"subject":{"reference":"Patient/p1"},"effectiveDateTime":"2026-10-01T10:10:00+02:00","valueQuantity":{"value":7.1,"unit":"mmol/L"}}"#),
            ] {
                _ = try await job.commit(.update(try #require(try JSONParser.parse(Array(json.utf8)).objectValue), type: type, id: id, ifMatch: nil))
            }
            await services.gateway.directory.invalidate()
            var browser = Browser(client: client)
            _ = try await Self.logIn(&browser)
            let before = try await browser.send(.get, "/patienter/p1")
            #expect(before.html.contains("Information hos andra vårdgivare") && before.html.contains("<strong>Privatvård AB</strong>"))
            #expect(!before.html.contains("Privat blodsocker"), "another provider's result is not shown without consent")
            let token = try #require(before.field("formToken"))
            let unconfirmed = try await browser.send(.post, "/patienter/p1/samtycke", form: [("formToken", token), ("provider", "privat"), ("days", "30")])
            #expect(unconfirmed.html.contains("id=\"consent-error\""), "the patient's consent must be confirmed")
            let consented = try await browser.send(.post, "/patienter/p1/samtycke", form: [("formToken", token), ("provider", "privat"), ("asked", "ja"), ("days", "30")])
            #expect(consented.status == 303)
            let after = try await browser.send(.get, "/patienter/p1")
            #expect(after.html.contains("Privat blodsocker") && !after.html.contains("Information hos andra vårdgivare"))
        }
    }

    @Test("administration: a unit, a user with an assignment who can then log in, a position's permissions, the fee schedule and the templates — errors at their fields",
          arguments: backends)
    func administration(_ backend: StoreBackend) async throws {
        try await Self.withApp(backend) { services, client in
            let job = try await Self.addAdministrator(services)
            var doc = Browser(client: client)
            _ = try await Self.logIn(&doc)
            #expect(try await doc.send(.get, "/admin/enheter").status == 403, "a doctor does not administer")

            var admin = Browser(client: client)
            _ = try await Self.logIn(&admin, username: "adm")
            let units = try await admin.send(.get, "/admin/enheter")
            #expect(units.status == 200 && units.html.contains("Vårdcentralen Ek"))
            let token = try #require(units.field("formToken"))
            let noID = try await admin.send(.post, "/admin/enheter", form: [("formToken", token), ("id", ""), ("name", "Avdelning 7")])
            #expect(noID.status == 400 && noID.html.contains("id=\"unit-id-error\"") && noID.html.contains("value=\"Avdelning 7\""))
            let noParent = try await admin.send(.post, "/admin/enheter", form: [("formToken", token), ("id", "avd-7"), ("name", "Avdelning 7"), ("parent", "finns-inte")])
            #expect(noParent.status == 400 && noParent.html.contains("id=\"unit-parent-error\""))
            #expect(try await admin.send(.post, "/admin/enheter", form: [("formToken", token), ("id", "avd-7"), ("name", "Avdelning 7"), ("parent", "vc")]).status == 303)
            #expect(try await admin.send(.get, "/admin/enheter").html.contains("<td>avd-7</td><td>Avdelning 7</td>"))

            // A unit renamed, given an HSA-id and moved within its care provider; a loop, another provider
            // and a stale form are refused at their fields with what the user typed kept.
            #expect(try await admin.send(.post, "/admin/enheter", form: [("formToken", token), ("id", "klinik"), ("name", "Kliniken"), ("parent", "vc")]).status == 303)
            #expect(try await admin.send(.post, "/admin/enheter", form: [("formToken", token), ("id", "privat"), ("name", "Privatvård AB")]).status == 303)
            let editing = try await admin.send(.get, "/admin/enheter?andra=avd-7")
            #expect(editing.html.contains("id=\"h-edit-unit\"") && editing.html.contains("id=\"edit-name\" name=\"editName\" type=\"text\" value=\"Avdelning 7\""))
            let version = try #require(editing.field("version"))
            func change(_ fields: [(String, String)]) async throws -> Browser.Page {
                try await admin.send(.post, "/admin/enhet/avd-7", form: [("formToken", token), ("version", version)] + fields)
            }
            let unnamed = try await change([("editName", ""), ("editHsa", "SE2321000016-ABCD"), ("editParent", "vc")])
            #expect(unnamed.status == 400 && unnamed.html.contains("id=\"edit-name-error\"") && unnamed.html.contains("value=\"SE2321000016-ABCD\""))
            let loop = try await admin.send(.post, "/admin/enhet/vc", form: [("formToken", token), ("version", "1"), ("editName", "Vårdcentralen Ek"), ("editParent", "avd-7")])
            #expect(loop.status == 400 && loop.html.contains("id=\"edit-parent-error\"") && loop.html.contains("avd-7 är en del av vc"))
            let elsewhere = try await change([("editName", "Avdelning 7B"), ("editParent", "privat")])
            #expect(elsewhere.status == 400 && elsewhere.html.contains("id=\"edit-parent-error\"") && elsewhere.html.contains("kan inte flyttas till Privatvård AB")
                    && elsewhere.html.contains("value=\"Avdelning 7B\""))
            #expect(try await change([("editName", "Avdelning 7B"), ("editParent", "")]).html.contains("kan inte bli en egen vårdgivare"), "nor made a provider of its own")
            let saved = try await change([("editName", "Avdelning 7B"), ("editHsa", "SE2321000016-ABCD"), ("editParent", "klinik")])
            #expect(saved.status == 303)
            let moved = try #require(try await services.gateway.directory.unit("avd-7"))
            #expect(moved.name == "Avdelning 7B" && moved.parentID == "klinik")
            #expect(try await services.gateway.directory.provider(of: "avd-7") == "vc")
            #expect(try await services.store.read(type: "Organization", id: "avd-7").map { JSONWriter.string(.object($0.object)) }?.contains("SE2321000016-ABCD") == true)
            let stale = try await change([("editName", "Avdelning 7C"), ("editParent", "klinik")])
            #expect(stale.status == 409 && stale.html.contains("value=\"Avdelning 7B\""), "a form from before someone's change shows their version")
            #expect(try await services.gateway.directory.unit("avd-7")?.name == "Avdelning 7B")

            let created = try await admin.send(.post, "/admin/anvandare", form: [("formToken", token), ("given", "Nils"), ("family", "Nyström"), ("username", "nils"),
                                                                                  ("unit", "avd-7"), ("position", "sjukskoterska"), ("purpose", "vard-och-behandling")])
            #expect(created.status == 200 && created.html.contains("Nils Nyström"))
            let password = try #require(created.html.firstMatch(of: /id="created-password">([^<]+)</)?.1).description
            let secret = try #require(created.html.firstMatch(of: /id="created-secret">([^<]+)</)?.1).description
            let again = try await admin.send(.post, "/admin/anvandare", form: [("formToken", token), ("given", "Nils"), ("family", "Annan"), ("username", "nils"),
                                                                                ("unit", "avd-7"), ("position", "sjukskoterska"), ("purpose", "vard-och-behandling")])
            #expect(again.status == 400 && again.html.contains("id=\"username-error\""))
            let practitioners = try await services.store.count(type: "Practitioner")
            let invalid = try await admin.send(.post, "/admin/anvandare", form: [("formToken", token), ("given", "Åsa"), ("family", "Öberg"), ("username", "åsa öberg"),
                                                                                  ("unit", "avd-7"), ("position", "sjukskoterska"), ("purpose", "vard-och-behandling")])
            #expect(invalid.status == 400 && invalid.html.contains("id=\"username-error\"") && invalid.html.contains("a–z, siffror")
                    && invalid.html.contains("value=\"Öberg\""))
            #expect(try await services.store.count(type: "Practitioner") == practitioners, "no practitioner without a login")
            var nils = Browser(client: client)
            let form = try await nils.send(.get, "/login")
            let login = try await nils.send(.post, "/login", form: [("csrf", try #require(form.field("csrf"))), ("username", "nils"), ("password", password),
                                                                     ("code", TOTP.code(secret: secret, step: TOTP.step(at: Date())) ?? "")])
            #expect(login.status == 303 && login.location == "/start", "the new user logs in under the new assignment")
            #expect(try await nils.send(.get, "/start").html.contains("Start – Avdelning 7"))

            #expect(try await admin.send(.post, "/admin/befattningar", form: [("formToken", token), ("code", "kassapersonal"), ("read", "Patient, Encounter"),
                                                                                 ("write", "ChargeItem")]).status == 303)
            #expect(try await admin.send(.get, "/admin/befattningar").html.contains("value=\"Encounter, Patient\""))

            let badFee = try await admin.send(.post, "/admin/taxa", form: [("formToken", token), ("fee-lakarbesok", "tvåhundra"), ("ceilings", "2026=1450"),
                                                                            ("freeBelowAge", "18"), ("freeFromAge", "85"), ("periodMonths", "12")])
            #expect(badFee.status == 400 && badFee.html.contains("id=\"fee-lakarbesok-error\"") && badFee.html.contains("value=\"tvåhundra\""))
            var fees = [("formToken", token), ("ceilings", "2026=1500"), ("freeBelowAge", "20"), ("freeFromAge", "85"), ("periodMonths", "12")]
            for type in VisitType.allCases { fees.append(("fee-\(type.rawValue)", type == .doctor ? "250" : "100")) }
            #expect(try await admin.send(.post, "/admin/taxa", form: fees).status == 303)
            let schedule = try await services.administration.cashier.schedule(session: job)
            #expect(schedule.fees["lakarbesok"] == 250 && schedule.freeBelowAge == 20 && schedule.ceiling(year: 2026) == 1_500)

            let templates = try await admin.send(.get, "/admin/mallar")
            #expect(templates.html.contains("Läkaranteckning, besök"))
            let broken = try await admin.send(.post, "/admin/mallar", form: [("formToken", token), ("templates", "[{\"code\": 1}]")])
            #expect(broken.status == 400 && broken.html.contains("id=\"templates-error\""))
        }
    }

    /// A reset password is the systemförvaltare's, not the user's: no app gets a token with it. The
    /// same login, once the user's own password is set, goes through to the app.
    @Test("the SMART login refuses a user whose reset password is not yet their own, and lets them in once it is", arguments: backends)
    func smartLoginWaitsForTheUsersOwnPassword(_ backend: StoreBackend) async throws {
        try await Self.withApp(backend) { services, client in
            try await services.tokens.clients.register(OAuthClient(id: "app", name: "Journalappen", kind: .publicApp, redirectURIs: ["http://127.0.0.1/callback"],
                                                                   scopes: "openid fhirUser user/*.rs"))
            var account = try #require(try await services.accounts.account("doc"))
            account.mustChangePassword = true
            try await services.accounts.save(account)
            func attempt(step: Int64) async throws -> Browser.Page {
                var browser = Browser(client: client)
                let form = try await browser.send(.get, "/auth/authorize?response_type=code&client_id=app&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcallback"
                                                  + "&scope=openid%20fhirUser%20user%2F*.rs&state=s1&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
                                                  + "&code_challenge_method=S256")
                #expect(form.status == 200)
                let hidden = try ["client_id", "redirect_uri", "scope", "state", "code_challenge", "csrf"].map { ($0, try #require(form.field($0))) }
                return try await browser.send(.post, "/auth/authorize", form: hidden + [("username", "doc"), ("password", Self.password),
                                                                                      ("code", TOTP.code(secret: Self.secret, step: step) ?? "")])
            }
            // The refused login uses the current 30-s code and the later one the next (each login needs a later code).
            let step = TOTP.step(at: Date())
            let refused = try await attempt(step: step)
            #expect(refused.status == 403 && refused.location == nil)
            #expect(refused.html.contains("Ditt lösenord har återställts. Logga in i Kärnas webbapp och välj ett eget lösenord först."))
            account.mustChangePassword = nil
            try await services.accounts.save(account)
            let allowed = try await attempt(step: step + 1)
            #expect(allowed.status == 302 && allowed.location?.hasPrefix("http://127.0.0.1/callback?code=") == true)
        }
    }

    @Test("accounts: a systemförvaltare resets a login, the user must choose a password first, then changes it again on Mitt konto; an assignment and a unit end",
          arguments: backends)
    func accountsAndTheirEnd(_ backend: StoreBackend) async throws {
        try await Self.withApp(backend) { services, client in
            let job = try await Self.addAdministrator(services)
            let nurse = try #require(Position.defaults.first { $0.code == "sjukskoterska" })
            _ = try await job.commit([.update(JSONObject([("resourceType", .string("Practitioner")), ("id", .string("sara"))]), type: "Practitioner", id: "sara", ifMatch: nil),
                                      .update(Assignment.resource(id: "sara-role", practitionerID: "sara", unitID: "vc", purpose: .care, position: nurse),
                                              type: "PractitionerRole", id: "sara-role", ifMatch: nil)])
            _ = try await services.accounts.create(username: "sara", kind: .practitioner, subjectID: "sara", displayName: "Sara Sjöberg",
                                                   password: Self.password, totpSecret: Self.secret)
            var admin = Browser(client: client)
            _ = try await Self.logIn(&admin, username: "adm")
            let users = try await admin.send(.get, "/admin/anvandare")
            #expect(users.html.contains("id=\"account-sara\"") && users.html.contains("Sara Sjöberg"))
            let token = try #require(users.field("formToken"))
            var doc = Browser(client: client)
            _ = try await Self.logIn(&doc)
            #expect(try await doc.send(.post, "/admin/konton/sara/nytt-losenord", form: [("formToken", try #require(try await doc.send(.get, "/start").field("formToken")))]).status == 403,
                    "only a systemförvaltare resets logins")

            // Sara is logged in before the reset with the current 30-s code; the later logins use the next one (each login
            // needs a later code). An earlier code than the current one failed whenever the server's clock passed a step.
            var saraBefore = Browser(client: client)
            let earlier = try await saraBefore.send(.post, "/login", form: [("csrf", try #require(try await saraBefore.send(.get, "/login").field("csrf"))),
                                                                             ("username", "sara"), ("password", Self.password),
                                                                             ("code", TOTP.code(secret: Self.secret, step: TOTP.step(at: Date())) ?? "")])
            #expect(earlier.status == 303)
            #expect(try await saraBefore.send(.get, "/start").status == 200)

            // The reset: the new password is shown once; Sara's next login opens only Mitt konto until she has chosen one.
            let reset = try await admin.send(.post, "/admin/konton/sara/nytt-losenord", form: [("formToken", token)])
            #expect(try await saraBefore.send(.get, "/start").location == "/login?orsak=andrad", "the reset ends the session the old password opened")
            #expect(reset.status == 200 && !reset.html.contains("id=\"created-secret\""))
            let temporary = try #require(reset.html.firstMatch(of: /id="created-password">([^<]+)</)?.1).description
            var sara = Browser(client: client)
            let form = try await sara.send(.get, "/login")
            let oldLogin = try await sara.send(.post, "/login", form: [("csrf", try #require(form.field("csrf"))), ("username", "sara"), ("password", Self.password),
                                                                        ("code", TOTP.code(secret: Self.secret, step: TOTP.step(at: Date()) + 1) ?? "")])
            #expect(oldLogin.status == 401, "the old password no longer works")
            let login = try await sara.send(.post, "/login", form: [("csrf", try #require(try await sara.send(.get, "/login").field("csrf"))), ("username", "sara"),
                                                                     ("password", temporary), ("code", TOTP.code(secret: Self.secret, step: TOTP.step(at: Date()) + 1) ?? "")])
            #expect(login.status == 303 && login.location == "/konto")
            #expect(try await sara.send(.get, "/start").location == "/konto", "nothing else opens before the password is chosen")
            let account = try await sara.send(.get, "/konto")
            #expect(account.html.contains("id=\"must-change\"") && !account.html.contains("href=\"/tidbok\""))
            let saraToken = try #require(account.field("formToken"))
            let short = try await sara.send(.post, "/konto/losenord", form: [("formToken", saraToken), ("current", temporary), ("new", "kort"), ("repeat", "kort")])
            #expect(short.status == 400 && short.html.contains("id=\"new-error\"") && short.html.contains("minst 12 tecken"))
            let mismatch = try await sara.send(.post, "/konto/losenord", form: [("formToken", saraToken), ("current", temporary), ("new", "mitt-nya-lösenord-7"),
                                                                                 ("repeat", "något annat")])
            #expect(mismatch.status == 400 && mismatch.html.contains("id=\"repeat-error\""))
            let wrong = try await sara.send(.post, "/konto/losenord", form: [("formToken", saraToken), ("current", "fel"), ("new", "mitt-nya-lösenord-7"),
                                                                              ("repeat", "mitt-nya-lösenord-7")])
            #expect(wrong.status == 400 && wrong.html.contains("id=\"current-error\""))
            let chosen = try await sara.send(.post, "/konto/losenord", form: [("formToken", saraToken), ("current", temporary), ("new", "mitt-nya-lösenord-7"),
                                                                               ("repeat", "mitt-nya-lösenord-7")])
            #expect(chosen.status == 303 && chosen.location == "/start")
            #expect(try await sara.send(.get, "/start").status == 200)
            let again = try await sara.send(.post, "/konto/losenord", form: [("formToken", saraToken), ("current", "mitt-nya-lösenord-7"),
                                                                              ("new", "ännu-ett-nytt-lösen"), ("repeat", "ännu-ett-nytt-lösen")])
            #expect(again.status == 200 && again.html.contains("Ditt lösenord är bytt."))
            #expect(try await sara.send(.get, "/start").status == 200, "the session that changed the password goes on")

            // A second assignment for Sara (at a new ward), then her first one ends: a session under it ends at the next page.
            #expect(try await admin.send(.post, "/admin/enheter", form: [("formToken", token), ("id", "avd"), ("name", "Avdelning 1"), ("parent", "vc")]).status == 303)
            let added = try await admin.send(.post, "/admin/uppdrag", form: [("formToken", token), ("practitioner", "sara"), ("unit", "avd"),
                                                                              ("position", "sjukskoterska"), ("purpose", "vard-och-behandling")])
            #expect(added.status == 303)
            #expect(try await services.gateway.directory.assignments(practitionerID: "sara").map(\.unitID).sorted() == ["avd", "vc"])
            #expect(try await admin.send(.post, "/admin/uppdrag/sara-role/avsluta", form: [("formToken", token)]).status == 303)
            #expect(try await services.gateway.directory.assignments(practitionerID: "sara").map(\.unitID) == ["avd"])
            #expect(try await sara.send(.get, "/start").location == "/login?orsak=andrad")
            #expect(try await admin.send(.post, "/admin/uppdrag/adm-role/avsluta", form: [("formToken", token)]).status == 400,
                    "the assignment one is logged in with is not ended from under one")

            // Disabled: the login is refused; a unit with assignments is not wound up, one without is.
            #expect(try await admin.send(.post, "/admin/konton/sara/stang-av", form: [("formToken", token)]).status == 303)
            #expect(try await services.accounts.account("sara")?.disabled == true)
            let refusedUnit = try await admin.send(.post, "/admin/enhet/avd/avveckla", form: [("formToken", token)])
            #expect(refusedUnit.status == 400 && refusedUnit.html.contains("id=\"units-error\""))
            #expect(try await admin.send(.post, "/admin/enheter", form: [("formToken", token), ("id", "avd-9"), ("name", "Avdelning 9"), ("parent", "vc")]).status == 303)
            #expect(try await admin.send(.post, "/admin/enhet/avd-9/avveckla", form: [("formToken", token)]).status == 303)
            #expect(try await services.gateway.directory.careUnits().contains { $0.id == "avd-9" } == false)
            #expect(try await admin.send(.get, "/admin/enheter").html.contains("Avvecklad"))
        }
    }

    @Test("a spärr on the patient's request: refused without the patient's request and a reason, then registered, audited and shown in the banner",
          arguments: backends)
    func blockOnThePatientsRequest(_ backend: StoreBackend) async throws {
        try await Self.withApp(backend) { services, client in
            let job = services.gateway.session(.job("web-tests"), action: "create")
            _ = try await job.commit([.update(JSONObject([("resourceType", .string("Organization")), ("id", .string("bvc")), ("name", .string("BVC Ek")),
                                                          ("partOf", Fixtures.reference("Organization/vc"))]), type: "Organization", id: "bvc", ifMatch: nil)])
            await services.gateway.directory.invalidate()
            var doc = Browser(client: client)
            _ = try await Self.logIn(&doc)
            let chart = try await doc.send(.get, "/patienter/p1")
            #expect(chart.html.contains("id=\"block-panel\"") && chart.html.contains("value=\"unit:bvc\"") && !chart.html.contains("tag warn\">Spärrad information finns"))
            let token = try #require(chart.field("formToken"))
            let uninformed = try await doc.send(.post, "/patienter/p1/sparr", form: [("formToken", token), ("what", "unit:bvc"), ("reason", "Vill inte")])
            #expect(uninformed.status == 400 && uninformed.html.contains("id=\"block-error\"") && uninformed.html.contains("value=\"Vill inte\""))
            let noReason = try await doc.send(.post, "/patienter/p1/sparr", form: [("formToken", token), ("what", "unit:bvc"), ("informed", "ja"), ("reason", " ")])
            #expect(noReason.status == 400 && noReason.html.contains("Skriv patientens skäl"))
            let blocked = try await doc.send(.post, "/patienter/p1/sparr", form: [("formToken", token), ("what", "unit:bvc"), ("informed", "ja"),
                                                                                   ("reason", "Patienten vill inte att BVC läser")])
            #expect(blocked.status == 200 && blocked.html.contains("id=\"block-notice\"") && blocked.html.contains("tag warn\">Spärrad information finns"))
            let audit = try await services.store.auditRecords(AuditQuery(patientID: "p1", action: "block", limit: 5))
            #expect(audit.count == 1 && audit.first?.entry.actor == "Practitioner/doc")
        }
    }

    @Test("a doctor writes a note from a template: an incomplete one stays a draft with the reason said, a complete one is signed and found by its sökord",
          arguments: backends)
    func writeAndSignANote(_ backend: StoreBackend) async throws {
        try await Self.withApp(backend) { _, client in
            var browser = Browser(client: client)
            _ = try await Self.logIn(&browser)
            let form = try await browser.send(.get, "/patienter/p1/anteckning/ny?mall=lakaranteckning-besok")
            #expect(form.status == 200 && form.html.contains("Läkaranteckning, besök") && form.html.contains("id=\"s-status\""))
            #expect(form.html.contains("Kontaktorsak (obligatoriskt för signering)"))
            let token = try #require(form.field("formToken"))

            // Bedömning is missing: the note is kept as a draft and the page says why it was not signed.
            let incomplete = try await browser.send(.post, "/patienter/p1/anteckning", form: [
                ("formToken", token), ("mall", "lakaranteckning-besok"), ("s-kontaktorsak", "Hosta sedan en vecka"), ("s-status", "Lungor: vesikulärt"),
                ("action", "signera")])
            #expect(incomplete.status == 200 && incomplete.html.contains("sparades som utkast men signerades inte"), "\(incomplete.html.suffix(600))")
            #expect(incomplete.html.contains("osignerad") && incomplete.html.contains("Hosta sedan en vecka"))

            let complete = try await browser.send(.post, "/patienter/p1/anteckning", form: [
                ("formToken", token), ("mall", "lakaranteckning-besok"), ("s-kontaktorsak", "Feber"), ("s-status", "Öron: röda trumhinnor"),
                ("s-bedomning", "Otit"), ("action", "signera")])
            #expect(complete.status == 303 && complete.location?.hasPrefix("/patienter/p1/journal?sparad=") == true)
            let confirmed = try await browser.send(.get, try #require(complete.location))
            #expect(VisibleText.of(confirmed.html).contains("Anteckningen är signerad. Visa anteckningen"), "signing is confirmed where the user is")
            let byHeading = try await browser.send(.get, "/patienter/p1/journal?sokord=bedomning")
            #expect(byHeading.status == 200 && byHeading.html.contains("Otit") && !byHeading.html.contains("Öron: röda trumhinnor"),
                    "the sökord filter shows only that heading across notes")
            let byText = try await browser.send(.get, "/patienter/p1/journal?text=trumhinnor")
            #expect(byText.html.contains("1 anteckning<") && byText.html.contains("Öron: röda trumhinnor"))
            #expect(!byText.html.contains("Hosta sedan en vecka"))

            // The signed note: its versions, a correction that keeps the earlier text, then entered-in-error.
            let signedID = String(try #require(complete.location?.firstMatch(of: /sparad=([^&]+)/)?.1))
            let page = try await browser.send(.get, "/anteckningar/\(signedID)")
            #expect(page.status == 200 && page.html.contains("Versioner") && page.html.contains("Signering") && page.html.contains("id=\"s-bedomning\""))
            let noReason = try await browser.send(.post, "/anteckningar/\(signedID)/ratta", form: [("formToken", token), ("s-bedomning", "Otitis media"), ("reason", " ")])
            #expect(noReason.status == 400 && noReason.html.contains("id=\"correct-error\"") && noReason.html.contains("Otitis media"),
                    "the reason is asked for at its field and the corrected text is kept")
            let corrected = try await browser.send(.post, "/anteckningar/\(signedID)/ratta", form: [
                ("formToken", token), ("s-kontaktorsak", "Feber"), ("s-status", "Öron: röda trumhinnor"), ("s-bedomning", "Otitis media"), ("reason", "Fel diagnosord")])
            #expect(corrected.status == 303)
            let history = try await browser.send(.get, "/anteckningar/\(signedID)")
            #expect(history.html.contains("Rättelse") && history.html.contains("Fel diagnosord") && history.html.contains("Otitis media"))
            #expect(try await browser.send(.get, "/patienter/p1/journal").html.contains("rättad"))
            let marked = try await browser.send(.post, "/anteckningar/\(signedID)/makulera", form: [("formToken", token), ("reason", "Fel patient")])
            #expect(marked.status == 303 && marked.location == "/patienter/p1/journal")
            #expect(!(try await browser.send(.get, "/patienter/p1/journal").html.contains("Otitis media")), "gone from the journal")
            let kept = try await browser.send(.get, "/anteckningar/\(signedID)")
            #expect(kept.status == 200 && kept.html.contains("felaktigt förd") && kept.html.contains("Fel patient"), "kept and reachable with its history")

            // The draft is signed from the journal once it is complete? Not yet: signing it as it is is refused, with the reason.
            let draftID = try #require(incomplete.html.components(separatedBy: "action=\"/anteckningar/").dropFirst().first?.prefix { $0 != "/" })
            let refused = try await browser.send(.post, "/anteckningar/\(draftID)/signera", form: [("formToken", token)])
            #expect(refused.status == 400 || refused.status == 409, "\(refused.status)")
        }
    }

    @Test("a patient is registered with a personnummer (a wrong one is said at the field with the text kept, a second record for it is refused) or with a reservnummer",
          arguments: backends)
    func registerPatients(_ backend: StoreBackend) async throws {
        try await Self.withApp(backend) { services, client in
            var browser = Browser(client: client)
            _ = try await Self.logIn(&browser)
            let form = try await browser.send(.get, "/registrera")
            #expect(form.status == 200 && form.html.contains("for=\"identity\""))
            let token = try #require(form.field("formToken"))

            let wrong = try await browser.send(.post, "/registrera", form: [("formToken", token), ("identity", "19121212-1213"), ("given", "Tolvan"), ("family", "")])
            #expect(wrong.status == 400 && wrong.html.contains("id=\"identity-error\"") && wrong.html.contains("id=\"family-error\""))
            #expect(wrong.field("given") == "Tolvan" && wrong.field("identity") == "19121212-1213", "what the user typed is kept")

            let made = try await browser.send(.post, "/registrera", form: [("formToken", token), ("identity", "19121212-1212"), ("given", "Tolvan"),
                                                                           ("family", "Tolvansson"), ("phone", "070-1234567")])
            #expect(made.status == 303 && made.location?.hasPrefix("/patienter/") == true, "\(made.status) \(made.html.suffix(500))")
            let id = Self.registeredID(made)
            let stored = try #require(try await services.store.read(type: "Patient", id: id))
            #expect(stored.object["birthDate"]?.stringValue == "1912-12-12" && stored.object["gender"]?.stringValue == "male")

            let again = try await browser.send(.post, "/registrera", form: [("formToken", token), ("identity", "191212121212"), ("given", "T"), ("family", "T")])
            #expect(again.status == 409 && again.html.contains("href=\"/patienter/\(id)\""), "the second record for one personnummer is refused, naming the first")

            let unknown = try await browser.send(.post, "/registrera/reservnummer", form: [("formToken", token), ("gender", "female"), ("year", "1970")])
            #expect(unknown.status == 303)
            let reserve = try #require(try await services.store.read(type: "Patient", id: Self.registeredID(unknown)))
            #expect(reserve.object["identifier"]?.arrayValue?.first?.objectValue?["system"]?.stringValue == Reservnummer.system)
            // The one who registered sees the reservnummer at once: registering is the care relationship it implies.
            let reserveNumber = try #require(reserve.object["identifier"]?.arrayValue?.first?.objectValue?["value"]?.stringValue)
            let opened = try await browser.send(.get, try #require(unknown.location))
            #expect(opened.status == 200 && VisibleText.of(opened.html).contains("Patienten är registrerad med reservnummer \(reserveNumber). Skriv reservnumret på patientens id-band."))

            // A child with a guardian, a relative and an interpreter need; a wrong guardian number is said at its field.
            let child: [(String, String)] = [("formToken", token), ("identity", "20150101-1231"), ("given", "Lilla"), ("family", "Barnsson"),
                                             ("interpreter", "ar"), ("relativeName", "Moster Barnsson"), ("relativeRelation", "FAMMEMB"),
                                             ("relativePhone", "070-1112223"), ("guardianName", "Fadime Barnsson"), ("guardianPhone", "070-9998887")]
            let badGuardian = try await browser.send(.post, "/registrera", form: child + [("guardianIdentity", "19800202-4564")])
            #expect(badGuardian.status == 400 && badGuardian.html.contains("id=\"guardianIdentity-error\"") && badGuardian.field("relativeName") == "Moster Barnsson")
            let noName = try await browser.send(.post, "/registrera", form: [("formToken", token), ("identity", "20150101-1231"), ("given", "Lilla"),
                                                                             ("family", "Barnsson"), ("relativePhone", "070-1")])
            #expect(noName.status == 400 && noName.html.contains("id=\"relativeName-error\""))
            let registered = try await browser.send(.post, "/registrera", form: child + [("guardianIdentity", "19800202-4563")])
            #expect(registered.status == 303)
            let childID = Self.registeredID(registered)
            let chart = try await browser.send(.get, "/patienter/\(childID)")
            #expect(chart.html.contains("Tolkbehov: Arabiska") && chart.html.contains("Närstående och vårdnadshavare"))
            #expect(chart.html.contains("Fadime Barnsson <span class=\"meta\">Vårdnadshavare · 070-9998887") && chart.html.contains("Moster Barnsson"))
        }
    }
}
