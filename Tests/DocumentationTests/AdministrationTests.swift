import Access
import FHIRCore
import Foundation
import KarnaTesting
import Medication
import Store
import StoreModel
import Testing

/// A dose on the MAR under `order`, recorded by `performer` (with `verifier` as the second signature), now unless `at`.
func dose(order: String, patient: String = "p1", status: String = "completed", performer: String = "nurse", verifier: String? = nil,
          at: Int64 = Instant.now() - 60_000, value: Int = 1, atc: String? = nil) -> JSONObject {
    var performers: [JSONValue] = [FHIR.object([("actor", FHIR.reference("Practitioner", performer))])]
    if let verifier {
        performers.append(FHIR.object([("function", FHIR.concept("http://terminology.hl7.org/CodeSystem/med-admin-perform-function", "verifier")),
                                       ("actor", FHIR.reference("Practitioner", verifier))]))
    }
    return FHIR.object([
        ("resourceType", .string("MedicationAdministration")), ("status", .string(status)),
        ("medicationCodeableConcept", atc.map { FHIR.concept("http://www.whocc.no/atc", $0) } ?? FHIR.text("enligt ordination")),
        ("subject", FHIR.reference("Patient", patient)), ("request", FHIR.reference("MedicationRequest", order)),
        ("effectiveDateTime", .string(Instant.format(milliseconds: at))), ("performer", .array(performers)),
        ("dosage", FHIR.object([("dose", FHIR.object([("value", .number(String(value))), ("unit", .string("tablett"))]))])),
    ]).objectValue!
}

@Suite("Administration on the MAR: who, when, under which ordination, dubbelkontroll, corrections and vid behov maximum")
struct AdministrationTests {
    /// A ward where doc ordinated ramipril (`rx-1`) for p1 and doc, nurse and nurse2 have contacts with p1.
    static func ward(_ backend: StoreBackend) async throws -> Ward {
        let ward = try await Ward.make(backend)
        for person in ["doc", "nurse", "nurse2"] { try await ward.contact(person, patient: "p1") }
        _ = try await ward.session("doc").commit(.create(try ordination(), type: "MedicationRequest", id: "rx-1"))
        return ward
    }

