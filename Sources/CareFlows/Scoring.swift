public import Access
public import FHIRCore

/// RETTS: the priority is the most urgent of the vital-parameter colour and the complaint card's colour
/// ("högsta färg = prioritet"), by the loaded table alone.
public struct TriageScoring: Sendable {
    public let table: TriageTable

    public init(table: TriageTable) {
        self.table = table
    }

    /// What a triage came to: the priority colour, its two sources, and which measurements set the vital colour.
    public struct Outcome: Sendable, Equatable {
        public var colour: String
        public var vitalColour: String
        public var complaintColour: String?
        /// The parameters whose band gave the vital colour (empty when it is the default).
        public var vitalReasons: [String]
    }

    /// The vital-parameter colour: the most urgent band any measurement falls in, else the table's default.
    public func vitalColour(_ signs: VitalSigns) -> (colour: String, reasons: [String]) {
        var best = table.vitalDefault, reasons: [String] = []
        for parameter in VitalParameter.allCases {
            guard let bands = table.vitalParameters[parameter.rawValue], let measured = signs.measurement(parameter) else { continue }
            for band in bands where band.matches(number: measured.number, code: measured.code) {
                guard let colour = band.colour else { continue }
                if table.rank(colour) < table.rank(best) { best = colour; reasons = [parameter.rawValue] }
                else if colour == best, colour != table.vitalDefault, !reasons.contains(parameter.rawValue) { reasons.append(parameter.rawValue) }
            }
        }
        return (best, reasons)
    }

    /// The triage: the vital colour and, when a complaint card and its level are given, the card's colour; the higher wins.
    public func triage(_ signs: VitalSigns, complaint: String?, level: String?) throws(FHIRError) -> Outcome {
        let vital = vitalColour(signs)
        var complaintColour: String?
        if let complaint, !complaint.isEmpty {
            guard let card = table.complaint(complaint) else {
                throw FHIRError(.invalid, code: .value, "complaint '\(complaint)' is not a card of the triage table \(table.id)", expression: ["complaint"],
                                text: "Välj sökorsak i listan.")
            }
            guard let level, card.levels[level] != nil else {
                throw FHIRError(.invalid, code: .required, "level must be one of \(card.levels.keys.sorted(by: { table.rank($0) < table.rank($1) }).joined(separator: ", ")) for complaint \(complaint)",
                                expression: ["level"], text: "Välj vilken nivå på sökorsaken som stämmer.")
            }
            complaintColour = level
        }
        let colour = complaintColour.map { table.rank($0) < table.rank(vital.colour) ? $0 : vital.colour } ?? vital.colour
        return Outcome(colour: colour, vitalColour: vital.colour, complaintColour: complaintColour, vitalReasons: vital.reasons)
    }
}

/// NEWS2 (National Early Warning Score 2): the sum of the parameter scores of the loaded chart and its
/// clinical response level. Computed only from a complete set: a missing parameter is named, not guessed.
public struct EarlyWarningScoring: Sendable {
    public let table: EarlyWarningTable

    public init(table: EarlyWarningTable) {
        self.table = table
    }

    public struct Score: Sendable, Equatable {
        public var total: Int
        /// Each parameter's score, in the chart's order.
        public var parts: [(parameter: String, score: Int)]
        public var response: EarlyWarningTable.Response
        public var scale2: Bool

        public static func == (a: Score, b: Score) -> Bool {
            a.total == b.total && a.response.code == b.response.code && a.parts.map(\.parameter) == b.parts.map(\.parameter) && a.parts.map(\.score) == b.parts.map(\.score)
        }
    }

    /// The NEWS2 parameters, with the Swedish name a missing one is called by.
    static let parameters: [(key: String, label: String)] = [
        ("respiratoryRate", "andningsfrekvens"), ("spo2", "saturation"), ("airOrOxygen", "luft eller syrgas"), ("systolic", "systoliskt blodtryck"),
        ("pulse", "puls"), ("consciousness", "medvetandegrad"), ("temperature", "temperatur"),
    ]

    /// What a set lacks for a NEWS2.
    public func missing(_ signs: VitalSigns) -> [String] {
        var missing: [String] = []
        if signs.respiratoryRate == nil { missing.append("andningsfrekvens") }
        if signs.spo2 == nil { missing.append("saturation") }
        if signs.systolic == nil { missing.append("systoliskt blodtryck") }
        if signs.pulse == nil { missing.append("puls") }
        if signs.consciousness == nil { missing.append("medvetandegrad") }
        if signs.temperature == nil { missing.append("temperatur") }
        return missing
    }

    /// The score, or nil when a parameter is missing (see `missing`).
    public func score(_ signs: VitalSigns) -> Score? {
        guard missing(signs).isEmpty else { return nil }
        let spo2: VitalParameter = signs.spo2Scale2 ? (signs.onOxygen ? .spo2Scale2Oxygen : .spo2Scale2Air) : .spo2Scale1
        let order: [(String, VitalParameter)] = [("respiratoryRate", .respiratoryRate), ("spo2", spo2), ("airOrOxygen", .airOrOxygen), ("systolic", .systolic),
                                                 ("pulse", .pulse), ("consciousness", .consciousness), ("temperature", .temperature)]
        var parts: [(String, Int)] = []
        for (name, parameter) in order {
            guard let measured = signs.measurement(parameter) else { return nil }
            let band = table.parameters[parameter.rawValue]?.first { $0.matches(number: measured.number, code: measured.code) }
            // A value between the chart's bands (a decimal where the chart counts whole numbers) takes the nearer band's score.
            parts.append((name, band?.score ?? nearest(parameter, measured.number)))
        }
        let total = parts.reduce(0) { $0 + $1.1 }
        let highest = parts.map(\.1).max() ?? 0
        let response = table.responses.first { response in
            if let minimum = response.minimumTotal, total >= minimum { return true }
            if let single = response.singleParameter, highest >= single { return true }
            return false
        } ?? table.responses[table.responses.count - 1]
        return Score(total: total, parts: parts, response: response, scale2: signs.spo2Scale2)
    }

    private func nearest(_ parameter: VitalParameter, _ number: Double?) -> Int {
        guard let number, let bands = table.parameters[parameter.rawValue] else { return 0 }
        func distance(_ band: ScoringBand) -> Double {
            [band.min, band.max, band.above, band.below].compactMap { $0 }.map { abs($0 - number) }.min() ?? .infinity
        }
        return bands.min { distance($0) < distance($1) }?.score ?? 0
    }
}
