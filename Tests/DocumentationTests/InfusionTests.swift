import Access
import FHIRCore
import Foundation
import KarnaTesting
import Medication
import Store
import StoreModel
import Testing

/// An infusion ordination: natriumklorid 50–200 ml/h intravenously, by `doc`.
func infusionOrdination() throws -> JSONObject {
    try resource("""
    {"resourceType": "MedicationRequest", "status": "active", "intent": "order",
     "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/medicationrequest-category", "code": "inpatient"}]}],
     "medicationCodeableConcept": {"coding": [{"system": "http://electronichealth.se/fhir/NamingSystem/nplid", "code": "19990101000192"},
                                              {"system": "http://www.whocc.no/atc", "code": "B05BB01"}], "text": "Natriumklorid Kärna infusionsvätska 9 mg/ml"},
     "subject": {"reference": "Patient/p1"}, "requester": {"reference": "PractitionerRole/doc-role"},
     "reasonCode": [{"text": "Vätskebrist"}],
     "dosageInstruction": [{"route": {"text": "Intravenöst"}, "timing": {"repeat": {"boundsPeriod": {"start": "2026-12-01"}}},
                            "doseAndRate": [{"rateRange": {"low": {"value": 50, "unit": "ml/h"}, "high": {"value": 200, "unit": "ml/h"}}}]}]}
    """)
}

@Suite("Infusions: start, rate changes and stop recorded with who and when, the volume given computed")
struct InfusionTests {
    static func call(_ name: String, _ type: String, _ id: String, post: Bool = true, _ parameters: [(String, String)] = [],
                     session: PatientDataSession) async throws -> OperationAnswer {
        let input = try OperationInput(operation: name, query: parameters.map { (name: $0.0, value: $0.1) }, body: nil)
        return try await Medication().answer(OperationCall(name: name, resourceType: type, id: id, isPost: post, input: input, session: session, pageSize: 50))
    }

    static func resource(_ answer: OperationAnswer) throws -> StoredResource {
        guard case .resource(let stored, _) = answer else { throw FHIRError(.internalError, code: .exception, "expected a resource, got \(answer)") }
        return stored
    }

    static func parameters(_ answer: OperationAnswer) throws -> [String: JSONValue] {
        guard case .parameters(let builder, _, _) = answer, let object = try JSONParser.parse(builder.bytes).objectValue else {
            throw FHIRError(.internalError, code: .exception, "expected Parameters")
        }
        var out: [String: JSONValue] = [:]
        for item in object["parameter"]?.arrayValue ?? [] {
            guard let item = item.objectValue, let name = item["name"]?.stringValue else { continue }
            if name == "period" { out["period", default: .array([])] = .array((out["period"]?.arrayValue ?? []) + [item["part"] ?? .null]); continue }
            out[name] = item.first { $0.key.hasPrefix("value") }?.value
        }
        return out
    }

    static func at(_ millisecondsAgo: Int64) -> String { Instant.format(milliseconds: Instant.now() - millisecondsAgo) }

