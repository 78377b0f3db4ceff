public import FHIRCore
import Foundation

/// The Swedish dosage text (doseringstext) of a structured FHIR Dosage list: "1 tablett morgon och
/// 2 tabletter kväll". Shown wherever an ordination is shown, so that what a nurse reads is what the
/// structure says; a typed `text` is used only where there is no structure (fritextdosering).
public enum DosageText {
    /// The text of an ordination's `dosageInstruction` (or a statement's `dosage`): dosages with the
    /// same `sequence` are given together ("och"), later sequences follow ("därefter").
    public static func swedish(_ dosages: [JSONValue]) -> String {
        var steps: [(sequence: Int, dosages: [JSONObject])] = []
        for (index, value) in dosages.enumerated() {
            guard let dosage = value.objectValue else { continue }
            let sequence = Int(dosage["sequence"].map(numberText) ?? "") ?? index + 1
            if let last = steps.indices.last, steps[last].sequence == sequence {
                steps[last].dosages.append(dosage)
            } else {
                steps.append((sequence, [dosage]))
            }
        }
        return steps.compactMap { step -> String? in
            // Doses given together for the same days say the days once: "1 tablett morgon och 2 tabletter kväll i 5 dagar".
            let durations = Set(step.dosages.map { $0["timing"]?.objectValue?["repeat"]?.objectValue?["boundsDuration"].map { JSONWriter.string($0) } ?? "" })
            let shared = step.dosages.count > 1 && durations.count == 1 && durations.first != ""
            let parts = step.dosages.map { swedish($0, duration: !shared) }.filter { !$0.isEmpty }
            guard !parts.isEmpty else { return nil }
            var text = joined(parts, with: "och")
            if shared, let bounds = step.dosages[0]["timing"]?.objectValue?["repeat"]?.objectValue?["boundsDuration"]?.objectValue {
                text += " " + Self.duration(bounds)
            }
            return text
        }.joined(separator: ", därefter ")
    }

    /// "i 5 dagar".
    static func duration(_ bounds: JSONObject) -> String {
        "i \(number(bounds["value"])) \(periodUnit(bounds["code"]?.stringValue ?? bounds["unit"]?.stringValue, count: bounds["value"]))"
    }

    /// One dosage: dose, when or how often, for how long, vid behov with its indication and maximum.
    public static func swedish(_ dosage: JSONObject) -> String { swedish(dosage, duration: true) }

    static func swedish(_ dosage: JSONObject, duration: Bool) -> String {
        let typed = dosage["text"]?.stringValue ?? ""
        let repeatRule = dosage["timing"]?.objectValue?["repeat"]?.objectValue ?? JSONObject()
        let rate = dosage["doseAndRate"]?.arrayValue?.first?.objectValue
        var words: [String] = []
        if let dose = rate?["doseQuantity"]?.objectValue {
            words.append(quantity(dose))
        } else if let range = rate?["doseRange"]?.objectValue, let low = range["low"]?.objectValue, let high = range["high"]?.objectValue {
            words.append("\(number(low["value"]))–\(quantity(high))")
        }
        if let speed = rate?["rateQuantity"]?.objectValue {
            words.append("med hastigheten \(number(speed["value"])) \(unit(speed, plural: false))")
        } else if let range = rate?["rateRange"]?.objectValue, let low = range["low"]?.objectValue, let high = range["high"]?.objectValue {
            words.append("med hastigheten \(number(low["value"]))–\(number(high["value"])) \(unit(high, plural: false))")
        }
        words += when(repeatRule)
        if duration, let bounds = repeatRule["boundsDuration"]?.objectValue {
            words.append(Self.duration(bounds))
        }
        var conditions: [String] = []
        if dosage["asNeededBoolean"]?.boolValue == true || dosage["asNeededCodeableConcept"] != nil {
            var needed = "vid behov"
            let indication = Display.concept(dosage["asNeededCodeableConcept"])
            if !indication.isEmpty { needed += " mot \(indication.lowercased())" }
            conditions.append(needed)
        }
        if let most = dosage["maxDosePerPeriod"]?.objectValue, let numerator = most["numerator"]?.objectValue {
            let denominator = most["denominator"]?.objectValue ?? JSONObject()
            conditions.append("högst \(quantity(numerator)) \(per(denominator))")
        }
        guard !words.isEmpty || !conditions.isEmpty else { return typed }
        return ([words.joined(separator: " ")].filter { !$0.isEmpty } + conditions).joined(separator: ", ")
    }

    /// When in the day (morgon, kväll, kl. 08.00), how often (3 gånger dagligen, var 8:e timme), or once
    /// (engångsdos: "en gång 2026-12-08 kl. 08.00", the instant its period starts).
    static func when(_ repeatRule: JSONObject) -> [String] {
        let count = repeatRule["count"].map(numberText).flatMap { Int($0) }
        let counted = repeatRule["frequency"] == nil && repeatRule["when"] == nil && repeatRule["timeOfDay"] == nil
        if count == 1, counted {
            guard let start = repeatRule["boundsPeriod"]?.objectValue?["start"]?.stringValue, let at = Instant.parse(start) else { return ["en gång"] }
            let local = SwedishTime.format(at)
            return start.count > 10 ? ["en gång \(local.prefix(10)) kl. \(local.dropFirst(11).prefix(5).replacingOccurrences(of: ":", with: "."))"]
                                    : ["en gång \(start)"]
        }
        return timesOrFrequency(repeatRule) + (count.map { $0 > 1 ? ["(\($0) doser)"] : [] } ?? [])
    }

