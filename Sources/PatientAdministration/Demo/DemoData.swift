import Access
import FHIRCore
import Foundation
import StoreModel

/// Patient administration's demo: today's care contacts for the first patients (so demo users have
/// care relationships at once), and appointment books, bookings, referrals and waiting lists at the
/// demo units, written after `karna seed` through the same workflows users call, so a new user finds a
/// working day.
extension PatientAdministration {
    /// What the demo books hold, for the seed's summary line.
    public struct DemoSummary: Sendable {
        public var careContacts = 0, slots = 0, bookings = 0, referrals = 0, waiting = 0
    }

    public func seedDemo(_ demo: DemoContext) async throws -> [String] {
        let contacts = try await demoCareContacts(demo)
        var lines: [String] = []
        if contacts > 0 {
            lines.append("\(contacts) ongoing care contacts today at the demo units (\(demo.primaryCareUnit), \(demo.wardUnit)) for pat-1…pat-\(contacts)")
        }
        if let summary = try await populateDemoBooks(demo) {
            lines.append("demo appointment books: \(summary.slots) slots, \(summary.bookings) bookings, \(summary.referrals) referrals, \(summary.waiting) on waiting lists")
        }
        return lines
    }

    /// Today's care contacts for the first synthetic patients at the demo units (the synthetic
    /// histories end on the region's reference day); the ward's inpatients lie in its beds.
    public func demoCareContacts(_ demo: DemoContext) async throws -> Int {
        let job = demo.job("create")
        let now = Instant.format(milliseconds: Instant.now())
        let (primaryCare, ward) = (demo.primaryCareUnit, demo.wardUnit)
        var resources: [JSONObject] = []
        for n in 1...max(1, min(demo.patients, 10)) {
            let unit = n <= 5 ? primaryCare : ward
            resources.append(JSONObject([
                ("resourceType", .string("Encounter")), ("id", .string("demo-contact-pat-\(n)")),
                ("meta", .object(JSONObject([("tag", .array([.object(JSONObject([("system", .string(RecordTags.careUnit)), ("code", .string(unit))]))]))]))),
                ("status", .string("in-progress")),
                ("class", .object(JSONObject([("system", .string("http://terminology.hl7.org/CodeSystem/v3-ActCode")),
                                              ("code", .string(n <= 5 ? "AMB" : "IMP"))]))),
                ("subject", .object(JSONObject([("reference", .string("Patient/pat-\(n)"))]))),
                ("period", .object(JSONObject([("start", .string(now))]))),
                ("serviceProvider", .object(JSONObject([("reference", .string("Organization/\(unit)"))]))),
            ]))
            if n > 5 {
                // The ward's inpatients lie in its beds (the demo region's Locations), with an expected discharge, for the ward overview.
                let bed = "\(ward)-sal-\((n - 6) / 2 + 1)-sang-\((n - 6) % 2 + 1)"
                resources[resources.count - 1]["location"] = .array([.object(JSONObject([
                    ("location", .object(JSONObject([("reference", .string("Location/\(bed)"))]))), ("status", .string("active")),
                    ("period", .object(JSONObject([("start", .string(now))]))),
                ]))])
                resources[resources.count - 1]["extension"] = .array([.object(JSONObject([
                    ("url", .string("https://karna.se/fhir/StructureDefinition/forvantad-utskrivning")),
                    ("valueDate", .string(String(Instant.format(milliseconds: Instant.now() + Int64(n - 4) * 86_400_000).prefix(10)))),
                ]))])
            }
        }
        let existing = try await job.read(keys: [ResourceKey(type: "Patient", id: "pat-1")])
        guard !existing.isEmpty else { return 0 }
        return try await job.commit(resources.map { .update($0, type: "Encounter", id: $0["id"]!.stringValue!) }).count
    }

    /// The demo units' appointment books, bookings, referrals and waiting lists; nil when they are there already.
    public func populateDemoBooks(_ demo: DemoContext) async throws -> DemoSummary? {
        let administration = self
        let patients = demo.patients
        let job = demo.job("demo-administration")
        guard patients >= 1, try await job.read(type: "Schedule", id: "demo-vc-lakare") == nil,
              try await job.read(type: "Patient", id: "pat-1") != nil else { return nil }
        var summary = DemoSummary()
        let today = SwedishTime.today
        let schedules: [(id: String, unit: String, actor: String, name: String, weekdays: String, start: String, end: String, minutes: String, type: VisitType)] = [
            ("demo-vc-lakare", demo.primaryCareUnit, "Practitioner/demo-lakare", "Anna Lindqvist, läkarmottagning", "mon,tue,wed,thu,fri", "08:00", "12:00", "20", .doctor),
            ("demo-vc-telefon", demo.primaryCareUnit, "Practitioner/demo-lakare", "Telefontider", "mon,wed,fri", "13:00", "14:00", "15", .phone),
            ("demo-ward-aterbesok", demo.wardUnit, "Practitioner/demo-lakare", "Återbesök medicinmottagningen", "tue,thu", "13:00", "16:00", "30", .doctor),
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
            let sent = try await administration.referrals.send(patientID: patient, toUnitID: demo.wardUnit, question: question, priority: priority, reasonText: nil,
                                                               attachments: [], fromUnitID: demo.primaryCareUnit, session: job)
            summary.referrals += 1
            switch index {
            case 1:
                _ = try await administration.referrals.act(taskID: sent.task.id, event: .accept, text: "Planeras till mottagningen", session: job)
                _ = try await administration.waitingList.add(patientID: patient, unitID: demo.wardUnit, visitType: .doctor, priority: 4, stage: .specialistVisit,
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
            _ = try await administration.waitingList.add(patientID: patient, unitID: demo.primaryCareUnit, visitType: .doctor, priority: priority, stage: stage,
                                                         startDay: started, referralID: nil, comment: nil, session: job)
            summary.waiting += 1
        }
        return summary
    }
}
