public import Access
public import FHIRCore
import Foundation

/// One set of vital signs (vitalparametrar) taken together: what triage and NEWS2 are computed from.
public struct VitalSigns: Sendable, Equatable {
    public var respiratoryRate: Double?
    public var spo2: Double?
    /// Supplemental oxygen in litres a minute; nil or 0 is room air.
    public var oxygenFlow: Double?
    public var temperature: Double?
    public var systolic: Double?
    public var diastolic: Double?
    public var pulse: Double?
    /// ACVPU: A alert, C new confusion, V voice, P pain, U unresponsive.
    public var consciousness: String?
    /// Luftväg: fri, hotad, ofri (RETTS's A).
    public var airway: String?
    /// SpO₂ scale 2 (a prescribed target of 88–92 %, as in hypercapnic respiratory failure).
    public var spo2Scale2: Bool

    public init(respiratoryRate: Double? = nil, spo2: Double? = nil, oxygenFlow: Double? = nil, temperature: Double? = nil, systolic: Double? = nil,
                diastolic: Double? = nil, pulse: Double? = nil, consciousness: String? = nil, airway: String? = nil, spo2Scale2: Bool = false) {
        self.respiratoryRate = respiratoryRate
        self.spo2 = spo2
        self.oxygenFlow = oxygenFlow
        self.temperature = temperature
        self.systolic = systolic
        self.diastolic = diastolic
        self.pulse = pulse
        self.consciousness = consciousness
        self.airway = airway
        self.spo2Scale2 = spo2Scale2
    }

    public var onOxygen: Bool { (oxygenFlow ?? 0) > 0 }
    public var isEmpty: Bool {
        [respiratoryRate, spo2, oxygenFlow, temperature, systolic, diastolic, pulse].allSatisfy { $0 == nil } && consciousness == nil && airway == nil
    }

    /// What a form or an operation may give: the field, its Swedish label, and the values a person can have.
    /// Plausibility limits only (a typo, not a judgement): clinical thresholds are in the rule files.
    static let fields: [(key: String, label: String, range: ClosedRange<Double>)] = [
        ("respiratoryRate", "Andningsfrekvens", 0...80), ("spo2", "Saturation", 40...100), ("oxygenFlow", "Syrgas", 0...60),
        ("temperature", "Temperatur", 25...45), ("systolic", "Systoliskt blodtryck", 30...300), ("diastolic", "Diastoliskt blodtryck", 10...200),
        ("pulse", "Puls", 0...300),
    ]

    public static let consciousnessLevels: [(code: String, display: String)] = [
        ("A", "Vaken (A)"), ("C", "Nytillkommen förvirring (C)"), ("V", "Reagerar på tilltal (V)"), ("P", "Reagerar på smärta (P)"), ("U", "Reagerar inte (U)"),
    ]
    public static let airwayStates: [(code: String, display: String)] = [("fri", "Fri"), ("hotad", "Hotad"), ("ofri", "Ofri")]

