import FHIRCore
import Foundation
import Medication

/// The dosage builder the ordination form, the e-recept form and its live patient text share: the dose,
/// unit and route, then one of the five dosage types (doseringstyper) of a Swedish e-recept, with steps
/// and doses of their own at the times of a tillfällesdosering.
enum DosageForm {
    /// The five dosage types of E-hälsomyndigheten's NLLDosage, as the form offers them.
    enum Kind: String, CaseIterable {
        /// Tillfällesdosering: at the ward's named times (morgon, kväll), or vid behov.
        case times = "tillfalle"
        /// Frekvensdosering: n times a day or a week, the times left to the patient.
        case frequency = "frekvens"
        /// Intervalldosering: every n hours or days.
        case interval = "intervall"
        /// Engångsdosering: one dose, on the start day at a clock time.
        case once = "engang"
        /// Fritextdosering: words only; no dose check can read it.
        case freeText = "fritext"

        var label: String {
            switch self {
            case .times: "Vid bestämda tider (tillfällesdosering)"
            case .frequency: "Antal gånger per dygn eller vecka (frekvensdosering)"
            case .interval: "Med jämna mellanrum (intervalldosering)"
            case .once: "En gång (engångsdosering)"
            case .freeText: "Fritext (fritextdosering)"
            }
        }
    }

    /// Routes a nurse or doctor picks from, as the form offers them.
    static var routes: [String] { ["Oralt", "Intravenöst", "Subkutant", "Intramuskulärt", "Rektalt", "Inhalation", "Kutant"] }
    /// The ward's named times a dose may be given at (FHIR `when`), in the day's order.
    static var times: [(code: String, label: String)] { [("MORN", "Morgon"), ("NOON", "Middag"), ("EVE", "Kväll"), ("NIGHT", "Natt")] }
    /// The periods a frequency counts in and an interval is measured in, as UCUM codes with their Swedish names.
    static var frequencyPeriods: [(code: String, label: String)] { [("d", "per dygn"), ("wk", "per vecka")] }
    static var intervalUnits: [(code: String, label: String)] { [("h", "timmar"), ("d", "dygn")] }

    /// What the templates need to show the dosage fields as they were entered (the `dosage-kind` partial).
    static func context(_ values: [String: String], kinds: [Kind]) -> [String: Any] {
        let chosen = Kind(rawValue: values["dosageKind"] ?? "") ?? .times
        var context: [String: Any] = [:]
        for key in ["frequencyCount", "intervalValue", "onceTime", "freeText"] { context[key] = values[key] ?? "" }
        context["dosageKinds"] = kinds.map { ["code": $0.rawValue, "label": $0.label, "checked": $0 == chosen] as [String: Any] }
        context["frequencyPeriods"] = frequencyPeriods.map { ["code": $0.code, "label": $0.label, "selected": values["frequencyPer"] == $0.code] as [String: Any] }
        context["intervalUnits"] = intervalUnits.map { ["code": $0.code, "label": $0.label, "selected": values["intervalUnit"] == $0.code] as [String: Any] }
        context["routes"] = routes.map { ["name": $0, "selected": values["route"] == $0] as [String: Any] }
        context["times"] = times.map { ["code": $0.code, "label": $0.label, "checked": values["when_\($0.code)"] == "ja"] as [String: Any] }
        context["asNeeded"] = values["vidbehov"] == "ja"
        context["offersFreeText"] = kinds.contains(.freeText)
        return context
    }

