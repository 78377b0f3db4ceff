import Access
import FHIRCore
import Foundation
import Hummingbird
import PatientAdministration
import StoreModel
import Documentation

/// The start page of an assignment: today's visits at the unit, the user's unsigned notes, the
/// unit's referral inbox and the waiting-list entries past the care guarantee.
extension WebApp {
    func startPage(_ user: User) async throws -> Response {
        guard let assignment = user.assignment else {
            return message(user: user, heading: "Inget medarbetaruppdrag", text: "Logga in igen och välj ett medarbetaruppdrag.", status: .forbidden)
        }
        let session = user.data(gateway, action: "start-page")
        let records = Records(session: session)
        let today = SwedishTime.today
        async let appointments = records.search("Appointment", [
            ("date", "ge\(SwedishTime.format(SwedishTime.instant(day: today, minuteOfDay: 0)))"),
            ("date", "lt\(SwedishTime.format(SwedishTime.instant(day: today + 1, minuteOfDay: 0)))"),
            ("_tag", "\(RecordTags.careUnit)|\(assignment.unitID)"), ("_sort", "date"),
        ], limit: 200)
        async let unsigned = documentation.notes.unsigned(session: session)
        async let inbox = administration.referrals.inbox(unitID: assignment.unitID, sent: false, session: session)
        async let waiting = administration.waitingList.entries(unitID: assignment.unitID, overdueOnly: true, session: session)
        let (visits, notes, referrals, overdue) = try await (appointments, unsigned, inbox, waiting)

        // Names for every row in one read.
        var patientIDs = Set<String>()
        for visit in visits { patientIDs.formUnion(Display.participants(visit.object, type: "Patient")) }
        for note in notes { if let id = Display.id(note.note.object["subject"], type: "Patient") { patientIDs.insert(id) } }
        patientIDs.formUnion(referrals.compactMap(\.patientID))
        patientIDs.formUnion(overdue.compactMap(\.patientID))
        let requestIDs = referrals.compactMap { Display.id($0.task.object["focus"], type: "ServiceRequest") }
        let read = try await session.read(keys: patientIDs.sorted().map { ResourceKey(type: "Patient", id: $0) }
                                               + requestIDs.map { ResourceKey(type: "ServiceRequest", id: $0) })
        let patients = Dictionary(read.filter { $0.type == "Patient" }.map { ($0.id, $0.object) }, uniquingKeysWith: { a, _ in a })
        let requests = Dictionary(read.filter { $0.type == "ServiceRequest" }.map { ($0.id, $0.object) }, uniquingKeysWith: { a, _ in a })
        func name(_ id: String?) -> String { id.flatMap { patients[$0] }.map(Display.name) ?? "Patient utan åtkomst" }

        var context = layout(user, title: "Start", nav: "navStart")
        context["unitName"] = assignment.unitName
        context["positionName"] = assignment.position.display
        context["today"] = SwedishTime.formatDay(today)
        // `object` parses the stored JSON: once per row.
        context["appointments"] = visits.map { stored -> [String: Any] in
            let visit = stored.object
            let patientID = Display.participants(visit, type: "Patient").first
            return ["time": Display.clock(visit["start"]?.stringValue), "patientID": patientID ?? "", "patientName": name(patientID),
                    "identity": patientID.flatMap { patients[$0] }.flatMap(Display.identity)?.value ?? "",
                    "visit": Display.concept(visit["serviceType"]?.arrayValue?.first), "status": Labels.appointmentStatus(visit["status"]?.stringValue)]
        }
        context["unsigned"] = notes.map { item -> [String: Any] in
            let note = item.note.object
            let patientID = Display.id(note["subject"], type: "Patient")
            return ["title": note["title"]?.stringValue ?? "Anteckning", "patientID": patientID ?? "", "patientName": name(patientID),
                    "date": Display.time(note["date"]?.stringValue), "mustSign": item.mustSign]
        }
        context["referrals"] = referrals.map { item -> [String: Any] in
            let request = Display.id(item.task.object["focus"], type: "ServiceRequest").flatMap { requests[$0] }
            return ["taskID": item.task.id, "patientID": item.patientID ?? "", "patientName": name(item.patientID), "question": request.map(Display.referralQuestion) ?? "Remiss",
             "status": Labels.taskStatus(item.status), "days": item.daysSinceSent, "overdue": item.isOverdue || item.isAlarm]
        }
        context["waiting"] = overdue.map { entry -> [String: Any] in
            ["patientID": entry.patientID ?? "", "patientName": name(entry.patientID), "visit": entry.visitType.flatMap(VisitType.init(rawValue:))?.display ?? "Besök",
             "overdueDays": -entry.daysLeft, "priority": entry.priority]
        }
        return pages.page("start", context)
    }
}
