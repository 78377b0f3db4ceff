import Access
import FHIRCore
import Foundation
import Hummingbird
import PatientAdministration
import StoreModel
import WebApp

/// Patient administration's worklists on the start page: today's visits at the unit, the unit's
/// referral inbox, and the waiting-list entries past the care guarantee.
extension AdministrationPages {
    func startSections(_ user: User) async throws -> [StartSection] {
        guard let assignment = user.assignment else { return [] }
        let session = user.data(gateway, action: "start-page")
        let records = Records(session: session)
        let today = SwedishTime.today
        async let appointments = records.search("Appointment", [
            ("date", "ge\(SwedishTime.format(SwedishTime.instant(day: today, minuteOfDay: 0)))"),
            ("date", "lt\(SwedishTime.format(SwedishTime.instant(day: today + 1, minuteOfDay: 0)))"),
            ("_tag", "\(RecordTags.careUnit)|\(assignment.unitID)"), ("_sort", "date"),
        ], limit: 200)
        async let inbox = administration.referrals.inbox(unitID: assignment.unitID, sent: false, session: session)
        async let waiting = administration.waitingList.entries(unitID: assignment.unitID, overdueOnly: true, session: session)
        let (visits, referrals, overdue) = try await (appointments, inbox, waiting)

        // Names for every row in one read.
        var patientIDs = Set<String>()
        for visit in visits { patientIDs.formUnion(Display.participants(visit.object, type: "Patient")) }
        patientIDs.formUnion(referrals.compactMap(\.patientID))
        patientIDs.formUnion(overdue.compactMap(\.patientID))
        let requestIDs = referrals.compactMap { Display.id($0.task.object["focus"], type: "ServiceRequest") }
        let read = try await session.read(keys: patientIDs.sorted().map { ResourceKey(type: "Patient", id: $0) }
                                               + requestIDs.map { ResourceKey(type: "ServiceRequest", id: $0) })
        let patients = Dictionary(read.filter { $0.type == "Patient" }.map { ($0.id, $0.object) }, uniquingKeysWith: { a, _ in a })
        let requests = Dictionary(read.filter { $0.type == "ServiceRequest" }.map { ($0.id, $0.object) }, uniquingKeysWith: { a, _ in a })
        func name(_ id: String?) -> String { id.flatMap { patients[$0] }.map(Display.name) ?? "Patient utan åtkomst" }

        // `object` parses the stored JSON: once per row.
        let visitRows = visits.map { stored -> [String: Any] in
            let visit = stored.object
            let patientID = Display.participants(visit, type: "Patient").first
            return ["time": Display.clock(visit["start"]?.stringValue), "patientID": patientID ?? "", "patientName": name(patientID),
                    "identity": patientID.flatMap { patients[$0] }.flatMap(Display.identity)?.value ?? "",
                    "visit": Display.concept(visit["serviceType"]?.arrayValue?.first), "status": Labels.appointmentStatus(visit["status"]?.stringValue)]
        }
        let referralRows = referrals.map { item -> [String: Any] in
            let request = Display.id(item.task.object["focus"], type: "ServiceRequest").flatMap { requests[$0] }
            return ["taskID": item.task.id, "patientID": item.patientID ?? "", "patientName": name(item.patientID), "question": request.map(Display.referralQuestion) ?? "Remiss",
                    "status": Labels.taskStatus(item.status), "days": item.daysSinceSent, "overdue": item.isOverdue || item.isAlarm]
        }
        let waitingRows = overdue.map { entry -> [String: Any] in
            ["patientID": entry.patientID ?? "", "patientName": name(entry.patientID), "visit": entry.visitType.flatMap(VisitType.init(rawValue:))?.display ?? "Besök",
             "overdueDays": -entry.daysLeft, "priority": entry.priority]
        }
        return [
            StartSection(rank: 10, html: pages.render("start-visits", ["appointments": visitRows])),
            StartSection(rank: 30, html: pages.render("start-referrals", ["referrals": referralRows])),
            StartSection(rank: 40, html: pages.render("start-waiting", ["waiting": waitingRows])),
        ]
    }
}
