public import Access
public import FHIRCore
public import Foundation
public import StoreModel

/// Who signs a result, and who gets its critical value: the doctor responsible for the patient's current stay
/// (care taken over after a transfer or admission); for an order made during a stay that has since ended, the
/// doctor who discharged the patient (results pending at discharge); otherwise the doctor who ordered it.
/// A doctor away (frånvaro, on their PractitionerRole) has it go to the substitute (ersättare) they named.
enum SignOffOwner {
    /// The Task's mark of whom its owner stands in for.
    static let standingInForExtension = "https://karna.se/fhir/StructureDefinition/ersattare-for"

    /// The sign-off Task (vidimering) of a final result: new for the responsible doctor, or reopened by a
    /// correction or a repeat of a result that was already signed; nil when nothing changes.
    /// `route` finds the owner when one is needed (the caller may have found it already, for a critical value).
    static func write(reportID: String, order: StoredResource, patientID: String, corrected: Bool, session: PatientDataSession, now: Date,
                      route: () async throws -> Route) async throws -> WriteOperation? {
        let id = ResultIngest.recordID("vidimering", reportID)
        let current = try await session.read(type: "Task", id: id).flatMap { $0.isDeleted ? nil : $0 }
        if let current {
            guard corrected else { return nil }
            var task = current.object
            task["status"] = .string("requested")
            task["businessStatus"] = FHIR.text("Korrigerat svar")
            task.setExtension(ResultsVocabulary.openedExtension, "valueReference", nil)
            task["output"] = nil
            task["lastModified"] = .string(ISO8601DateFormatter().string(from: now))
            return .update(task, type: "Task", id: id, ifMatch: current.versionId)
        }
        let route = try await route()
        var task = JSONObject([
            ("resourceType", .string("Task")), ("id", .string(id)), ("status", .string("requested")), ("intent", .string("order")),
            ("priority", .string("routine")),
            ("code", FHIR.concept(ResultsVocabulary.taskSystem, ResultsVocabulary.signOffCode, "Vidimera provsvar")),
            ("focus", FHIR.reference("DiagnosticReport", reportID)),
            ("for", FHIR.reference("Patient", patientID)),
            ("basedOn", .array([FHIR.reference("ServiceRequest", order.id)])),
            ("authoredOn", .string(ISO8601DateFormatter().string(from: now))),
            ("businessStatus", FHIR.text("Ej öppnat")),
        ])
        if let owner = route.owner { task["owner"] = try await Absence.reference(owner, session: session) }
        if let away = route.standingInFor { task.setExtension(standingInForExtension, "valueReference", try await Absence.reference(away, session: session)) }
        if let unit = RecordTags.unit(of: order.object) { task = RecordTags.tagged(task, unit: unit) }
        return .create(task, type: "Task", id: id)
    }

    /// The doctor a result of the order goes to now, a substitute standing in for an absent one.
    static func responsible(order: StoredResource, patientID: String, session: PatientDataSession, now: Date = Date()) async throws -> String? {
        try await route(order: order, patientID: patientID, session: session, now: now).owner
    }

    /// The doctor a result goes to, and the absent one they stand in for.
    typealias Route = (owner: String?, standingInFor: String?)

    static func route(order: StoredResource, patientID: String, session: PatientDataSession, now: Date) async throws -> Route {
        let first = try await accountable(order: order, patientID: patientID, session: session)
        guard let first else { return (nil, nil) }
        let present = try await Absence.standIn(for: first, at: now, session: session)
        return (present, present == first ? nil : first)
    }

    /// Before absence: the current stay's responsible doctor, the discharging doctor of the stay the order was
    /// made in, or the requester.
    static func accountable(order: StoredResource, patientID: String, session: PatientDataSession) async throws -> String? {
        let records = Records(session: session)
        let stays = try await records.search("Encounter", [("patient", patientID), ("status", "in-progress"), ("class", "IMP")], limit: 5)
        for stay in stays {
            if let role = stay.object["participant"]?.arrayValue?.first?.objectValue?.referenceID("individual", type: "PractitionerRole") { return role }
        }
        // Ordered during a stay that has ended: the result was pending at discharge.
        if let ordered = order.object["authoredOn"]?.stringValue.flatMap(Instant.parse) {
            let ended = try await records.search("Encounter", [("patient", patientID), ("status", "finished"), ("class", "IMP"), ("_sort", "-date")], limit: 20)
            for stay in ended {
                let period = stay.object["period"]?.objectValue
                // In whole seconds: a stay's times are written to the second, an order's to the millisecond.
                guard let start = period?["start"]?.stringValue.flatMap(Instant.parse), let end = period?["end"]?.stringValue.flatMap(Instant.parse),
                      start / 1_000 <= ordered / 1_000, ordered / 1_000 <= end / 1_000 else { continue }
                let discharger = (stay.object["participant"]?.arrayValue ?? []).compactMap(\.objectValue).first { participant in
                    participant.code("type", system: "http://terminology.hl7.org/CodeSystem/v3-ParticipationType") == "DIS"
                }
                if let role = discharger?.referenceID("individual", type: "PractitionerRole") { return role }
            }
        }
        return order.object.referenceID("requester", type: "PractitionerRole")
    }
}

