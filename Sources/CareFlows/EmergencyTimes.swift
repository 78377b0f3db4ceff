public import Access
public import FHIRCore
import Foundation
import StoreModel

/// The times the region reports for its emergency department (ledtider), from the visits' statusHistory:
/// time to triage (TTT), to the first doctor (TTL) and total stay (TVT) as medians and as the share within the
/// targets, returns within 72 hours, and the visits that left before a doctor saw them, counted apart.
public enum EmergencyTimes {
    /// One visit reduced to its times (milliseconds).
    public struct Visit: Sendable, Equatable {
        public var id: String
        public var patientID: String
        public var arrival: Int64
        public var triage: Int64?
        public var doctor: Int64?
        public var left: Int64?
        public var disposition: String?

        public init(id: String, patientID: String, arrival: Int64, triage: Int64? = nil, doctor: Int64? = nil, left: Int64? = nil, disposition: String? = nil) {
            self.id = id
            self.patientID = patientID
            self.arrival = arrival
            self.triage = triage
            self.doctor = doctor
            self.left = left
            self.disposition = disposition
        }

        /// Read from an emergency Encounter.
        public init?(_ id: String, _ encounter: JSONObject) {
            guard let patientID = encounter.referenceID("subject", type: "Patient") else { return nil }
            let times = EmergencyDepartment.stepTimes(encounter)
            guard let arrival = times[.arrival] ?? encounter["period"]?.objectValue?["start"]?.stringValue.flatMap(Instant.parse) else { return nil }
            self.init(id: id, patientID: patientID, arrival: arrival, triage: times[.triage], doctor: times[.doctor], left: times[.left],
                      disposition: encounter["hospitalization"]?.objectValue?["dischargeDisposition"]?.objectValue?["coding"]?.arrayValue?.first?.objectValue?["code"]?.stringValue)
        }

        /// Seen by a doctor: a reportable visit (a patient who left before is not one).
        public var seenByDoctor: Bool { doctor != nil }
    }

    /// A measure: how many visits it covers, the median in minutes and the share within the target.
    public struct Measure: Sendable, Equatable {
        public var count: Int
        public var medianMinutes: Double?
        public var withinTarget: Int
        public var share: Double? { count == 0 ? nil : Double(withinTarget) / Double(count) }

        public init(count: Int, medianMinutes: Double?, withinTarget: Int) {
            self.count = count
            self.medianMinutes = medianMinutes
            self.withinTarget = withinTarget
        }
    }

    /// The report for a set of visits (a day's, say).
    public struct Report: Sendable, Equatable {
        public var visits: Int
        public var open: Int
        public var toTriage: Measure
        public var toDoctor: Measure
        public var stay: Measure
        /// Left before a doctor saw them (not reportable visits; counted apart).
        public var leftBeforeDoctor: Int
        /// Left on their own after the doctor (avbruten vård).
        public var abandonedAfterDoctor: Int
        /// Reportable visits whose patient came back to the emergency department within the return window.
        public var returns: Int
        public var returnBase: Int
    }

    /// The report over `visits`; `later` are the visits a return is looked for in (the same ones and the days after).
    public static func report(_ visits: [Visit], later: [Visit], targets: EmergencyTargets) -> Report {
        func measure(_ durations: [Int64], target: Int) -> Measure {
            let minutes = durations.map { Double($0) / 60_000 }.sorted()
            let median: Double? = minutes.isEmpty ? nil : minutes.count % 2 == 1 ? minutes[minutes.count / 2]
                : (minutes[minutes.count / 2 - 1] + minutes[minutes.count / 2]) / 2
            return Measure(count: minutes.count, medianMinutes: median, withinTarget: minutes.filter { $0 <= Double(target) }.count)
        }
        let reportable = visits.filter(\.seenByDoctor)
        let finished = reportable.filter { $0.left != nil }
        let byPatient = Dictionary(grouping: later, by: \.patientID)
        let window = Int64(targets.returnHours) * 3_600_000
        let returned = finished.filter { visit in
            guard let left = visit.left else { return false }
            return (byPatient[visit.patientID] ?? []).contains { $0.id != visit.id && $0.arrival > left && $0.arrival <= left + window }
        }
        return Report(
            visits: visits.count, open: visits.filter { $0.left == nil }.count,
            toTriage: measure(visits.compactMap { v in v.triage.map { $0 - v.arrival } }, target: targets.triageMinutes),
            toDoctor: measure(reportable.compactMap { v in v.doctor.map { $0 - v.arrival } }, target: targets.doctorMinutes),
            stay: measure(finished.compactMap { v in v.left.map { $0 - v.arrival } }, target: targets.stayMinutes),
            leftBeforeDoctor: visits.filter { $0.left != nil && !$0.seenByDoctor }.count,
            abandonedAfterDoctor: reportable.filter { $0.disposition == "avbruten" }.count,
            returns: returned.count, returnBase: finished.count)
    }

    /// The unit's visits that arrived on a local day, and the report over them (returns looked for in the window after).
    public static func day(_ day: Int, unitID: String, targets: EmergencyTargets, session: PatientDataSession, maximum: Int = 5_000) async throws -> (visits: [Visit], report: Report) {
        let start = SwedishTime.instant(day: day, minuteOfDay: 0), end = SwedishTime.instant(day: day + 1, minuteOfDay: 0)
        let returnEnd = end + Int64(targets.returnHours) * 3_600_000
        let found = try await Records(session: session).all("Encounter", [
            ("service-provider", "Organization/\(unitID)"), ("class", "\(CareFlowCodes.actCode)|EMER"),
            ("date", "ge" + SwedishTime.format(start)), ("date", "lt" + SwedishTime.format(returnEnd)),
        ], maximum: maximum)
        let all = found.filter { !["cancelled", "entered-in-error"].contains($0.object["status"]?.stringValue ?? "") }.compactMap { Visit($0.id, $0.object) }
        let ofDay = all.filter { $0.arrival >= start && $0.arrival < end }.sorted { $0.arrival < $1.arrival }
        return (ofDay, report(ofDay, later: all, targets: targets))
    }

    /// The patient register's lines (PAR): doctor-seen visits only, with avbruten vård 1 when the patient left on their own after the doctor.
    public static func registerLines(_ visits: [Visit]) -> [(visit: Visit, abandoned: Bool)] {
        visits.filter(\.seenByDoctor).map { ($0, $0.disposition == "avbruten") }
    }
}