    @Test("a dose names who gave it and when, under an active ordination for the same patient; never in the future; not given says why", arguments: backends)
    func recorded(backend: StoreBackend) async throws {
        let ward = try await Self.ward(backend)
        let nurse = try await ward.session("nurse")
        _ = try await nurse.commit(.create(dose(order: "rx-1"), type: "MedicationAdministration", id: "ma-1"))
        var noOrder = dose(order: "rx-1")
        noOrder["request"] = nil
        #expect(await fails(.invalid, containing: "MedicationAdministration.request") { _ = try await nurse.commit(.create(noOrder, type: "MedicationAdministration", id: "ma-2")) })
        #expect(await fails(.invalid, containing: "the ordination's patient") {
            _ = try await nurse.commit(.create(dose(order: "rx-1", patient: "p2"), type: "MedicationAdministration", id: "ma-3"))
        })
        #expect(await fails(.invalid, containing: "in the future") {
            _ = try await nurse.commit(.create(dose(order: "rx-1", at: Instant.now() + 3_600_000), type: "MedicationAdministration", id: "ma-4"))
        })
        #expect(await fails(.invalid, containing: "is its performer") {
            _ = try await nurse.commit(.create(dose(order: "rx-1", performer: "nurse2"), type: "MedicationAdministration", id: "ma-5"))
        })
        #expect(await fails(.invalid, containing: "says why") {
            _ = try await nurse.commit(.create(dose(order: "rx-1", status: "not-done"), type: "MedicationAdministration", id: "ma-6"))
        })
        var notGiven = dose(order: "rx-1", status: "not-done")
        notGiven["statusReason"] = .array([FHIR.text("Patienten sov")])
        _ = try await nurse.commit(.create(notGiven, type: "MedicationAdministration", id: "ma-6"))
        // Under a stopped ordination nothing is given.
        let stopped = try ordination([("status", .string("stopped")), ("statusReason", FHIR.text("Biverkan"))])
        _ = try await ward.session("doc").commit(.update(stopped, type: "MedicationRequest", id: "rx-1"))
        #expect(await fails(.conflict, containing: "only under an active ordination") {
            _ = try await nurse.commit(.create(dose(order: "rx-1"), type: "MedicationAdministration", id: "ma-7"))
        })
    }

    @Test("a recorded dose is corrected only by marking it entered-in-error with a reason, its history kept; struck stays struck", arguments: backends)
    func corrections(backend: StoreBackend) async throws {
        let ward = try await Self.ward(backend)
        let nurse = try await ward.session("nurse")
        _ = try await nurse.commit(.create(dose(order: "rx-1"), type: "MedicationAdministration", id: "ma-1"))
        #expect(await fails(.conflict, containing: "marking it entered-in-error") {
            _ = try await nurse.commit(.update(dose(order: "rx-1", value: 2), type: "MedicationAdministration", id: "ma-1"))
        })
        var struck = dose(order: "rx-1")
        struck["status"] = .string("entered-in-error")
        #expect(await fails(.invalid, containing: "needs the reason") { _ = try await nurse.commit(.update(struck, type: "MedicationAdministration", id: "ma-1")) })
        struck["statusReason"] = .array([FHIR.text("Fel patient vald")])
        _ = try await nurse.commit(.update(struck, type: "MedicationAdministration", id: "ma-1"))
        let history = try await ward.store.history(HistoryQuery(type: "MedicationAdministration", id: "ma-1", count: 10))
        #expect(history.map { $0.object["status"]?.stringValue } == ["entered-in-error", "completed"])
        #expect(await fails(.conflict, containing: "stays so") {
            _ = try await nurse.commit(.update(dose(order: "rx-1"), type: "MedicationAdministration", id: "ma-1"))
        })
    }

    @Test("a high-risk drug is given only after a second, different nurse signs the dubbelkontroll herself", arguments: backends)
    func doubleCheck(backend: StoreBackend) async throws {
        let ward = try await Self.ward(backend)
        let insulin = try ordination([("medicationCodeableConcept", FHIR.concept("http://www.whocc.no/atc", "A10AB01", text: "Actrapid"))])
        _ = try await ward.session("doc").commit(.create(insulin, type: "MedicationRequest", id: "rx-insulin"))
        let nurse = try await ward.session("nurse"), nurse2 = try await ward.session("nurse2")
        // Prepared (iordningställd) by the nurse: no second signature needed yet.
        _ = try await nurse.commit(.create(dose(order: "rx-insulin", status: "in-progress"), type: "MedicationAdministration", id: "ma-i"))
        #expect(await fails(.invalid, containing: "Insuliner is on the high-risk list") {
            _ = try await nurse.commit(.update(dose(order: "rx-insulin"), type: "MedicationAdministration", id: "ma-i"))
        })
        // She cannot sign for her colleague, nor be her own second person.
        #expect(await fails(.forbidden, containing: "signed by the verifier themself") {
            _ = try await nurse.commit(.update(dose(order: "rx-insulin", status: "in-progress", verifier: "nurse2"), type: "MedicationAdministration", id: "ma-i"))
        })
        #expect(await fails(.invalid, containing: "high-risk list") {
            _ = try await nurse.commit(.update(dose(order: "rx-insulin", verifier: "nurse"), type: "MedicationAdministration", id: "ma-i"))
        })
        _ = try await nurse2.commit(.update(dose(order: "rx-insulin", status: "in-progress", verifier: "nurse2"), type: "MedicationAdministration", id: "ma-i"))
        let given = try await nurse.commit(.update(dose(order: "rx-insulin", verifier: "nurse2"), type: "MedicationAdministration", id: "ma-i"))
        #expect(given.resource?.object["status"]?.stringValue == "completed")
        // A drug off the list needs no second signature.
        _ = try await nurse.commit(.create(dose(order: "rx-1"), type: "MedicationAdministration", id: "ma-r"))
    }

    @Test("a vid behov dose that would pass the ordination's maximum per period is refused", arguments: backends)
    func asNeededMaximum(backend: StoreBackend) async throws {
        let ward = try await Self.ward(backend)
        let prn = try JSONParser.parse("""
            [{"sequence": 1, "route": {"text": "Oralt"}, "asNeededCodeableConcept": {"text": "Smärta"},
              "timing": {"repeat": {"boundsPeriod": {"start": "2026-12-01"}}}, "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "tablett"}}],
              "maxDosePerPeriod": {"numerator": {"value": 3, "unit": "tablett"}, "denominator": {"value": 24, "code": "h", "system": "http://unitsofmeasure.org"}}}]
            """)
        let order = try ordination([("medicationCodeableConcept", FHIR.concept("http://www.whocc.no/atc", "N02BE01", text: "Alvedon 500 mg")),
                                    ("dosageInstruction", prn)])
        _ = try await ward.session("doc").commit(.create(order, type: "MedicationRequest", id: "rx-prn"))
        let nurse = try await ward.session("nurse")
        let hour: Int64 = 3_600_000
        _ = try await nurse.commit(.create(dose(order: "rx-prn", at: Instant.now() - 30 * hour, value: 2), type: "MedicationAdministration", id: "prn-old"))
        _ = try await nurse.commit(.create(dose(order: "rx-prn", at: Instant.now() - 5 * hour, value: 2), type: "MedicationAdministration", id: "prn-1"))
        #expect(await fails(.invalid, containing: "over the ordination's maximum of 3 tablett") {
            _ = try await nurse.commit(.create(dose(order: "rx-prn", at: Instant.now() - hour, value: 2), type: "MedicationAdministration", id: "prn-2"))
        })
        _ = try await nurse.commit(.create(dose(order: "rx-prn", at: Instant.now() - hour, value: 1), type: "MedicationAdministration", id: "prn-3"))
    }

    @Test("a patient on a reservnummer is given ordinations and doses like any other", arguments: backends)
    func reservnummer(backend: StoreBackend) async throws {
        let ward = try await Ward.make(backend)
        let number = try Reservnummer(year: 2026, month: 12, day: 5, serial: 7)
        let unknown = FHIR.object([("resourceType", .string("Patient")), ("id", .string("p-okand")), ("active", .bool(true)),
                                   ("identifier", .array([FHIR.object([("system", .string(Reservnummer.system)), ("value", .string(number.canonical))])])),
                                   ("name", .array([FHIR.object([("text", .string("Okänd man"))])]))]).objectValue!
        _ = try await ward.store.commit([.update(unknown, type: "Patient", id: "p-okand")])
        for person in ["doc", "nurse"] { try await ward.contact(person, patient: "p-okand") }
        _ = try await ward.session("doc").commit(.create(try ordination(patient: "p-okand"), type: "MedicationRequest", id: "rx-okand"))
        let given = try await ward.session("nurse").commit(.create(dose(order: "rx-okand", patient: "p-okand"), type: "MedicationAdministration", id: "ma-okand"))
        #expect(given.outcome == .created)
    }
}
