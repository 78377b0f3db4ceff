public import Access
public import FHIRCore
public import Foundation
public import StoreModel

/// Vidimering: the responsible doctor opens a final result, then signs it as seen and followed up. The
/// sign-off Task records who opened it and when, and who signed and when; signing an unopened result is refused.
public struct SignOff: Sendable {
    /// Hours a final result may wait unsigned before it is escalated to the unit.
    public var escalationHours: Int

    public init(escalationHours: Int = 72) {
        self.escalationHours = escalationHours
    }

    static let escalatedExtension = "https://karna.se/fhir/StructureDefinition/vidimering-eskalerad"

    /// The sweep the lab job runs: an open sign-off whose owner is now away goes to their substitute, and one
    /// unsigned past `escalationHours` is escalated to its unit (urgent, marked, on the unit's list first), once.
    public func sweep(session: PatientDataSession, now: Date = Date()) async throws -> (rerouted: [StoredResource], escalated: [StoredResource]) {
        var rerouted: [StoredResource] = [], escalated: [StoredResource] = []
        // Each owner's stand-in is looked up once a sweep, however many results they hold.
        var standIns: [String: String] = [:]
        // Every open sign-off, a page at a time: a region holds far more than one list's worth.
        var query = try SearchQuery.parse(type: "Task", parameters: [("code", "\(ResultsVocabulary.taskSystem)|\(ResultsVocabulary.signOffCode)"),
                                                                     ("status", "requested,in-progress")], strict: true)
        while true {
            let page = try await session.search(query, limit: 500)
            for task in page.resources {
                var object = task.object
                var moved = false, escalating = false
                if let owner = object.referenceID("owner", type: "PractitionerRole") {
                    let present: String
                    if let known = standIns[owner] {
                        present = known
                    } else {
                        present = try await Absence.standIn(for: owner, at: now, session: session)
                        standIns[owner] = present
                    }
                    if present != owner {
                        object["owner"] = try await Absence.reference(present, session: session)
                        if object.extensionValue(SignOffOwner.standingInForExtension) == nil {
                            object.setExtension(SignOffOwner.standingInForExtension, "valueReference", try await Absence.reference(owner, session: session))
                        }
                        moved = true
                    }
                }
                if object.extensionValue(Self.escalatedExtension) == nil,
                   let authored = object["authoredOn"]?.stringValue.flatMap({ ISO8601DateFormatter().date(from: $0) }),
                   now.timeIntervalSince(authored) >= Double(escalationHours) * 3_600 {
                    object["priority"] = .string("urgent")
                    object.setExtension(Self.escalatedExtension, "valueDateTime", .string(ISO8601DateFormatter().string(from: now)))
                    escalating = true
                }
                guard moved || escalating, let updated = try await write(object, over: task, session: session) else { continue }
                if escalating { escalated.append(updated) } else { rerouted.append(updated) }
            }
            guard page.hasMore, let last = page.resources.last else { break }
            query.afterID = last.id
        }
        return (rerouted, escalated)
    }

    /// Writes the swept Task over the version read; nil when it was opened or signed meanwhile (the next sweep sees that).
    private func write(_ object: JSONObject, over task: StoredResource, session: PatientDataSession) async throws -> StoredResource? {
        do {
            _ = try await session.commit(.update(object, type: "Task", id: task.id, ifMatch: task.versionId))
        } catch let error as FHIRError where isConcurrencyConflict(error) {
            return nil
        } catch let failure as CommitFailure where isConcurrencyConflict(failure.error) {
            return nil
        }
        return try await session.read(type: "Task", id: task.id)
    }

    /// When the sign-off was escalated to its unit, if it was.
    public static func escalated(_ task: JSONObject) -> String? {
        task.extensionValue(escalatedExtension)?.stringValue
    }

    /// Whom the owner stands in for (an absent doctor), if anyone.
    public static func standingInFor(_ task: JSONObject) -> JSONValue? {
        task.extensionValue(SignOffOwner.standingInForExtension)
    }

