public import Access
import FHIRCore
public import StoreModel
import Foundation
import Terminology

/// What a nurse does with a planned dose on the MAR: iordningställa (prepare), sign the dubbelkontroll
/// (verify), give it, or record it not given with the reason. Each step is a MedicationAdministration
/// answering the planned time (`DoseSchedule.plannedTimeExtension`), so the MAR shows it on its row; the
/// administration rules decide (active ordination, no future time, a different verifier for a high-risk
/// drug), whichever interface asks.
public enum DoseRecording {
    public enum Action: String, Sendable, CaseIterable {
        case prepare, verify, give, notGiven = "not-given"
    }

    /// Records `action` for the dose planned at `plannedTime` under `orderID`, as the session's user; answers what was stored.
    public static func record(_ action: Action, orderID: String, plannedTime: Int64, reason: String? = nil, session: PatientDataSession,
                              rules: MedicationSafetyRules.Administration) async throws -> StoredResource {
        guard session.principal.kind == .practitioner else {
            throw FHIRError(.forbidden, code: .forbidden, "doses are recorded by the care staff who give them", text: "Administrering dokumenteras av vården.")
        }
        guard let order = try await session.read(type: "MedicationRequest", id: orderID)?.object else {
            throw FHIRError(.notFound, code: .notFound, "MedicationRequest/\(orderID) does not exist")
        }
        let recorded = try await session.search(try SearchQuery.parse(type: "MedicationAdministration", parameters: [
            ("request", "MedicationRequest/\(orderID)"), ("status:not", "entered-in-error")], strict: true), limit: 1_000).resources
        let existing = DoseSchedule.match(plannedTime, in: recorded, window: Int64(rules.doseWindowMinutes) * 60_000).map { recorded[$0] }
        let now = Instant.format(milliseconds: Instant.now())
        switch action {
        case .prepare:
            if let existing { throw alreadyRecorded(existing) }
            return try await write(newDose(order: order, orderID: orderID, plannedTime: plannedTime, status: "in-progress", session: session, rules: rules), session: session)
        case .verify:
            guard let existing, existing.object["status"]?.stringValue == "in-progress" else {
                throw FHIRError(.conflict, code: .businessRule, "the dose at \(SwedishTime.format(plannedTime)) is not prepared: prepare it before the dubbelkontroll",
                                text: "Dosen är inte iordningställd. Iordningställ den först.")
            }
            var dose = existing.object
            if AdministrationRule.actors(dose, function: nil).contains(where: { AdministrationRule.isSelf($0, session.principal) }) {
                throw FHIRError(.invalid, code: .businessRule, "the dubbelkontroll is signed by someone other than the one who prepared the dose",
                                text: "Dubbelkontrollen görs av en annan person än den som iordningställt dosen.")
            }
            dose.append("performer", FHIR.object([("function", FHIR.concept(AdministrationRule.functionSystem, "verifier")),
                                                  ("actor", AdministrationRule.actor(session.principal))]))
            return try await write(dose, id: existing.id, version: existing.versionId, session: session)
        case .give:
            if let existing {
                guard existing.object["status"]?.stringValue == "in-progress" else { throw alreadyRecorded(existing) }
                var dose = existing.object
                dose["status"] = .string("completed")
                dose["effectiveDateTime"] = .string(now)
                let everyone = AdministrationRule.actors(dose, function: nil) + AdministrationRule.actors(dose, function: "verifier")
                if !everyone.contains(where: { AdministrationRule.isSelf($0, session.principal) }) {
                    dose.append("performer", FHIR.object([("actor", AdministrationRule.actor(session.principal))]))
                }
                return try await write(dose, id: existing.id, version: existing.versionId, session: session)
            }
            return try await write(newDose(order: order, orderID: orderID, plannedTime: plannedTime, status: "completed", session: session, rules: rules), session: session)
        case .notGiven:
            let why = reason?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            guard !why.isEmpty else {
                throw FHIRError(.invalid, code: .required, "a dose not given says why: reason", expression: ["reason"], text: "Ange varför dosen inte gavs.")
            }
            var dose: JSONObject
            if let existing {
                guard existing.object["status"]?.stringValue == "in-progress" else { throw alreadyRecorded(existing) }
                dose = existing.object
            } else {
                dose = try newDose(order: order, orderID: orderID, plannedTime: plannedTime, status: "not-done", session: session, rules: rules)
            }
            dose["status"] = .string("not-done")
            dose["statusReason"] = .array([FHIR.object([("text", .string(why))])])
            return try await write(dose, id: existing?.id, version: existing?.versionId, session: session)
        }
    }

    static func alreadyRecorded(_ existing: StoredResource) -> FHIRError {
        let state = switch existing.object["status"]?.stringValue {
        case "completed": "given"
        case "not-done": "recorded as not given"
        case "in-progress": "prepared"
        default: existing.object["status"]?.stringValue ?? "recorded"
        }
        return FHIRError(.conflict, code: .businessRule, "this dose is already \(state) (MedicationAdministration/\(existing.id)): correct it as entered-in-error to record it again",
                         text: "Dosen är redan dokumenterad. Makulera den för att dokumentera på nytt.")
    }

    /// A new dose under the ordination at the planned time, the user as performer, now as its time.
    static func newDose(order: JSONObject, orderID: String, plannedTime: Int64, status: String, session: PatientDataSession,
                        rules: MedicationSafetyRules.Administration) throws -> JSONObject {
        var dose = JSONObject([("resourceType", .string("MedicationAdministration"))])
        dose["extension"] = .array([FHIR.object([("url", .string(DoseSchedule.plannedTimeExtension)),
                                                 ("valueDateTime", .string(Instant.format(milliseconds: plannedTime)))])])
        dose["status"] = .string(status)
        dose["medicationCodeableConcept"] = order["medicationCodeableConcept"] ?? FHIR.object([("text", .string("enligt ordination"))])
        dose["subject"] = order["subject"] ?? .null
        if let stay = order["encounter"] { dose["context"] = stay }
        dose["effectiveDateTime"] = .string(Instant.format(milliseconds: Instant.now()))
        dose["performer"] = .array([FHIR.object([("actor", AdministrationRule.actor(session.principal))])])
        dose["request"] = FHIR.object([("reference", .string("MedicationRequest/\(orderID)"))])
        var dosage = JSONObject()
        if let route = order["dosageInstruction"]?.arrayValue?.first?.objectValue?["route"] { dosage["route"] = route }
        if let quantity = DoseSchedule.plannedDose(order, at: plannedTime, rules: rules) { dosage["dose"] = .object(quantity) }
        if !dosage.isEmpty { dose["dosage"] = .object(dosage) }
        return dose
    }

    static func write(_ dose: JSONObject, id: String? = nil, version: Int? = nil, session: PatientDataSession) async throws -> StoredResource {
        let operation: WriteOperation = if let id { .update(dose, type: "MedicationAdministration", id: id, ifMatch: version) }
            else { .create(dose, type: "MedicationAdministration", id: UUID().uuidString.lowercased()) }
        return try Medication.stored(await session.commit(operation), "the dose")
    }
}
