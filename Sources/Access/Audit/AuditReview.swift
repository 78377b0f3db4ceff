import FHIRCore
import Foundation
import Store
import StoreModel

/// A logggranskare's decision on one flagged audit record.
public struct ReviewDecision: Codable, Sendable, Equatable {
    public enum Verdict: String, Codable, Sendable, CaseIterable {
        /// Befogad: the access was justified.
        case justified
        /// Obefogad: the access was not justified and is followed up.
        case unjustified
        /// Needs a question to the user or their manager first.
        case followUp = "follow-up"
    }

    public var sequence: Int64
    public var verdict: Verdict
    public var comment: String
    public var reviewer: String
    public var decidedAt: Int64
}

/// Audit log review (logguppföljning): AuditEvents for reviewers and for the patient
/// ("who has opened my record"), the queue of flagged accesses and decisions on them.
extension PatientDataSession {
    /// Audit records as FHIR AuditEvents. Reviewers see all; a patient sees the accesses to their own record.
    public func auditEvents(_ query: AuditQuery) async throws -> [JSONObject] {
        try await checkReviewAccess(patientID: query.patientID)
        let records = try await store.auditRecords(query)
        let decisions = try await self.decisions(for: records.map(\.sequence))
        try await logReview(patientID: query.patientID, records: records)
        return records.map { AuditEventRenderer.render($0, decision: decisions[$0.sequence]) }
    }

    /// One audit record as an AuditEvent.
    public func auditEvent(sequence: Int64) async throws -> JSONObject? {
        guard let record = try await store.auditRecords(AuditQuery(afterSequence: sequence - 1, beforeSequence: sequence + 1, limit: 1)).first else {
            return nil
        }
        try await checkReviewAccess(patientID: record.entry.patientID, requireMatch: true)
        try await logReview(patientID: record.entry.patientID, records: [record])
        return AuditEventRenderer.render(record, decision: try await decisions(for: [sequence])[sequence])
    }

    /// Flagged records without a decision, oldest first, optionally of one flag; `after` pages on
    /// from the last sequence number of the previous page.
    public func reviewQueue(flag: String?, actor: String? = nil, from: Int64? = nil, to: Int64? = nil, after start: Int64 = 0, limit: Int) async throws -> [JSONObject] {
        try await checkReviewAccess(patientID: nil)
        var pending: [AuditRecord] = []
        var after = start
        let decided = Set(try await store.controlRecords(kind: ControlKind.review, patientID: nil).compactMap { Int64($0.key) })
        while pending.count < limit {
            // Most flagged accesses are undecided: read about what the page shows, not a fixed 500.
            let batchSize = min(500, limit - pending.count + 20)
            let batch = try await store.auditRecords(AuditQuery(actor: actor, flag: flag ?? AuditQuery.anyFlag, from: from, to: to, afterSequence: after,
                                                                ascending: true, limit: batchSize))
            pending += batch.filter { !decided.contains($0.sequence) }
            guard batch.count == batchSize, let last = batch.last else { break }
            after = last.sequence
        }
        pending = Array(pending.prefix(limit))
        try await logReview(patientID: nil, records: pending)
        return pending.map { AuditEventRenderer.render($0, decision: nil) }
    }

    /// Records a reviewer's decision on a flagged record; the decision is itself audited.
    public func decide(sequence: Int64, verdict: ReviewDecision.Verdict, comment: String) async throws -> ReviewDecision {
        try await checkReviewAccess(patientID: nil)
        guard let record = try await store.auditRecords(AuditQuery(afterSequence: sequence - 1, beforeSequence: sequence + 1, limit: 1)).first else {
            throw FHIRError(.notFound, code: .notFound, "AuditEvent/\(sequence) does not exist")
        }
        let decision = ReviewDecision(sequence: sequence, verdict: verdict, comment: comment, reviewer: principal.reference, decidedAt: Instant.now())
        let entry = AuditRecordBuilder(principal: principal).entry(action: "review-decision", patientID: record.entry.patientID,
                                                                   resources: ["AuditEvent/\(sequence)"], basis: nil, outcome: "allowed",
                                                                   facts: nil, reason: "\(verdict.rawValue): \(comment)")
        try await store.writeControlRecords([ControlRecord(kind: ControlKind.review, key: String(sequence), patientID: record.entry.patientID,
                                                           json: [UInt8](try JSONEncoder().encode(decision)))], deleting: [], audit: [entry])
        return decision
    }

    private func decisions(for sequences: [Int64]) async throws -> [Int64: ReviewDecision] {
        var result: [Int64: ReviewDecision] = [:]
        for sequence in Set(sequences) {
            if let record = try await store.controlRecord(kind: ControlKind.review, key: String(sequence)),
               let decision = try? JSONDecoder().decode(ReviewDecision.self, from: Data(record.json)) {
                result[sequence] = decision
            }
        }
        return result
    }

    private func checkReviewAccess(patientID: String?, requireMatch: Bool = false) async throws {
        if principal.kind == .patient {
            guard let patientID, patientID == principal.id else {
                throw try await deny(patientID: patientID, "a patient may see only the accesses to their own record", text: "Du kan bara se vem som läst din egen journal.")
            }
            return
        }
        guard principal.permissions.auditReview, principal.kind != .system || principal.scopes.allows("r", on: "AuditEvent", in: [.system]) else {
            throw try await deny(patientID: patientID, "reading the audit log needs a logggranskare assignment (audit review permission)",
                                 text: "Loggranskning kräver ett uppdrag som logggranskare.")
        }
    }

