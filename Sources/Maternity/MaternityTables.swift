public import FHIRCore
public import Foundation

/// A maternity table that cannot be used, naming the file and what is wrong in it.
public struct MaternityTableError: Error, CustomStringConvertible {
    public let description: String
}

/// Reads a table from a file, or the shipped demonstration from the bundle, with errors that name the file.
enum TableFile {
    static func load<T: Decodable>(_ type: T.Type, from url: URL, what: String) throws -> T {
        do { return try JSONDecoder().decode(T.self, from: try Data(contentsOf: url)) } catch {
            throw MaternityTableError(description: "the \(what) \(url.path) cannot be read: \(error)")
        }
    }

    static func shipped(_ name: String, what: String) throws -> URL {
        guard let url = Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "MaternityData") else {
            throw MaternityTableError(description: "the shipped \(what) (\(name).json) is missing from the Maternity bundle")
        }
        return url
    }
}

/// The region's basprogram (mödrahälsovårdens basprogram): what is recorded, at which visits by gestational week,
/// and the risk factors of the MHV1 assessment with when each applies.
public struct Basprogram: Codable, Sendable {
    /// One thing recorded in the programme (a test, a measure, a question, a form).
    public struct Item: Codable, Sendable {
        public var code: String
        public var display: String
        /// quantity, bloodPressure, code, boolean, questionnaire, or derived (computed, such as BMI).
        public var valueType: String
        public var unit: String?
        public var options: [String]?
        public var minimum: Double?
        public var maximum: Double?
        public var category: String
        public var loinc: String?
        public var questionnaire: String?
    }

    /// One visit of the programme, with the gestational weeks it may be made in.
    public struct Visit: Codable, Sendable {
        public var code: String
        public var display: String
        public var fromWeek: Int
        public var week: Int
        public var toWeek: Int
        public var items: [String]
    }

    /// When a risk factor applies: a recorded value at least or below a limit, or one of some answers; an age; or chosen by the midwife.
    public struct Condition: Codable, Sendable {
        public var item: String?
        public var atLeast: Double?
        public var below: Double?
        public var `in`: [String]?
        public var ageAtLeast: Int?
        public var chosen: Bool?
    }

    /// A risk factor of the MHV1 assessment.
    public struct RiskFactor: Codable, Sendable {
        public var code: String
        public var display: String
        public var when: Condition
        /// Whether the factor calls for an individual care plan (individuell vårdplan).
        public var individualPlan: Bool
        public var action: String
    }

    public var id: String
    public var name: String
    public var notice: String?
    public var items: [Item]
    public var visits: [Visit]
    public var risk: [RiskFactor]

    public func item(_ code: String) -> Item? { items.first { $0.code == code } }
    public func visit(_ code: String) -> Visit? { visits.first { $0.code == code } }

    public static func load(from url: URL) throws -> Basprogram {
        let programme = try TableFile.load(Basprogram.self, from: url, what: "basprogram")
        let codes = Set(programme.items.map(\.code))
        guard codes.count == programme.items.count else { throw MaternityTableError(description: "\(url.path): an item code is listed twice") }
        guard !programme.visits.isEmpty else { throw MaternityTableError(description: "\(url.path): the programme has no visits") }
        var previous = 0
        for visit in programme.visits {
            guard visit.fromWeek <= visit.week, visit.week <= visit.toWeek, (4...43).contains(visit.week) else {
                throw MaternityTableError(description: "\(url.path): visit \(visit.code) must have fromWeek ≤ week ≤ toWeek within weeks 4–43")
            }
            guard visit.week >= previous else { throw MaternityTableError(description: "\(url.path): visit \(visit.code) is out of week order") }
            previous = visit.week
            for item in visit.items where !codes.contains(item) {
                throw MaternityTableError(description: "\(url.path): visit \(visit.code) names item '\(item)', which is not in items")
            }
        }
        for item in programme.items {
            guard ["quantity", "bloodPressure", "code", "boolean", "questionnaire", "derived"].contains(item.valueType) else {
                throw MaternityTableError(description: "\(url.path): item \(item.code) has valueType '\(item.valueType)'")
            }
            if item.valueType == "code", item.options?.isEmpty ?? true { throw MaternityTableError(description: "\(url.path): item \(item.code) is coded but lists no options") }
            if item.valueType == "questionnaire", item.questionnaire == nil { throw MaternityTableError(description: "\(url.path): item \(item.code) names no questionnaire") }
        }
        for factor in programme.risk {
            if let item = factor.when.item, !codes.contains(item), !item.contains("-") {
                throw MaternityTableError(description: "\(url.path): risk factor \(factor.code) reads item '\(item)', which is not in items")
            }
        }
        return programme
    }

