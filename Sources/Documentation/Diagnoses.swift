import Access
import FHIRCore
import Foundation
import StoreModel
import Terminology

/// Diagnoses (ICD-10-SE) and procedures (KVÅ) registered on a care contact, as reported to the
/// national patient register, and the patient's problem list (active and resolved conditions).
public struct Diagnoses: Sendable {
    /// What a care contact's registration holds.
    public struct Registration: Sendable {
        public var encounter: StoredResource
        public var conditions: [StoredResource]
        public var procedures: [StoredResource]
    }

    /// The problem list: active conditions first, then resolved ones.
    public struct ProblemList: Sendable {
        public var active: [StoredResource]
        public var resolved: [StoredResource]
    }

    let terminology: TerminologyService

    /// Sets a care contact's diagnoses (main first) and procedures in one commit. Earlier diagnoses of
    /// the contact that are no longer listed are marked entered-in-error, so the register sees one answer.
    public func register(encounterID: String, main: String, secondary: [String], procedures: [String],
                         session: PatientDataSession) async throws -> Registration {
        let records = Records(session: session)
        let stored = try await records.require("Encounter", encounterID)
        var encounter = stored.object
        guard let patientID = encounter.referenceID("subject", type: "Patient") else {
            throw FHIRError(.invalid, code: .required, "Encounter/\(encounterID) names no patient", expression: ["Encounter.subject"])
        }
        let codes = [main] + secondary
        for (index, code) in codes.enumerated() {
            try requireCode(code, valueSet: KarnaValueSets.diagnoses, system: KnownSystems.icd10SE, parameter: index == 0 ? "main" : "secondary")
        }
        guard Set(codes).count == codes.count else { throw FHIRError(.invalid, code: .value, "a diagnosis is listed twice", expression: ["secondary"], text: "En diagnos står två gånger.") }
        for code in procedures { try requireCode(code, valueSet: KarnaValueSets.procedures, system: KnownSystems.kva, parameter: "procedure") }
        let recorder = session.principal.authorReference
        let now = Instant.format(milliseconds: Instant.now())
        let existing = try await records.all("Condition", [("encounter", "Encounter/\(encounterID)"), ("category", "encounter-diagnosis")], maximum: 200)
        var operations: [WriteOperation] = []
        var diagnosisEntries: [JSONValue] = []
        var conditionIDs: [String] = []
        for (rank, code) in codes.enumerated() {
            let display = terminology.codeSystem(KnownSystems.icd10SE)?.concepts[code]?.display
            let reuse = existing.first { $0.object.code("code", system: KnownSystems.icd10SE) == code
                && $0.object.code("verificationStatus", system: DocumentationCodes.conditionVerification) != "entered-in-error" }
            let id = reuse?.id ?? UUID().uuidString.lowercased()
            conditionIDs.append(id)
            if reuse == nil {
                let condition = FHIR.object([
                    ("resourceType", .string("Condition")), ("id", .string(id)),
                    ("clinicalStatus", FHIR.concept(DocumentationCodes.conditionClinical, "active")),
                    ("verificationStatus", FHIR.concept(DocumentationCodes.conditionVerification, "confirmed")),
                    ("category", .array([FHIR.concept(DocumentationCodes.conditionCategory, "encounter-diagnosis", "Encounter Diagnosis")])),
                    ("code", FHIR.concept(KnownSystems.icd10SE, code, display)),
                    ("subject", FHIR.reference("Patient", patientID)), ("encounter", FHIR.reference("Encounter", encounterID)),
                    ("recordedDate", .string(now)), ("recorder", recorder),
                ]).objectValue!
                operations.append(.create(condition, type: "Condition", id: id))
            }
            diagnosisEntries.append(FHIR.object([
                ("condition", FHIR.reference("Condition", id, display: display.map { "\(code) \($0)" })),
                ("use", FHIR.concept(DocumentationCodes.diagnosisRole, rank == 0 ? "DD" : "CM", rank == 0 ? "Huvuddiagnos" : "Bidiagnos")),
                ("rank", .number(String(rank + 1))),
            ]))
        }
        for old in existing where !conditionIDs.contains(old.id) {
            var condition = old.object
            condition["verificationStatus"] = FHIR.concept(DocumentationCodes.conditionVerification, "entered-in-error")
            operations.append(.update(condition.forUpdate, type: "Condition", id: old.id, ifMatch: old.versionId))
        }
        var procedureIDs: [String] = []
        let existingProcedures = try await records.all("Procedure", [("encounter", "Encounter/\(encounterID)")], maximum: 200)
        for code in procedures where !existingProcedures.contains(where: { $0.object.code("code", system: KnownSystems.kva) == code }) {
            let id = UUID().uuidString.lowercased()
            procedureIDs.append(id)
            operations.append(.create(FHIR.object([
                ("resourceType", .string("Procedure")), ("id", .string(id)), ("status", .string("completed")),
                ("code", FHIR.concept(KnownSystems.kva, code, terminology.codeSystem(KnownSystems.kva)?.concepts[code]?.display)),
                ("subject", FHIR.reference("Patient", patientID)), ("encounter", FHIR.reference("Encounter", encounterID)),
                ("performedDateTime", .string(now)), ("recorder", recorder),
            ]).objectValue!, type: "Procedure", id: id))
        }
        encounter["diagnosis"] = .array(diagnosisEntries)
        operations.append(.update(encounter.forUpdate, type: "Encounter", id: encounterID, ifMatch: stored.versionId))
        _ = try await session.commit(operations)
        let conditions = try await session.read(keys: conditionIDs.map { ResourceKey(type: "Condition", id: $0) })
        let allProcedures = try await records.all("Procedure", [("encounter", "Encounter/\(encounterID)")], maximum: 200)
        return Registration(encounter: try await records.require("Encounter", encounterID), conditions: conditions, procedures: allProcedures)
    }

