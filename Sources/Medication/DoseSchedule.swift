public import Access
public import FHIRCore
public import StoreModel
import Terminology

/// One planned dose on the MAR (läkemedelslista för administrering) and what became of it.
public struct DueDose: Sendable {
    /// given, not given (with a reason), held, prepared (iordningställd), planned, due, late, missed (missad).
    public enum State: String, Sendable {
        case given, notGiven = "not-given", held, prepared, planned, due, late, missed

        public var swedish: String {
            switch self {
            case .given: "Given"
            case .notGiven: "Ej given"
            case .held: "Uppehåll"
            case .prepared: "Iordningställd"
            case .planned: "Planerad"
            case .due: "Att ge"
            case .late: "Sen"
            case .missed: "Missad"
            }
        }
    }

    public var patientID: String
    public var order: String
    public var drug: String
    /// The planned time (milliseconds since 1970).
    public var time: Int64
    public var dose: String
    public var state: State
    /// The MedicationAdministration that answers it, if any.
    public var administration: String?
    /// On the high-risk list: given only with dubbelkontroll.
    public var highRisk: Bool
}

/// A patient's inpatient stay (vårdtillfälle) in progress or on leave: the stay the MAR, the ordination
/// form, the läkemedelsgenomgång and the läkemedelsberättelse belong to.
public enum InpatientStay {
    public static func query(patientID: String) throws -> SearchQuery {
        try SearchQuery.parse(type: "Encounter", parameters: [("patient", "Patient/\(patientID)"), ("status", "in-progress,onleave"),
                                                              ("class", "http://terminology.hl7.org/CodeSystem/v3-ActCode|IMP")], strict: true)
    }

    public static func current(patientID: String, session: PatientDataSession) async throws -> StoredResource? {
        try await session.search(try query(patientID: patientID), limit: 1).resources.first
    }
}

/// The due doses of ordinations in a time window, matched with the doses recorded: a dose recorded with the
/// planned-time extension belongs to that time; otherwise the nearest under the same ordination within the
/// configured window does. A planned dose left open becomes late, then missed, after the configured times.
/// Vid behov ordinations have no planned doses.
public enum DoseSchedule {
    /// The planned time a recorded dose answers (`valueDateTime`), set by the MAR when a due dose is given.
    public static let plannedTimeExtension = "https://karna.se/fhir/StructureDefinition/planerad-tid"

    /// The MAR of these patients from `from` to `to`, read through the session (one look per patient).
    public static func read(patientIDs: [String], from: Int64, to: Int64, now: Int64 = Instant.now(), session: PatientDataSession,
                            rules: MedicationSafetyRules.Administration) async throws -> [DueDose] {
        guard !patientIDs.isEmpty else { return [] }
        let patients = patientIDs.map { "Patient/\($0)" }.joined(separator: ",")
        let window = Int64(rules.doseWindowMinutes) * 60_000
        let found = try await session.search(together: [
            (try SearchQuery.parse(type: "MedicationRequest", parameters: [("patient", patients), ("status", "active,on-hold,stopped,completed"),
                                                                           ("intent", "order,original-order,instance-order")], strict: true), 2_000),
            (try SearchQuery.parse(type: "MedicationAdministration", parameters: [
                ("patient", patients), ("effective-time", "ge" + Instant.format(milliseconds: from - window)),
                ("effective-time", "lt" + Instant.format(milliseconds: to + window))], strict: true), 5_000),
        ])
        return schedule(orders: found[0], administrations: found[1], from: from, to: to, now: now, rules: rules)
    }

    /// The MAR of a ward: its inpatients (stays in progress or on leave with the ward as service provider), and their doses.
    public static func readWard(unitID: String, from: Int64, to: Int64, now: Int64 = Instant.now(), session: PatientDataSession,
                                rules: MedicationSafetyRules.Administration) async throws -> (patientIDs: [String], doses: [DueDose]) {
        let stays = try await session.search(try SearchQuery.parse(type: "Encounter", parameters: [
            ("service-provider", "Organization/\(unitID)"), ("status", "in-progress,onleave"),
            ("class", "http://terminology.hl7.org/CodeSystem/v3-ActCode|IMP")], strict: true), limit: 500).resources
        let patientIDs = Array(Set(stays.compactMap { $0.object.referenceID("subject", type: "Patient") })).sorted()
        return (patientIDs, try await read(patientIDs: patientIDs, from: from, to: to, now: now, session: session, rules: rules))
    }