    public static func shipped() throws -> Basprogram { try load(from: try TableFile.shipped("basprogram-demo", what: "basprogram")) }
}

/// The gravidogram's reference curves by gestational week (mean and SD), region-supplied: no published numbers were
/// found, so the shipped table is a demonstration and says so.
public struct ReferenceCurves: Codable, Sendable {
    /// One week's mean and standard deviation.
    public struct Point: Codable, Sendable {
        public var week: Double
        public var mean: Double
        public var sd: Double

        public init(week: Double, mean: Double, sd: Double) {
            self.week = week
            self.mean = mean
            self.sd = sd
        }
    }

    /// One measure's curve.
    public struct Curve: Codable, Sendable {
        public var display: String
        public var unit: String
        public var points: [Point]

        public init(display: String, unit: String, points: [Point]) {
            self.display = display
            self.unit = unit
            self.points = points
        }

        /// Mean and SD at a (fractional) week, linear between the table's weeks; nil outside the table.
        public func at(_ week: Double) -> (mean: Double, sd: Double)? {
            guard let first = points.first, let last = points.last, week >= first.week, week <= last.week else { return nil }
            guard let upper = points.firstIndex(where: { $0.week >= week }) else { return nil }
            let high = points[upper]
            if high.week == week || upper == 0 { return (high.mean, high.sd) }
            let low = points[upper - 1], share = (week - low.week) / (high.week - low.week)
            return (low.mean + (high.mean - low.mean) * share, low.sd + (high.sd - low.sd) * share)
        }

        /// How many SDs from the mean a value is at a week.
        public func z(_ value: Double, week: Double) -> Double? {
            guard let reference = at(week), reference.sd > 0 else { return nil }
            return (value - reference.mean) / reference.sd
        }
    }

    /// Lines drawn on the blood-pressure part (the limits a value at or over is a finding).
    public struct PressureLines: Codable, Sendable {
        public var systolic: Double
        public var diastolic: Double
    }

    public var id: String
    public var name: String
    public var notice: String?
    public var curves: [String: Curve]
    public var bloodPressureLines: PressureLines

    public var isDemonstration: Bool { id.contains("demo") }

    public static func load(from url: URL) throws -> ReferenceCurves {
        let table = try TableFile.load(ReferenceCurves.self, from: url, what: "gravidogram reference table")
        guard table.curves["sf"] != nil else { throw MaternityTableError(description: "\(url.path): the table has no sf curve") }
        for (name, curve) in table.curves {
            guard curve.points.count >= 2 else { throw MaternityTableError(description: "\(url.path): curve \(name) needs at least two weeks") }
            for (index, point) in curve.points.enumerated() {
                guard point.sd > 0 else { throw MaternityTableError(description: "\(url.path): curve \(name) week \(point.week): sd must be > 0") }
                if index > 0, point.week <= curve.points[index - 1].week {
                    throw MaternityTableError(description: "\(url.path): curve \(name): weeks must rise (week \(point.week))")
                }
            }
        }
        return table
    }

    public static func shipped() throws -> ReferenceCurves { try load(from: try TableFile.shipped("gravidogram-demo", what: "gravidogram reference table")) }
}

/// The symphysis-fundus rules (SF-mätning) as data: the limits, and for each kind of finding the actions it suggests.
public struct FundalHeightRules: Codable, Sendable {
    /// One rule: a kind the engine knows, with what it suggests.
    public struct Rule: Codable, Sendable {
        public var code: String
        /// firstBelow, noGrowthShort, noGrowthLong, twoBelow, acceleration, twoAbove.
        public var kind: String
        public var display: String
        public var actions: [String]
    }

    /// A suggested action, which becomes a task due in some days.
    public struct Action: Codable, Sendable {
        public var code: String
        public var display: String
        public var dueDays: Int
    }

    static let kinds = ["firstBelow", "noGrowthShort", "noGrowthLong", "twoBelow", "acceleration", "twoAbove"]