/// A doctor's absence (frånvaro) with the substitute (ersättare) who takes their results meanwhile, kept on the
/// assignment as FHIR has it: `PractitionerRole.notAvailable`, the substitute in an extension of each period.
public enum Absence {
    public static let substituteExtension = "https://karna.se/fhir/StructureDefinition/ersattare"
    /// How many substitutes of substitutes are followed before the chain stops (and a loop is cut).
    static let chainLimit = 5

    /// The assignment that takes `role`'s results at `now`: its substitute while it is away, theirs while
    /// they are, else `role` itself.
    public static func standIn(for role: String, at now: Date, session: PatientDataSession) async throws -> String {
        var current = role
        var seen: Set<String> = [role]
        for _ in 0..<chainLimit {
            guard let stored = try await session.read(type: "PractitionerRole", id: current), !stored.isDeleted,
                  let substitute = substitute(stored.object, at: now), !seen.contains(substitute) else { break }
            seen.insert(substitute)
            current = substitute
        }
        return current
    }

    /// A reference to an assignment that reads as its holder's name on every list.
    public static func reference(_ role: String, session: PatientDataSession) async throws -> JSONValue {
        let name = try await session.read(type: "PractitionerRole", id: role).map { Display.reference($0.object["practitioner"]) } ?? ""
        return FHIR.reference("PractitionerRole", role, display: name.isEmpty ? nil : name)
    }

    /// The substitute named for the absence covering `now`, if there is one.
    public static func substitute(_ role: JSONObject, at now: Date) -> String? {
        let moment = Int64(now.timeIntervalSince1970 * 1_000)
        for period in (role["notAvailable"]?.arrayValue ?? []).compactMap(\.objectValue) {
            let during = period["during"]?.objectValue
            let start = during?["start"]?.stringValue.flatMap { instant($0, end: false) } ?? Int64.min
            let end = during?["end"]?.stringValue.flatMap { instant($0, end: true) } ?? Int64.max
            guard start <= moment, moment < end,
                  let reference = period.extensionValue(substituteExtension)?.objectValue?["reference"]?.stringValue,
                  let key = ResourceKey(reference: reference), key.type == "PractitionerRole" else { continue }
            return key.id
        }
        return nil
    }

    /// Records an absence on the caller's own assignment (or, for a systemförvaltare, anyone's), naming the
    /// substitute: both must exist, the period must end after it starts.
    public static func record(role: String, start: String, end: String, substitute: String, reason: String?, session: PatientDataSession) async throws -> StoredResource {
        guard session.principal.assignment?.id == role || session.principal.permissions.administer else {
            throw FHIRError(.forbidden, code: .forbidden, "an absence is recorded by the assignment's own holder or a systemförvaltare",
                            text: "Frånvaro registreras av den som har uppdraget, eller av en systemförvaltare.")
        }
        guard let from = instant(start, end: false) else {
            throw FHIRError(.invalid, code: .value, "start must be a date or dateTime; got '\(start)'", expression: ["start"], text: "Ange när frånvaron börjar.")
        }
        guard let until = instant(end, end: true), until > from else {
            throw FHIRError(.invalid, code: .value, "end must be a date or dateTime after start; got '\(end)'", expression: ["end"], text: "Ange när frånvaron slutar, efter början.")
        }
        guard substitute != role else {
            throw FHIRError(.invalid, code: .value, "the substitute must be another assignment than the absent one", expression: ["substitute"],
                            text: "Ersättaren ska vara någon annan.")
        }
        let records = Records(session: session)
        let stored = try await records.require("PractitionerRole", role)
        guard let standIn = try await session.read(type: "PractitionerRole", id: substitute), !standIn.isDeleted else {
            throw FHIRError(.invalid, code: .value, "substitute: PractitionerRole/\(substitute) does not exist", expression: ["substitute"],
                            text: "Ersättaren finns inte.")
        }
        var object = stored.object
        var period = JSONObject([("description", .string(reason.flatMap { $0.isEmpty ? nil : $0 } ?? "Frånvaro")),
                                 ("during", FHIR.object([("start", .string(start)), ("end", .string(end))]))])
        period.setExtension(substituteExtension, "valueReference", FHIR.reference("PractitionerRole", substitute, display: Display.reference(standIn.object["practitioner"])))
        object.append("notAvailable", .object(period))
        _ = try await session.commit(.update(object, type: "PractitionerRole", id: role, ifMatch: stored.versionId))
        return try await records.require("PractitionerRole", role)
    }

    /// A date is a Swedish day: an absence from 2026-12-08 to 2026-12-10 begins at that day's midnight and ends
    /// at the end of the 10th. A dateTime is its instant.
    static func instant(_ text: String, end: Bool) -> Int64? {
        if text.count == 10, let day = SwedishTime.parseDay(text) { return SwedishTime.instant(day: end ? day + 1 : day, minuteOfDay: 0) }
        return Instant.parse(text)
    }
}