    /// The structured Dosage list from the form, or what is missing or wrong per field. `kinds` are the
    /// dosage types this form offers (an inpatient ordination is given by the MAR, so never in free text).
    static func dosage(_ values: [String: String], kinds: [Kind] = Kind.allCases) -> ([JSONObject]?, [String: String]) {
        var errors: [String: String] = [:]
        func text(_ key: String) -> String { (values[key] ?? "").trimmingCharacters(in: .whitespaces) }
        func number(_ key: String) -> Double? { Double(text(key).replacingOccurrences(of: ",", with: ".")) }
        let kind = text("dosageKind").isEmpty ? .times : Kind(rawValue: text("dosageKind"))
        guard let kind, kinds.contains(kind) else {
            return (nil, ["dosageKind": "Välj doseringstyp: " + kinds.map(\.label).joined(separator: ", ") + "."])
        }
        let route = text("route")
        if !routes.contains(route) { errors["route"] = "Välj administrationssätt." }
        let start = text("start")
        if start.count != 10 || Instant.parse(start) == nil { errors["start"] = "Ange startdatum (ÅÅÅÅ-MM-DD)." }
        if kind == .freeText {
            if text("freeText").isEmpty { errors["freeText"] = "Skriv doseringen med ord, eller välj en strukturerad doseringstyp." }
            guard errors.isEmpty else { return (nil, errors) }
            return ([JSONObject([("text", .string(text("freeText"))), ("route", FHIR.object([("text", .string(route))]))])], [:])
        }
        let dose = number("dose")
        if dose == nil || (dose ?? 0) <= 0 { errors["dose"] = "Ange dosen som ett tal större än noll." }
        if text("unit").isEmpty { errors["unit"] = "Ange dosens enhet (till exempel tablett, mg, ml)." }
        let asNeeded = values["vidbehov"] == "ja"
        let when = times.map(\.code).filter { values["when_\($0)"] == "ja" }
        let ownDoseGiven = times.contains { !text("dose_\($0.code)").isEmpty }
        if kind != .times {
            // Steps, doses of their own and vid behov are said at named times; another type would drop them unseen.
            if asNeeded { errors["dosageKind"] = "Vid behov anges som tillfällesdosering: välj den, eller ta bort Vid behov." }
            if !text("thenDays").isEmpty || ownDoseGiven { errors["dosageKind"] = "Trappa och olika dos vid olika tider anges som tillfällesdosering." }
        }
        var repeating = JSONObject()
        switch kind {
        case .times:
            if asNeeded {
                if text("indication").isEmpty { errors["indication"] = "Ange indikation för vid behov." }
                if Int(text("maxPerDay")).map({ $0 > 0 }) != true { errors["maxPerDay"] = "Ange högsta antal doser per dygn." }
            } else if when.isEmpty {
                errors["times"] = "Välj minst en tid, eller vid behov."
            }
        case .frequency:
            let count = Int(text("frequencyCount"))
            let per = text("frequencyPer").isEmpty ? "d" : text("frequencyPer")
            if count == nil || count! < 1 { errors["frequencyCount"] = "Ange hur många gånger, som ett heltal (minst 1)." }
            if !frequencyPeriods.contains(where: { $0.code == per }) { errors["frequencyCount"] = "Välj per dygn eller per vecka." }
            if let count { repeating = JSONObject([("frequency", .number(String(count))), ("period", .number("1")), ("periodUnit", .string(per))]) }
        case .interval:
            let every = Int(text("intervalValue"))
            let unit = text("intervalUnit").isEmpty ? "h" : text("intervalUnit")
            if every == nil || every! < 1 { errors["intervalValue"] = "Ange intervallet som ett heltal (minst 1)." }
            if !intervalUnits.contains(where: { $0.code == unit }) { errors["intervalValue"] = "Välj timmar eller dygn för intervallet." }
            if let every { repeating = JSONObject([("frequency", .number("1")), ("period", .number(String(every))), ("periodUnit", .string(unit))]) }
        case .once:
            if MedicationSafetyRules.minuteOfDay(text("onceTime")) == nil { errors["onceTime"] = "Ange klockslag för dosen (TT:MM)." }
        case .freeText:
            break
        }
        let end = text("end")
        if !end.isEmpty, end.count != 10 || Instant.parse(end) == nil || end < start { errors["end"] = "Planerat slut är ett datum efter start (ÅÅÅÅ-MM-DD)." }
        guard errors.isEmpty, let dose else { return (nil, errors) }
        var bounds = JSONObject([("start", .string(start))])
        if !end.isEmpty { bounds["end"] = .string(end) }
        if kind == .once, let day = SwedishTime.parseDay(start), let minute = MedicationSafetyRules.minuteOfDay(text("onceTime")) {
            // One dose: counted once, from the instant it is to be given (Swedish time on the start day).
            repeating = JSONObject([("count", .number("1")), ("boundsPeriod", FHIR.object([("start", .string(SwedishTime.format(SwedishTime.instant(day: day, minuteOfDay: minute))))]))])
        } else {
            repeating["boundsPeriod"] = .object(bounds)
        }
        var dosage = JSONObject([("route", FHIR.object([("text", .string(route))]))])
        if asNeeded {
            dosage["asNeededCodeableConcept"] = FHIR.object([("text", .string(text("indication")))])
            dosage["maxDosePerPeriod"] = FHIR.object([
                ("numerator", FHIR.object([("value", .number(text("maxPerDay"))), ("unit", .string("dos"))])),
                ("denominator", FHIR.object([("value", .number("1")), ("unit", .string("dygn")), ("system", .string("http://unitsofmeasure.org")), ("code", .string("d"))]))])
        } else if kind == .times {
            repeating["when"] = .array(when.map(JSONValue.string))
        }
        func amount(_ value: Double) -> JSONValue {
            FHIR.object([("value", .number(value == value.rounded() ? String(Int64(value)) : String(value))), ("unit", .string(text("unit")))])
        }
        guard kind == .times else {
            dosage["timing"] = FHIR.object([("repeat", .object(repeating))])
            dosage["doseAndRate"] = .array([FHIR.object([("doseQuantity", amount(dose))])])
            return ([dosage], [:])
        }
        // Parallel: a time given its own dose ("1 tablett morgon och 2 tabletter kväll") is its own dosage of the same step.
        let ownDoses = asNeeded ? [:] : Dictionary(uniqueKeysWithValues: when.compactMap { code -> (String, Double)? in
            guard let own = number("dose_\(code)"), own > 0, own != dose else { return nil }
            return (code, own)
        })
        // Steps: the first step lasts `thenDays` days, then `thenDose` at the `then_` times (a step needs its duration, not a period).
        let thenDays = Int(text("thenDays"))
        if !text("thenDays").isEmpty, (thenDays ?? 0) <= 0 { errors["thenDays"] = "Ange antal dagar för första steget." }
        let thenDose = number("thenDose")
        let thenWhen = times.map(\.code).filter { values["then_\($0)"] == "ja" }
        if thenDays != nil, thenDose == nil || (thenDose ?? 0) <= 0 { errors["thenDose"] = "Ange dosen efter första steget." }
        if thenDays != nil, thenWhen.isEmpty { errors["thenTimes"] = "Välj tider för steget därefter." }
        guard errors.isEmpty else { return (nil, errors) }
        func step(_ dose: Double, at codes: [String], sequence: Int, bounds: (String, JSONValue)?) -> JSONObject {
            var copy = dosage
            var repeating = repeating
            repeating["boundsPeriod"] = nil
            if let bounds { repeating[bounds.0] = bounds.1 }
            if !asNeeded { repeating["when"] = .array(codes.map(JSONValue.string)) }
            copy["sequence"] = .number(String(sequence))
            copy["timing"] = FHIR.object([("repeat", .object(repeating))])
            copy["doseAndRate"] = .array([FHIR.object([("doseQuantity", amount(dose))])])
            return copy
        }
        guard !ownDoses.isEmpty || thenDays != nil else {
            dosage["timing"] = FHIR.object([("repeat", .object(repeating))])
            dosage["doseAndRate"] = .array([FHIR.object([("doseQuantity", amount(dose))])])
            return ([dosage], [:])
        }
        let firstBounds: (String, JSONValue) = thenDays.map { ("boundsDuration", FHIR.object([("value", .number(String($0))), ("unit", .string("d")),
                                                                                                ("system", .string("http://unitsofmeasure.org")), ("code", .string("d"))])) }
            ?? ("boundsPeriod", .object(bounds))
        var steps: [JSONObject] = []
        let plain = when.filter { ownDoses[$0] == nil }
        if !plain.isEmpty || asNeeded { steps.append(step(dose, at: plain, sequence: 1, bounds: firstBounds)) }
        for code in when where ownDoses[code] != nil { steps.append(step(ownDoses[code]!, at: [code], sequence: 1, bounds: firstBounds)) }
        if let thenDose, thenDays != nil { steps.append(step(thenDose, at: thenWhen, sequence: 2, bounds: nil)) }
        return (steps, [:])
    }
}
