import FHIRCore
import Foundation
import Store
import StoreModel

/// A form a user was writing about a patient (utkast), kept on the server as it is typed, so an idle
/// timeout, a closed tab or a crashed browser loses nothing. A draft is the user's own working copy,
/// not part of the journal: only its writer reads it, it needs a ground for the patient like any
/// write, and saving, reading and discarding it are audited under the patient.
public struct FormDraft: Codable, Sendable, Equatable {
    /// Which form (`anteckning`, `remiss` …): one draft per user, patient and form.
    public var form: String
    /// The fields as the form would post them.
    public var fields: [String: String]
    /// When it was last saved (milliseconds since 1970).
    public var savedAt: Int64
}

/// The limits of drafts: what one may hold.
public enum DraftLimits {
    /// The most fields one draft keeps.
    public static let maximumFields = 100
    /// The most characters of all fields together (a long note fits; the form body limit is 256 KiB).
    public static let maximumCharacters = 200_000
}

extension PatientDataSession {
    static var draftKind: String { "form-draft" }

    /// Saves (replaces) the user's draft of `form` for the patient.
    public func saveDraft(patientID: String, form: String, fields: [String: String]) async throws {
        let key = try draftKey(patientID: patientID, form: form)
        guard fields.count <= DraftLimits.maximumFields, fields.values.reduce(0, { $0 + $1.count }) <= DraftLimits.maximumCharacters else {
            throw FHIRError(.tooLarge, code: .tooLong, "a draft holds at most \(DraftLimits.maximumFields) fields and \(DraftLimits.maximumCharacters) characters",
                            text: "Utkastet är för stort för att sparas.")
        }
        try await requireAccess(patientID: patientID)
        let draft = FormDraft(form: form, fields: fields, savedAt: Instant.now())
        let record = ControlRecord(kind: Self.draftKind, key: key, patientID: patientID, json: [UInt8](try JSONEncoder().encode(draft)))
        try await store.writeControlRecords([record], deleting: [], audit: [draftAudit("draft-save", patientID: patientID, form: form)])
    }

    /// The user's draft of `form` for the patient, if one is kept; reading it is audited.
    public func draft(patientID: String, form: String) async throws -> FormDraft? {
        let key = try draftKey(patientID: patientID, form: form)
        guard let record = try await store.controlRecord(kind: Self.draftKind, key: key),
              let draft = try? JSONDecoder().decode(FormDraft.self, from: Data(record.json)) else { return nil }
        try await requireAccess(patientID: patientID)
        try await audit([draftAudit("draft-read", patientID: patientID, form: form)])
        return draft
    }

    /// Removes the user's draft of `form` for the patient (the form was saved, or the user threw the draft away).
    public func discardDraft(patientID: String, form: String) async throws {
        let key = try draftKey(patientID: patientID, form: form)
        guard try await store.controlRecord(kind: Self.draftKind, key: key) != nil else { return }
        try await store.writeControlRecords([], deleting: [ControlRecordKey(kind: Self.draftKind, key: key)],
                                            audit: [draftAudit("draft-discard", patientID: patientID, form: form)])
    }

    /// One draft per practitioner, patient and form; nobody else has drafts.
    private func draftKey(patientID: String, form: String) throws -> String {
        guard principal.kind == .practitioner, principal.assignment != nil else {
            throw FHIRError(.forbidden, code: .forbidden, "drafts are kept for a practitioner acting under an assignment",
                            text: "Utkast sparas för vårdpersonal i ett medarbetaruppdrag.")
        }
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._"))
        guard !form.isEmpty, form.count <= 64, form.unicodeScalars.allSatisfy(allowed.contains),
              !patientID.isEmpty, patientID.count <= 64, patientID.unicodeScalars.allSatisfy(allowed.contains) else {
            throw FHIRError(.invalid, code: .value, "a draft names its form and patient by id (letters, digits, '-', '.', '_')",
                            text: "Utkastet saknar formulär eller patient.")
        }
        return "\(principal.id)|\(patientID)|\(form)"
    }

    private func draftAudit(_ action: String, patientID: String, form: String) -> AuditEntry {
        AuditRecordBuilder(principal: principal).entry(action: action, patientID: patientID, resources: [], basis: nil, outcome: "allowed",
                                                       facts: nil, detail: [("form", .string(form))])
    }
}
