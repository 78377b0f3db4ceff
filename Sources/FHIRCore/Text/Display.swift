import Foundation

/// How FHIR data reads on screen for a Swedish clinician: names family first, personnummer with a
/// hyphen, times in Swedish local time, codes by their display text.
public enum Display {
    /// "Lindqvist, Anna" from the official (else first) name.
    public static func name(_ patient: JSONObject) -> String {
        let names = (patient["name"]?.arrayValue ?? []).compactMap(\.objectValue)
        guard let name = names.first(where: { $0["use"]?.stringValue == "official" }) ?? names.first else { return "Namn saknas" }
        if let text = name["text"]?.stringValue, name["family"] == nil { return text }
        let given = (name["given"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: " ")
        let family = name["family"]?.stringValue ?? ""
        return [family, given].filter { !$0.isEmpty }.joined(separator: ", ")
    }

    /// The patient's Swedish identity: personnummer, samordningsnummer or reservnummer, formatted.
    public static func identity(_ patient: JSONObject) -> (label: String, value: String)? {
        let identifiers = (patient["identifier"]?.arrayValue ?? []).compactMap(\.objectValue).filter { $0["use"]?.stringValue != "old" }
        for (system, label) in [(SwedishPersonalIdentity.personnummerSystem, "Personnummer"),
                                (SwedishPersonalIdentity.samordningsnummerSystem, "Samordningsnummer")] {
            if let value = identifiers.first(where: { $0["system"]?.stringValue == system })?["value"]?.stringValue {
                return (label, (try? SwedishPersonalIdentity(value))?.formatted ?? value)
            }
        }
        if let value = identifiers.first(where: { $0["system"]?.stringValue == Reservnummer.system })?["value"]?.stringValue {
            return ("Reservnummer", value)
        }
        return nil
    }

    /// Whole years from the birth date to today (Swedish calendar day).
    public static func age(_ patient: JSONObject) -> Int? {
        guard let birth = patient["birthDate"]?.stringValue, birth.count >= 10,
              let year = Int(birth.prefix(4)), let month = Int(birth.dropFirst(5).prefix(2)), let day = Int(birth.dropFirst(8).prefix(2)) else { return nil }
        let today = CivilCalendar.date(fromDaysSince1970: SwedishTime.today)
        var years = today.year - year
        if (today.month, today.day) < (month, day) { years -= 1 }
        return years
    }

    public static func gender(_ patient: JSONObject) -> String {
        switch patient["gender"]?.stringValue {
        case "female": "kvinna"
        case "male": "man"
        case "other": "annat"
        default: "okänt kön"
        }
    }

    /// `2026-11-22 14:30` in Swedish time; a bare date stays a date.
    public static func time(_ text: String?) -> String {
        guard let text else { return "" }
        if text.count <= 10 { return text }
        guard let millis = Instant.parse(text) else { return text }
        let local = SwedishTime.format(millis)
        return String(local.prefix(10)) + " " + String(local.dropFirst(11).prefix(5))
    }

    /// When what a note describes happened (its event period's start), else when it was written.
    public static func noteEvent(_ note: JSONObject) -> String {
        time(note["event"]?.arrayValue?.first?.objectValue?["period"]?.objectValue?["start"]?.stringValue ?? note["date"]?.stringValue)
    }

    /// Only the clock time (`14:30`), for lists of one day.
    public static func clock(_ text: String?) -> String {
        String(time(text).dropFirst(11))
    }

    /// The text a human reads for a CodeableConcept: its text, else a Swedish name for one of its codes
    /// (`Text/Swedish/displays.json`: LOINC publishes English only), else the first display, else the code.
    public static func concept(_ value: JSONValue?) -> String {
        guard let concept = value?.objectValue else { return "" }
        if let text = concept["text"]?.stringValue { return text }
        let codings = (concept["coding"]?.arrayValue ?? []).compactMap(\.objectValue)
        for coding in codings {
            if let system = coding["system"]?.stringValue, let code = coding["code"]?.stringValue, let swedish = swedishDisplays["\(system)|\(code)"] {
                return swedish
            }
        }
        return codings.lazy.compactMap { $0["display"]?.stringValue }.first ?? codings.first?["code"]?.stringValue ?? ""
    }

    /// Swedish names by `system|code`, read once from the bundle.
    static let swedishDisplays: [String: String] = {
        guard let url = Bundle.module.url(forResource: "displays", withExtension: "json", subdirectory: "Swedish"),
              let data = try? Data(contentsOf: url), let table = try? JSONDecoder().decode([String: String].self, from: data)
        else { fatalError("Text/Swedish/displays.json is missing from the FHIRCore bundle") }
        return table.filter { !$0.key.hasPrefix("_") }
    }()

    /// The first code of a CodeableConcept (e.g. the ICD-10-SE code beside its text).
    public static func code(_ value: JSONValue?) -> String {
        ((value?.objectValue?["coding"]?.arrayValue ?? []).first?.objectValue?["code"]?.stringValue) ?? ""
    }

    /// What a Reference reads as: its display, else the name the request's directory knows it by
    /// (`Display.$names`), else what kind of thing it is in Swedish with its id: never a raw `Type/id`.
    public static func reference(_ value: JSONValue?) -> String {
        guard let reference = value?.objectValue else { return "" }
        if let display = reference["display"]?.stringValue, !display.isEmpty { return display }
        guard let text = reference["reference"]?.stringValue else { return "" }
        return named(text)
    }

    /// The name of a `Type/id` reference: from `Display.$names`, else the kind in Swedish and the id.
    public static func named(_ reference: String) -> String {
        if let name = names[reference] { return name }
        let parts = reference.split(separator: "/", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { return reference }
        let kinds = ["Organization": "enhet", "Practitioner": "vårdpersonal", "PractitionerRole": "uppdrag", "Patient": "patient",
                     "Location": "plats", "Device": "utrustning", "RelatedPerson": "närstående", "HealthcareService": "verksamhet"]
        return "\(kinds[parts[0]] ?? "uppgift") \(parts[1])"
    }

    /// The names of the organisation (and whoever else a request knows) by `Type/id`, for the task that renders a
    /// page: the web app binds them once per request, so every reference without a display reads by its name.
    @TaskLocal public static var names: [String: String] = [:]

    /// The id of a `Type/id` reference of the given type.
    public static func id(_ value: JSONValue?, type: String) -> String? {
        guard let text = value?.objectValue?["reference"]?.stringValue, text.hasPrefix(type + "/") else { return nil }
        return String(text.dropFirst(type.count + 1))
    }

    /// The ids of an Appointment's participants of one type.
    public static func participants(_ appointment: JSONObject, type: String) -> [String] {
        (appointment["participant"]?.arrayValue ?? []).compactMap { id($0.objectValue?["actor"], type: type) }
    }

    /// A referral's question (its first note), shortened for a list.
    public static func referralQuestion(_ request: JSONObject) -> String {
        let text = request["note"]?.arrayValue?.first?.objectValue?["text"]?.stringValue ?? concept(request["code"])
        return text.count > 120 ? String(text.prefix(117)) + "…" : text
    }

    /// An Observation's value as text with its unit.
    public static func observationValue(_ observation: JSONObject) -> String {
        if let quantity = observation["valueQuantity"]?.objectValue {
            let value = quantity["value"].map { JSONWriter.string($0) } ?? ""
            return [value, quantity["unit"]?.stringValue ?? quantity["code"]?.stringValue ?? ""].filter { !$0.isEmpty }.joined(separator: " ")
        }
        if let value = observation["valueCodeableConcept"] { return concept(value) }
        if let text = observation["valueString"]?.stringValue { return text }
        if let components = observation["component"]?.arrayValue, !components.isEmpty {
            return components.compactMap(\.objectValue).map { component in
                let value = component["valueQuantity"]?.objectValue
                return "\(value?["value"].map { JSONWriter.string($0) } ?? "–") \(value?["unit"]?.stringValue ?? "")"
                    .trimmingCharacters(in: .whitespaces)
            }.joined(separator: " / ")
        }
        return ""
    }
}
