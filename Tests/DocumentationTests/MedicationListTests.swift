import Access
import FHIRCore
import KarnaTesting
import Medication
import Store
import StoreModel
import Testing

@Suite("The läkemedelslista: one row per substance from every source, and when a läkemedelsgenomgång is due")
struct MedicationListTests {
    static func statement(_ atc: String, _ name: String) -> JSONObject {
        FHIR.object([
            ("resourceType", .string("MedicationStatement")), ("status", .string("active")),
            ("medicationCodeableConcept", FHIR.concept("http://www.whocc.no/atc", atc, text: name)),
            ("subject", FHIR.reference("Patient", "p1")), ("informationSource", FHIR.reference("Patient", "p1")),
            ("effectivePeriod", FHIR.object([("start", .string("2026-01-10"))])),
            ("dosage", .array([FHIR.object([("text", .string("1 tablett vid behov"))])])),
        ]).objectValue!
    }

    @Test("an inpatient ordination and a prescription of one substance are one row with both sources; the patient's own report, a stopped and a draft order are told apart", arguments: backends)
    func merged(backend: StoreBackend) async throws {
        let ward = try await Ward.make(backend)
        try await ward.contact("doc", patient: "p1")
        let doc = try await ward.session("doc")
        _ = try await doc.commit(.create(try ordination(), type: "MedicationRequest", id: "rx-inpatient"))
        let prescription = try ordination([("category", .array([FHIR.concept("http://terminology.hl7.org/CodeSystem/medicationrequest-category", "outpatient")])),
                                           ("medicationCodeableConcept", FHIR.concept("http://www.whocc.no/atc", "C09AA05", text: "Ramipril 10 mg"))])
        _ = try await doc.commit(.create(prescription, type: "MedicationRequest", id: "rx-outpatient"))
        _ = try await doc.commit(.create(Self.statement("N02BE01", "Alvedon"), type: "MedicationStatement", id: "ms-1"))
        _ = try await doc.commit(.create(try ordination([("status", .string("draft")), ("medicationCodeableConcept", FHIR.concept("http://www.whocc.no/atc", "C07AB02", text: "Metoprolol"))]),
                                         type: "MedicationRequest", id: "rx-draft"))
        let ended = try ordination([("medicationCodeableConcept", FHIR.concept("http://www.whocc.no/atc", "C08CA01", text: "Amlodipin"))])
        _ = try await doc.commit(.create(ended, type: "MedicationRequest", id: "rx-ended"))
        var stopped = ended
        stopped["status"] = .string("stopped")
        stopped["statusReason"] = FHIR.text("Ankelödem")
        _ = try await doc.commit(.update(stopped, type: "MedicationRequest", id: "rx-ended"))

        let list = try await MedicationList.read(patientID: "p1", session: doc)
        #expect(list.rows.map(\.name) == ["Alvedon", "Ramipril 5 mg tablett"])
        let ramipril = try #require(list.rows.last)
        #expect(ramipril.atc == "C09AA05")
        #expect(ramipril.sources.map(\.label) == ["Ordination, slutenvård", "Förskrivning"])
        let inpatient = try #require(ramipril.sources.first)
        #expect(inpatient.reason == "Hypertoni")
        #expect(inpatient.start == "2026-12-01")
        #expect(inpatient.dosage == "1 tablett morgon och 2 tabletter kväll")
        #expect(inpatient.ordinator?.isEmpty == false)
        let alvedon = try #require(list.rows.first?.sources.first)
        #expect(alvedon.kind == "patientuppgift" && alvedon.start == "2026-01-10" && alvedon.dosage == "1 tablett vid behov")
        // The chart's card is the same list, one line per substance naming its sources.
        let chart = try await ward.gateway.overview.chart(patientID: "p1", session: doc)
        let lines = chart.parts.first(where: { $0.part.name == "medication" })?.entries.map { "\($0.line.text) — \($0.line.detail)" } ?? []
        #expect(lines == ["Alvedon — 1 tablett vid behov · Patientens uppgift",
                          "Ramipril 5 mg tablett — 1 tablett morgon och 2 tabletter kväll · Ordination, slutenvård + Förskrivning"])
    }

    @Test("a läkemedelsgenomgång is indicated at 75 years with five drugs, not before", arguments: backends)
    func reviewIndicated(backend: StoreBackend) async throws {
        let ward = try await Ward.make(backend)
        var patient = try #require(try await ward.store.read(type: "Patient", id: "p1")).object.forUpdate
        patient["birthDate"] = .string("1945-03-01")
        _ = try await ward.store.commit([.update(patient, type: "Patient", id: "p1")])
        try await ward.contact("doc", patient: "p1")
        let doc = try await ward.session("doc")
        let drugs = [("C09AA05", "Ramipril"), ("C07AB02", "Metoprolol"), ("C08CA01", "Amlodipin"), ("B01AF02", "Eliquis")]
        for (i, drug) in drugs.enumerated() {
            _ = try await doc.commit(.create(Self.statement(drug.0, drug.1), type: "MedicationStatement", id: "ms-\(i)"))
        }
        let four = try await MedicationList.read(patientID: "p1", session: doc)
        #expect(four.age ?? 0 >= 80 && four.rows.count == 4 && !four.reviewIndicated)
        _ = try await doc.commit(.create(Self.statement("N02BE01", "Alvedon"), type: "MedicationStatement", id: "ms-5"))
        #expect(try await MedicationList.read(patientID: "p1", session: doc).reviewIndicated)
        try await ward.contact("doc", patient: "p2")
        let younger = try await MedicationList.read(patientID: "p2", session: doc).reviewIndicated
        #expect(!younger)

        // Recorded as structured data by the doctor (a nurse may not; an empty assessment is refused), the flag clears.
        try await ward.contact("nurse", patient: "p1")
        let nurse = try await ward.session("nurse")
        #expect(await fails(.forbidden, containing: "ordination rights") {
            _ = try await MedicationReview.record(patientID: "p1", thorough: false, assessment: "Ok", session: nurse)
        })
        #expect(await fails(.invalid, containing: "assessment") {
            _ = try await MedicationReview.record(patientID: "p1", thorough: false, assessment: "  ", session: doc)
        })
        let review = try await MedicationReview.record(patientID: "p1", thorough: false, assessment: "Eliquis och Alvedon: inga problem. Metoprolol minskas.", session: doc)
        #expect(review.object.code("code", system: "urn:oid:1.2.752.116.1.3.2.1.4") == "XV015")
        #expect(review.object["status"]?.stringValue == "completed")
        let reviewed = (review.object["extension"]?.arrayValue ?? []).compactMap { $0.objectValue?["valueReference"]?.objectValue?["reference"]?.stringValue }
        #expect(Set(reviewed) == Set((0..<4).map { "MedicationStatement/ms-\($0)" } + ["MedicationStatement/ms-5"]))
        let after = try await MedicationList.read(patientID: "p1", session: doc)
        #expect(!after.reviewIndicated)
        #expect(after.lastReview?.kind == "enkel" && after.lastReview?.reference == "Procedure/\(review.id)")
        // An old review (beyond the configured days, no stay) does not answer the flag.
        #expect(try await MedicationList.read(patientID: "p1", session: doc, reviewValidDays: 0).reviewIndicated)
    }
}
