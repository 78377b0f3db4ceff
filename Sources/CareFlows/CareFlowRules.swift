public import Foundation

/// One band of a scoring table: a number range (inclusive `min`/`max`, exclusive `above`/`below`) or a
/// set of coded values, and what a measurement in it gives — a RETTS colour or a NEWS2 score.
public struct ScoringBand: Codable, Sendable, Equatable {
    public var min: Double?
    public var max: Double?
    public var above: Double?
    public var below: Double?
    public var values: [String]?
    public var colour: String?
    public var score: Int?

    /// Whether a measured number or code falls in the band.
    public func matches(number: Double?, code: String?) -> Bool {
        if let values { return code.map(values.contains) ?? false }
        guard let number else { return false }
        if let min, number < min { return false }
        if let max, number > max { return false }
        if let above, number <= above { return false }
        if let below, number >= below { return false }
        return true
    }

    var isNumeric: Bool { values == nil }
    var hasBound: Bool { min != nil || max != nil || above != nil || below != nil }
}

/// A problem in a rule file, naming the file and the place in it.
public struct CareFlowRuleError: Error, CustomStringConvertible {
    public var description: String
}

/// The measurements the rule tables know, by the name the files use.
public enum VitalParameter: String, CaseIterable, Sendable {
    case airway, respiratoryRate, spo2Air, spo2Oxygen, pulse, systolic, consciousness, temperature
    case spo2Scale1, spo2Scale2Air, spo2Scale2Oxygen, airOrOxygen
}

/// The region's RETTS table (or the shipped demonstration table): the priority colours in order, the
/// vital-parameter bands, and the complaint cards (ESS) with the colour each level of the card gives.
/// Licensed content is never in the code: a region loads its own file.
public struct TriageTable: Codable, Sendable {
    /// A priority colour, in the table's order (the first is the most urgent).
    public struct Colour: Codable, Sendable, Equatable {
        public var code: String
        public var display: String
    }

    /// A complaint card (ESS, sökorsak): its number, name and the colour each level gives.
    public struct Complaint: Codable, Sendable {
        public var code: String
        public var display: String
        /// Colour code → what the card says for it.
        public var levels: [String: String]
    }

    public var id: String
    public var name: String
    public var notice: String?
    public var colours: [Colour]
    /// The vital-parameter colour when no band matches.
    public var vitalDefault: String
    public var vitalParameters: [String: [ScoringBand]]
    public var complaints: [Complaint]

    /// Reads a table; every problem names the file and where in it.
    public static func load(from url: URL) throws -> TriageTable {
        let table: TriageTable
        do { table = try JSONDecoder().decode(TriageTable.self, from: try Data(contentsOf: url)) } catch {
            throw CareFlowRuleError(description: "the triage table \(url.path) cannot be read: \(error)")
        }
        try table.check(source: url.path)
        return table
    }

    /// The shipped demonstration table (not clinical content).
    public static func shipped() throws -> TriageTable {
        guard let url = Bundle.module.url(forResource: "retts-demo", withExtension: "json", subdirectory: "CareFlowsData") else {
            throw CareFlowRuleError(description: "the shipped triage table is missing from the CareFlows bundle")
        }
        return try load(from: url)
    }

    func check(source: String) throws {
        let codes = Set(colours.map(\.code))
        guard colours.count >= 2, codes.count == colours.count else {
            throw CareFlowRuleError(description: "\(source): colours must list at least two distinct colours, most urgent first")
        }
        guard codes.contains(vitalDefault) else { throw CareFlowRuleError(description: "\(source): vitalDefault '\(vitalDefault)' is not one of the colours") }
        for (name, bands) in vitalParameters {
            guard VitalParameter(rawValue: name) != nil else {
                throw CareFlowRuleError(description: "\(source): vitalParameters.\(name) is not a known parameter (\(VitalParameter.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            for (index, band) in bands.enumerated() {
                let at = "\(source): vitalParameters.\(name)[\(index)]"
                guard let colour = band.colour, codes.contains(colour) else { throw CareFlowRuleError(description: "\(at): colour must be one of \(codes.sorted())") }
                guard !band.isNumeric || band.hasBound else { throw CareFlowRuleError(description: "\(at): give min, max, above, below or values") }
            }
        }
        var seen = Set<String>()
        for complaint in complaints {
            guard seen.insert(complaint.code).inserted else { throw CareFlowRuleError(description: "\(source): complaint \(complaint.code) is listed twice") }
            guard !complaint.levels.isEmpty else { throw CareFlowRuleError(description: "\(source): complaint \(complaint.code) has no levels") }
            for colour in complaint.levels.keys where !codes.contains(colour) {
                throw CareFlowRuleError(description: "\(source): complaint \(complaint.code): level '\(colour)' is not one of the colours")
            }
        }
    }

    /// A colour's rank: 0 is the most urgent.
    public func rank(_ colour: String) -> Int { colours.firstIndex { $0.code == colour } ?? colours.count }

    public func display(_ colour: String) -> String { colours.first { $0.code == colour }?.display ?? colour }

    public func complaint(_ code: String) -> Complaint? { complaints.first { $0.code == code } }
}

/// The NEWS2 chart as data: the score of each band per parameter and the clinical response levels.
public struct EarlyWarningTable: Codable, Sendable {
    /// A clinical response level, matched in the file's order: by total, or by one parameter scoring this much.
    public struct Response: Codable, Sendable {
        public var code: String
        public var display: String
        public var minimumTotal: Int?
        public var singleParameter: Int?
        public var action: String
    }