    /// Adds a condition to the problem list.
    public func addProblem(patientID: String, code: String, onset: String?, note: String?, session: PatientDataSession) async throws -> StoredResource {
        try requireCode(code, valueSet: KarnaValueSets.diagnoses, system: KnownSystems.icd10SE, parameter: "code")
        _ = try await Records(session: session).require("Patient", patientID, role: "patient")
        let id = UUID().uuidString.lowercased()
        let condition = FHIR.object([
            ("resourceType", .string("Condition")), ("id", .string(id)),
            ("clinicalStatus", FHIR.concept(DocumentationCodes.conditionClinical, "active")),
            ("verificationStatus", FHIR.concept(DocumentationCodes.conditionVerification, "confirmed")),
            ("category", .array([FHIR.concept(DocumentationCodes.conditionCategory, "problem-list-item", "Problem List Item")])),
            ("code", FHIR.concept(KnownSystems.icd10SE, code, terminology.codeSystem(KnownSystems.icd10SE)?.concepts[code]?.display)),
            ("subject", FHIR.reference("Patient", patientID)),
            ("onsetDateTime", onset.map { .string($0) }),
            ("recordedDate", .string(Instant.format(milliseconds: Instant.now()))), ("recorder", session.principal.authorReference),
            ("note", note.map { .array([FHIR.object([("text", .string($0))])]) }),
        ]).objectValue!
        _ = try await session.commit(.create(condition, type: "Condition", id: id))
        return try await Records(session: session).require("Condition", id)
    }

