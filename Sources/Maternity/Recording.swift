import FHIRCore
import Foundation

/// The Observations maternity care writes, built one way: Kärna's code with LOINC beside it where known, the
/// patient, the contact, the time, who recorded it.
enum Recording {
    static func observation(id: String, code: String, display: String, loinc: String?, category: JSONValue, patientID: String, encounterID: String,
                            time: Int64, performer: String?, value: (String, JSONValue)?) -> JSONObject {
        var codings = [FHIR.coding(MaternityCodes.maternity, code, display)]
        if let loinc { codings.append(FHIR.coding(MaternityCodes.loinc, loinc)) }
        var observation = JSONObject([
            ("resourceType", .string("Observation")), ("id", .string(id)), ("status", .string("final")),
            ("category", .array([category])),
            ("code", FHIR.object([("coding", .array(codings)), ("text", .string(display))])),
            ("subject", FHIR.reference("Patient", patientID)), ("encounter", FHIR.reference("Encounter", encounterID)),
            ("effectiveDateTime", .string(SwedishTime.format(time))),
        ])
        if let value { observation[value.0] = value.1 }
        if let performer { observation["performer"] = .array([FHIR.reference("PractitionerRole", performer)]) }
        return observation
    }

    /// A UCUM quantity.
    static func quantity(_ value: Double, _ unit: String) -> JSONValue {
        FHIR.object([("value", .number(value.fhirText)), ("unit", .string(unit)), ("system", .string(MaternityCodes.ucum)), ("code", .string(unit))])
    }
}