    @Test("an infusion runs within the ordination's rate range; a rate change ends one period and starts the next; the stop ends it; the volume is rate × time", arguments: backends)
    func runs(backend: StoreBackend) async throws {
        let ward = try await Ward.make(backend)
        for person in ["doc", "nurse"] { try await ward.contact(person, patient: "p1") }
        _ = try await ward.session("doc").commit(.create(try infusionOrdination(), type: "MedicationRequest", id: "rx-nacl"))
        let nurse = try await ward.session("nurse")
        let hour: Int64 = 3_600_000
        #expect(await fails(.invalid, containing: "outside the ordination's 50–200 ml/h") {
            _ = try await Self.call("start-infusion", "MedicationRequest", "rx-nacl", [("rate", "300")], session: nurse)
        })
        #expect(await fails(.invalid, containing: "in the future") {
            _ = try await Self.call("start-infusion", "MedicationRequest", "rx-nacl", [("rate", "100"), ("time", Instant.format(milliseconds: Instant.now() + hour))], session: nurse)
        })
        // Every time is counted back from one instant, so a slow machine between the calls does not change the volume.
        let base = Instant.now()
        func at(_ ago: Int64) -> String { Instant.format(milliseconds: base - ago) }
        let started = try Self.resource(try await Self.call("start-infusion", "MedicationRequest", "rx-nacl", [("rate", "100"), ("time", at(3 * hour))], session: nurse))
        #expect(started.object["status"]?.stringValue == "in-progress")
        #expect(started.object["performer"]?.arrayValue?.first?.objectValue?["actor"]?.objectValue?["reference"]?.stringValue == "Practitioner/nurse")
        let next = try Self.resource(try await Self.call("change-infusion-rate", "MedicationAdministration", started.id, [("rate", "150"), ("time", at(hour))], session: nurse))
        #expect(next.object["partOf"]?.arrayValue?.first?.objectValue?["reference"]?.stringValue == "MedicationAdministration/\(started.id)")
        let first = try #require(try await nurse.read(type: "MedicationAdministration", id: started.id))
        #expect(first.object["status"]?.stringValue == "completed")
        #expect(first.versionId == 2, "the start is kept as version 1")
        let running = try Self.parameters(try await Self.call("infusion", "MedicationAdministration", next.id, post: false, session: nurse))
        #expect(running["running"]?.boolValue == true)
        #expect(running["rate"]?.numberText == "150")
        let soFar = try #require(running["volumeGiven"]?.numberText.flatMap(Double.init))
        // Still running: 100 ml/h for 2 h and 150 ml/h for 1 h, and 150 ml/h for however long the calls since took.
        let since = Double(Instant.now() - base) / Double(hour)
        #expect(soFar > 350 - 1 && soFar < 350 + 150 * since + 1, "100 ml/h for 2 h and 150 ml/h for 1 h (and \(since) h): \(soFar)")
        #expect(running["period"]?.arrayValue?.count == 2)
        #expect(await fails(.invalid, containing: "before the running period began") {
            _ = try await Self.call("stop-infusion", "MedicationAdministration", started.id, [("time", at(2 * hour))], session: nurse)
        })
        let stopped = try Self.resource(try await Self.call("stop-infusion", "MedicationAdministration", started.id, [("time", at(0))], session: nurse))
        #expect(stopped.object["status"]?.stringValue == "completed")
        let done = try Self.parameters(try await Self.call("infusion", "MedicationAdministration", started.id, post: false, session: nurse))
        #expect(done["running"]?.boolValue == false)
        #expect(done["rate"] == nil)
        let total = try #require(done["volumeGiven"]?.numberText.flatMap(Double.init))
        #expect(abs(total - 350) < 1, "\(total)")
        #expect(await fails(.conflict, containing: "is not running") {
            _ = try await Self.call("change-infusion-rate", "MedicationAdministration", started.id, [("rate", "100")], session: nurse)
        })
    }

    @Test("an infusion whose ordination was stopped is still ended, as stopped with the reason; a nurse cannot restart it", arguments: backends)
    func afterTheOrdinationStops(backend: StoreBackend) async throws {
        let ward = try await Ward.make(backend)
        for person in ["doc", "nurse"] { try await ward.contact(person, patient: "p1") }
        let doc = try await ward.session("doc")
        _ = try await doc.commit(.create(try infusionOrdination(), type: "MedicationRequest", id: "rx-nacl"))
        let nurse = try await ward.session("nurse")
        let started = try Self.resource(try await Self.call("start-infusion", "MedicationRequest", "rx-nacl", [("rate", "80"), ("time", Self.at(600_000))], session: nurse))
        var order = try infusionOrdination()
        order["status"] = .string("stopped")
        order["statusReason"] = FHIR.object([("text", .string("Dricker själv"))])
        _ = try await doc.commit(.update(order, type: "MedicationRequest", id: "rx-nacl"))
        #expect(await fails(.conflict, containing: "only under an active ordination") {
            _ = try await Self.call("change-infusion-rate", "MedicationAdministration", started.id, [("rate", "100")], session: nurse)
        })
        let ended = try Self.resource(try await Self.call("stop-infusion", "MedicationAdministration", started.id, session: nurse))
        #expect(ended.object["status"]?.stringValue == "stopped")
        #expect(ended.object["statusReason"]?.arrayValue?.first?.objectValue?["text"]?.stringValue == "Ordinationen är inte längre aktiv")
        #expect(await fails(.conflict, containing: "only under an active ordination") {
            _ = try await Self.call("start-infusion", "MedicationRequest", "rx-nacl", [("rate", "80")], session: nurse)
        })
    }
}
