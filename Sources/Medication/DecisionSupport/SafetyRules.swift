public import Access
import FHIRCore
public import Foundation

/// The tables the medication checks read (läkemedelskontroller): interactions in the Janusmed/SFINX form,
/// renal limits, the reasons an override may give, and the time a check may take. Data loaded at start,
/// never literals in code; the shipped file is synthetic test content, and a region points
/// `KARNA_MEDICATION_RULES` at its licensed tables.
public struct MedicationSafetyRules: Sendable, Decodable {
    /// A coding as the tables write it.
    public struct Code: Sendable, Decodable, Hashable {
        public var system: String
        public var code: String
        public var display: String
    }

    /// One pair of substances or ATC groups: class A (no relevant interaction) to D (avoid), documentation 0–4.
    public struct InteractionRule: Sendable, Decodable {
        public var a: String
        public var b: String
        public var `class`: String
        public var level: Int
        public var risk: String
        public var advice: String
    }

    public struct InteractionTable: Sendable, Decodable {
        public var name: String
        public var version: String
        public var notice: String?
        public var rules: [InteractionRule]
    }

    /// Below `below` mL/min/1.73 m² the drug (an ATC code or group) gets a card of `indicator`.
    public struct RenalRule: Sendable, Decodable {
        public var atc: String
        public var below: Double
        public var indicator: String
        public var text: String
    }

    public struct RenalTable: Sendable, Decodable {
        public var name: String
        public var version: String
        public var notice: String?
        /// How old the latest eGFR may be and still count.
        public var maximumAgeDays: Int
        public var egfr: [Code]
        public var creatinine: [Code]
        public var rules: [RenalRule]
    }

    /// A weight-based dose range for children: per kg per dose, and optionally per kg per day.
    public struct PaediatricRule: Sendable, Decodable {
        public var atc: String
        /// The unit the range is in: mg (doses in g or mikrog are converted) or E.
        public var unit: String
        public var minPerKg: Double
        public var maxPerKg: Double
        public var maxPerKgPerDay: Double?
        public var text: String
    }

    public struct PaediatricTable: Sendable, Decodable {
        public var name: String
        public var version: String
        public var notice: String?
        /// Below this age (whole years) the table applies.
        public var childUnderYears: Int
        /// How old the latest weight may be and still count as current.
        public var weightMaximumAgeDays: Int
        public var weight: [Code]
        public var rules: [PaediatricRule]
    }

    /// A drug (ATC code or group) whose every dose needs a second person's signature (dubbelkontroll).
    public struct HighRisk: Sendable, Decodable {
        public var atc: String
        public var name: String
    }

    /// What administration on the MAR checks: the high-risk list, and how far ahead of the clock a dose may be recorded.
    public struct Administration: Sendable, Decodable {
        public var name: String
        public var version: String
        public var notice: String?
        public var futureToleranceSeconds: Int
        /// Ward clock times of Timing.when codes ("MORN": "08:00").
        public var whenTimes: [String: String]
        /// Clock times of n doses a day when the ordination gives only a frequency ("2": ["08:00", "20:00"]).
        public var frequencyTimes: [String: [String]]
        /// How far from its planned time a recorded dose still counts for it.
        public var doseWindowMinutes: Int
        /// After how long an open dose is late, and after how long it is missed (missad).
        public var lateAfterMinutes: Int
        public var missedAfterMinutes: Int
        /// How long a verbal or telephone order may wait for its ordinator's confirmation before it alarms.
        public var verbalOrderConfirmMinutes: Int
        /// How long a recorded läkemedelsgenomgång answers the flag when the patient has no stay (during a
        /// stay, one recorded since its start does).
        public var medicationReviewValidDays: Int
        public var highRisk: [HighRisk]

        /// The high-risk group a drug falls in, if any.
        public func highRisk(_ atc: String?) -> HighRisk? {
            guard let atc else { return nil }
            return highRisk.first { atc.hasPrefix($0.atc) }
        }
    }

    public var checkTimeoutMilliseconds: Int
    public var administration: Administration
    public var overrideReasons: [Code]
    public var interactions: InteractionTable
    public var renal: RenalTable
    public var paediatric: PaediatricTable

    /// Where the shipped tables are (a region's own file starts as a copy of it).
    public static var shippedURL: URL? { Bundle.module.url(forResource: "lakemedelskontroll", withExtension: "json", subdirectory: "DecisionSupportData") }

    /// The synthetic tables shipped with Kärna.
    public static func shipped() throws -> MedicationSafetyRules {
        guard let url = shippedURL else {
            throw RulesError(file: "lakemedelskontroll.json", problem: "the shipped medication rules are missing from the build")
        }
        return try load(url)
    }