    /// The due doses, in time order, each with its state at `now`.
    public static func schedule(orders: [StoredResource], administrations: [StoredResource], from: Int64, to: Int64, now: Int64,
                                rules: MedicationSafetyRules.Administration) -> [DueDose] {
        var byOrder: [String: [StoredResource]] = [:]
        for record in administrations where record.object["status"]?.stringValue != "entered-in-error" {
            if let order = record.object.referenceID("request", type: "MedicationRequest") { byOrder[order, default: []].append(record) }
        }
        var doses: [DueDose] = []
        for order in orders {
            let object = order.object
            guard let patient = object.referenceID("subject", type: "Patient") else { continue }
            let drug = Display.concept(object["medicationCodeableConcept"])
            let highRisk = rules.highRisk(object.code("medicationCodeableConcept", system: KnownSystems.atc)) != nil
            var recorded = byOrder[order.id] ?? []
            // Only while in force: a stopped or completed ordination plans nothing after it ended.
            let ended = ["stopped", "completed"].contains(object["status"]?.stringValue ?? "") ? order.lastUpdated : Int64.max
            for (time, dose) in times(object, from: from, to: min(to, ended), rules: rules) {
                var item = DueDose(patientID: patient, order: order.id, drug: drug, time: time, dose: dose, state: .planned, administration: nil, highRisk: highRisk)
                if let at = match(time, in: recorded, window: Int64(rules.doseWindowMinutes) * 60_000) {
                    let record = recorded.remove(at: at)
                    item.administration = record.id
                    item.state = switch record.object["status"]?.stringValue {
                    case "completed": .given
                    case "not-done": .notGiven
                    case "on-hold": .held
                    default: .prepared
                    }
                } else if object["status"]?.stringValue == "on-hold" {
                    item.state = .held
                } else if now >= time + Int64(rules.missedAfterMinutes) * 60_000 {
                    item.state = .missed
                } else if now >= time + Int64(rules.lateAfterMinutes) * 60_000 {
                    item.state = .late
                } else if now >= time {
                    item.state = .due
                }
                doses.append(item)
            }
        }
        return doses.sorted { ($0.time, $0.patientID, $0.drug) < ($1.time, $1.patientID, $1.drug) }
    }

    /// The recorded dose that answers a planned time: one naming it, else the nearest within the window.
    static func match(_ time: Int64, in recorded: [StoredResource], window: Int64) -> Int? {
        if let named = recorded.firstIndex(where: { $0.object.extensionValue(plannedTimeExtension)?.stringValue.flatMap(Instant.parse) == time }) {
            return named
        }
        let candidates = recorded.indices.compactMap { index -> (Int, Int64)? in
            let record = recorded[index].object
            guard record.extensionValue(plannedTimeExtension) == nil, let at = AdministrationRule.effectiveInstant(record) else { return nil }
            return abs(at - time) <= window ? (index, abs(at - time)) : nil
        }
        return candidates.min { $0.1 < $1.1 }?.0
    }

    /// The planned times of an ordination's scheduled dosages in [from, to), with the dose each gives.
    static func times(_ order: JSONObject, from: Int64, to: Int64, rules: MedicationSafetyRules.Administration) -> [(Int64, String)] {
        plannedDoses(order, from: from, to: to, rules: rules).map { ($0.time, $0.text) }
    }

    /// The dose planned at exactly `time` under an ordination (its quantity), if one is.
    static func plannedDose(_ order: JSONObject, at time: Int64, rules: MedicationSafetyRules.Administration) -> JSONObject? {
        plannedDoses(order, from: time, to: time + 1, rules: rules).first?.quantity
    }

