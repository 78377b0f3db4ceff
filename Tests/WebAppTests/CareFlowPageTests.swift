import Access
import FHIRCore
import Foundation
import HTTPTypes
import KarnaServer
import KarnaTesting
import Store
import StoreModel
import Testing

@Suite("The care-flow pages read right: arrival of an unknown patient, triage with its colour, the board, the decision, the ED times, NEWS2, day surgery")
struct CareFlowPageTests {
    @Test("an unidentified patient from arrival to home, on the board and in the day's times", arguments: backends)
    func emergencyVisit(_ backend: StoreBackend) async throws {
        try await WebAppTests.withApp(backend) { services, client in
            var browser = Browser(client: client)
            _ = try await WebAppTests.logIn(&browser)
            let form = try await browser.send(.get, "/akut/ankomst")
            #expect(VisibleText.of(form.html).contains("Ankomst till akuten"))
            let token = try #require(form.field("formToken"))
            let unknownNumber = try await browser.send(.post, "/akut/ankomst", form: [("formToken", token), ("number", "19121212-1213"), ("mode", "egen")])
            #expect(unknownNumber.status == 400 && VisibleText.of(unknownNumber.html).contains("Numret är varken ett giltigt personnummer"))
            let arrived = try await browser.send(.post, "/akut/ankomst", form: [("formToken", token), ("unidentified", "ja"), ("gender", "male"), ("birthYear", "1960"),
                                                                               ("note", "Tatuering"), ("mode", "ambulans"), ("complaint", "Medvetslös")])
            #expect(arrived.status == 303)
            let visitPath = try #require(arrived.location?.split(separator: "?").first.map(String.init))
            let id = String(visitPath.dropFirst("/akut/besok/".count))
            var page = VisibleText.of(try await browser.send(.get, try #require(arrived.location)).html)
            #expect(page.contains("Ankomsten är registrerad. Triagera patienten.") && page.contains("Ej triagerad") && page.contains("DEMONSTRATIONSTABELL"))
            // Blood, lab and imaging orders straight from the visit of a patient still on a reservnummer.
            let visitHTML = try await browser.send(.get, visitPath).html
            let orderPath = try #require(visitHTML.range(of: #"/patienter/[^"]+/bestall"#, options: .regularExpression).map { String(visitHTML[$0]) })
            #expect(VisibleText.of(visitHTML).contains("Beställ prov eller röntgen"))
            let orderForm = try await browser.send(.get, orderPath)
            let ordered = try await browser.send(.post, orderPath, form: [("formToken", try #require(orderForm.field("formToken"))), ("code", "NPU28309"), ("priority", "stat")])
            let afterOrder = VisibleText.of(try await browser.send(.get, try #require(ordered.location)).html)
            #expect(ordered.status == 303 && afterOrder.contains("är registrerad med beställningsnummer"))
            // The live colour: what the form's fields give now, without saving.
            let live = try await browser.send(.post, "/akut/farg", form: [("formToken", token), ("respiratoryRate", "32"), ("pulse", "80")])
            #expect(live.html.contains("Prioritet: Röd (vitalparametrar röd)"))
            let withCard = try await browser.send(.post, "/akut/farg", form: [("formToken", token), ("pulse", "80"), ("complaintLevel", "006|orange")])
            #expect(withCard.html.contains("Prioritet: Orange (vitalparametrar grön, sökorsak orange)"))
            let bad = try await browser.send(.post, "/akut/besok/\(id)/triage", form: [("formToken", token), ("pulse", "snabb")])
            #expect(bad.status == 400 && VisibleText.of(bad.html).contains("Puls ska vara ett tal."))
            let triaged = try await browser.send(.post, "/akut/besok/\(id)/triage", form: [("formToken", token), ("respiratoryRate", "32"), ("spo2", "85"),
                                                                                         ("pulse", "120"), ("consciousness", "U"), ("airway", "fri")])
            #expect(triaged.status == 303)
            page = VisibleText.of(try await browser.send(.get, try #require(triaged.location)).html)
            #expect(page.contains("Triage sparad: Röd.") && page.contains("Triagehistorik"))
            // The board: the row with its colour and complaint; the rows alone for the live refresh.
            let board = VisibleText.of(try await browser.send(.get, "/akut").html)
            #expect(board.contains("Akuttavla") && board.contains("Röd") && board.contains("Medvetslös") && board.contains("Okänd patient") && board.contains("1 patienter"))
            let rows = try await browser.send(.get, "/akut/tavla")
            #expect(rows.status == 200 && !rows.html.contains("<html") && rows.html.contains("/akut/besok/\(id)"))
            // The decision: the doctor takes the patient, ready for decision, home.
            #expect(try await browser.send(.post, "/akut/besok/\(id)/lakare", form: [("formToken", token)]).status == 303)
            #expect(try await browser.send(.post, "/akut/besok/\(id)/beslut", form: [("formToken", token)]).status == 303)
            let noWard = try await browser.send(.post, "/akut/besok/\(id)/avsluta", form: [("formToken", token), ("disposition", "inlaggning")])
            #expect(noWard.status == 400 && VisibleText.of(noWard.html).contains("Välj avdelning för inläggningen."))
            let home = try await browser.send(.post, "/akut/besok/\(id)/avsluta", form: [("formToken", token), ("disposition", "hem"), ("note", "Åter vid behov")])
            #expect(home.status == 303)
            #expect(VisibleText.of(try await browser.send(.get, try #require(home.location)).html).contains("Besöket är avslutat: Hem."))
            #expect(VisibleText.of(try await browser.send(.get, "/akut").html).contains("Inga patienter på akuten."))
            let times = VisibleText.of(try await browser.send(.get, "/akut/ledtider").html)
            #expect(times.contains("Tid till triage (TTT)") && times.contains("1 besök, 0 pågår"))
            _ = services
        }
    }

    @Test("vital signs on the chart give NEWS2 and its response; day surgery is not discharged until the criteria are recorded", arguments: backends)
    func vitalSignsAndDaySurgery(_ backend: StoreBackend) async throws {
        try await WebAppTests.withApp(backend) { _, client in
            var browser = Browser(client: client)
            _ = try await WebAppTests.logIn(&browser)
            let form = try await browser.send(.get, "/patienter/p1/vitalparametrar")
            #expect(VisibleText.of(form.html).contains("Inga vitalparametrar registrerade."))
            let token = try #require(form.field("formToken"))
            let saved = try await browser.send(.post, "/patienter/p1/vitalparametrar", form: [
                ("formToken", token), ("respiratoryRate", "24"), ("spo2", "94"), ("oxygenFlow", "2"), ("temperature", "38,5"), ("systolic", "105"),
                ("diastolic", "60"), ("pulse", "115"), ("consciousness", "A")])
            #expect(saved.status == 303)
            var page = VisibleText.of(try await browser.send(.get, try #require(saved.location)).html)
            #expect(page.contains("NEWS2 9 – responsnivå hög") && page.contains("105/60"))
            let partial = try await browser.send(.post, "/patienter/p1/vitalparametrar", form: [("formToken", token), ("pulse", "88")])
            page = VisibleText.of(try await browser.send(.get, try #require(partial.location)).html)
            #expect(page.contains("NEWS2 räknas inte ut, det saknas: andningsfrekvens, saturation, systoliskt blodtryck, medvetandegrad, temperatur."))
            // Day surgery today at the user's unit.
            let today = SwedishTime.formatDay(SwedishTime.today)
            let booked = try await browser.send(.post, "/patienter/p1/dagkirurgi", form: [("formToken", token), ("date", today), ("procedure", "Knäartroskopi")])
            #expect(booked.status == 303)
            let list = try await browser.send(.get, try #require(booked.location))
            #expect(VisibleText.of(list.html).contains("Knäartroskopi"))
            let visit = try #require(list.html.range(of: "/dagkirurgi/").map { list.html[$0.upperBound...].prefix { $0 != "\"" } }.map(String.init))
            #expect(try await browser.send(.post, "/dagkirurgi/\(visit)/ankomst", form: [("formToken", token)]).status == 303)
            let blocked = try await browser.send(.post, "/dagkirurgi/\(visit)/skriv-ut", form: [("formToken", token)])
            #expect(blocked.status == 400 && VisibleText.of(blocked.html).contains("Patienten kan inte skrivas ut förrän alla kriterier är uppfyllda. Saknas: Vitalparametrar stabila"))
            let criteria = ["vitalparametrar-stabila", "kan-sta", "blodning", "smarta", "illamaende", "egenvardsrad"].map { ("item_\($0)", "ja") }
            #expect(try await browser.send(.post, "/dagkirurgi/\(visit)/utskrivning", form: [("formToken", token)] + criteria).status == 303)
            let home = try await browser.send(.post, "/dagkirurgi/\(visit)/skriv-ut", form: [("formToken", token)])
            #expect(home.status == 303)
            page = VisibleText.of(try await browser.send(.get, try #require(home.location)).html)
            #expect(page.contains("Patienten är hemgången. Telefonuppföljning i morgon ligger på enhetens lista.") && page.contains("Ek, Greta – ring senast"))
        }
    }
}