    /// Reads and checks a rules file; a fault names the file and the rule, so a bad table stops the start instead of a check.
    public static func load(_ url: URL) throws -> MedicationSafetyRules {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw RulesError(file: url.path, problem: "cannot be read: \(error.localizedDescription)")
        }
        let rules: MedicationSafetyRules
        do { rules = try JSONDecoder().decode(MedicationSafetyRules.self, from: data) } catch let DecodingError.keyNotFound(key, context) {
            throw RulesError(file: url.path, problem: "\(Self.path(context.codingPath + [key])) is missing")
        } catch let DecodingError.typeMismatch(_, context) {
            throw RulesError(file: url.path, problem: "\(Self.path(context.codingPath)) has the wrong type: \(context.debugDescription)")
        } catch {
            throw RulesError(file: url.path, problem: "is not valid JSON for the medication rules: \(error)")
        }
        try rules.validate(file: url.path)
        return rules
    }

    func validate(file: String) throws {
        guard (1...60_000).contains(checkTimeoutMilliseconds) else {
            throw RulesError(file: file, problem: "checkTimeoutMilliseconds must be between 1 and 60000")
        }
        for (i, rule) in interactions.rules.enumerated() {
            guard ["A", "B", "C", "D"].contains(rule.class) else { throw RulesError(file: file, problem: "interactions.rules[\(i)].class must be A, B, C or D") }
            guard (0...4).contains(rule.level) else { throw RulesError(file: file, problem: "interactions.rules[\(i)].level must be 0–4") }
            guard !rule.a.isEmpty, !rule.b.isEmpty else { throw RulesError(file: file, problem: "interactions.rules[\(i)] needs both a and b") }
        }
        for (i, rule) in renal.rules.enumerated() {
            guard rule.below > 0 else { throw RulesError(file: file, problem: "renal.rules[\(i)].below must be above 0") }
            guard DecisionCard.Indicator(rawValue: rule.indicator) != nil else {
                throw RulesError(file: file, problem: "renal.rules[\(i)].indicator must be info, warning or critical")
            }
        }
        guard (0...3_600).contains(administration.futureToleranceSeconds) else {
            throw RulesError(file: file, problem: "administration.futureToleranceSeconds must be between 0 and 3600")
        }
        for (code, time) in administration.whenTimes where Self.minuteOfDay(time) == nil {
            throw RulesError(file: file, problem: "administration.whenTimes.\(code) must be a clock time HH:MM, not '\(time)'")
        }
        for (count, times) in administration.frequencyTimes where Int(count) == nil || times.contains(where: { Self.minuteOfDay($0) == nil }) {
            throw RulesError(file: file, problem: "administration.frequencyTimes.\(count) must be a count of doses with clock times HH:MM")
        }
        guard administration.medicationReviewValidDays > 0 else {
            throw RulesError(file: file, problem: "administration.medicationReviewValidDays must be above 0")
        }
        guard administration.verbalOrderConfirmMinutes > 0 else {
            throw RulesError(file: file, problem: "administration.verbalOrderConfirmMinutes must be above 0")
        }
        guard administration.doseWindowMinutes > 0, administration.lateAfterMinutes > 0, administration.missedAfterMinutes > administration.lateAfterMinutes else {
            throw RulesError(file: file, problem: "administration: doseWindowMinutes and lateAfterMinutes must be above 0, missedAfterMinutes above lateAfterMinutes")
        }
        for (i, item) in administration.highRisk.enumerated() where item.atc.isEmpty {
            throw RulesError(file: file, problem: "administration.highRisk[\(i)].atc must not be empty")
        }
        guard renal.maximumAgeDays > 0 else { throw RulesError(file: file, problem: "renal.maximumAgeDays must be above 0") }
        guard (1...25).contains(paediatric.childUnderYears) else { throw RulesError(file: file, problem: "paediatric.childUnderYears must be 1–25") }
        guard paediatric.weightMaximumAgeDays > 0 else { throw RulesError(file: file, problem: "paediatric.weightMaximumAgeDays must be above 0") }
        guard !paediatric.weight.isEmpty else { throw RulesError(file: file, problem: "paediatric.weight must name at least one weight code") }
        for (i, rule) in paediatric.rules.enumerated() {
            guard ["mg", "E"].contains(rule.unit) else { throw RulesError(file: file, problem: "paediatric.rules[\(i)].unit must be mg or E") }
            guard rule.minPerKg > 0, rule.maxPerKg >= rule.minPerKg else {
                throw RulesError(file: file, problem: "paediatric.rules[\(i)]: minPerKg must be above 0 and maxPerKg at least minPerKg")
            }
            if let day = rule.maxPerKgPerDay, day < rule.maxPerKg {
                throw RulesError(file: file, problem: "paediatric.rules[\(i)].maxPerKgPerDay must be at least maxPerKg")
            }
        }
    }

    /// "08:00" (or "08:00:00") as minutes after midnight.
    public static func minuteOfDay(_ text: String) -> Int? {
        let parts = text.split(separator: ":").map { Int($0) }
        guard parts.count >= 2, let hour = parts[0], let minute = parts[1], (0..<24).contains(hour), (0..<60).contains(minute) else { return nil }
        return hour * 60 + minute
    }

    static func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().trimmingCharacters(in: CharacterSet(charactersIn: "."))
    }
}

/// A medication rules file that cannot be used, naming the file and what is wrong.
public struct RulesError: Error, CustomStringConvertible {
    public var file: String
    public var problem: String
    public var description: String { "medication rules \(file): \(problem)" }
}