    /// Ends a problem (resolved, with the day it ended and why, as a note signed by who ended it); the
    /// earlier version stays in the history. Only a problem-list item is ended here: a care contact's
    /// diagnoses are changed by registering the contact's diagnoses again.
    public func resolveProblem(conditionID: String, abatement: String?, reason: String, session: PatientDataSession) async throws -> StoredResource {
        let reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard reason.count >= 2 else {
            throw FHIRError(.invalid, code: .required, "ending a problem needs a reason", expression: ["reason"], text: "Skriv varför problemet avslutas.")
        }
        let records = Records(session: session)
        let stored = try await records.require("Condition", conditionID)
        var condition = stored.object
        guard condition.code("clinicalStatus", system: DocumentationCodes.conditionClinical) != "resolved" else {
            throw refused("Condition/\(conditionID) is already resolved", expression: ["Condition.clinicalStatus"], text: "Problemet är redan avslutat.")
        }
        guard Self.isProblemListItem(condition) else {
            throw refused("Condition/\(conditionID) is a care contact's diagnosis, not a problem-list item; register the contact's diagnoses instead",
                          expression: ["Condition.category"], text: "Det är en diagnos från ett besök, inte ett problem på problemlistan.")
        }
        condition["clinicalStatus"] = FHIR.concept(DocumentationCodes.conditionClinical, "resolved")
        condition["abatementDateTime"] = .string(abatement ?? SwedishDay.today())
        let note = FHIR.object([("authorReference", session.principal.authorReference), ("time", .string(Instant.format(milliseconds: Instant.now()))),
                                ("text", .string("Avslutat: \(reason)"))])
        condition["note"] = .array((condition["note"]?.arrayValue ?? []) + [note])
        _ = try await session.commit(.update(condition.forUpdate, type: "Condition", id: conditionID, ifMatch: stored.versionId))
        return try await records.require("Condition", conditionID)
    }

    /// Whether a condition belongs on the problem list: a problem-list item, or one without a category
    /// (imported data that says nothing). A care contact's diagnosis (encounter-diagnosis) does not: a
    /// diagnosis set at one visit is not an ongoing problem until someone puts it on the list.
    static func isProblemListItem(_ condition: JSONObject) -> Bool {
        let categories = (condition["category"]?.arrayValue ?? []).flatMap { $0.objectValue?["coding"]?.arrayValue ?? [] }
            .compactMap { $0.objectValue?["code"]?.stringValue }
        return categories.isEmpty || categories.contains("problem-list-item")
    }

    /// Active and resolved problems: problem-list items (not care-contact diagnoses), one per code (the latest).
    public func problemList(patientID: String, session: PatientDataSession) async throws -> ProblemList {
        try await session.requireAccess(patientID: patientID)
        let conditions = try await Records(session: session).all("Condition", [("patient", "Patient/\(patientID)")], maximum: 5_000)
        return Self.problemList(conditions)
    }

    static func problemList(_ conditions: [StoredResource]) -> ProblemList {
        var latest: [String: StoredResource] = [:]
        for stored in conditions {
            let object = stored.object
            if object.code("verificationStatus", system: DocumentationCodes.conditionVerification) == "entered-in-error" { continue }
            guard isProblemListItem(object) else { continue }
            let key = object.code("code", system: KnownSystems.icd10SE) ?? object["code"]?.objectValue?["text"]?.stringValue ?? stored.id
            let date = object["recordedDate"]?.stringValue ?? ""
            if let seen = latest[key], (seen.object["recordedDate"]?.stringValue ?? "") >= date { continue }
            latest[key] = stored
        }
        let all = latest.values.sorted { ($0.object["recordedDate"]?.stringValue ?? "") > ($1.object["recordedDate"]?.stringValue ?? "") }
        let active = all.filter { ["active", "recurrence", "relapse"].contains($0.object.code("clinicalStatus", system: DocumentationCodes.conditionClinical) ?? "") }
        return ProblemList(active: active, resolved: all.filter { stored in !active.contains { $0.id == stored.id } })
    }

    func requireCode(_ code: String, valueSet: String, system: String, parameter: String) throws(FHIRError) {
        guard try terminology.isMember(valueSet: valueSet, system: system, code: code) else {
            let problem = terminology.problem(system: system, code: code) ?? "'\(code)' is not in \(terminology.valueSet(valueSet)?.title ?? valueSet)"
            throw FHIRError(.invalid, code: .codeInvalid, "\(parameter): \(problem)", expression: [parameter], text: "Koden \(code) finns inte i listan. Sök och välj en kod i listan.")
        }
    }
}

/// Today's date in Sweden as FHIR writes a date.
enum SwedishDay {
    static func today() -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Europe/Stockholm") ?? .current
        let parts = calendar.dateComponents([.year, .month, .day], from: Date())
        return String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
    }
}