    public var id: String
    public var name: String
    public var notice: String?
    public var parameters: [String: [ScoringBand]]
    public var responses: [Response]

    public static func load(from url: URL) throws -> EarlyWarningTable {
        let table: EarlyWarningTable
        do { table = try JSONDecoder().decode(EarlyWarningTable.self, from: try Data(contentsOf: url)) } catch {
            throw CareFlowRuleError(description: "the NEWS2 table \(url.path) cannot be read: \(error)")
        }
        let needed: [VitalParameter] = [.respiratoryRate, .spo2Scale1, .spo2Scale2Air, .spo2Scale2Oxygen, .airOrOxygen, .systolic, .pulse, .consciousness, .temperature]
        for parameter in needed {
            guard let bands = table.parameters[parameter.rawValue], !bands.isEmpty else {
                throw CareFlowRuleError(description: "\(url.path): parameters.\(parameter.rawValue) is missing")
            }
            for (index, band) in bands.enumerated() where band.score == nil || (band.isNumeric && !band.hasBound) {
                throw CareFlowRuleError(description: "\(url.path): parameters.\(parameter.rawValue)[\(index)]: give a score and a range or values")
            }
        }
        guard table.responses.contains(where: { $0.minimumTotal == 0 }) else {
            throw CareFlowRuleError(description: "\(url.path): responses must end with one for minimumTotal 0")
        }
        return table
    }

    public static func shipped() throws -> EarlyWarningTable {
        guard let url = Bundle.module.url(forResource: "news2", withExtension: "json", subdirectory: "CareFlowsData") else {
            throw CareFlowRuleError(description: "the shipped NEWS2 table is missing from the CareFlows bundle")
        }
        return try load(from: url)
    }
}

/// The day-surgery checklists: what is checked before the operation and what must hold before the patient goes home.
public struct DaySurgeryLists: Codable, Sendable {
    public struct Item: Codable, Sendable {
        public var code: String
        public var display: String
    }

    public var id: String
    public var name: String
    public var notice: String?
    public var preoperative: [Item]
    public var discharge: [Item]
    /// The local hour by which the next day's telephone follow-up is due.
    public var followUpHour: Int

    public static func load(from url: URL) throws -> DaySurgeryLists {
        let lists: DaySurgeryLists
        do { lists = try JSONDecoder().decode(DaySurgeryLists.self, from: try Data(contentsOf: url)) } catch {
            throw CareFlowRuleError(description: "the day-surgery lists \(url.path) cannot be read: \(error)")
        }
        guard !lists.discharge.isEmpty else { throw CareFlowRuleError(description: "\(url.path): discharge lists no criterion") }
        guard (0...23).contains(lists.followUpHour) else { throw CareFlowRuleError(description: "\(url.path): followUpHour must be 0–23") }
        let codes = (lists.preoperative + lists.discharge).map(\.code)
        guard Set(codes).count == codes.count else { throw CareFlowRuleError(description: "\(url.path): an item code is listed twice") }
        return lists
    }

    public static func shipped() throws -> DaySurgeryLists {
        guard let url = Bundle.module.url(forResource: "day-surgery", withExtension: "json", subdirectory: "CareFlowsData") else {
            throw CareFlowRuleError(description: "the shipped day-surgery lists are missing from the CareFlows bundle")
        }
        return try load(from: url)
    }
}
