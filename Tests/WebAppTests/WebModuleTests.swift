import Access
import FHIRCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KarnaServer
import KarnaTesting
import Store
import StoreModel
import Testing
import WebApp

/// A module's pages reach the web app through `WebModule` alone: a module written here, in the test,
/// adds a menu entry, a tab on the patient's pages, a start-page section and a page of its own, without
/// the shell or another module being edited; its page runs signed in and what it reads is audited.
@Suite("A module's pages join the web app")
struct WebModuleTests {
    /// Fluid balance (vätskebalans): a tab on the patient's pages and a worklist on the start page.
    struct VitalsWeb: WebModule {
        var name: String { "VitalsPages" }
        var templates: URL? { nil }
        var menu: [MenuEntry] { [MenuEntry(title: "Vätskebalans", path: "/vatskebalans", nav: "navFluids") { $0.mayRead("Observation") }] }
        var patientTabs: [PatientTab] { [PatientTab(key: "fluids", title: "Vätskebalans", suffix: "/vatskebalans")] }

        func register<Context: RequestContext>(on signed: RouterGroup<SignedInContext<Context>>, app: WebApp<Context>) {
            signed.get("patienter/:id/vatskebalans") { _, context in
                try await context.page { user in
                    let patientID = try context.parameters.require("id")
                    let (banner, status) = try await app.header(patientID: patientID, session: user.data(app.gateway, action: "vitals"))
                    guard banner != nil else {
                        return try await app.accessPage(patientID: patientID, status: status, user: user, form: [:], errors: [:])
                    }
                    return app.message(user: user, heading: "Vätskebalans för \(banner?["name"] as? String ?? "")", text: "Inga mätningar.", status: .ok)
                }
            }
        }

        func startSections<Context: RequestContext>(for user: WebUser, app: WebApp<Context>) async throws -> [StartSection] {
            [StartSection(rank: 15, html: #"<section class="panel" id="vitals-worklist"><h2>Att mäta</h2></section>"#)]
        }
    }

    @Test("its menu entry, tab, start section and page are there, in order, signed in and audited", arguments: backends)
    func moduleJoinsTheWebApp(_ backend: StoreBackend) async throws {
        try await WebAppTests.withApp(backend, pages: [VitalsWeb()]) { services, client in
            var browser = Browser(client: client)
            _ = try await WebAppTests.logIn(&browser)
            let start = try await browser.send(.get, "/start").html
            #expect(start.contains(#"<a href="/vatskebalans">Vätskebalans</a>"#), "the menu has the module's entry")
            let visits = try #require(start.range(of: "Dagens besök på enheten")), vitals = try #require(start.range(of: "Att mäta")),
                unsigned = try #require(start.range(of: "Mina osignerade anteckningar"))
            #expect(visits.lowerBound < vitals.lowerBound && vitals.lowerBound < unsigned.lowerBound, "rank 15 stands between 10 and 20")
            let chart = try await browser.send(.get, "/patienter/p1").html
            #expect(chart.contains(#"<a href="/patienter/p1/vatskebalans">Vätskebalans</a>"#), "the patient's pages have the module's tab")

            let before = try await services.store.auditRecords(AuditQuery(limit: 1)).first?.sequence ?? 0
            let page = try await browser.send(.get, "/patienter/p1/vatskebalans")
            #expect(page.status == 200 && page.html.contains("Vätskebalans för Ek, Greta"))
            let audited = try await services.store.auditRecords(AuditQuery(patientID: "p1", afterSequence: before))
            #expect(audited.contains { $0.entry.action == "vitals" && $0.entry.outcome == "allowed" }, "\(audited.map { ($0.entry.action, $0.entry.outcome) })")
            // The Patientdatalag question comes first for a patient without a ground, as on every patient page.
            #expect(try await browser.send(.get, "/patienter/p2/vatskebalans").status == 403)
        }
        // Without it, none of that is there.
        try await WebAppTests.withApp(backend) { _, client in
            var browser = Browser(client: client)
            _ = try await WebAppTests.logIn(&browser)
            #expect(!(try await browser.send(.get, "/start").html.contains("Vätskebalans")))
            #expect(try await browser.send(.get, "/patienter/p1/vatskebalans").status == 404)
        }
    }
}