    /// Reading the log is itself logged, one record per patient concerned.
    private func logReview(patientID: String?, records: [AuditRecord]) async throws {
        let builder = AuditRecordBuilder(principal: principal)
        let patients = patientID.map { [$0] } ?? Array(Set(records.compactMap(\.entry.patientID))).sorted()
        let entries = patients.map { patient in
            builder.entry(action: "audit-read", patientID: patient, resources: records.filter { $0.entry.patientID == patient }.prefix(100).map { "AuditEvent/\($0.sequence)" },
                          basis: nil, outcome: "allowed", facts: nil)
        }
        try await audit(entries)
    }
}

/// Renders audit records as FHIR R4 AuditEvents in the style of IHE Basic Audit Log Patterns.
public enum AuditEventRenderer {
    public static func render(_ record: AuditRecord, decision: ReviewDecision?) -> JSONObject {
        let entry = record.entry
        let detail: JSONObject = {
            if case .object(let object)? = try? JSONParser.parse(entry.json) { return object }
            return JSONObject()
        }()
        let actionCode: String
        switch entry.action {
        case "create": actionCode = "C"
        case "update": actionCode = "U"
        case "delete": actionCode = "D"
        case "read", "vread", "search", "history", "everything", "audit-read": actionCode = "R"
        default: actionCode = "E"
        }
        let outcome = entry.outcome == "allowed" ? "0" : entry.outcome == "denied" ? "4" : "8"
        let basis = detail["basis"]?.stringValue
        let purpose = basis == "emergency-access" ? "ETREAT" : basis == "system" ? "HOPERAT" : "TREAT"
        func coding(_ system: String, _ code: String, _ display: String? = nil) -> JSONValue {
            var members: [(key: String, value: JSONValue)] = [("system", .string(system)), ("code", .string(code))]
            if let display { members.append(("display", .string(display))) }
            return .object(JSONObject(members))
        }
        var meta: [(key: String, value: JSONValue)] = []
        if !entry.flags.isEmpty {
            meta.append(("tag", .array(entry.flags.map { coding("https://karna.se/fhir/CodeSystem/granskningsflagga", $0, ReviewFlag(rawValue: $0)?.display) })))
        }
        var agent: [(key: String, value: JSONValue)] = [
            ("who", .object(JSONObject([("reference", .string(entry.actor)), ("display", detail["actor"]?.objectValue?["name"] ?? .string(entry.actor))]))),
            ("requestor", .bool(true)),
        ]
        if let assignment = detail["assignment"]?.objectValue {
            agent.append(("role", .array([.object(JSONObject([("coding", .array([coding("https://karna.se/fhir/CodeSystem/befattning",
                                                                                         assignment["position"]?.stringValue ?? "")]))]))])))
            agent.append(("location", .object(JSONObject([("reference", .string("Organization/\(assignment["unit"]?.stringValue ?? "")")),
                                                          ("display", assignment["unitName"] ?? .null)]))))
        }
        var entities: [JSONValue] = []
        if let patient = entry.patientID {
            entities.append(.object(JSONObject([("what", .object(JSONObject([("reference", .string("Patient/\(patient)"))]))),
                                                ("role", coding("http://terminology.hl7.org/CodeSystem/object-role", "1", "Patient"))])))
        }
        for resource in detail["resources"]?.arrayValue ?? [] {
            guard let reference = resource.stringValue, reference != "Patient/\(entry.patientID ?? "")" else { continue }
            entities.append(.object(JSONObject([("what", .object(JSONObject([("reference", .string(reference))]))),
                                                ("role", coding("http://terminology.hl7.org/CodeSystem/object-role", "4", "Domain Resource"))])))
        }
        var members: [(key: String, value: JSONValue)] = [
            ("resourceType", .string("AuditEvent")), ("id", .string(String(record.sequence))),
        ]
        if !meta.isEmpty { members.append(("meta", .object(JSONObject(meta)))) }
        var extensions: [JSONValue] = []
        if let basis {
            extensions.append(.object(JSONObject([("url", .string("https://karna.se/fhir/StructureDefinition/access-basis")), ("valueCode", .string(basis))])))
        }
        if let decision {
            extensions.append(.object(JSONObject([("url", .string("https://karna.se/fhir/StructureDefinition/review-decision")),
                                                  ("valueString", .string("\(decision.verdict.rawValue) by \(decision.reviewer): \(decision.comment)"))])))
        }
        if !extensions.isEmpty { members.append(("extension", .array(extensions))) }
        members += [
            ("type", coding("http://terminology.hl7.org/CodeSystem/audit-event-type", "rest", "RESTful Operation")),
            ("subtype", .array([coding("https://karna.se/fhir/CodeSystem/audit-action", entry.action)])),
            ("action", .string(actionCode)),
            ("recorded", .string(Instant.format(milliseconds: entry.recordedAt))),
            ("outcome", .string(outcome)),
        ]
        if let reason = detail["reason"]?.stringValue ?? detail["emergencyReason"]?.stringValue { members.append(("outcomeDesc", .string(reason))) }
        members.append(("purposeOfEvent", .array([.object(JSONObject([("coding", .array([coding("http://terminology.hl7.org/CodeSystem/v3-ActReason", purpose)]))]))])))
        members.append(("agent", .array([.object(JSONObject(agent))])))
        members.append(("source", .object(JSONObject([("observer", .object(JSONObject([("display", .string("Kärna"))]))),
                                                      ("type", .array([coding("http://terminology.hl7.org/CodeSystem/security-source-type", "4", "Application Server")]))]))))
        if !entities.isEmpty { members.append(("entity", .array(entities))) }
        return JSONObject(members)
    }
}
