import Access
import FHIRCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import KarnaServer
import KarnaTesting
import NIOCore
import Store
import StoreModel
import Testing
@testable import WebApp

/// A note being written is never lost to the idle timeout: typing saves a draft on the server (and
/// counts as activity), the login after a timeout returns to the page, and the page brings the draft back.
@Suite("Drafts survive the session")
struct DraftTests {
    /// Ends the browser's session now, as if it had idled past its deadline.
    static func expire(_ browser: Browser, _ services: KarnaServices) async throws {
        let key = Secrets.sha256Hex(try #require(browser.cookies[WebApp<KarnaRequestContext>.sessionCookie]))
        let record = try #require(try await services.store.controlRecord(kind: WebSessions.kind, key: key))
        var stored = try JSONDecoder().decode(WebSessions.Stored.self, from: Data(record.json))
        stored.expiresAt = Instant.now() - 1
        try await services.store.writeControlRecords([ControlRecord(kind: WebSessions.kind, key: key, json: Array(try JSONEncoder().encode(stored)))],
                                                     deleting: [], audit: [])
    }

    @Test("typing saves a draft (audited under the patient); after a timeout the login returns to the note and the text is back; writing the note ends the draft",
          arguments: backends)
    func draftSurvivesTimeout(_ backend: StoreBackend) async throws {
        try await WebAppTests.withApp(backend) { services, client in
            var browser = Browser(client: client)
            _ = try await WebAppTests.logIn(&browser)
            let path = "/patienter/p1/anteckning/ny?mall=lakaranteckning-besok"
            let form = try await browser.send(.get, path)
            #expect(form.html.contains("data-draft=\"anteckning\" data-patient=\"p1\""))
            let token = try #require(form.field("formToken"))
            let before = try await services.store.auditRecords(AuditQuery(limit: 1)).first?.sequence ?? 0
            let saved = try await browser.send(.post, "/utkast", form: [("formToken", token), ("draftForm", "anteckning"), ("draftPatient", "p1"),
                                                                        ("mall", "lakaranteckning-besok"), ("s-kontaktorsak", "Yrsel sedan i morse")])
            #expect(saved.status == 200 && saved.html.contains("\"saved\":true") && saved.html.contains("\"seconds\":"))
            let audit = try await services.store.auditRecords(AuditQuery(patientID: "p1", afterSequence: before))
            #expect(audit.contains { $0.entry.action == "draft-save" && $0.entry.actor == "Practitioner/doc" })

            // The session ends; the next page sends the user to the login, which returns to the note.
            try await Self.expire(browser, services)
            let ended = try await browser.send(.get, path)
            let login = try #require(ended.location)
            #expect(ended.status == 303 && login == "/login?orsak=timeout&tillbaka=" + WebApp<KarnaRequestContext>.encoded(path))
            let loginPage = try await browser.send(.get, login)
            #expect(loginPage.field("tillbaka") == path)
            let again = try await browser.send(.post, "/login", form: [
                ("csrf", try #require(loginPage.field("csrf"))), ("username", "doc"), ("password", WebAppTests.password),
                ("code", TOTP.code(secret: WebAppTests.secret, step: TOTP.step(at: Date()) + 1) ?? ""), ("tillbaka", path)])
            #expect(again.status == 303 && again.location == path)
            let restored = try await browser.send(.get, try #require(again.location))
            #expect(restored.html.contains("Yrsel sedan i morse") && VisibleText.of(restored.html).contains("Ditt utkast från"))

            // Written into the journal: the draft is gone.
            let newToken = try #require(restored.field("formToken"))
            let written = try await browser.send(.post, "/patienter/p1/anteckning", form: [("formToken", newToken), ("mall", "lakaranteckning-besok"),
                                                                                          ("s-kontaktorsak", "Yrsel sedan i morse"), ("action", "spara")])
            #expect(written.status == 303)
            #expect(try await services.store.controlRecord(kind: "form-draft", key: "Practitioner/doc|p1|anteckning") == nil)
            #expect(!(try await browser.send(.get, "/patienter/p1/anteckning/ny").html.contains("Ditt utkast från")))
        }
    }

    @Test("a draft needs a ground for the patient; a login returns only to a page of the app", arguments: backends)
    func draftNeedsAccess(_ backend: StoreBackend) async throws {
        try await WebAppTests.withApp(backend) { services, client in
            var browser = Browser(client: client)
            _ = try await WebAppTests.logIn(&browser)
            let token = try #require(try await browser.send(.get, "/start").field("formToken"))
            let refused = try await browser.send(.post, "/utkast", form: [("formToken", token), ("draftForm", "anteckning"), ("draftPatient", "p2"),
                                                                          ("s-kontaktorsak", "Text")])
            #expect(refused.status == 403)
            #expect(try await services.store.controlRecords(kind: "form-draft", patientID: "p2").isEmpty)

            var other = Browser(client: client)
            let page = try await other.send(.get, "/login?tillbaka=//evil.example/")
            #expect(page.field("tillbaka") == nil)
            let login = try await other.send(.post, "/login", form: [
                ("csrf", try #require(page.field("csrf"))), ("username", "doc"), ("password", WebAppTests.password),
                ("code", TOTP.code(secret: WebAppTests.secret, step: TOTP.step(at: Date()) + 1) ?? ""), ("tillbaka", "https://evil.example/")])
            #expect(login.status == 303 && login.location == "/start")
        }
    }
}