    /// The result with its analyses, marking the sign-off Task opened by the caller.
    public func open(reportID: String, session: PatientDataSession, now: Date = Date()) async throws -> (report: StoredResource, analyses: [StoredResource], task: StoredResource?) {
        let records = Records(session: session)
        let report = try await records.require("DiagnosticReport", reportID)
        let ids = (report.object["result"]?.arrayValue ?? []).compactMap { $0.objectValue?["reference"]?.stringValue }
            .compactMap { ResourceKey(reference: $0) }.filter { $0.type == "Observation" }
        let analyses = try await session.read(keys: ids)
        var task = try await signOffTask(reportID: reportID, session: session)
        // A doctor's opening counts (signing is a doctor's); a nurse reading the result leaves the mark as it was.
        if let current = task, ["requested", "in-progress"].contains(current.object["status"]?.stringValue ?? ""),
           let role = session.principal.assignment?.id, session.principal.permissions.prescribe {
            var object = current.object
            object.setExtension(ResultsVocabulary.openedExtension, "valueReference", nil)
            object.append("extension", FHIR.object([("url", .string(ResultsVocabulary.openedExtension)), ("extension", .array([
                FHIR.object([("url", .string("av")), ("valueReference", FHIR.reference("PractitionerRole", role))]),
                FHIR.object([("url", .string("tid")), ("valueDateTime", .string(ISO8601DateFormatter().string(from: now)))]),
            ]))]))
            object["status"] = .string("in-progress")
            object["businessStatus"] = FHIR.text(current.object["businessStatus"]?.objectValue?["text"]?.stringValue == "Korrigerat svar" ? "Korrigerat svar, öppnat" : "Öppnat")
            _ = try await retryingConflicts {
                try await session.commit(.update(object, type: "Task", id: current.id, ifMatch: current.versionId))
            }
            task = try await records.optional("Task", current.id)
        }
        return (report, analyses, task)
    }

    /// Signs the result: the caller must have opened it (since its last correction).
    public func sign(reportID: String, session: PatientDataSession, now: Date = Date()) async throws -> StoredResource {
        guard let role = session.principal.assignment?.id else {
            throw refused("signing a result needs a medarbetaruppdrag", text: "Att vidimera kräver ett medarbetaruppdrag.")
        }
        guard let task = try await signOffTask(reportID: reportID, session: session) else {
            throw FHIRError(.notFound, code: .notFound, "DiagnosticReport/\(reportID) has no sign-off (it is not final)",
                            text: "Svaret är inte slutligt och har inget att vidimera.")
        }
        guard task.object["status"]?.stringValue != "completed" else {
            throw FHIRError(.conflict, code: .conflict, "DiagnosticReport/\(reportID) is already signed", text: "Svaret är redan vidimerat.")
        }
        guard Self.openedBy(task.object) == role else {
            throw refused("open the result before signing it (DiagnosticReport/\(reportID)/$open-result): signing means it was seen",
                          text: "Öppna svaret innan du vidimerar det.")
        }
        var object = task.object
        object["status"] = .string("completed")
        object["businessStatus"] = FHIR.text("Vidimerat")
        object["output"] = .array([FHIR.object([("type", FHIR.text("Vidimerat av")), ("valueReference", FHIR.reference("PractitionerRole", role))])])
        object["executionPeriod"] = FHIR.object([("end", .string(ISO8601DateFormatter().string(from: now)))])
        _ = try await session.commit(.update(object, type: "Task", id: task.id, ifMatch: task.versionId))
        return try await Records(session: session).require("Task", task.id)
    }

    func signOffTask(reportID: String, session: PatientDataSession) async throws -> StoredResource? {
        try await session.read(type: "Task", id: ResultIngest.recordID("vidimering", reportID)).flatMap { $0.isDeleted ? nil : $0 }
    }

    /// The assignment that opened the result, from the sign-off Task.
    public static func openedBy(_ task: JSONObject) -> String? {
        for item in task["extension"]?.arrayValue ?? [] where item.objectValue?["url"]?.stringValue == ResultsVocabulary.openedExtension {
            for part in item.objectValue?["extension"]?.arrayValue ?? [] where part.objectValue?["url"]?.stringValue == "av" {
                return part.objectValue?.referenceID("valueReference", type: "PractitionerRole")
            }
        }
        return nil
    }

    /// Sign-off Tasks still open: the caller's own, or every one of a unit.
    public func inbox(ownerRole: String?, unitID: String?, session: PatientDataSession) async throws -> [StoredResource] {
        var parameters = [("code", "\(ResultsVocabulary.taskSystem)|\(ResultsVocabulary.signOffCode)"), ("status", "requested,in-progress")]
        if let ownerRole { parameters.append(("owner", "PractitionerRole/\(ownerRole)")) }
        let open = try await Records(session: session).all("Task", parameters, maximum: 2_000)
        guard let unitID else { return open }
        return open.filter { RecordTags.unit(of: $0.object) == unitID }
    }

    /// Unmatched results (omatchade svar) waiting for a person to match them.
    public func unmatched(session: PatientDataSession) async throws -> [StoredResource] {
        try await Records(session: session).all("Task", [("code", "\(ResultsVocabulary.taskSystem)|\(ResultsVocabulary.unmatchedCode)"), ("status", "requested")],
                                                maximum: 2_000)
    }
}