    /// Reads the measurements by name (a web form or an operation's parameters); every problem names its field.
    public static func parse(_ input: [String: String]) throws(FHIRError) -> VitalSigns {
        var signs = VitalSigns()
        for field in fields {
            let text = (input[field.key] ?? "").trimmingCharacters(in: .whitespaces).replacingOccurrences(of: ",", with: ".")
            guard !text.isEmpty else { continue }
            guard let value = Double(text), value.isFinite else {
                throw FHIRError(.invalid, code: .value, "\(field.key) must be a number; got '\(text)'", expression: [field.key], text: "\(field.label) ska vara ett tal.")
            }
            guard field.range.contains(value) else {
                throw FHIRError(.invalid, code: .value, "\(field.key) must be between \(field.range.lowerBound.clean) and \(field.range.upperBound.clean); got \(value.clean)",
                                expression: [field.key], text: "\(field.label) ska vara mellan \(field.range.lowerBound.clean) och \(field.range.upperBound.clean).")
            }
            switch field.key {
            case "respiratoryRate": signs.respiratoryRate = value
            case "spo2": signs.spo2 = value
            case "oxygenFlow": signs.oxygenFlow = value
            case "temperature": signs.temperature = value
            case "systolic": signs.systolic = value
            case "diastolic": signs.diastolic = value
            default: signs.pulse = value
            }
        }
        if let level = input["consciousness"], !level.isEmpty {
            guard consciousnessLevels.contains(where: { $0.code == level }) else {
                throw FHIRError(.invalid, code: .value, "consciousness must be one of A, C, V, P, U; got '\(level)'", expression: ["consciousness"], text: "Välj medvetandegrad i listan.")
            }
            signs.consciousness = level
        }
        if let airway = input["airway"], !airway.isEmpty {
            guard airwayStates.contains(where: { $0.code == airway }) else {
                throw FHIRError(.invalid, code: .value, "airway must be fri, hotad or ofri; got '\(airway)'", expression: ["airway"], text: "Välj luftvägens status i listan.")
            }
            signs.airway = airway
        }
        if let systolic = signs.systolic, let diastolic = signs.diastolic, diastolic >= systolic {
            throw FHIRError(.invalid, code: .value, "diastolic (\(diastolic.clean)) must be below systolic (\(systolic.clean))", expression: ["diastolic"],
                            text: "Diastoliskt tryck ska vara lägre än systoliskt.")
        }
        if (signs.systolic == nil) != (signs.diastolic == nil) {
            throw FHIRError(.invalid, code: .required, "a blood pressure needs both systolic and diastolic", expression: [signs.systolic == nil ? "systolic" : "diastolic"],
                            text: "Ange både systoliskt och diastoliskt tryck.")
        }
        signs.spo2Scale2 = ["2", "true", "on", "ja"].contains(input["spo2Scale"] ?? input["spo2Scale2"] ?? "")
        guard !signs.isEmpty else {
            throw FHIRError(.invalid, code: .required, "give at least one vital sign", expression: ["respiratoryRate"], text: "Ange minst en vitalparameter.")
        }
        return signs
    }

    // MARK: As Observations

