public import Access
public import FHIRCore
import Foundation
public import StoreModel

/// Dagkirurgi: a booked day admission (a short-stay Encounter), the pre-operative checklist, the discharge criteria —
/// the patient cannot be sent home until every one is recorded — and the telephone follow-up the next day, a Task
/// the unit owns with a time by which it is due (and overdue after).
public struct DaySurgery: Sendable {
    public let lists: DaySurgeryLists
    let clock: @Sendable () -> Int64

    public init(lists: DaySurgeryLists, clock: @escaping @Sendable () -> Int64 = { Instant.now() }) {
        self.lists = lists
        self.clock = clock
    }

    static let followUpCode = "telefonuppfoljning"

    /// Books a day admission for a day at the unit (the caller's unless named), for a procedure.
    public func book(patientID: String, unitID: String?, day: Int, procedure: String, session: PatientDataSession) async throws -> StoredResource {
        let records = Records(session: session)
        _ = try await records.require("Patient", patientID, role: "patient")
        let unit = try session.actingUnit(unitID)
        _ = try await records.require("Organization", unit, role: "unit")
        guard day >= SwedishTime.day(of: clock()) else {
            throw FHIRError(.invalid, code: .value, "date must be today or later; got \(SwedishTime.formatDay(day))", expression: ["date"], text: "Dagen har redan varit.")
        }
        let text = procedure.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { throw FHIRError(.invalid, code: .required, "procedure is required", expression: ["procedure"], text: "Ange ingreppet.") }
        let id = UUID().uuidString.lowercased()
        var encounter = JSONObject([
            ("resourceType", .string("Encounter")), ("id", .string(id)), ("status", .string("planned")),
            ("statusHistory", .array([FHIR.object([("status", .string("planned")), ("period", FHIR.object([("start", .string(SwedishTime.format(clock())))]))])])),
            ("class", FHIR.coding(CareFlowCodes.actCode, "SS", "short stay")),
            ("type", .array([FHIR.concept(CareFlowCodes.visitType, "dagkirurgi", "Dagkirurgi")])),
            ("subject", FHIR.reference("Patient", patientID)),
            ("period", FHIR.object([("start", .string(SwedishTime.formatDay(day)))])),
            ("reasonCode", .array([FHIR.text(text)])),
            ("serviceProvider", FHIR.reference("Organization", unit)),
        ])
        session.tagForUnit(&encounter, unit: unit)
        _ = try await session.commit(.create(encounter, type: "Encounter", id: id))
        return try await records.require("Encounter", id)
    }

    /// The unit's day admissions of a day (booked, in progress and finished).
    public func day(_ day: Int, unitID: String, session: PatientDataSession) async throws -> [StoredResource] {
        try await Records(session: session).all("Encounter", [
            ("service-provider", "Organization/\(unitID)"), ("class", "\(CareFlowCodes.actCode)|SS"),
            ("type", "\(CareFlowCodes.visitType)|dagkirurgi"),
            ("date", "ge" + SwedishTime.dayStart(day)), ("date", "lt" + SwedishTime.dayStart(day + 1)),
        ], maximum: 500)
    }

    /// The patient has come (in progress from now).
    public func arrive(encounterID: String, session: PatientDataSession) async throws -> StoredResource {
        let records = Records(session: session)
        let stored = try await records.require("Encounter", encounterID)
        var encounter = try Self.dayAdmission(stored)
        guard encounter["status"]?.stringValue == "planned" else {
            throw refused("Encounter/\(encounterID) is \(encounter["status"]?.stringValue ?? "unknown"), not planned", expression: ["Encounter.status"], text: "Patienten har redan kommit.")
        }
        let now = clock()
        var history = encounter["statusHistory"]?.arrayValue ?? []
        history.append(FHIR.object([("status", .string("in-progress")), ("period", FHIR.object([("start", .string(SwedishTime.format(now)))]))]))
        encounter["statusHistory"] = .array(history)
        encounter["status"] = .string("in-progress")
        encounter["period"] = FHIR.object([("start", .string(SwedishTime.format(now)))])
        _ = try await session.commit(.update(encounter, type: "Encounter", id: encounterID, ifMatch: stored.versionId))
        return try await records.require("Encounter", encounterID)
    }

    /// Which list an item is on.
    public enum List: String, Sendable { case preoperative = "preop", discharge = "utskrivning" }

