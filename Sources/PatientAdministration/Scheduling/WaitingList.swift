import Access
import FHIRCore
import Foundation
import StoreModel

/// Väntelistan: patients waiting for a time, with priority and the care guarantee's deadline.
/// An entry is an Appointment with status `waitlist`; booking it turns the same Appointment into a booking.
public struct WaitingList: Sendable {
    public let settings: AdministrationSettings

    public init(settings: AdministrationSettings) {
        self.settings = settings
    }

    /// Puts a patient on a unit's waiting list for a visit type. `startDay` is when the guarantee's
    /// clock started (the referral's arrival, the decision to treat); today when not given.
    public func add(patientID: String, unitID: String?, visitType: VisitType, priority: Int, stage: CareGuarantee.Stage, startDay: Int?,
                    referralID: String?, comment: String?, session: PatientDataSession) async throws -> StoredResource {
        let records = Records(session: session)
        _ = try await records.require("Patient", patientID, role: "patient")
        let unit = try session.actingUnit(unitID)
        _ = try await records.require("Organization", unit, role: "unit")
        guard (1...9).contains(priority) else { throw FHIRError(.invalid, code: .value, "priority must be 1 (most urgent) to 9; got \(priority)", expression: ["priority"], text: "Prioriteten ska vara 1 (mest brådskande) till 9.") }
        let start = startDay ?? SwedishTime.today
        let due = settings.careGuarantee.dueDay(stage, startDay: start)
        let id = UUID().uuidString.lowercased()
        var entry = JSONObject([
            ("resourceType", .string("Appointment")), ("id", .string(id)), ("status", .string("waitlist")),
            ("serviceType", .array([FHIR.concept(AdministrationCodes.visitType, visitType.rawValue, visitType.display)])),
            ("priority", .number(String(priority))),
            ("created", .string(SwedishTime.formatDay(start))),
            ("requestedPeriod", .array([FHIR.object([("start", .string(SwedishTime.formatDay(start))), ("end", .string(SwedishTime.formatDay(due)))])])),
            ("participant", .array([FHIR.object([("actor", FHIR.reference("Patient", patientID)), ("status", .string("needs-action"))])])),
        ])
        entry.setExtension(AdministrationCodes.careGuarantee, "valueCode", .string(stage.rawValue))
        if let referralID { entry["basedOn"] = .array([FHIR.reference("ServiceRequest", referralID)]) }
        if let comment, !comment.isEmpty { entry["comment"] = .string(comment) }
        session.tagForUnit(&entry, unit: unit)
        _ = try await session.commit(.create(entry, type: "Appointment", id: id))
        return try await records.require("Appointment", id)
    }

    /// One line of the waiting list.
    public struct Entry: Sendable {
        public var appointment: StoredResource
        public var patientID: String?
        public var visitType: String?
        public var priority: Int
        public var stage: CareGuarantee.Stage?
        public var startDay: Int
        public var dueDay: Int
        /// Days left until the guarantee's deadline (negative when overdue).
        public var daysLeft: Int
        public var isOverdue: Bool { daysLeft < 0 }
    }

    /// A unit's waiting list, most pressing first (deadline, then priority).
    public func entries(unitID: String?, overdueOnly: Bool = false, session: PatientDataSession) async throws -> [Entry] {
        let unit = try session.actingUnit(unitID)
        let waiting = try await Records(session: session).all("Appointment", [("status", "waitlist"), ("_tag", "\(RecordTags.careUnit)|\(unit)")], maximum: 10_000)
        let today = SwedishTime.today
        var entries = waiting.map { stored -> Entry in
            let object = stored.object
            let period = object["requestedPeriod"]?.arrayValue?.first?.objectValue
            let start = period?["start"]?.stringValue.flatMap(SwedishTime.parseDay) ?? today
            let stage = object.extensionValue(AdministrationCodes.careGuarantee)?.stringValue.flatMap(CareGuarantee.Stage.init(rawValue:))
            let due = stage.map { settings.careGuarantee.dueDay($0, startDay: start) } ?? period?["end"]?.stringValue.flatMap(SwedishTime.parseDay) ?? start + 90
            return Entry(appointment: stored, patientID: object.referenceIDs("participant", actorType: "Patient").first,
                         visitType: object.code("serviceType", system: AdministrationCodes.visitType), priority: Int(object["priority"]?.numberText ?? "") ?? 5,
                         stage: stage, startDay: start, dueDay: due, daysLeft: due - today)
        }
        if overdueOnly { entries = entries.filter(\.isOverdue) }
        return entries.sorted { ($0.dueDay, $0.priority, $0.appointment.id) < ($1.dueDay, $1.priority, $1.appointment.id) }
    }
}