    public var id: String
    public var name: String
    public var notice: String?
    /// Measurements before this week are not judged.
    public var fromWeek: Double
    public var lowerSD: Double
    public var upperSD: Double
    /// Below this many weeks since the previous measurement, no growth calls for a re-measurement; from it, an ultrasound.
    public var shortIntervalWeeks: Double
    /// A rise of at most this many cm since the previous measurement counts as no growth.
    public var minimumIncreaseCm: Double
    /// A value this many cm or more above the woman's own curve is an acceleration.
    public var accelerationCm: Double
    public var rules: [Rule]
    public var actions: [Action]

    public func action(_ code: String) -> Action? { actions.first { $0.code == code } }

    public static func load(from url: URL) throws -> FundalHeightRules {
        let rules = try TableFile.load(FundalHeightRules.self, from: url, what: "SF rules")
        for rule in rules.rules {
            guard kinds.contains(rule.kind) else {
                throw MaternityTableError(description: "\(url.path): rule \(rule.code) has kind '\(rule.kind)' (known: \(kinds.joined(separator: ", ")))")
            }
            for action in rule.actions where rules.action(action) == nil {
                throw MaternityTableError(description: "\(url.path): rule \(rule.code) suggests '\(action)', which is not in actions")
            }
        }
        guard rules.lowerSD < rules.upperSD, rules.shortIntervalWeeks > 0, rules.accelerationCm > 0 else {
            throw MaternityTableError(description: "\(url.path): need lowerSD < upperSD, shortIntervalWeeks > 0 and accelerationCm > 0")
        }
        return rules
    }

    public static func shipped() throws -> FundalHeightRules { try load(from: try TableFile.shipped("sf-rules-stockholm", what: "SF rules")) }
}

/// The partogram's alert and action lines (WHO 1993 by default): the alert line from `alertStartCm` rising
/// `rateCmPerHour`, the action line the same `actionOffsetHours` to the right.
public struct PartogramLines: Codable, Sendable {
    /// One thing charted on the partogram, with the range a value must be in.
    public struct Part: Codable, Sendable {
        public var code: String
        public var display: String
        public var unit: String
        public var minimum: Double
        public var maximum: Double
        public var loinc: String?
    }

    public var id: String
    public var name: String
    public var notice: String?
    public var alertStartCm: Double
    public var rateCmPerHour: Double
    public var actionOffsetHours: Double
    public var fullDilatationCm: Double
    public var parts: [Part]

    public func part(_ code: String) -> Part? { parts.first { $0.code == code } }

    public static func load(from url: URL) throws -> PartogramLines {
        let lines = try TableFile.load(PartogramLines.self, from: url, what: "partogram lines")
        guard lines.part("cervix") != nil else { throw MaternityTableError(description: "\(url.path): the parts must include cervix (the dilatation)") }
        guard lines.rateCmPerHour > 0, lines.actionOffsetHours >= 0, (0..<lines.fullDilatationCm).contains(lines.alertStartCm) else {
            throw MaternityTableError(description: "\(url.path): need rateCmPerHour > 0, actionOffsetHours ≥ 0 and 0 ≤ alertStartCm < fullDilatationCm")
        }
        return lines
    }

    public static func shipped() throws -> PartogramLines { try load(from: try TableFile.shipped("partogram-who", what: "partogram lines")) }
}

/// The questionnaires the programme uses (AUDIT, EPDS), as FHIR Questionnaires whose answers carry their points.
public struct QuestionnaireSet: Sendable {
    /// One questionnaire, read for scoring.
    public struct Form: Sendable {
        /// One question with its answers and their points.
        public struct Question: Sendable {
            public var linkId: String
            public var text: String
            public var options: [Option]
        }
        /// One answer and the points it gives (the ordinalValue extension).
        public struct Option: Sendable {
            public var code: String
            public var display: String
            public var points: Double
        }
        public var id: String
        public var title: String
        public var url: String
        public var loinc: (code: String, display: String)?
        public var questions: [Question]

        /// Answers that add up to `points` (each question the highest answer still within what is left): for demo
        /// data and tests that need a form with a known score.
        public func answers(totalling points: Int) -> [String: String] {
            var left = Double(points), chosen: [String: String] = [:]
            for question in questions {
                guard let option = question.options.filter({ $0.points <= left }).max(by: { $0.points < $1.points }) else { continue }
                left -= option.points
                chosen[question.linkId] = option.code
            }
            return chosen
        }
    }

