import FHIRCore
import Foundation
import HTTPTypes
import KarnaTesting
import Testing

@Suite("The maternity pages read right: registration, the worklist, the visit with AUDIT, the gravidogram, risk, the partogram, the birth, the MFR sheets")
struct MaternityPageTests {
    @Test("a pregnancy from registration to the birth as the midwife and the delivery ward see it", arguments: backends)
    func pregnancyToBirth(_ backend: StoreBackend) async throws {
        try await WebAppTests.withApp(backend) { _, client in
            var browser = Browser(client: client)
            _ = try await WebAppTests.logIn(&browser)
            var page = try await browser.send(.get, "/patienter/p1/graviditet")
            #expect(VisibleText.of(page.html).contains("Ingen pågående graviditet är inskriven."))
            let token = try #require(page.field("formToken"))
            // Registration: a bad date is named, the form keeps what was typed.
            let today = SwedishTime.today
            let lmp = SwedishTime.formatDay(today - 25 * 7)
            let bad = try await browser.send(.post, "/patienter/p1/graviditet", form: [("formToken", token), ("lastMenstrualPeriod", "1 maj"), ("parity", "1"), ("gravidity", "2")])
            #expect(bad.status == 400 && VisibleText.of(bad.html).contains("Ange datum som ÅÅÅÅ-MM-DD."))
            let registered = try await browser.send(.post, "/patienter/p1/graviditet", form: [("formToken", token), ("lastMenstrualPeriod", lmp), ("parity", "1"),
                                                                                               ("gravidity", "2"), ("previousPregnancies", "Kejsarsnitt 2019")])
            #expect(registered.status == 303)
            var text = VisibleText.of(try await browser.send(.get, try #require(registered.location)).html)
            #expect(text.contains("Graviditeten är inskriven och basprogrammet lagt som vårdplan.") && text.contains("v 25+0"))
            #expect(text.contains("Inskrivning (besök 1 och 2)") && text.contains("Försenat") && text.contains("Kejsarsnitt 2019"))
            #expect(text.contains("DEMONSTRATION: inga publicerade veckovärden") && !text.contains("förlöst"))
            // The worklist: her overdue visits and the missing AUDIT.
            text = VisibleText.of(try await browser.send(.get, "/mvc").html)
            #expect(text.contains("Ek, Greta") && text.contains("v 25+0") && text.contains("Vecka 25") && text.contains("AUDIT (alkohol senaste året)"))
            #expect(text.contains("1 graviditeter har försenade besök eller saknade uppgifter."))
            // The visit form for the registration visit, with AUDIT's questions.
            let overview = try await browser.send(.get, "/patienter/p1/graviditet").html
            let pregnancyID = try #require(overview.range(of: "/graviditet/").map { String(overview[$0.upperBound...].prefix { $0 != "/" }) })
            page = try await browser.send(.get, "/graviditet/\(pregnancyID)/besok?visit=inskrivning")
            text = VisibleText.of(page.html)
            #expect(text.contains("Inskrivning (besök 1 och 2)") && text.contains("Hur ofta dricker du alkohol?") && text.contains("Blodtryck"))
            let partial = try await browser.send(.post, "/graviditet/\(pregnancyID)/besok", form: [("formToken", token), ("visit", "inskrivning"), ("hb", "128"),
                                                                                                ("audit.1", "audit-1-1")])
            #expect(partial.status == 400 && VisibleText.of(partial.html).contains("AUDIT: fråga 2 är inte besvarad."))
            var answers = [("formToken", token), ("visit", "inskrivning"), ("hb", "128"), ("vikt", "70"), ("langd", "165"), ("blodtryck", "118/72"), ("tobak", "aldrig")]
            for question in 1...10 { answers.append(("audit.\(question)", "audit-\(question)-0")) }
            #expect(try await browser.send(.post, "/graviditet/\(pregnancyID)/besok", form: answers).status == 303)
            // Week 25: an SF-mått far below the band raises the task, shown on the overview with the gravidogram.
            let saved = try await browser.send(.post, "/graviditet/\(pregnancyID)/besok", form: [("formToken", token), ("visit", "v25"), ("sf", "17"), ("blodtryck", "120/75")])
            #expect(saved.status == 303)
            text = VisibleText.of(try await browser.send(.get, try #require(saved.location)).html)
            #expect(text.contains("SF-måttet: Första SF-måttet under −2 SD. Uppgift: Remiss för tillväxtultraljud."))
            page = try await browser.send(.get, "/patienter/p1/graviditet")
            text = VisibleText.of(page.html)
            #expect(page.html.contains("<svg") && page.html.contains("SF-mått per graviditetsvecka, 1 mätningar, med referenskurvans medelvärde och ±2 SD"))
            #expect(text.contains("Remiss för tillväxtultraljud") && text.contains("25+0") && text.contains("−3,9"))
            // Risk assessment: the chosen factor and the recorded ones, with an individual plan.
            let risk = try await browser.send(.post, "/graviditet/\(pregnancyID)/risk", form: [("formToken", token), ("factor-tidigare-kejsarsnitt", "ja")])
            #expect(risk.status == 303)
            text = VisibleText.of(try await browser.send(.get, try #require(risk.location)).html)
            #expect(text.contains("Riskbedömningen är sparad: 40 år eller äldre; Tidigare kejsarsnitt. En individuell vårdplan är öppnad."))
            #expect(text.contains("Individuell vårdplan") && text.contains("Samtal om förlossningssätt med läkare v 32–34."))
            // The delivery ward: admission, the partogram, a bad value named, the birth.
            page = try await browser.send(.get, "/forlossning/ny?patient=p1")
            #expect(VisibleText.of(page.html).contains("Ek, Greta"))
            let admitted = try await browser.send(.post, "/forlossning/ny", form: [("formToken", token), ("patient", "p1")])
            #expect(admitted.status == 303)
            let partogramPath = try #require(admitted.location?.split(separator: "?").first.map(String.init))
            text = VisibleText.of(try await browser.send(.get, try #require(admitted.location)).html)
            #expect(text.contains("Inskriven på förlossningen, graviditeten är kopplad.") && text.contains("Inget registrerat ännu."))
            let wrong = try await browser.send(.post, partogramPath + "/partogram", form: [("formToken", token), ("cervix", "12")])
            #expect(wrong.status == 400 && VisibleText.of(wrong.html).contains("Öppning (cervix) ska vara 0–10 cm."))
            #expect(try await browser.send(.post, partogramPath + "/partogram", form: [("formToken", token), ("cervix", "4"), ("fosterljud", "140")]).status == 303)
            page = try await browser.send(.get, partogramPath)
            #expect(page.html.contains("Partogram: öppning i cm per timme sedan inskrivningen, 1 undersökningar") && VisibleText.of(page.html).contains("Enligt förväntat"))
            #expect(VisibleText.of(page.html).contains("Fosterljud (rött) och moderns puls (blått) per minut") && !VisibleText.of(page.html).contains("Värkar per 10 minuter,"))
            let noWeight = try await browser.send(.post, partogramPath + "/fodelse", form: [("formToken", token), ("gender", "female"), ("mode", "vaginal")])
            #expect(noWeight.status == 400 && VisibleText.of(noWeight.html).contains("Vikt: ange ett tal."))
            let born = try await browser.send(.post, partogramPath + "/fodelse", form: [("formToken", token), ("gender", "female"), ("mode", "vaginal"), ("weight", "3400"),
                                                                                       ("length", "50"), ("head", "34"), ("apgar1", "8"), ("apgar5", "9")])
            #expect(born.status == 303)
            let bornPage = try await browser.send(.get, try #require(born.location)).html
            text = VisibleText.of(bornPage)
            #expect(text.contains("Barnet är registrerat med reservnummer") && text.contains("Barnets journal"))
            // The child's chart names the mother.
            let before = try #require(bornPage.components(separatedBy: "\">Barnets journal").first)
            let childID = try #require(before.components(separatedBy: "/patienter/").last)
            text = VisibleText.of(try await browser.send(.get, "/patienter/\(childID)").html)
            #expect(text.contains("Barn till Ek, Greta") && text.contains("Mor") && text.contains("195002039286"))
            // The MFR sheets from the stored data.
            text = VisibleText.of(try await browser.send(.get, "/graviditet/\(pregnancyID)/mfr").html)
            #expect(text.contains("MHV 1 – Inskrivning på mödrahälsovården") && text.contains("FV 2 – Barnet") && text.contains("3400") && text.contains("195002039286"))
            // The sheets name what the codes mean: the mode, the sex, the dating, the unit.
            #expect(text.contains("Vaginal förlossning") && text.contains("Flicka") && text.contains("Sista mens") && !text.contains("female"))
        }
    }
}
