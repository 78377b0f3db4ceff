import Foundation
import Maternity
import Testing

/// The SF rules on fixture curves against a fixture reference (mean = week − 1 cm, SD 2 cm from week 20 to 42),
/// so each expected finding can be checked by hand: −2 SD at week 25 is 20 cm, +2 SD is 28 cm.
@Suite("The symphysis-fundus rules on fixture curves")
struct FundalHeightRuleTests {
    static let curve = ReferenceCurves.Curve(display: "SF", unit: "cm", points: (20...42).map { .init(week: Double($0), mean: Double($0) - 1, sd: 2) })

    static func check(_ rules: FundalHeightRules? = nil) throws -> FundalHeightCheck {
        FundalHeightCheck(rules: try rules ?? FundalHeightRules.shipped(), curve: curve)
    }

    static func codes(_ curve: [(Double, Double)], rules: FundalHeightRules? = nil) throws -> [String] {
        try check(rules).findings(curve.map { .init(week: $0.0, centimetres: $0.1) }).map(\.rule.code)
    }

    @Test("ten fixture curves, each with the finding the Stockholm rules give (or none)", arguments: [
        // 1. Normal growth along the mean: nothing.
        ("normal", [(25, 24), (28, 27), (31, 30), (34, 33)], []),
        // 2. First measurement at week 25 below −2 SD (20 cm): growth ultrasound.
        ("first below", [(25, 19.5)], ["forsta-under"]),
        // 3. The first measurement at −2 SD exactly is not below.
        ("first at the limit", [(25, 20)], []),
        // 4. No increase within three weeks: re-measure.
        ("no growth, short interval", [(28, 27), (30, 27)], ["ingen-okning-kort"]),
        // 5. No increase over three weeks or more: ultrasound.
        ("no growth, long interval", [(28, 27), (31, 26.5)], ["ingen-okning"]),
        // 6. Two consecutive below −2 SD (22 and 25 at weeks 28, 31; limits 23 and 26).
        ("two below", [(25, 21), (28, 22), (31, 25)], ["tva-under"]),
        // 7. Acceleration: on the mean at 28 (27 cm), then 34 cm at 31 where her own curve expects 30.
        ("acceleration", [(28, 27), (31, 34)], ["acceleration"]),
        // 8. Two consecutive above +2 SD (limits 31 and 34 at weeks 28, 31) without an acceleration against her own curve.
        ("two above", [(25, 28.5), (28, 31.5), (31, 34.5)], ["tva-over"]),
        // 9. Before week 24 nothing is judged, and the first judged value is the first measurement.
        ("early values ignored", [(21, 14), (25, 19)], ["forsta-under"]),
        // 10. One value above +2 SD alone is not a finding.
        ("one above", [(28, 27), (31, 34.5 - 2)], []),
    ] as [(String, [(Double, Double)], [String])])
    func curves(_ name: String, _ curve: [(Double, Double)], _ expected: [String]) throws {
        #expect(try Self.codes(curve) == expected, "\(name)")
    }

    @Test("each finding names its numbers and suggests the rule's actions as tasks, each action once")
    func actions() throws {
        let findings = try Self.check().findings([.init(week: 28, centimetres: 27), .init(week: 31, centimetres: 34)])
        #expect(findings.first?.reason.contains("34 cm") == true && findings.first?.reason.contains("30,0 cm") == true)
        #expect(FundalHeightCheck.actions(findings).map(\.code) == ["tillvaxtultraljud", "ogtt"])
        let both = try Self.check().findings([.init(week: 25, centimetres: 19), .init(week: 27, centimetres: 19)])
        #expect(Set(both.map(\.rule.code)) == ["tva-under", "ingen-okning-kort"])
        #expect(FundalHeightCheck.actions(both).map(\.code) == ["tillvaxtultraljud", "ommatning"])
    }

    @Test("the limits are data: a region's wider SD band or larger acceleration changes the findings without a rebuild")
    func limitsAreData() throws {
        var rules = try FundalHeightRules.shipped()
        rules.lowerSD = -2.5
        #expect(try Self.codes([(25, 19.5)], rules: rules) == [])
        rules.accelerationCm = 5
        #expect(try Self.codes([(28, 27), (31, 34)], rules: rules) == [])
        rules.shortIntervalWeeks = 2
        #expect(try Self.codes([(28, 27), (30, 27)], rules: rules) == ["ingen-okning"])
    }

