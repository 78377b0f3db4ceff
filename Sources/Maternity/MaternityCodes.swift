import Foundation

/// The code systems and extensions maternity care writes.
public enum MaternityCodes {
    public static let loinc = "http://loinc.org"
    public static let ucum = "http://unitsofmeasure.org"
    public static let observationCategory = "http://terminology.hl7.org/CodeSystem/observation-category"
    public static let actCode = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
    public static let roleCode = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
    public static let visitType = "https://karna.se/fhir/CodeSystem/besokstyp"
    /// Kärna's codes for maternity care: the pregnancy, the programme's items and visits, partogram parts, tasks, flags.
    public static let maternity = "https://karna.se/fhir/CodeSystem/modrahalsovard"
    /// The EpisodeOfCare type of a pregnancy.
    public static let pregnancy = "graviditet"
    public static let basprogramCategory = "basprogram"
    public static let individualPlanCategory = "individuell-vardplan"

    static let base = "https://karna.se/fhir/StructureDefinition/"
    /// On the pregnancy (EpisodeOfCare).
    public static let lastMenstrualPeriod = base + "sista-mens"
    public static let dueDate = base + "beraknad-partus"
    public static let dueDateMethod = base + "partus-beraknad-enligt"
    public static let parity = base + "paritet"
    public static let gravidity = base + "tidigare-graviditeter"
    public static let previousPregnancies = base + "tidigare-graviditeter-text"
    public static let programmePlan = base + "basprogram-vardplan"
    public static let delivered = base + "forlossning-tid"
    public static let deliveryMode = base + "forlossningssatt"
    public static let child = base + "barn"
    public static let finalSigned = base + "slutsignerad"
    public static let archiveSigned = base + "arkivsignerad"
    /// On a care-plan activity: what the visit holds, and what was recorded.
    public static let planned = base + "mhv-innehall"
    public static let recorded = base + "mhv-registrerat"
    /// On the newborn: the mother.
    public static let mother = base + "mor"

    /// How a child was delivered (förlossningssätt).
    public static let deliveryModes: [(code: String, display: String)] = [
        ("vaginal", "Vaginal förlossning"), ("vakuum", "Vakuumextraktion"), ("tang", "Tångförlossning"),
        ("kejsarsnitt-planerat", "Planerat kejsarsnitt"), ("kejsarsnitt-akut", "Akut kejsarsnitt"),
    ]
}

extension Double {
    /// The number as FHIR writes it: no trailing ".0", at most two decimals.
    var fhirText: String {
        if rounded() == self, abs(self) < 1e15 { return String(Int(self)) }
        var text = String(format: "%.2f", self)
        while text.hasSuffix("0") { text.removeLast() }
        return text
    }

    /// With a decimal comma, as Swedish readers expect.
    var swedish: String { fhirText.replacingOccurrences(of: ".", with: ",") }
}