    public var notice: String?
    public var forms: [String: Form]

    static let ordinalValue = "http://hl7.org/fhir/StructureDefinition/ordinalValue"

    public static func load(from url: URL) throws -> QuestionnaireSet {
        guard let data = try? Data(contentsOf: url), let root = try? JSONParser.parse([UInt8](data)).objectValue,
              let list = root["questionnaires"]?.arrayValue else {
            throw MaternityTableError(description: "the questionnaires \(url.path) cannot be read: expected {\"questionnaires\": [Questionnaire, …]}")
        }
        var forms: [String: Form] = [:]
        for value in list {
            guard let resource = value.objectValue, let id = resource["id"]?.stringValue, let items = resource["item"]?.arrayValue else {
                throw MaternityTableError(description: "\(url.path): a questionnaire lacks id or item")
            }
            var questions: [Form.Question] = []
            for item in items.compactMap(\.objectValue) {
                guard let linkId = item["linkId"]?.stringValue, let options = item["answerOption"]?.arrayValue, !options.isEmpty else {
                    throw MaternityTableError(description: "\(url.path): \(id): every item needs a linkId and answerOptions")
                }
                let read = try options.compactMap(\.objectValue).map { option -> Form.Option in
                    let coding = option["valueCoding"]?.objectValue
                    guard let code = coding?["code"]?.stringValue, let points = option.extensionValue(ordinalValue)?.numberText.flatMap(Double.init) else {
                        throw MaternityTableError(description: "\(url.path): \(id) item \(linkId): every answer needs a valueCoding code and an ordinalValue")
                    }
                    return Form.Option(code: code, display: coding?["display"]?.stringValue ?? code, points: points)
                }
                questions.append(Form.Question(linkId: linkId, text: item["text"]?.stringValue ?? linkId, options: read))
            }
            let code = resource["code"]?.arrayValue?.first?.objectValue
            forms[id] = Form(id: id, title: resource["title"]?.stringValue ?? id, url: resource["url"]?.stringValue ?? "https://karna.se/fhir/Questionnaire/\(id)",
                             loinc: code?["code"]?.stringValue.map { ($0, code?["display"]?.stringValue ?? $0) }, questions: questions)
        }
        return QuestionnaireSet(notice: root["notice"]?.stringValue, forms: forms)
    }

    public static func shipped() throws -> QuestionnaireSet { try load(from: try TableFile.shipped("questionnaires-demo", what: "questionnaires")) }
}

/// What the registers receive: the Medicinska födelseregistret sheets and the Graviditetsregistret extract, each a
/// list of variables read from named facts of the stored pregnancy (`RegisterFacts`).
public struct RegisterMapping: Codable, Sendable {
    /// One variable: its name in the sheet or file, and the fact it is read from.
    public struct Variable: Codable, Sendable {
        public var name: String
        public var fact: String
    }

    /// One journal sheet of the Medicinska födelseregistret.
    public struct Sheet: Codable, Sendable {
        public var code: String
        public var display: String
        public var variables: [Variable]
    }

    /// The Graviditetsregistret extract's file.
    public struct Extract: Codable, Sendable {
        public var fileName: String
        public var separator: String
        public var variables: [Variable]
    }

    public var id: String
    public var notice: String?
    public var mfrDueDays: Int
    public var sheets: [Sheet]
    public var graviditetsregistret: Extract

    public static func load(from url: URL) throws -> RegisterMapping {
        let mapping = try TableFile.load(RegisterMapping.self, from: url, what: "register mapping")
        let known = RegisterFacts.names
        for variable in mapping.sheets.flatMap(\.variables) + mapping.graviditetsregistret.variables
        where !known.contains(variable.fact) && !RegisterFacts.isItemFact(variable.fact) {
            throw MaternityTableError(description: "\(url.path): variable \(variable.name) reads fact '\(variable.fact)', which is not one Kärna gathers")
        }
        guard mapping.graviditetsregistret.separator.count == 1 else { throw MaternityTableError(description: "\(url.path): the separator must be one character") }
        return mapping
    }

    public static func shipped() throws -> RegisterMapping { try load(from: try TableFile.shipped("registers", what: "register mapping")) }
}
