import Access
import FHIRCore
import Foundation
import PatientAdministration
import Store
import StoreModel

/// The demo's appointment books, bookings, referrals and waiting lists for the demo units, written
/// after `karna seed` through the same workflows users call, so a new user finds a working day.
public enum DemoAdministration {
    /// What was created, for the seed's summary line.
    public struct Summary: Sendable {
        public var slots = 0, bookings = 0, referrals = 0, waiting = 0
    }

    public static func populate(gateway: AccessGateway, administration: PatientAdministration, patients: Int) async throws -> Summary? {
        let job = gateway.session(.job("karna-seed"), action: "demo-administration")
        guard patients >= 1, try await job.read(type: "Schedule", id: "demo-vc-lakare") == nil,
              try await job.read(type: "Patient", id: "pat-1") != nil else { return nil }
        var summary = Summary()
        let today = SwedishTime.today
        let schedules: [(id: String, unit: String, actor: String, name: String, weekdays: String, start: String, end: String, minutes: String, type: VisitType)] = [
            ("demo-vc-lakare", DemoSetup.primaryCare, "Practitioner/demo-lakare", "Anna Lindqvist, läkarmottagning", "mon,tue,wed,thu,fri", "08:00", "12:00", "20", .doctor),
            ("demo-vc-telefon", DemoSetup.primaryCare, "Practitioner/demo-lakare", "Telefontider", "mon,wed,fri", "13:00", "14:00", "15", .phone),
            ("demo-ward-aterbesok", DemoSetup.ward, "Practitioner/demo-lakare", "Återbesök medicinmottagningen", "tue,thu", "13:00", "16:00", "30", .doctor),
        ]
        for schedule in schedules {
            let resource = JSONObject([
                ("resourceType", .string("Schedule")), ("id", .string(schedule.id)),
                ("meta", .object(JSONObject([("tag", .array([.object(JSONObject([("system", .string(RecordTags.careUnit)), ("code", .string(schedule.unit))]))]))]))),
                ("active", .bool(true)),
                ("serviceType", .array([.object(JSONObject([("coding", .array([.object(JSONObject([("system", .string(AdministrationCodes.visitType)),
                                                                                                 ("code", .string(schedule.type.rawValue))]))]))]))])),
                ("actor", .array([.object(JSONObject([("reference", .string(schedule.actor))]))])),
                ("comment", .string(schedule.name)),
            ])
            _ = try await job.commit(.create(resource, type: "Schedule", id: schedule.id))
            let template = try AppointmentBook.SlotTemplate.parse(from: SwedishTime.formatDay(today), to: SwedishTime.formatDay(today + 20), weekdays: schedule.weekdays,
                                                                  start: schedule.start, end: schedule.end, minutes: schedule.minutes, visitType: schedule.type.rawValue)
            summary.slots += try await administration.book.generateSlots(scheduleID: schedule.id, template: template, session: job).created
        }
        // Bookings: every third free doctor's time at the vårdcentral for the next patients.
        let free = try await administration.book.findFreeSlots(scheduleID: "demo-vc-lakare", unitID: nil, visitType: nil, from: Instant.now(), to: nil,
                                                                limit: 200, session: job)
        var slotIndex = 0
        for n in 11...max(11, min(patients, 40)) where slotIndex < free.count {
            guard try await job.read(type: "Patient", id: "pat-\(n)") != nil else { break }
            _ = try await administration.book.book(slotID: free[slotIndex].id, patientID: "pat-\(n)", comment: "Kontroll", session: job)
            summary.bookings += 1
            slotIndex += 3
        }
        // Referrals from the vårdcentral to the medical clinic, at different steps.
        let questions = [("pat-1", "Förmaksflimmer? Oregelbunden puls sedan två veckor, EKG bifogas i journalen.", "urgent"),
                         ("pat-2", "Svårinställd hypertoni trots tre läkemedel, önskar bedömning.", "routine"),
                         ("pat-3", "Anemi utan känd orsak, Hb 98. Önskar utredning.", "routine")]
        for (index, (patient, question, priority)) in questions.enumerated() where try await job.read(type: "Patient", id: patient) != nil {
            let sent = try await administration.referrals.send(patientID: patient, toUnitID: DemoSetup.ward, question: question, priority: priority, reasonText: nil,
                                                               attachments: [], fromUnitID: DemoSetup.primaryCare, session: job)
            summary.referrals += 1
            switch index {
            case 1:
                _ = try await administration.referrals.act(taskID: sent.task.id, event: .accept, text: "Planeras till mottagningen", session: job)
                _ = try await administration.waitingList.add(patientID: patient, unitID: DemoSetup.ward, visitType: .doctor, priority: 4, stage: .specialistVisit,
                                                             startDay: today - 20, referralID: sent.serviceRequest.id, comment: "Remiss från vårdcentralen", session: job)
                try await administration.referrals.planned(serviceRequestID: sent.serviceRequest.id, session: job)
                summary.waiting += 1
            case 2:
                _ = try await administration.referrals.act(taskID: sent.task.id, event: .requestCompletion, text: "Bifoga järnstatus och B12", session: job)
            default:
                break
            }
        }
        // The vårdcentral's waiting list, one entry past its care-guarantee day.
        for (patient, stage, started, priority) in [("pat-4", CareGuarantee.Stage.assessment, today - 5, 2), ("pat-5", .specialistVisit, today - 30, 5),
                                                    ("pat-12", .treatment, today - 95, 3)] where try await job.read(type: "Patient", id: patient) != nil {
            _ = try await administration.waitingList.add(patientID: patient, unitID: DemoSetup.primaryCare, visitType: .doctor, priority: priority, stage: stage,
                                                         startDay: started, referralID: nil, comment: nil, session: job)
            summary.waiting += 1
        }
        return summary
    }
}
