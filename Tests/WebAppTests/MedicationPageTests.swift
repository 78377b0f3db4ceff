import Access
import FHIRCore
import Foundation
import HTTPTypes
import KarnaServer
import KarnaTesting
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

            let ward = try await browser.send(.get, "/lakemedel/avdelning")
            let wardText = VisibleText.of(ward.html)
            #expect(ward.status == 200)
            #expect(wardText.contains("Läkemedel på avdelningen – Vårdcentralen Ek") && wardText.contains("Paracetamol 500 mg") && wardText.contains("Ek"), "\(wardText)")

            let startPage = VisibleText.of(try await browser.send(.get, "/start").html)
            #expect(startPage.contains("Muntliga ordinationer att bekräfta") && startPage.contains("Ibuprofen 400 mg") && startPage.contains("Telefonordination"), "\(startPage)")
        }
    }
}