    /// Records checklist items as done (one Observation each, true, with who and when).
    public func check(encounterID: String, list: List, items: [String], session: PatientDataSession) async throws -> [StoredResource] {
        let records = Records(session: session)
        let stored = try await records.require("Encounter", encounterID)
        let encounter = try Self.dayAdmission(stored)
        guard encounter["status"]?.stringValue == "in-progress" else {
            throw refused("Encounter/\(encounterID) is not in progress: record the checklist when the patient has come", expression: ["Encounter.status"],
                          text: "Registrera ankomst först.")
        }
        let known = list == .preoperative ? lists.preoperative : lists.discharge
        guard !items.isEmpty else { throw FHIRError(.invalid, code: .required, "name at least one item", expression: ["item"], text: "Kryssa i minst en punkt.") }
        for item in items where !known.contains(where: { $0.code == item }) {
            throw FHIRError(.invalid, code: .value, "item '\(item)' is not on the \(list.rawValue) list (\(known.map(\.code).joined(separator: ", ")))", expression: ["item"])
        }
        let patientID = encounter.referenceID("subject", type: "Patient") ?? ""
        let now = clock()
        let operations: [WriteOperation] = items.map { code in
            let id = UUID().uuidString.lowercased()
            var observation = JSONObject([
                ("resourceType", .string("Observation")), ("id", .string(id)), ("status", .string("final")),
                ("category", .array([FHIR.concept(CareFlowCodes.careFlow, list == .preoperative ? "preoperativ-kontroll" : "utskrivningskriterium",
                                                  list == .preoperative ? "Preoperativ kontroll" : "Utskrivningskriterium")])),
                ("code", FHIR.concept(CareFlowCodes.careFlow, code, known.first { $0.code == code }?.display)),
                ("subject", FHIR.reference("Patient", patientID)), ("encounter", FHIR.reference("Encounter", encounterID)),
                ("effectiveDateTime", .string(SwedishTime.format(now))), ("valueBoolean", .bool(true)),
            ])
            if let role = session.principal.assignment?.id { observation["performer"] = .array([FHIR.reference("PractitionerRole", role)]) }
            return .create(observation, type: "Observation", id: id)
        }
        return try await session.commit(operations).compactMap(\.resource)
    }

    /// The items of a list recorded for the visit.
    public func checked(encounterID: String, list: List, session: PatientDataSession) async throws -> Set<String> {
        let category = list == .preoperative ? "preoperativ-kontroll" : "utskrivningskriterium"
        let found = try await Records(session: session).search("Observation", [("encounter", "Encounter/\(encounterID)"), ("category", "\(CareFlowCodes.careFlow)|\(category)")], limit: 200)
        return Set(found.filter { $0.object["valueBoolean"]?.boolValue == true }.compactMap { $0.object.code("code", system: CareFlowCodes.careFlow) })
    }

