import Access
import FHIRCore
import Foundation
import KarnaTesting
import Medication
import Store
import StoreModel
import Testing

@Suite("The läkemedelsberättelse: generated from the stay's history, signed by the doctor, needed for discharge")
struct MedicationStoryTests {
    static func stay(_ id: String, patient: String, start: Int64) -> JSONObject {
        FHIR.object([
            ("resourceType", .string("Encounter")), ("id", .string(id)), ("status", .string("in-progress")),
            ("class", FHIR.object([("system", .string("http://terminology.hl7.org/CodeSystem/v3-ActCode")), ("code", .string("IMP"))])),
            ("subject", FHIR.reference("Patient", patient)), ("serviceProvider", FHIR.reference("Organization", "ward")),
            ("period", FHIR.object([("start", .string(Instant.format(milliseconds: start)))])),
        ]).objectValue!
    }

    static func drug(_ atc: String, _ name: String) -> (String, JSONValue?) { ("medicationCodeableConcept", FHIR.concept("http://www.whocc.no/atc", atc, text: name)) }

    @Test("started, changed, stopped and unchanged drugs each with its reason; discharge waits for the signed story; a nurse does not sign it", arguments: backends)
    func story(backend: StoreBackend) async throws {
        let ward = try await Ward.make(backend)
        try await ward.contact("wardoc", patient: "p1")
        try await ward.contact("nurse", patient: "p1")
        let doc = try await ward.session("wardoc")
        // Before the stay: ramipril, amlodipin and paracetamol.
        _ = try await doc.commit(.create(try ordination(), type: "MedicationRequest", id: "rx-ramipril"))
        _ = try await doc.commit(.create(try ordination([Self.drug("C08CA01", "Amlodipin 5 mg")]), type: "MedicationRequest", id: "rx-amlodipin"))
        _ = try await doc.commit(.create(try ordination([Self.drug("N02BE01", "Alvedon 500 mg")]), type: "MedicationRequest", id: "rx-alvedon"))
        try await Task.sleep(for: .milliseconds(20))
        _ = try await doc.commit(.create(Self.stay("stay-1", patient: "p1", start: Instant.now()), type: "Encounter", id: "stay-1"))
        try await Task.sleep(for: .milliseconds(20))
        // During it: metoprolol started, ramipril's dose changed, amlodipin stopped.
        _ = try await doc.commit(.create(try ordination([Self.drug("C07AB02", "Metoprolol 50 mg"), ("reasonCode", .array([FHIR.text("Förmaksflimmer")]))]),
                                         type: "MedicationRequest", id: "rx-metoprolol"))
        var changed = try ordination([("dosageInstruction", try JSONParser.parse(#"[{"route": {"text": "Oralt"}, "timing": {"repeat": {"boundsPeriod": {"start": "2026-12-01"}, "when": ["MORN"]}}, "doseAndRate": [{"doseQuantity": {"value": 2, "unit": "tablett"}}]}]"#))])
        changed.setExtension("https://karna.se/fhir/StructureDefinition/andringsorsak", "valueString", .string("Högt blodtryck"))
        _ = try await doc.commit(.update(changed, type: "MedicationRequest", id: "rx-ramipril"))
        _ = try await doc.commit(.update(try ordination([Self.drug("C08CA01", "Amlodipin 5 mg"), ("status", .string("stopped")), ("statusReason", FHIR.text("Ankelödem"))]),
                                         type: "MedicationRequest", id: "rx-amlodipin"))

        let stay = try #require(try await doc.read(type: "Encounter", id: "stay-1"))
        let story = try await MedicationStory.read(stay: stay, session: doc)
        #expect(story.entries.map { "\($0.kind) \($0.drug) \($0.reason ?? "-")" } == [
            "insatt Metoprolol 50 mg Förmaksflimmer", "andrat Ramipril 5 mg tablett Högt blodtryck", "utsatt Amlodipin 5 mg Ankelödem", "oforandrat Alvedon 500 mg -",
        ])
        #expect(story.text.contains("Insatta läkemedel:\n- Metoprolol 50 mg, 1 tablett morgon och 2 tabletter kväll. Orsak: Förmaksflimmer"))
        #expect(story.text.contains("Utsatta läkemedel:\n- Amlodipin 5 mg. Orsak: Ankelödem"))

        var discharged = stay.object.forUpdate
        discharged["status"] = .string("finished")
        #expect(await fails(.conflict, containing: "signed läkemedelsberättelse") { _ = try await doc.commit(.update(discharged, type: "Encounter", id: "stay-1")) })
        #expect(await fails(.forbidden, containing: "ordination rights") {
            _ = try await MedicationStory.sign(stay: stay, text: story.text, session: try await ward.session("nurse"))
        })
        let signed = try await MedicationStory.sign(stay: stay, text: story.text + "\nUppföljning på vårdcentralen om två veckor.", session: doc)
        #expect(signed.object["status"]?.stringValue == "final")
        #expect(signed.object["section"]?.arrayValue?.first?.objectValue?["text"]?.objectValue?["div"]?.stringValue?.contains("<p>Uppföljning på vårdcentralen om två veckor.</p>") == true)
        _ = try await doc.commit(.update(discharged, type: "Encounter", id: "stay-1"))
    }

    @Test("a stay discharged without a story carries a signed reason instead; a stay without ordinations needs neither", arguments: backends)
    func noneNeeded(backend: StoreBackend) async throws {
        let ward = try await Ward.make(backend)
        try await ward.contact("wardoc", patient: "p2")
        let doc = try await ward.session("wardoc")
        _ = try await doc.commit(.create(Self.stay("stay-2", patient: "p2", start: Instant.now() - 60_000), type: "Encounter", id: "stay-2"))
        var finished = try #require(try await doc.read(type: "Encounter", id: "stay-2")).object.forUpdate
        finished["status"] = .string("finished")
        // No ordinations: nothing to tell.
        _ = try await doc.commit(.update(finished, type: "Encounter", id: "stay-2"))

        _ = try await doc.commit(.create(Self.stay("stay-3", patient: "p2", start: Instant.now() - 60_000), type: "Encounter", id: "stay-3"))
        _ = try await doc.commit(.create(try ordination(patient: "p2"), type: "MedicationRequest", id: "rx-p2"))
        let stay = try #require(try await doc.read(type: "Encounter", id: "stay-3"))
        #expect(await fails(.invalid, containing: "say why") { _ = try await MedicationStory.sign(stay: stay, text: "", noneNeededBecause: "", session: doc) })
        let statement = try await MedicationStory.sign(stay: stay, text: "", noneNeededBecause: "Överflyttas till Akademiska, läkemedelslistan följer med", session: doc)
        #expect(statement.object["section"]?.arrayValue?.first?.objectValue?["text"]?.objectValue?["div"]?.stringValue?.contains("Läkemedelsberättelse upprättas inte: Överflyttas") == true)
        var done = stay.object.forUpdate
        done["status"] = .string("finished")
        _ = try await doc.commit(.update(done, type: "Encounter", id: "stay-3"))
    }
}