    /// The Observations of this set, each with its LOINC code (vital-signs profile), all at one time.
    func observations(patientID: String, encounterID: String?, at time: Int64, performer: String?) -> [(id: String, resource: JSONObject)] {
        var out: [(String, JSONObject)] = []
        func add(_ code: String, _ display: String, _ text: String?, system: String = CareFlowCodes.loinc,
                 value: (String, JSONValue)? = nil, components: [JSONValue]? = nil) {
            let id = UUID().uuidString.lowercased()
            var observation = JSONObject([
                ("resourceType", .string("Observation")), ("id", .string(id)), ("status", .string("final")),
                ("category", .array([FHIR.concept(CareFlowCodes.observationCategory, "vital-signs", "Vital Signs")])),
                ("code", FHIR.concept(system, code, display, text: text)),
                ("subject", FHIR.reference("Patient", patientID)),
                ("effectiveDateTime", .string(SwedishTime.format(time))),
            ])
            if let encounterID { observation["encounter"] = FHIR.reference("Encounter", encounterID) }
            if let performer { observation["performer"] = .array([FHIR.reference("PractitionerRole", performer)]) }
            if let value { observation[value.0] = value.1 }
            if let components { observation["component"] = .array(components) }
            out.append((id, observation))
        }
        func quantity(_ value: Double, _ unit: String, _ code: String) -> JSONValue {
            FHIR.object([("value", .number(value.clean)), ("unit", .string(unit)), ("system", .string(CareFlowCodes.ucum)), ("code", .string(code))])
        }
        if let value = respiratoryRate { add("9279-1", "Respiratory rate", "Andningsfrekvens", value: ("valueQuantity", quantity(value, "/min", "/min"))) }
        if let value = spo2 { add("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "Saturation", value: ("valueQuantity", quantity(value, "%", "%"))) }
        if let value = oxygenFlow { add("3151-8", "Inhaled oxygen flow rate", "Syrgas", value: ("valueQuantity", quantity(value, "L/min", "L/min"))) }
        if let value = temperature { add("8310-5", "Body temperature", "Temperatur", value: ("valueQuantity", quantity(value, "Cel", "Cel"))) }
        if let systolic, let diastolic {
            add("85354-9", "Blood pressure panel with all children optional", "Blodtryck", components: [
                FHIR.object([("code", FHIR.concept(CareFlowCodes.loinc, "8480-6", "Systolic blood pressure")), ("valueQuantity", quantity(systolic, "mm[Hg]", "mm[Hg]"))]),
                FHIR.object([("code", FHIR.concept(CareFlowCodes.loinc, "8462-4", "Diastolic blood pressure")), ("valueQuantity", quantity(diastolic, "mm[Hg]", "mm[Hg]"))]),
            ])
        }
        if let value = pulse { add("8867-4", "Heart rate", "Puls", value: ("valueQuantity", quantity(value, "/min", "/min"))) }
        if let level = consciousness {
            let display = Self.consciousnessLevels.first { $0.code == level }?.display ?? level
            add("67775-7", "Level of responsiveness", "Medvetandegrad (ACVPU)", value: ("valueCodeableConcept", FHIR.concept(CareFlowCodes.acvpu, level, display)))
        }
        if let state = airway {
            let display = Self.airwayStates.first { $0.code == state }?.display ?? state
            add("luftvag", "Luftväg", nil, system: CareFlowCodes.careFlow, value: ("valueCodeableConcept", FHIR.concept(CareFlowCodes.airway, state, display)))
        }
        return out
    }

    /// A set read back from its Observations (the latest of each kind wins).
    public static func read(_ observations: [JSONObject]) -> VitalSigns {
        var signs = VitalSigns()
        for observation in observations {
            let value = observation["valueQuantity"]?.objectValue?["value"]?.doubleValue
            switch observation.code("code", system: CareFlowCodes.loinc) ?? observation.code("code", system: CareFlowCodes.careFlow) {
            case "9279-1": signs.respiratoryRate = value
            case "59408-5": signs.spo2 = value
            case "3151-8": signs.oxygenFlow = value
            case "8310-5": signs.temperature = value
            case "8867-4": signs.pulse = value
            case "67775-7": signs.consciousness = observation.code("valueCodeableConcept", system: CareFlowCodes.acvpu)
            case "luftvag": signs.airway = observation.code("valueCodeableConcept", system: CareFlowCodes.airway)
            case "85354-9":
                for component in observation["component"]?.arrayValue ?? [] {
                    guard let component = component.objectValue else { continue }
                    let number = component["valueQuantity"]?.objectValue?["value"]?.doubleValue
                    switch component.code("code", system: CareFlowCodes.loinc) {
                    case "8480-6": signs.systolic = number
                    case "8462-4": signs.diastolic = number
                    default: break
                    }
                }
            default: break
            }
        }
        return signs
    }

    /// The measured value a rule table's parameter looks at.
    func measurement(_ parameter: VitalParameter) -> (number: Double?, code: String?)? {
        switch parameter {
        case .airway: airway.map { (nil, $0) }
        case .respiratoryRate: respiratoryRate.map { ($0, nil) }
        case .spo2Air: onOxygen ? nil : spo2.map { ($0, nil) }
        case .spo2Oxygen: onOxygen ? spo2.map { ($0, nil) } : nil
        case .spo2Scale1: spo2Scale2 ? nil : spo2.map { ($0, nil) }
        case .spo2Scale2Air: spo2Scale2 && !onOxygen ? spo2.map { ($0, nil) } : nil
        case .spo2Scale2Oxygen: spo2Scale2 && onOxygen ? spo2.map { ($0, nil) } : nil
        case .airOrOxygen: spo2 == nil && oxygenFlow == nil ? nil : (nil, onOxygen ? "oxygen" : "air")
        case .pulse: pulse.map { ($0, nil) }
        case .systolic: systolic.map { ($0, nil) }
        case .consciousness: consciousness.map { (nil, $0) }
        case .temperature: temperature.map { ($0, nil) }
        }
    }
}

extension Double {
    /// `7` rather than `7.0`; a decimal as written.
    var clean: String { rounded() == self && abs(self) < 1e15 ? String(Int(self)) : String(self) }
}

extension JSONValue {
    /// A JSON number as a Double (values are kept as written; this reads one for arithmetic).
    var doubleValue: Double? { numberText.flatMap(Double.init) }
}
