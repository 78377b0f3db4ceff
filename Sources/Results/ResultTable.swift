public import Access
public import FHIRCore
import Foundation
import StoreModel

/// A patient's lab results as the cumulative table reads them: analyses (grouped by NPU code, never by display
/// text) by sampling time, each value with its unit, reference range and flag, and the series a trend plots.
public struct ResultTable: Sendable {
    /// One analysis: a row of the table.
    public struct Analysis: Sendable, Equatable {
        /// The NPU code, or the lab's system and code when the result has none.
        public var key: String
        public var name: String
        public var unit: String
        /// The latest reference range as text, nil when the lab gave none ("inget referensintervall").
        public var range: String?
        public var low: Double?
        public var high: Double?
    }

    /// One value.
    public struct Value: Sendable, Equatable {
        public var time: String
        public var text: String
        public var number: Double?
        /// The interpretation code (H, L, HH, LL, A …), nil when normal or unflagged.
        public var flag: String?
        public var corrected: Bool
        public var observationID: String
        public var reportID: String?
    }

    public var analyses: [Analysis]
    /// Every value per analysis key, oldest first.
    public var values: [String: [Value]]

    /// Sampling times, newest first (the table's columns).
    public var times: [String] {
        Array(Set(values.values.flatMap { $0.map(\.time) })).sorted(by: >)
    }

    public func value(_ key: String, at time: String) -> Value? { values[key]?.last { $0.time == time } }

    /// Reads the patient's laboratory Observations through the gateway (audited as any read).
    public static func read(patientID: String, session: PatientDataSession, maximum: Int = 10_000) async throws -> ResultTable {
        let observations = try await Records(session: session).all("Observation", [("patient", patientID), ("category", "laboratory")], maximum: maximum)
        let reports = try await Records(session: session).all("DiagnosticReport", [("patient", patientID)], maximum: maximum)
        var reportOf: [String: String] = [:]
        for report in reports {
            for item in report.object["result"]?.arrayValue ?? [] {
                if let reference = item.objectValue?["reference"]?.stringValue { reportOf[reference] = report.id }
            }
        }
        var analyses: [String: Analysis] = [:]
        var latest: [String: String] = [:]
        var values: [String: [Value]] = [:]
        for stored in observations {
            let observation = stored.object
            guard !["cancelled", "entered-in-error"].contains(observation["status"]?.stringValue ?? "") else { continue }
            let key = Self.key(observation["code"])
            let time = observation["effectiveDateTime"]?.stringValue ?? observation["issued"]?.stringValue ?? ""
            let quantity = observation["valueQuantity"]?.objectValue
            let number = quantity?["value"]?.numberText.flatMap(Double.init)
            let unit = quantity?["unit"]?.stringValue ?? ""
            let text = Self.quantityText(observation) ?? Self.text(observation)
            values[key, default: []].append(Value(time: time, text: text, number: number, flag: Self.flag(observation),
                                                  corrected: observation["status"]?.stringValue == "corrected", observationID: stored.id,
                                                  reportID: reportOf["Observation/\(stored.id)"]))
            // The row's name, unit and range are the latest result's: a lab may change its range.
            if time >= latest[key, default: ""] {
                latest[key] = time
                let range = observation["referenceRange"]?.arrayValue?.first?.objectValue
                let low = range?["low"]?.objectValue?["value"]?.numberText.flatMap(Double.init)
                let high = range?["high"]?.objectValue?["value"]?.numberText.flatMap(Double.init)
                let rangeText = range.map { range in
                    range["text"]?.stringValue ?? [low, high].map { $0.map { Self.decimal($0) } ?? "" }.joined(separator: "–")
                }
                analyses[key] = Analysis(key: key, name: Self.name(observation["code"], key: key), unit: unit.isEmpty ? analyses[key]?.unit ?? "" : unit,
                                         range: rangeText, low: low, high: high)
            }
        }
        for key in values.keys { values[key]?.sort { $0.time < $1.time } }
        return ResultTable(analyses: analyses.values.sorted { $0.name.localizedCompare($1.name) == .orderedAscending }, values: values)
    }

    /// A quantity as read: its comparator and the number with a Swedish decimal comma (`<5,2`); nil for no quantity.
    public static func quantityText(_ observation: JSONObject) -> String? {
        let quantity = observation["valueQuantity"]?.objectValue
        return quantity?["value"]?.numberText.map { (quantity?["comparator"]?.stringValue ?? "") + $0.replacingOccurrences(of: ".", with: ",") }
    }

    /// A text or coded value's words.
    public static func text(_ observation: JSONObject) -> String {
        observation["valueString"]?.stringValue ?? observation["valueCodeableConcept"]?.objectValue?["text"]?.stringValue ?? ""
    }

    /// The interpretation code, nil when normal (N) or unflagged.
    public static func flag(_ observation: JSONObject) -> String? {
        let flag = observation["interpretation"]?.arrayValue?.first?.objectValue?["coding"]?.arrayValue?.first?.objectValue?["code"]?.stringValue
        return flag == "N" ? nil : flag
    }

    /// The grouping key: the NPU code, else the first coding's system and code, else the text.
    static func key(_ code: JSONValue?) -> String {
        let codings = code?.objectValue?["coding"]?.arrayValue?.compactMap { $0.objectValue } ?? []
        if let npu = codings.first(where: { $0["system"]?.stringValue == ResultsVocabulary.npuSystem })?["code"]?.stringValue { return npu }
        if let first = codings.first, let value = first["code"]?.stringValue { return "\(first["system"]?.stringValue ?? "")|\(value)" }
        return "text|" + (code?.objectValue?["text"]?.stringValue ?? "")
    }

    static func name(_ code: JSONValue?, key: String) -> String {
        let concept = code?.objectValue
        if let text = concept?["text"]?.stringValue, !text.isEmpty { return text }
        for coding in concept?["coding"]?.arrayValue ?? [] {
            if let display = coding.objectValue?["display"]?.stringValue, !display.isEmpty { return display }
        }
        return key
    }

    /// A decimal with a Swedish decimal comma.
    public static func decimal(_ value: Double) -> String {
        let text = value == value.rounded() ? String(Int64(value)) : String(value)
        return text.replacingOccurrences(of: ".", with: ",")
    }
}