    static func plannedDoses(_ order: JSONObject, from: Int64, to: Int64, rules: MedicationSafetyRules.Administration)
        -> [(time: Int64, text: String, quantity: JSONObject?)] {
        guard from < to else { return [] }
        var result: [(time: Int64, text: String, quantity: JSONObject?)] = []
        for dosage in (order["dosageInstruction"]?.arrayValue ?? []).compactMap(\.objectValue) {
            guard dosage["asNeededBoolean"]?.boolValue != true, dosage["asNeededCodeableConcept"] == nil,
                  let repeatRule = dosage["timing"]?.objectValue?["repeat"]?.objectValue else { continue }
            let bounds = repeatRule["boundsPeriod"]?.objectValue
            let start = bounds?["start"]?.stringValue.flatMap(instant) ?? Int64.min
            let end = bounds?["end"]?.stringValue.flatMap { endInstant($0) } ?? Int64.max
            let quantity = dosage["doseAndRate"]?.arrayValue?.first?.objectValue?["doseQuantity"]?.objectValue
            let dose = quantity.map(DosageText.quantity) ?? ""
            let minutes = clockTimes(repeatRule, rules: rules)
            // A counted dosage (an engångsdos has count 1) is counted from its start, so its times are planned
            // from there and the first `count` kept, whatever window is asked for.
            let count = repeatRule["count"]?.numberText.flatMap(Int.init)
            let lower = count != nil && start != Int64.min ? min(start, from) : from
            var planned: [Int64] = []
            if minutes.isEmpty, let hours = everyHours(repeatRule) {
                // Every n hours from the start (or from the window's first 08:00 when the start has no time).
                let step = Int64(hours * 3_600_000)
                var time = start == Int64.min ? SwedishTime.instant(day: SwedishTime.day(of: lower), minuteOfDay: 8 * 60) : start
                if time < lower { time += ((lower - time + step - 1) / step) * step }
                while time < to, time < end, planned.count < (count ?? Int.max) {
                    planned.append(time)
                    time += step
                }
            } else if minutes.isEmpty, count != nil, start != Int64.min {
                planned = [start]
            } else if !minutes.isEmpty {
                for day in SwedishTime.day(of: lower)...SwedishTime.day(of: to) {
                    for minute in minutes {
                        let time = SwedishTime.instant(day: day, minuteOfDay: minute)
                        if time >= lower, time < to, time >= start, time < end { planned.append(time) }
                    }
                }
            }
            for time in planned.prefix(count ?? Int.max) where time >= from && time < to {
                result.append((time, dose, quantity))
            }
        }
        return result
    }

    /// The clock times of a day's doses: timeOfDay, else the ward's times of `when`, else of `frequency` a day.
    static func clockTimes(_ repeatRule: JSONObject, rules: MedicationSafetyRules.Administration) -> [Int] {
        let times = (repeatRule["timeOfDay"]?.arrayValue ?? []).compactMap(\.stringValue).compactMap(MedicationSafetyRules.minuteOfDay)
        if !times.isEmpty { return times.sorted() }
        let when = (repeatRule["when"]?.arrayValue ?? []).compactMap(\.stringValue).compactMap { rules.whenTimes[$0] }.compactMap(MedicationSafetyRules.minuteOfDay)
        if !when.isEmpty { return when.sorted() }
        let frequency = repeatRule["frequency"]?.numberText.flatMap(Int.init) ?? 1
        let period = repeatRule["period"]?.numberText.flatMap(Double.init) ?? 0
        guard repeatRule["periodUnit"]?.stringValue == "d", period == 1 else { return [] }
        return (rules.frequencyTimes[String(frequency)] ?? []).compactMap(MedicationSafetyRules.minuteOfDay).sorted()
    }

    /// The interval of a dose given every n hours (period in h, or a day split by more doses than the ward's times).
    static func everyHours(_ repeatRule: JSONObject) -> Double? {
        let frequency = repeatRule["frequency"]?.numberText.flatMap(Double.init) ?? 1
        guard let period = repeatRule["period"]?.numberText.flatMap(Double.init), period > 0, frequency > 0 else { return nil }
        switch repeatRule["periodUnit"]?.stringValue {
        case "h": return period / frequency
        case "min": return period / frequency / 60
        case "d": return period * 24 / frequency
        default: return nil
        }
    }

    /// A FHIR date or dateTime as an instant (a date is its first minute, Swedish time).
    static func instant(_ text: String) -> Int64? {
        if text.count == 10, let day = SwedishTime.parseDay(text) { return SwedishTime.instant(day: day, minuteOfDay: 0) }
        return Instant.parse(text)
    }

    /// The end of a period: a date ends at its last minute.
    static func endInstant(_ text: String) -> Int64? {
        if text.count == 10, let day = SwedishTime.parseDay(text) { return SwedishTime.instant(day: day + 1, minuteOfDay: 0) }
        return Instant.parse(text)
    }
}
