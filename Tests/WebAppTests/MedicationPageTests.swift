import Access
import FHIRCore
import Foundation
import HTTPTypes
import KarnaServer
import KarnaTesting
import Store
import StoreModel
import Testing

@Suite("The medication pages read right: the patient's läkemedelslista and doses, the ward's MAR, verbal orders on the start page")
struct MedicationPageTests {
    static func write(_ services: KarnaServices, _ type: String, _ json: String) async throws {
        var object = try #require(try JSONParser.parse(Array(json.utf8)).objectValue)
        // Written at the vårdcentral, as the fixture's allergy is: the doctor there reads them.
        var meta = object["meta"]?.objectValue ?? JSONObject()
        meta.append("tag", FHIR.coding("https://karna.se/fhir/CodeSystem/vardenhet", "vc"))
        object["meta"] = .object(meta)
        _ = try await services.gateway.session(.job("web-tests"), action: "create").commit(.update(object, type: type, id: object["id"]?.stringValue ?? "", ifMatch: nil))
    }

    @Test("the Läkemedel tab lists each drug with its source, reason and dosage, and today's planned doses; the ward page lists its inpatients' doses; an ordinator sees the verbal orders to confirm", arguments: backends)
    func pages(_ backend: StoreBackend) async throws {
        try await WebAppTests.withApp(backend) { services, client in
            let start = SwedishTime.formatDay(SwedishTime.today - 1)
            try await Self.write(services, "Encounter", #"{"resourceType":"Encounter","id":"e2","status":"in-progress","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"IMP"},"subject":{"reference":"Patient/p1"},"serviceProvider":{"reference":"Organization/vc"},"period":{"start":"\#(start)"}}"#)
            try await Self.write(services, "MedicationRequest", #"""
                {"resourceType":"MedicationRequest","id":"rx1","status":"active","intent":"order",
                 "category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/medicationrequest-category","code":"inpatient"}]}],
                 "medicationCodeableConcept":{"coding":[{"system":"http://www.whocc.no/atc","code":"N02BE01"}],"text":"Paracetamol 500 mg"},
                 "subject":{"reference":"Patient/p1"},"requester":{"reference":"PractitionerRole/doc-role","display":"Doktor Ek"},"reasonCode":[{"text":"Smärta"}],
                 "dosageInstruction":[{"route":{"text":"Oralt"},"timing":{"repeat":{"frequency":6,"period":1,"periodUnit":"d","boundsPeriod":{"start":"\#(start)"}}},
                   "doseAndRate":[{"doseQuantity":{"value":2,"unit":"tablett"}}]}]}
                """#)
            try await Self.write(services, "MedicationStatement", #"{"resourceType":"MedicationStatement","id":"ms1","status":"active","subject":{"reference":"Patient/p1"},"informationSource":{"reference":"Patient/p1"},"medicationCodeableConcept":{"coding":[{"system":"http://www.whocc.no/atc","code":"R03AC02"}],"text":"Ventoline"},"dosage":[{"text":"2 inhalationer vid behov"}]}"#)
            try await Self.write(services, "MedicationRequest", #"""
                {"resourceType":"MedicationRequest","id":"rx-phone","status":"active","intent":"order",
                 "meta":{"tag":[{"system":"https://karna.se/fhir/CodeSystem/ordinationsstatus","code":"obekraftad"}]},
                 "extension":[{"url":"https://karna.se/fhir/StructureDefinition/muntlig-ordination","valueCode":"telefon"}],
                 "medicationCodeableConcept":{"coding":[{"system":"http://www.whocc.no/atc","code":"M01AE01"}],"text":"Ibuprofen 400 mg"},
                 "subject":{"reference":"Patient/p1"},"requester":{"reference":"PractitionerRole/doc-role"},"recorder":{"reference":"Practitioner/doc","display":"Sköterska Syren"},
                 "reasonCode":[{"text":"Feber"}],"dosageInstruction":[{"text":"1 tablett"}]}
                """#)
            var browser = Browser(client: client)
            _ = try await WebAppTests.logIn(&browser)
            let tab = try await browser.send(.get, "/patienter/p1/lakemedel")
            let text = VisibleText.of(tab.html)
            #expect(tab.status == 200)
            #expect(text.contains("Läkemedelslista") && text.contains("Paracetamol 500 mg") && text.contains("Ordination, slutenvård") && text.contains("Smärta"))
            #expect(text.contains("Ventoline") && text.contains("Patientens uppgift") && text.contains("2 inhalationer vid behov"))
            #expect(text.contains("Ordination (telefonordination, obekräftad)"))
            #expect(!text.contains("uppdrag doc-role") && !text.contains("patient p1"), "ordinators read by name, never by id")
            #expect(text.contains("Dagens doser") && text.contains("08:00") && text.contains("2 tabletter"), "\(text)")
            #expect(["Given", "Missad", "Sen", "Att ge", "Planerad"].contains { text.contains($0) })

            // During the stay the doctor signs the läkemedelsberättelse here, generated and edited; an empty reason is said at the form.
            #expect(text.contains("Läkemedelsberättelse") && text.contains("Insatta läkemedel:") && tab.html.contains("- Paracetamol 500 mg, 2 tabletter 6 gånger dagligen. Orsak: Smärta"))
            let token = try #require(tab.field("formToken"))
            let empty = try await browser.send(.post, "/patienter/p1/lakemedelsberattelse", form: [("formToken", token), ("none", "ja"), ("reason", " ")])
            #expect(empty.status == 400 && VisibleText.of(empty.html).contains("Ange varför ingen läkemedelsberättelse behövs."))
            let signed = try await browser.send(.post, "/patienter/p1/lakemedelsberattelse",
                                                form: [("formToken", token), ("text", "Insatta läkemedel:\n- Paracetamol vid smärta. Åter till vårdcentralen.")])
            #expect(signed.status == 303)
            #expect(VisibleText.of(try await browser.send(.get, "/patienter/p1/lakemedel").html).contains("Läkemedelsberättelsen för vårdtiden är signerad."))

            // Five drugs at 76: the doctor records the läkemedelsgenomgång on the tab; an empty assessment is said at the form.
            for (id, atc, name) in [("ms2", "C07AB02", "Metoprolol"), ("ms3", "C08CA01", "Amlodipin"), ("ms4", "A10BA02", "Metformin")] {
                try await Self.write(services, "MedicationStatement", #"{"resourceType":"MedicationStatement","id":"\#(id)","status":"active","subject":{"reference":"Patient/p1"},"informationSource":{"reference":"Patient/p1"},"medicationCodeableConcept":{"coding":[{"system":"http://www.whocc.no/atc","code":"\#(atc)"}],"text":"\#(name)"}}"#)
            }
            let due = try await browser.send(.get, "/patienter/p1/lakemedel")
            #expect(VisibleText.of(due.html).contains("Läkemedelsgenomgång är aktuell") && VisibleText.of(due.html).contains("Dokumentera läkemedelsgenomgång"))
            let blank = try await browser.send(.post, "/patienter/p1/lakemedelsgenomgang", form: [("formToken", token), ("assessment", "")])
            #expect(blank.status == 400 && VisibleText.of(blank.html).contains("Skriv bedömningen från läkemedelsgenomgången."))
            let reviewed = try await browser.send(.post, "/patienter/p1/lakemedelsgenomgang", form: [("formToken", token), ("assessment", "Metoprolol sänks.")])
            #expect(reviewed.status == 303)
            let afterReview = VisibleText.of(try await browser.send(.get, try #require(reviewed.location)).html)
            #expect(afterReview.contains("Läkemedelsgenomgången är dokumenterad.") && afterReview.contains("Senaste läkemedelsgenomgång (enkel)"))
            #expect(!afterReview.contains("Läkemedelsgenomgång är aktuell"))

            let ward = try await browser.send(.get, "/lakemedel/avdelning")
            let wardText = VisibleText.of(ward.html)
            #expect(ward.status == 200)
            #expect(wardText.contains("Läkemedel på avdelningen – Vårdcentralen Ek") && wardText.contains("Paracetamol 500 mg") && wardText.contains("Ek"), "\(wardText)")

            let startPage = VisibleText.of(try await browser.send(.get, "/start").html)
            #expect(startPage.contains("Muntliga ordinationer att bekräfta") && startPage.contains("Ibuprofen 400 mg") && startPage.contains("Telefonordination"), "\(startPage)")
        }
    }

    /// Two nurses at the vårdcentral, "ssk1" and "ssk2", with accounts.
    static func addNurses(_ services: KarnaServices) async throws {
        let job = services.gateway.session(.job("web-tests"), action: "create")
        let nurse = try #require(Position.defaults.first { $0.code == "sjukskoterska" })
        for (id, name) in [("ssk1", "Sköterska Syren"), ("ssk2", "Sköterska Lind")] {
            var role = Assignment.resource(id: "\(id)-role", practitionerID: id, unitID: "vc", purpose: .care, position: nurse)
            role["practitioner"] = .object(JSONObject([("reference", .string("Practitioner/\(id)")), ("display", .string(name))]))
            _ = try await job.commit([.update(JSONObject([("resourceType", .string("Practitioner")), ("id", .string(id))]), type: "Practitioner", id: id, ifMatch: nil),
                                      .update(role, type: "PractitionerRole", id: "\(id)-role", ifMatch: nil)])
            _ = try await services.accounts.create(username: id, kind: .practitioner, subjectID: id, displayName: name,
                                                   password: WebAppTests.password, totpSecret: WebAppTests.secret)
        }
    }

    /// The first dose row's form of an ordination: its planned time.
    static func plannedTime(_ html: String, order: String) throws -> String {
        let marker = try #require(html.range(of: "name=\"order\" value=\"\(order)\""))
        let rest = html[marker.upperBound...]
        let time = try #require(rest.range(of: "name=\"time\" value=\""))
        return String(rest[time.upperBound...].prefix { $0 != "\"" })
    }

    @Test("on the MAR a nurse gives a dose; a high-risk dose is prepared, double-checked by another nurse and then given; not given needs a reason", arguments: backends)
    func recordingDoses(_ backend: StoreBackend) async throws {
        try await WebAppTests.withApp(backend) { services, client in
            try await Self.addNurses(services)
            let start = SwedishTime.formatDay(SwedishTime.today - 1)
            for (id, atc, name) in [("rx-para", "N02BE01", "Paracetamol 500 mg"), ("rx-ins", "A10AB01", "Insulin Kärna 100 E/ml")] {
                try await Self.write(services, "MedicationRequest", #"""
                    {"resourceType":"MedicationRequest","id":"\#(id)","status":"active","intent":"order",
                     "category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/medicationrequest-category","code":"inpatient"}]}],
                     "medicationCodeableConcept":{"coding":[{"system":"http://www.whocc.no/atc","code":"\#(atc)"}],"text":"\#(name)"},
                     "subject":{"reference":"Patient/p1"},"requester":{"reference":"PractitionerRole/doc-role"},"reasonCode":[{"text":"Behandling"}],
                     "dosageInstruction":[{"route":{"text":"Oralt"},"timing":{"repeat":{"frequency":6,"period":1,"periodUnit":"d","boundsPeriod":{"start":"\#(start)"}}},
                       "doseAndRate":[{"doseQuantity":{"value":2,"unit":"tablett"}}]}]}
                    """#)
            }
            var first = Browser(client: client)
            _ = try await WebAppTests.logIn(&first, username: "ssk1")
            let page = try await first.send(.get, "/patienter/p1/lakemedel")
            #expect(page.status == 200)
            let text = VisibleText.of(page.html)
            #expect(text.contains("Åtgärd") && text.contains("Ge") && text.contains("Iordningställ") && text.contains("Ej given"), "\(text)")
            let token = try #require(page.field("formToken"))
            let paracetamol = try Self.plannedTime(page.html, order: "rx-para")
            let insulin = try Self.plannedTime(page.html, order: "rx-ins")

            // Not given without a reason is said at the doses, nothing written; with a reason it is recorded.
            let noReason = try await first.send(.post, "/patienter/p1/doser", form: [("formToken", token), ("order", "rx-para"), ("time", paracetamol), ("action", "not-given"), ("reason", " ")])
            #expect(noReason.status == 400 && VisibleText.of(noReason.html).contains("Ange varför dosen inte gavs."))
            let given = try await first.send(.post, "/patienter/p1/doser", form: [("formToken", token), ("order", "rx-para"), ("time", paracetamol), ("action", "give")])
            #expect(given.status == 303)
            let after = VisibleText.of(try await first.send(.get, try #require(given.location)).html)
            #expect(after.contains("Dosen är dokumenterad som given."))
            let twice = try await first.send(.post, "/patienter/p1/doser", form: [("formToken", token), ("order", "rx-para"), ("time", paracetamol), ("action", "give")])
            #expect(twice.status == 400 && VisibleText.of(twice.html).contains("Dosen är redan dokumenterad."))

            // Insulin: giving it unchecked is refused; the preparer cannot check her own dose; the second nurse signs, then it is given.
            let unchecked = try await first.send(.post, "/patienter/p1/doser", form: [("formToken", token), ("order", "rx-ins"), ("time", insulin), ("action", "give")])
            #expect(unchecked.status == 400 && VisibleText.of(unchecked.html).contains("dubbelkontrollera"), "\(VisibleText.of(unchecked.html))")
            #expect(try await first.send(.post, "/patienter/p1/doser", form: [("formToken", token), ("order", "rx-ins"), ("time", insulin), ("action", "prepare")]).status == 303)
            let own = try await first.send(.post, "/patienter/p1/doser", form: [("formToken", token), ("order", "rx-ins"), ("time", insulin), ("action", "verify")])
            #expect(own.status == 400 && VisibleText.of(own.html).contains("Dubbelkontrollen görs av en annan person"))
            var second = Browser(client: client)
            _ = try await WebAppTests.logIn(&second, username: "ssk2")
            let secondPage = try await second.send(.get, "/patienter/p1/lakemedel")
            #expect(VisibleText.of(secondPage.html).contains("Signera dubbelkontroll") && VisibleText.of(secondPage.html).contains("Iordningställd"))
            let secondToken = try #require(secondPage.field("formToken"))
            #expect(try await second.send(.post, "/patienter/p1/doser", form: [("formToken", secondToken), ("order", "rx-ins"), ("time", insulin), ("action", "verify")]).status == 303)
            let done = try await first.send(.post, "/patienter/p1/doser", form: [("formToken", token), ("order", "rx-ins"), ("time", insulin), ("action", "give")])
            #expect(done.status == 303)
            let doses = try await services.store.searchResources(SearchQuery(type: "MedicationAdministration"), limit: 10)
            let insulinDose = try #require(doses.first { $0.object["request"]?.objectValue?["reference"]?.stringValue == "MedicationRequest/rx-ins" })
            #expect(insulinDose.object["status"]?.stringValue == "completed")
            let performers = insulinDose.object["performer"]?.arrayValue?.compactMap { $0.objectValue?["actor"]?.objectValue?["reference"]?.stringValue } ?? []
            #expect(performers == ["Practitioner/ssk1", "Practitioner/ssk2"])
            #expect(insulinDose.object.extensionValue("https://karna.se/fhir/StructureDefinition/planerad-tid")?.stringValue.flatMap(Instant.parse).map(String.init) == insulin)
        }
    }
}

extension MedicationPageTests {
    @Test("the ordination form offers catalogue products by type-ahead, says what is missing at the field, shows the cards when checking, and signs only after a reason for a critical card", arguments: backends)
    func ordinationForm(_ backend: StoreBackend) async throws {
        try await WebAppTests.withApp(backend) { services, client in
            // Warfarin is already ordinated: ibuprofen is a class D interaction (critical).
            try await Self.write(services, "MedicationRequest", #"""
                {"resourceType":"MedicationRequest","id":"rx-waran","status":"active","intent":"order",
                 "medicationCodeableConcept":{"coding":[{"system":"http://www.whocc.no/atc","code":"B01AA03"}],"text":"Waran"},
                 "subject":{"reference":"Patient/p1"},"requester":{"reference":"PractitionerRole/doc-role"},"reasonCode":[{"text":"Förmaksflimmer"}],
                 "dosageInstruction":[{"route":{"text":"Oralt"},"timing":{"repeat":{"when":["EVE"],"boundsPeriod":{"start":"2026-11-01"}}},"doseAndRate":[{"doseQuantity":{"value":1,"unit":"tablett"}}]}]}
                """#)
            var browser = Browser(client: client)
            _ = try await WebAppTests.logIn(&browser)
            let tab = try await browser.send(.get, "/patienter/p1/lakemedel")
            #expect(VisibleText.of(tab.html).contains("Ny ordination"))
            let suggestions = try await browser.send(.get, "/terminologi/lakemedel?q=ibupro")
            #expect(suggestions.html.contains("19990101000031") && suggestions.html.contains("Ibuprofen Kärna filmdragerad tablett 400 mg"))
            #expect(!(try await browser.send(.get, "/terminologi/lakemedel?q=morfin%20tabl")).html.contains("19990101000123"), "a withdrawn product is never offered")
            let form = try await browser.send(.get, "/patienter/p1/ordination/ny")
            #expect(form.status == 200 && VisibleText.of(form.html).contains("Ny ordination"))
            let token = try #require(form.field("formToken"))
            let draftID = try #require(form.field("draftID"))
            var fields: [(String, String)] = [("formToken", token), ("draftID", draftID), ("product", "19990101000031 Ibuprofen Kärna filmdragerad tablett 400 mg"),
                                              ("dose", "1"), ("unit", "tablett"), ("route", "Oralt"), ("when_MORN", "ja"), ("start", SwedishTime.formatDay(SwedishTime.today)),
                                              ("reason", "Smärta")]
            let incomplete = try await browser.send(.post, "/patienter/p1/ordination", form: fields.filter { $0.0 != "reason" && $0.0 != "when_MORN" } + [("action", "signera")])
            let said = VisibleText.of(incomplete.html)
            #expect(incomplete.status == 400 && said.contains("Ange ordinationsorsak.") && said.contains("Välj minst en tid, eller vid behov."), "\(said)")
            let withdrawn = try await browser.send(.post, "/patienter/p1/ordination", form: fields.map { $0.0 == "product" ? ("product", "19990101000123") : $0 } + [("action", "kontrollera")])
            #expect(withdrawn.status == 400 && VisibleText.of(withdrawn.html).contains("kan inte ordineras"))
            // The MAR plans an inpatient ordination's doses, so the form offers four dosage types, not free text.
            #expect(VisibleText.of(form.html).contains("Med jämna mellanrum (intervalldosering)") && !VisibleText.of(form.html).contains("Fritext"))
            let freeText = try await browser.send(.post, "/patienter/p1/ordination", form: fields + [("dosageKind", "fritext"), ("freeText", "enligt schema"), ("action", "kontrollera")])
            #expect(freeText.status == 400 && VisibleText.of(freeText.html).contains("Välj doseringstyp"), "\(VisibleText.of(freeText.html))")
            // Checking shows the cards and writes nothing.
            let checked = try await browser.send(.post, "/patienter/p1/ordination", form: fields + [("action", "kontrollera")])
            #expect(checked.status == 200 && VisibleText.of(checked.html).contains("Allvarlig varning Interaktion D"), "\(VisibleText.of(checked.html))")
            // Signing shows them again for a decision; without a reason for the critical card nothing is written.
            let first = try await browser.send(.post, "/patienter/p1/ordination", form: fields + [("action", "signera")])
            #expect(first.status == 200 && VisibleText.of(first.html).contains("Ta ställning till dem och signera igen"))
            let fingerprint = try #require(first.field("fingerprint"))
            let cards = try #require(first.field("cards"))
            #expect(!cards.isEmpty)
            fields += [("fingerprint", fingerprint), ("cards", cards)]
            let noReason = try await browser.send(.post, "/patienter/p1/ordination", form: fields + [("action", "signera")])
            #expect(noReason.status == 400 && VisibleText.of(noReason.html).contains("Ange orsak för varje allvarlig varning"))
            #expect(try await services.store.read(type: "MedicationRequest", id: draftID) == nil)
            let reasons = cards.split(separator: ",").map { ("reason-\($0)", "nytta-overvager") }
            let signed = try await browser.send(.post, "/patienter/p1/ordination", form: fields + reasons + [("action", "signera")])
            #expect(signed.status == 303, "\(VisibleText.of(signed.html))")
            let order = try #require(try await services.store.read(type: "MedicationRequest", id: draftID)).object
            #expect(order["status"]?.stringValue == "active")
            #expect(order.code("medicationCodeableConcept", system: "http://www.whocc.no/atc") == "M01AE01")
            #expect(order.code("medicationCodeableConcept", system: "http://electronichealth.se/fhir/NamingSystem/nplid") == "19990101000031")
            for card in cards.split(separator: ",") {
                let issue = try #require(try await services.store.read(type: "DetectedIssue", id: String(card))).object
                #expect(issue["status"]?.stringValue == "final")
                #expect(issue["mitigation"]?.arrayValue?.first?.objectValue?["action"]?.objectValue?["text"]?.stringValue?.hasPrefix("Åsidosatt: Nyttan överväger risken") == true)
            }
            #expect(VisibleText.of(try await browser.send(.get, try #require(signed.location)).html).contains("Ordinationen är signerad."))
        }
    }
}

extension MedicationPageTests {
    @Test("the e-recept form says what is missing, shows the patient text and sends; NLL's list shows it from the journal with avsluta; NLL down lands it on the ej skickade list with a reservrecept",
          .enabled(if: NLLSimulator.isAvailable), arguments: backends)
    func prescriptionPages(_ backend: StoreBackend) async throws {
        let simulator = try NLLSimulator()
        try await WebAppTests.withApp(backend, flags: ["nll-url": simulator.url.absoluteString, "nll-timeout-seconds": "3"]) { services, client in
            try await Self.write(services, "Practitioner", #"{"resourceType":"Practitioner","id":"doc","name":[{"text":"Doktor Ek"}],"identifier":[{"system":"https://karna.se/fhir/NamingSystem/forskrivarkod","value":"9000011"}]}"#)
            var browser = Browser(client: client)
            _ = try await WebAppTests.logIn(&browser)
            #expect(VisibleText.of(try await browser.send(.get, "/patienter/p1/lakemedel").html).contains("Nytt e-recept"))
            let form = try await browser.send(.get, "/patienter/p1/recept/ny")
            #expect(form.status == 200 && VisibleText.of(form.html).contains("Receptet skickas till Nationella läkemedelslistan när du signerar."))
            let token = try #require(form.field("formToken"))
            let fields: [(String, String)] = [("formToken", token), ("draftID", try #require(form.field("draftID"))),
                                              ("product", "19990101000079 Ramipril Kärna kapsel 5 mg"), ("dose", "1"), ("unit", "kapsel"), ("route", "Oralt"),
                                              ("when_MORN", "ja"), ("start", SwedishTime.formatDay(SwedishTime.today)), ("reason", "Hypertoni"),
                                              ("purpose", "mot förhöjt blodtryck"), ("repeats", "3"), ("quantity", "100"), ("quantityUnit", "kapsel"),
                                              ("validUntil", SwedishTime.formatDay(SwedishTime.today + 300)), ("followUp", SwedishTime.formatDay(SwedishTime.today + 90))]
            let incomplete = try await browser.send(.post, "/patienter/p1/recept", form: fields.filter { $0.0 != "purpose" && $0.0 != "repeats" } + [("action", "signera")])
            let said = VisibleText.of(incomplete.html)
            #expect(incomplete.status == 400 && said.contains("Ange behandlingsändamål med ord patienten förstår.") && said.contains("Ange antal uttag (minst 1)."), "\(said)")
            // The patient text as the doctor types (what the page's script shows), before any check.
            let live = try await browser.send(.post, "/patienter/p1/recept/text", form: fields.filter { $0.0 != "route" })
            #expect(live.html.contains("Texten visas när dos, enhet, administrationssätt och tider är ifyllda.") && live.html.contains("Välj administrationssätt."))
            let typed = try await browser.send(.post, "/patienter/p1/recept/text", form: fields)
            #expect(typed.html == #"{"lines":["Mot förhöjt blodtryck.","1 kapsel morgon.","Administreringssätt: oralt."]}"#, "\(typed.html)")
            // Parallel doses and a step: 2 kapslar in the evening beside the morning's 1, for five days, then 1 in the morning.
            let stepped = try await browser.send(.post, "/patienter/p1/recept/text", form: fields + [("when_EVE", "ja"), ("dose_EVE", "2"), ("thenDays", "5"), ("thenDose", "1"), ("then_MORN", "ja")])
            #expect(stepped.html.contains(#""1 kapsel morgon och 2 kapslar kväll i 5 dagar, därefter 1 kapsel morgon.""#), "\(stepped.html)")
            // The other four dosage types; a morning box left ticked from the times is not read by them.
            let today = SwedishTime.formatDay(SwedishTime.today)
            for (kind, extra, said) in [("frekvens", [("frequencyCount", "3"), ("frequencyPer", "d")], "1 kapsel 3 gånger dagligen."),
                                        ("frekvens", [("frequencyCount", "2"), ("frequencyPer", "wk")], "1 kapsel 2 gånger per vecka."),
                                        ("intervall", [("intervalValue", "8"), ("intervalUnit", "h")], "1 kapsel var 8:e timme."),
                                        ("intervall", [("intervalValue", "2"), ("intervalUnit", "d")], "1 kapsel varannan dag."),
                                        ("engang", [("onceTime", "21:00")], "1 kapsel en gång \(today) kl. 21.00."),
                                        ("fritext", [("freeText", "enligt schema från mottagningen"), ("dose", "")], "Enligt schema från mottagningen.")] {
                let typedKind = try await browser.send(.post, "/patienter/p1/recept/text", form: fields.filter { $0.0 != "dose" || extra.allSatisfy { $0.0 != "dose" } } + [("dosageKind", kind)] + extra)
                #expect(typedKind.html.contains("\"\(said)\""), "\(kind): \(typedKind.html)")
            }
            let mixed = try await browser.send(.post, "/patienter/p1/recept/text", form: fields + [("dosageKind", "frekvens"), ("frequencyCount", "3"), ("vidbehov", "ja")])
            #expect(mixed.html.contains("Vid behov anges som tillfällesdosering"), "\(mixed.html)")
            let noTime = try await browser.send(.post, "/patienter/p1/recept", form: fields + [("dosageKind", "engang"), ("action", "kontrollera")])
            #expect(noTime.status == 400 && VisibleText.of(noTime.html).contains("Ange klockslag för dosen (TT:MM)."), "\(VisibleText.of(noTime.html))")
            #expect(VisibleText.of(form.html).contains("Fritext (fritextdosering)") && VisibleText.of(form.html).contains("En gång (engångsdosering)"))
            let checked = try await browser.send(.post, "/patienter/p1/recept", form: fields + [("action", "kontrollera")])
            let preview = VisibleText.of(checked.html)
            #expect(checked.status == 200 && preview.contains("Doseringsanvisning till patienten") && preview.contains("Mot förhöjt blodtryck.")
                    && preview.contains("1 kapsel morgon.") && preview.contains("Administreringssätt: oralt."), "\(preview)")
            #expect(try await simulator.calls().isEmpty, "checking sends nothing")

            let signed = try await browser.send(.post, "/patienter/p1/recept", form: fields + [("action", "signera")])
            #expect(signed.status == 303)
            let list = try await browser.send(.get, try #require(signed.location))
            let listed = VisibleText.of(list.html)
            #expect(listed.contains("Receptet är skickat till Nationella läkemedelslistan.") && listed.contains("Ramipril Kärna kapsel 5 mg")
                    && listed.contains("Förskrivning") && listed.contains("Aktiv") && listed.contains("Endast egna förskrivningar"), "\(listed)")
            // Another provider's prescription shows only on an åtkomsttyp, beside the journal's.
            try await simulator.control("prescription", ["_owner": "annan", "resourceType": "MedicationRequest", "status": "active", "intent": "order",
                "medicationCodeableConcept": ["coding": [["system": "http://electronichealth.se/fhir/NamingSystem/nplid", "code": "19990101000048"]], "text": "Warfarin Kärna tablett 2,5 mg"],
                "subject": ["identifier": ["system": "urn:oid:1.2.752.129.2.1.3.1", "value": "195002039286"]],
                "contained": [["resourceType": "Practitioner", "id": "p", "identifier": [["system": "forskrivarkod", "value": "1"]], "name": [["text": "Doktor Annan"]]]],
                "dosageInstruction": [["patientInstruction": "1 tablett dagligen"]]])
            #expect(!VisibleText.of(list.html).contains("Warfarin"))
            let consented = VisibleText.of(try await browser.send(.get, "/patienter/p1/nll?atkomst=SAMTYCKE").html)
            #expect(consented.contains("Warfarin Kärna tablett 2,5 mg") && consented.contains("Annan förskrivare (NLL)") && consented.contains("Ramipril Kärna kapsel 5 mg"), "\(consented)")
            // Ibuprofen with NLL's warfarin: the card shows only when the form names an åtkomsttyp to read NLL with.
            let ibuprofen = fields.map { $0.0 == "product" ? ("product", "19990101000031 Ibuprofen Kärna filmdragerad tablett 400 mg") : $0 }
            let withNLL = VisibleText.of(try await browser.send(.post, "/patienter/p1/recept", form: ibuprofen + [("nllAccess", "SAMTYCKE"), ("action", "kontrollera")]).html)
            #expect(withNLL.contains("Allvarlig varning") && withNLL.contains("Warfarin Kärna tablett 2,5 mg (NLL)"), "\(withNLL)")
            let journalOnly = VisibleText.of(try await browser.send(.post, "/patienter/p1/recept", form: ibuprofen + [("action", "kontrollera")]).html)
            #expect(!journalOnly.contains("Warfarin"), "\(journalOnly)")
            // Ersätt by a product of another ATC code is refused and said.
            let stored = try #require(try await services.store.searchResources(SearchQuery(type: "MedicationRequest"), limit: 10).first)
            let replaced = try await browser.send(.post, "/recept/\(stored.id)/ersatt", form: [("formToken", token), ("patientID", "p1"), ("product", "19990101000031 Ibuprofen")])
            #expect(VisibleText.of(try await browser.send(.get, try #require(replaced.location)).html).contains("Ersättning måste ha samma ATC-kod (C09AA05)"))
            let rows = try await services.store.searchResources(SearchQuery(type: "MedicationRequest"), limit: 10)
            let prescription = try #require(rows.first)
            let ended = try await browser.send(.post, "/recept/\(prescription.id)/avsluta", form: [("formToken", token), ("patientID", "p1"), ("reason", "biverkan")])
            #expect(VisibleText.of(try await browser.send(.get, try #require(ended.location)).html).contains("Receptet är avslutat i Nationella läkemedelslistan."))
            // Nödåtkomst is refused until opened, and said on the page.
            let emergency = VisibleText.of(try await browser.send(.get, "/patienter/p1/nll?atkomst=NODATKOMST").html)
            #expect(emergency.contains("Öppna nödåtkomst för patienten först"), "\(emergency)")

            // NLL down: saved, not sent; the prescriber's list holds it with a reservrecept.
            try await simulator.control("fault", ["mode": "error500"])
            let again = fields.map { $0.0 == "draftID" ? ("draftID", UUID().uuidString.lowercased()) : $0 }
            let unsent = try await browser.send(.post, "/patienter/p1/recept", form: again + [("action", "signera")])
            #expect(VisibleText.of(try await browser.send(.get, try #require(unsent.location)).html).contains("EJ SKICKAT"))
            let waiting = try await browser.send(.get, "/recept/ej-skickade")
            let waitingText = VisibleText.of(waiting.html)
            #expect(waitingText.contains("Ramipril Kärna kapsel 5 mg") && waitingText.contains("Nationella läkemedelslistan svarar inte.") && waitingText.contains("Skriv ut reservrecept"), "\(waitingText)")
            let id = try #require(try await services.store.searchResources(SearchQuery(type: "MedicationRequest"), limit: 10).map(\.id).first { $0 != prescription.id })
            let reserve = VisibleText.of(try await browser.send(.get, "/recept/\(id)/reservrecept").html)
            #expect(reserve.contains("RESERVRECEPT — ej skickat till Nationella läkemedelslistan") && reserve.contains("förskrivarkod 9000011"), "\(reserve)")
            // Fritextdosering is written with the warning that no dose check can read it.
            let freeText = fields.map { $0.0 == "draftID" ? ("draftID", UUID().uuidString.lowercased()) : $0 }.filter { $0.0 != "dose" }
                + [("dosageKind", "fritext"), ("freeText", "enligt schema från mottagningen"), ("action", "signera")]
            let wordsOnly = try await browser.send(.post, "/patienter/p1/recept", form: freeText)
            #expect(VisibleText.of(try await browser.send(.get, try #require(wordsOnly.location)).html).contains("Doseringen är fritext: doskontroller kan inte göras."))
        }
    }
}
