public import Access
import FHIRCore
import StoreModel
import Terminology

/// The demo ward's medication: ordinations for its inpatients (pat-6…pat-10) written by the ward doctor,
/// with insulin (high risk) for one of them, and the doses given since yesterday morning up to the last three quarters of an hour — one left open
/// (missad) and one not given with a reason — so the ward's MAR and the läkemedelslista show a real day.
extension Medication {
    public func seedDemo(_ demo: DemoContext) async throws -> [String] {
        let job = demo.job("demo-medication")
        guard demo.patients >= 10, try await job.read(type: "Encounter", id: "demo-contact-pat-10") != nil,
              try await job.read(type: "MedicationRequest", id: "demo-rx-pat-6-1") == nil,
              let doctor = try await demo.practitioner(assignmentID: "demo-lakare-uppdrag-2", name: "Anna Lindqvist", action: "demo-medication"),
              let rules = try? safetyRules.get().administration
        else { return [] }
        let today = SwedishTime.today
        let start = SwedishTime.formatDay(today - 1)
        let drugs: [(atc: String, name: String, timing: String, dose: Int, unit: String, reason: String)] = [
            ("C07AB02", "Metoprolol 50 mg depottablett", #"{"when": ["MORN"]}"#, 1, "tablett", "Förmaksflimmer"),
            ("N02BE01", "Paracetamol 500 mg tablett", #"{"frequency": 3, "period": 1, "periodUnit": "d"}"#, 2, "tablett", "Smärta"),
            ("C09AA05", "Ramipril 5 mg tablett", #"{"when": ["MORN", "EVE"]}"#, 1, "tablett", "Hypertoni"),
        ]
        var orders: [JSONObject] = []
        for patient in 6...10 {
            var chosen = Array(drugs.prefix(2 + patient % 2))
            if patient == 7 { chosen.append(("A10AB01", "Actrapid 100 E/ml injektionsvätska", #"{"when": ["MORN", "NOON", "EVE"]}"#, 8, "E", "Diabetes typ 2")) }
            for (index, drug) in chosen.enumerated() {
                let order = try JSONParser.parse("""
                    {"resourceType": "MedicationRequest", "id": "demo-rx-pat-\(patient)-\(index + 1)", "status": "active", "intent": "order",
                     "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/medicationrequest-category", "code": "inpatient"}]}],
                     "medicationCodeableConcept": {"coding": [{"system": "\(KnownSystems.atc)", "code": "\(drug.atc)"}], "text": "\(drug.name)"},
                     "subject": {"reference": "Patient/pat-\(patient)"}, "encounter": {"reference": "Encounter/demo-contact-pat-\(patient)"},
                     "requester": {"reference": "PractitionerRole/demo-lakare-uppdrag-2"}, "authoredOn": "\(start)",
                     "reasonCode": [{"text": "\(drug.reason)"}],
                     "dosageInstruction": [{"route": {"text": "\(drug.unit == "E" ? "Subkutant" : "Oralt")"},
                       "timing": {"repeat": \(drug.timing.dropLast()), "boundsPeriod": {"start": "\(start)"}}},
                       "doseAndRate": [{"doseQuantity": {"value": \(drug.dose), "unit": "\(drug.unit)"}}]}]}
                    """).objectValue ?? JSONObject()
                orders.append(order)
            }
        }
        _ = try await doctor.commit(orders.map { .create($0, type: "MedicationRequest", id: $0["id"]?.stringValue ?? "") })

        // The doses since yesterday morning, given ten minutes after their time; pat-9's last open one is left (missad).
        let now = Instant.now()
        var doses: [JSONObject] = []
        for order in orders {
            let id = order["id"]?.stringValue ?? ""
            let patient = order.referenceID("subject", type: "Patient") ?? ""
            let highRisk = rules.highRisk(order.code("medicationCodeableConcept", system: KnownSystems.atc)) != nil
            let planned = DoseSchedule.times(order, from: SwedishTime.instant(day: today - 1, minuteOfDay: 0), to: now - 45 * 60_000, rules: rules)
            for (number, (time, _)) in planned.enumerated() {
                if patient == "pat-9", number == planned.count - 1 { continue }
                let notGiven = patient == "pat-10" && number == 0
                var performers: [JSONValue] = [FHIR.object([("actor", FHIR.reference("Practitioner", "demo-sjukskoterska", display: "Erik Sandberg"))])]
                if highRisk {
                    performers.append(FHIR.object([("function", FHIR.concept("http://terminology.hl7.org/CodeSystem/med-admin-perform-function", "verifier")),
                                                   ("actor", FHIR.reference("Practitioner", "demo-lakare", display: "Anna Lindqvist"))]))
                }
                let dose = order["dosageInstruction"]?.arrayValue?.first?.objectValue?["doseAndRate"]?.arrayValue?.first?.objectValue?["doseQuantity"]
                var record = FHIR.object([
                    ("resourceType", .string("MedicationAdministration")), ("id", .string("demo-ma-\(id)-\(number + 1)")),
                    ("status", .string(notGiven ? "not-done" : "completed")),
                    ("statusReason", notGiven ? .array([FHIR.text("Patienten fastande inför gastroskopi")]) : nil),
                    ("medicationCodeableConcept", order["medicationCodeableConcept"]), ("subject", order["subject"]),
                    ("context", order["encounter"]), ("request", FHIR.reference("MedicationRequest", id)),
                    ("effectiveDateTime", .string(SwedishTime.format(time + 10 * 60_000))), ("performer", .array(performers)),
                    ("dosage", dose.map { FHIR.object([("dose", $0)]) }),
                ]).objectValue ?? JSONObject()
                record.setExtension(DoseSchedule.plannedTimeExtension, "valueDateTime", .string(SwedishTime.format(time)))
                doses.append(record)
            }
        }
        _ = try await job.commit(doses.map { .create($0, type: "MedicationAdministration", id: $0["id"]?.stringValue ?? "") })
        return ["demo medication: \(orders.count) ordinations and \(doses.count) doses on the ward's MAR (pat-6…pat-10)"]
    }
}