    /// Sends the patient home: refused until every discharge criterion is recorded; then the visit ends and
    /// tomorrow's telephone follow-up is the unit's task, due by the configured hour.
    public func discharge(encounterID: String, session: PatientDataSession) async throws -> (encounter: StoredResource, followUp: StoredResource) {
        let records = Records(session: session)
        let stored = try await records.require("Encounter", encounterID)
        var encounter = try Self.dayAdmission(stored)
        guard encounter["status"]?.stringValue == "in-progress" else {
            throw refused("Encounter/\(encounterID) is \(encounter["status"]?.stringValue ?? "unknown"), not in progress", expression: ["Encounter.status"], text: "Besöket pågår inte.")
        }
        let done = try await checked(encounterID: encounterID, list: .discharge, session: session)
        let missing = lists.discharge.filter { !done.contains($0.code) }
        guard missing.isEmpty else {
            throw refused("the discharge criteria are not all recorded: \(missing.map(\.code).joined(separator: ", "))", expression: ["Encounter.status"],
                          text: "Patienten kan inte skrivas ut förrän alla kriterier är uppfyllda. Saknas: " + missing.map(\.display).joined(separator: "; ") + ".")
        }
        let now = clock(), unit = encounter.referenceID("serviceProvider", type: "Organization") ?? ""
        var history = encounter["statusHistory"]?.arrayValue ?? []
        history.append(FHIR.object([("status", .string("finished")), ("period", FHIR.object([("start", .string(SwedishTime.format(now)))]))]))
        encounter["statusHistory"] = .array(history)
        encounter["status"] = .string("finished")
        var period = encounter["period"]?.objectValue ?? JSONObject()
        period["end"] = .string(SwedishTime.format(now))
        encounter["period"] = .object(period)
        let due = SwedishTime.instant(day: SwedishTime.day(of: now) + 1, minuteOfDay: lists.followUpHour * 60)
        let taskID = UUID().uuidString.lowercased()
        var task = JSONObject([
            ("resourceType", .string("Task")), ("id", .string(taskID)), ("status", .string("requested")), ("intent", .string("plan")),
            ("code", FHIR.concept(CareFlowCodes.careFlow, Self.followUpCode, "Telefonuppföljning dag 1")),
            ("description", .string("Ring patienten dagen efter ingreppet: smärta, blödning, illamående, frågor.")),
            ("for", encounter["subject"] ?? .null), ("encounter", FHIR.reference("Encounter", encounterID)),
            ("authoredOn", .string(SwedishTime.format(now))), ("owner", FHIR.reference("Organization", unit)),
            ("restriction", FHIR.object([("period", FHIR.object([("end", .string(SwedishTime.format(due)))]))])),
        ])
        if let role = session.principal.assignment?.id { task["requester"] = FHIR.reference("PractitionerRole", role) }
        session.tagForUnit(&task, unit: unit)
        let written = try await session.commit([.update(encounter, type: "Encounter", id: encounterID, ifMatch: stored.versionId),
                                                .create(task, type: "Task", id: taskID)])
        let followUp: StoredResource
        if let created = written.last?.resource { followUp = created } else { followUp = try await records.require("Task", taskID) }
        return (try await records.require("Encounter", encounterID), followUp)
    }

    /// One follow-up call on the unit's list.
    public struct FollowUp: Sendable {
        public var task: StoredResource
        public var due: Int64
        public var overdue: Bool
    }

    /// The unit's follow-up calls not yet made, the overdue first.
    public func followUps(unitID: String, session: PatientDataSession) async throws -> [FollowUp] {
        let now = clock()
        let open = try await Records(session: session).all("Task", [("owner", "Organization/\(unitID)"), ("code", "\(CareFlowCodes.careFlow)|\(Self.followUpCode)"),
                                                                    ("status", "requested,in-progress")], maximum: 500)
        return open.map { task in
            let due = task.object["restriction"]?.objectValue?["period"]?.objectValue?["end"]?.stringValue.flatMap(Instant.parse) ?? .max
            return FollowUp(task: task, due: due, overdue: due < now)
        }.sorted { $0.due < $1.due }
    }

    /// The call is made: the task is done, with what was said.
    public func completeFollowUp(taskID: String, note: String?, session: PatientDataSession) async throws -> StoredResource {
        let records = Records(session: session)
        let stored = try await records.require("Task", taskID)
        guard stored.object.code("code", system: CareFlowCodes.careFlow) == Self.followUpCode else { throw refused("Task/\(taskID) is not a telephone follow-up") }
        guard ["requested", "in-progress"].contains(stored.object["status"]?.stringValue ?? "") else {
            throw refused("Task/\(taskID) is already \(stored.object["status"]?.stringValue ?? "")", text: "Uppföljningen är redan gjord.")
        }
        var task = stored.object.forUpdate
        task["status"] = .string("completed")
        task["executionPeriod"] = FHIR.object([("end", .string(SwedishTime.format(clock())))])
        if let note = note?.trimmingCharacters(in: .whitespacesAndNewlines), !note.isEmpty {
            task["note"] = .array([FHIR.object([("text", .string(note)), ("time", .string(SwedishTime.format(clock())))])])
        }
        if let role = session.principal.assignment?.id { task["output"] = .array([FHIR.object([("type", FHIR.text("Utförd av")), ("valueReference", FHIR.reference("PractitionerRole", role))])]) }
        _ = try await session.commit(.update(task, type: "Task", id: taskID, ifMatch: stored.versionId))
        return try await records.require("Task", taskID)
    }

    static func dayAdmission(_ stored: StoredResource) throws -> JSONObject {
        let object = stored.object.forUpdate
        guard object["class"]?.objectValue?["code"]?.stringValue == "SS" else {
            throw refused("Encounter/\(stored.id) is not a day admission (class SS)", expression: ["Encounter.class"])
        }
        return object
    }
}