    @Test("a rules file with an unknown kind or action, or a curve without weeks in order, is refused naming the file and the fault")
    func badFiles() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("karna-sf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let rules = directory.appendingPathComponent("rules.json")
        var broken = try FundalHeightRules.shipped()
        broken.rules[0].kind = "threeAbove"
        try JSONEncoder().encode(broken).write(to: rules)
        do { _ = try FundalHeightRules.load(from: rules); Issue.record("loaded a rule of an unknown kind") } catch {
            #expect("\(error)".contains("threeAbove") && "\(error)".contains(rules.path))
        }
        broken = try FundalHeightRules.shipped()
        broken.rules[0].actions = ["remiss-nagonstans"]
        try JSONEncoder().encode(broken).write(to: rules)
        do { _ = try FundalHeightRules.load(from: rules); Issue.record("loaded a rule with an unknown action") } catch { #expect("\(error)".contains("remiss-nagonstans")) }
        let curves = directory.appendingPathComponent("curves.json")
        try #"{"id": "x", "name": "x", "curves": {"sf": {"display": "SF", "unit": "cm", "points": [{"week": 30, "mean": 29, "sd": 2}, {"week": 25, "mean": 24, "sd": 2}]}}, "bloodPressureLines": {"systolic": 140, "diastolic": 90}}"#
            .write(to: curves, atomically: true, encoding: .utf8)
        do { _ = try ReferenceCurves.load(from: curves); Issue.record("loaded a curve with falling weeks") } catch { #expect("\(error)".contains("weeks must rise")) }
    }
}

@Suite("The partogram's lines")
struct PartogramLineTests {
    static func lines(start: Double = 4, rate: Double = 1, offset: Double = 4) throws -> PartogramCheck {
        var lines = try PartogramLines.shipped()
        lines.alertStartCm = start
        lines.rateCmPerHour = rate
        lines.actionOffsetHours = offset
        return PartogramCheck(lines: lines)
    }

    static func exams(_ points: [(hours: Double, cm: Double)]) -> [PartogramCheck.Examination] {
        points.map { .init(minutes: $0.hours * 60, centimetres: $0.cm) }
    }

    @Test("WHO default: the alert line from the first examination at 4 cm or more at 1 cm/h, the action line four hours later")
    func whoDefault() throws {
        let check = try Self.lines()
        let shipped = try PartogramLines.shipped()
        #expect(shipped.alertStartCm == 4 && shipped.rateCmPerHour == 1 && shipped.actionOffsetHours == 4)
        // Latent at 2 cm, active from 4 cm at hour 1; 6 cm at hour 3 is on the alert line (due at 3 h); 6 cm at 4 h is right of it.
        let positions = check.positions(Self.exams([(0, 2), (1, 4), (3, 6), (4, 6.5), (8, 7), (9.5, 8)])).map(\.position)
        #expect(positions == [.latent, .onTrack, .onTrack, .rightOfAlert, .rightOfAlert, .rightOfAction])
        // 7 cm is due on the action line at 1 + 3 + 4 = 8 h: exactly on the line is not right of it.
        #expect(!check.crossesAction(Self.exams([(1, 4), (8, 7)])))
        #expect(check.crossesAction(Self.exams([(1, 4), (8.1, 7)])))
        // A labour that starts active at 6 cm: the line starts there.
        #expect(check.positions(Self.exams([(0, 6), (4, 10)])).map(\.position) == [.onTrack, .onTrack])
        #expect(check.positions(Self.exams([(0, 1), (5, 3)])).allSatisfy { $0.position == .latent })
    }

    @Test("the lines are data: a 2-hour action line or a 0.5 cm/h alert line change the positions")
    func configurable() throws {
        let exams = Self.exams([(0, 4), (5, 6)])
        #expect(try Self.lines().positions(exams).last?.position == .rightOfAlert)
        #expect(try Self.lines(offset: 2).positions(exams).last?.position == .rightOfAction)
        #expect(try Self.lines(rate: 0.5).positions(exams).last?.position == .rightOfAlert)
        #expect(try Self.lines(rate: 0.25).positions(exams).last?.position == .onTrack)
        #expect(try Self.lines(start: 6).positions(exams).map(\.position) == [.latent, .onTrack])
    }
}