    static func timesOrFrequency(_ repeatRule: JSONObject) -> [String] {
        let moments = (repeatRule["when"]?.arrayValue ?? []).compactMap { $0.stringValue.flatMap { dayMoments[$0] } }
            + (repeatRule["timeOfDay"]?.arrayValue ?? []).compactMap { $0.stringValue.map { "kl. " + $0.prefix(5).replacingOccurrences(of: ":", with: ".") } }
        if !moments.isEmpty { return [joined(moments, with: "och")] }
        guard let frequency = repeatRule["frequency"].map(numberText).flatMap({ Int($0) }) else { return [] }
        let period = repeatRule["period"].map(numberText) ?? "1"
        let unit = repeatRule["periodUnit"]?.stringValue ?? "d"
        if period == "1" {
            let times = frequency == 1 ? "1 gång" : "\(frequency) gånger"
            return ["\(times) \(everyOne[unit] ?? "per \(periodUnit(unit, count: .number("1")))")"]
        }
        let every = period == "2" ? "varannan \(periodUnit(unit, count: .number("1")))" : "var \(ordinal(period)) \(periodUnit(unit, count: .number("1")))"
        return [frequency == 1 ? every : "\(frequency) gånger \(every)"]
    }

    /// FHIR's `when` codes as a Swedish dosage text says them.
    static let dayMoments: [String: String] = [
        "MORN": "morgon", "MORN.early": "tidig morgon", "MORN.late": "förmiddag", "NOON": "middag", "AFT": "eftermiddag",
        "EVE": "kväll", "NIGHT": "natt", "HS": "till natten", "WAKE": "vid uppvaknandet", "C": "vid måltid",
        "CM": "vid frukost", "CD": "vid lunch", "CV": "vid middagen", "AC": "före måltid", "ACM": "före frukost",
        "ACD": "före lunch", "ACV": "före middagen", "PC": "efter måltid", "PCM": "efter frukost", "PCD": "efter lunch", "PCV": "efter middagen",
    ]

    /// "dagligen", "per timme": once a period of one unit.
    static let everyOne: [String: String] = ["d": "dagligen", "h": "per timme", "wk": "per vecka", "mo": "per månad", "min": "per minut"]

    /// A dose: "1 tablett", "2 tabletter", "0,5 ml", "8 E" (internationella enheter are written E).
    static func quantity(_ quantity: JSONObject) -> String {
        let value = quantity["value"]
        let plural = value.map(numberText) != "1"
        let name = unit(quantity, plural: plural)
        return name.isEmpty ? number(value) : "\(number(value)) \(name)"
    }

    /// The unit as a nurse reads it: IU as E (HSLF-FS 2017:37), a dose form in its plural when more than one.
    static func unit(_ quantity: JSONObject, plural: Bool) -> String {
        let code = quantity["code"]?.stringValue ?? ""
        let written = quantity["unit"]?.stringValue ?? code
        if ["[iU]", "[IU]", "U", "[U]"].contains(code) || ["IE", "IU", "E", "U", "enheter", "enhet"].contains(written) { return "E" }
        guard plural, let many = plurals[written.lowercased()] else { return written }
        return many
    }

    /// The plural of the dose forms a dose is counted in.
    static let plurals: [String: String] = [
        "tablett": "tabletter", "kapsel": "kapslar", "dos": "doser", "droppe": "droppar", "suppositorium": "suppositorier",
        "påse": "påsar", "inhalation": "inhalationer", "spray": "sprayningar", "sprayning": "sprayningar", "plåster": "plåster",
        "ampull": "ampuller", "brustablett": "brustabletter", "sugtablett": "sugtabletter", "tuggtablett": "tuggtabletter",
        "munsönderfallande tablett": "munsönderfallande tabletter", "depottablett": "depottabletter", "portion": "portioner",
    ]

    /// "per dygn", "per 4 timmar": a maximum's period.
    static func per(_ denominator: JSONObject) -> String {
        let value = denominator["value"].map(numberText) ?? "1"
        let unit = denominator["code"]?.stringValue ?? denominator["unit"]?.stringValue ?? "d"
        if (value == "1" && unit == "d") || (value == "24" && unit == "h") { return "per dygn" }
        if value == "1" { return "per \(periodUnit(unit, count: .number("1")))" }
        return "per \(value) \(periodUnit(unit, count: .number(value)))"
    }

    /// A UCUM time unit in Swedish, singular or plural by `count`.
    static func periodUnit(_ code: String?, count: JSONValue?) -> String {
        let one = count.map(numberText) == "1"
        switch code ?? "d" {
        case "s": return one ? "sekund" : "sekunder"
        case "min": return one ? "minut" : "minuter"
        case "h": return one ? "timme" : "timmar"
        case "wk": return one ? "vecka" : "veckor"
        case "mo": return one ? "månad" : "månader"
        case "a": return "år"
        default: return one ? "dag" : "dagar"
        }
    }

    /// "3:e", "8:e", "21:a": Swedish ordinals end in :a after a last digit 1 or 2 (but 11:e, 12:e).
    static func ordinal(_ text: String) -> String {
        let last2 = text.suffix(2)
        if last2 != "11", last2 != "12", text.hasSuffix("1") || text.hasSuffix("2") { return text + ":a" }
        return text + ":e"
    }

    /// A FHIR decimal as written, with a decimal comma.
    static func number(_ value: JSONValue?) -> String {
        value.map(numberText)?.replacingOccurrences(of: ".", with: ",") ?? ""
    }

    static func numberText(_ value: JSONValue) -> String {
        switch value {
        case .number(let text): return text
        case .string(let text): return text
        default: return ""
        }
    }

    /// "a, b och c".
    static func joined(_ parts: [String], with word: String) -> String {
        guard parts.count > 1 else { return parts.first ?? "" }
        return parts.dropLast().joined(separator: ", ") + " \(word) " + parts.last!
    }
}
