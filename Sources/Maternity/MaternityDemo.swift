public import Access
import FHIRCore
import Foundation
import StoreModel
import Synchronization

/// The demo's pregnancies, written through the module's own workflows by the demo midwife with a clock moved to each
/// visit's day: one in week 36 with the whole programme and an SF curve that leaves the band, one delivered today
/// with a partogram past the action line, one whose registration visit is late with AUDIT missing, and, for the
/// benchmark's scale, one pregnancy per thousand patients with the visits up to her week.
extension Maternity {
    public func seedDemo(_ demo: DemoContext) async throws -> [String] {
        guard let midwife = try await demo.practitioner(assignmentID: "demo-barnmorska-uppdrag-1", name: "Lena Dahl", action: "demo-maternity"),
              let unit = midwife.principal.assignment?.unitID else { return [] }
        let records = Records(session: demo.job("demo-maternity"))
        // Once: a second seed finds the unit's pregnancies there.
        if try await !records.search("CarePlan", [("_tag", "\(RecordTags.careUnit)|\(unit)"), ("category", "\(MaternityCodes.maternity)|\(MaternityCodes.basprogramCategory)")],
                                     limit: 1).isEmpty { return [] }
        let women = try await records.search("Patient", [("gender", "female"), ("birthdate", "ge1984-01-01"), ("birthdate", "le2004-12-31"), ("_sort", "_id")],
                                             limit: max(4, demo.patients / 1_000 + 3))
        guard women.count >= 3 else { return [] }
        let now = Instant.now(), today = SwedishTime.day(of: now)
        let time = Mutex(now)
        let moving = try Maternity(programme: antenatal.programme, questionnaires: antenatal.questionnaires, curves: curves, sfRules: fundal.rules,
                                   partogram: delivery.check.lines, registers: registers.mapping, clock: { time.withLock { $0 } })
        func at(_ day: Int, hour: Int = 10) { time.withLock { $0 = min(now, SwedishTime.instant(day: day, minuteOfDay: hour * 60)) } }
        func answers(_ form: String, _ points: Int) -> [String: String] { antenatal.questionnaires.forms[form]?.answers(totalling: points) ?? [:] }
        /// A pregnancy now in `week` with the programme's visits up to it; the SF-mått follow `sf` (cm by visit) where given.
        func pregnancy(_ patientID: String, week: Int, sf: [String: Double] = [:], skipAudit: Bool = false) async throws -> Pregnancy {
            let lmp = today - week * 7
            at(lmp + 8 * 7 + 2)
            let registered = try await moving.antenatal.register(.init(patientID: patientID, lastMenstrualPeriod: lmp, parity: patientID.count % 2,
                                                                                       gravidity: patientID.count % 2 + patientID.count % 3),
                                                                 session: midwife)
            for visit in antenatal.programme.visits where visit.week <= week && !(skipAudit && visit.code == "inskrivning") {
                at(lmp + visit.week * 7 + 1)
                var values: [String: String] = [:], forms: [String: [String: String]] = [:]
                for item in visit.items {
                    switch item {
                    case "folsyra": values[item] = "ja"
                    case "blodgrupp": values[item] = "O RhD+"
                    case "hepatit-b", "hiv", "syfilis": values[item] = "negativ"
                    case "rubella": values[item] = "immun"
                    case "hb": values[item] = String(118 + visit.week % 7)
                    case "p-glukos": values[item] = "5.1"
                    case "blodtryck": values[item] = "\(112 + visit.week / 4)/\(70 + visit.week / 8)"
                    case "u-protein": values[item] = "negativ"
                    case "langd": values[item] = "167"
                    case "vikt": values[item] = String(63 + visit.week / 3)
                    case "tobak": values[item] = "aldrig"
                    case "forlossningsradsla": values[item] = "ingen"
                    case "vald": values[item] = "ställd, nej"
                    case "fosterljud": values[item] = "140"
                    case "sf": values[item] = sf[visit.code].map { String($0) } ?? curves.curves["sf"]?.at(Double(visit.week)).map { String(($0.mean * 10).rounded() / 10) }
                    case "audit": forms["audit"] = answers("audit", 2)
                    case "epds": forms["epds"] = answers("epds", 5)
                    default: break
                    }
                }
                _ = try await moving.antenatal.recordVisit(pregnancyID: registered.id, .init(visit: visit.code, values: values, answers: forms), session: midwife)
            }
            at(today, hour: 0)
            return registered
        }
        var lines: [String] = []
        // Week 36, full programme; the SF curve falls below −2 SD at 34 and 36 (two below: ultrasound).
        let reference = curves.curves["sf"]
        func below(_ week: Double) -> Double { reference.flatMap { $0.at(week) }.map { (($0.mean - 2.4 * $0.sd) * 10).rounded() / 10 } ?? 20 }
        _ = try await pregnancy(women[0].id, week: 36, sf: ["v34": below(34), "v36": below(36)])
        lines.append("Mödravård (\(unit)): \(women[0].id) i vecka 36 med hela basprogrammet och SF-mått under −2 SD")
        // Registration visit late, AUDIT missing.
        _ = try await pregnancy(women[1].id, week: 15, skipAudit: true)
        // Delivered today after a partogram past the action line, by the midwife at the delivery ward.
        let delivering = try await demo.practitioner(assignmentID: "demo-barnmorska-uppdrag-2", name: "Lena Dahl", action: "demo-delivery")
        if let delivering {
            let mother = try await pregnancy(women[2].id, week: 40)
            let start = SwedishTime.instant(day: today, minuteOfDay: 0) - 10 * 3_600_000
            time.withLock { $0 = start }
            let admission = try await moving.delivery.admit(patientID: mother.patientID, unitID: nil, session: delivering)
            for (hour, cervix, heart) in [(0.0, 4.0, 140.0), (2, 5, 138), (5, 6, 142), (9, 7, 150)] {
                time.withLock { $0 = start + Int64(hour * 3_600_000) }
                _ = try await moving.delivery.record(encounterID: admission.id, values: ["cervix": cervix, "fosterljud": heart, "varkar": 3, "puls": 88], at: nil,
                                                     session: delivering)
            }
            time.withLock { $0 = start + 10 * 3_600_000 }
            _ = try await moving.delivery.registerBirth(encounterID: admission.id, .init(gender: "female", weightGrams: 3_480, lengthCm: 50, headCm: 34.5, apgar1: 8,
                                                                                        apgar5: 9, apgar10: 10, mode: "vakuum"), session: delivering)
            lines.append("Förlossningen: \(women[2].id) förlöst i dag efter ett partogram till höger om aktionslinjen")
        }
        // One pregnancy per thousand patients, each in her own week.
        for (index, woman) in women.dropFirst(3).enumerated() {
            _ = try await pregnancy(woman.id, week: 9 + (index * 7) % 31)
        }
        lines.append("Mödravård: \(women.count) graviditeter inskrivna")
        return lines
    }
}
