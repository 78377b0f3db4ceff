import Foundation

/// The symphysis-fundus rules (SF-mätning) run on the woman's measurements against the loaded reference curve.
/// Only the newest measurement is judged, with those before it as its history: a finding is raised once, when
/// the value that makes it is recorded.
public struct FundalHeightCheck: Sendable {
    public let rules: FundalHeightRules
    public let curve: ReferenceCurves.Curve

    public init(rules: FundalHeightRules, curve: ReferenceCurves.Curve) {
        self.rules = rules
        self.curve = curve
    }

    /// One SF measurement at a gestational week.
    public struct Measurement: Sendable, Equatable {
        public var week: Double
        public var centimetres: Double
        public init(week: Double, centimetres: Double) {
            self.week = week
            self.centimetres = centimetres
        }
    }

    /// A rule that holds for the newest measurement, and why (numbers a midwife can check).
    public struct Finding: Sendable {
        public var rule: FundalHeightRules.Rule
        public var reason: String
        public var actions: [FundalHeightRules.Action]
    }

    /// The findings for the newest of the measurements (in any order; those before `fromWeek` are not judged).
    public func findings(_ measurements: [Measurement]) -> [Finding] {
        let judged = measurements.filter { $0.week >= rules.fromWeek }.sorted { $0.week < $1.week }
        guard let latest = judged.last, let z = curve.z(latest.centimetres, week: latest.week) else { return [] }
        let previous = judged.count >= 2 ? judged[judged.count - 2] : nil
        let previousZ = previous.flatMap { curve.z($0.centimetres, week: $0.week) }
        var found: [Finding] = []
        func add(_ kind: String, _ reason: String) {
            for rule in rules.rules where rule.kind == kind {
                found.append(Finding(rule: rule, reason: reason, actions: rule.actions.compactMap(rules.action)))
            }
        }
        let sd = { (value: Double) in String(format: "%+.1f SD", value).replacingOccurrences(of: ".", with: ",") }
        if previous == nil, z < rules.lowerSD {
            add("firstBelow", "Första mätningen \(latest.centimetres.swedish) cm i v \(Self.week(latest.week)) ligger på \(sd(z)).")
        }
        if let previous, let previousZ {
            if previousZ < rules.lowerSD, z < rules.lowerSD {
                add("twoBelow", "\(previous.centimetres.swedish) cm (\(sd(previousZ))) och \(latest.centimetres.swedish) cm (\(sd(z))).")
            }
            if previousZ > rules.upperSD, z > rules.upperSD {
                add("twoAbove", "\(previous.centimetres.swedish) cm (\(sd(previousZ))) och \(latest.centimetres.swedish) cm (\(sd(z))).")
            }
            // The woman's own curve: her previous position (in SDs) carried to this week.
            if let reference = curve.at(latest.week), let before = curve.at(previous.week) {
                let expected = reference.mean + previousZ * reference.sd
                let interval = latest.week - previous.week
                if reference.mean > before.mean, latest.centimetres - previous.centimetres <= rules.minimumIncreaseCm {
                    let reason = "Ingen ökning: \(previous.centimetres.swedish) cm i v \(Self.week(previous.week)), \(latest.centimetres.swedish) cm i v \(Self.week(latest.week)) (förväntat \(expected.swedishOneDecimal) cm)."
                    add(interval < rules.shortIntervalWeeks ? "noGrowthShort" : "noGrowthLong", reason)
                }
                if latest.centimetres - expected >= rules.accelerationCm {
                    add("acceleration", "\(latest.centimetres.swedish) cm är \((latest.centimetres - expected).swedishOneDecimal) cm över den egna kurvans \(expected.swedishOneDecimal) cm.")
                }
            }
        }
        return found
    }

    /// The actions of several findings, each once, in the order first suggested.
    public static func actions(_ findings: [Finding]) -> [FundalHeightRules.Action] {
        var seen: Set<String> = []
        return findings.flatMap(\.actions).filter { seen.insert($0.code).inserted }
    }

    static func week(_ week: Double) -> String {
        let days = Int((week * 7).rounded())
        return "\(days / 7)+\(days % 7)"
    }
}

extension Double {
    var swedishOneDecimal: String { String(format: "%.1f", self).replacingOccurrences(of: ".", with: ",") }
}
