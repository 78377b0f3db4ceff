/// The code systems and extensions the care flows write.
public enum CareFlowCodes {
    public static let loinc = "http://loinc.org"
    public static let snomed = "http://snomed.info/sct"
    public static let ucum = "http://unitsofmeasure.org"
    public static let observationCategory = "http://terminology.hl7.org/CodeSystem/observation-category"
    public static let actCode = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
    public static let visitType = "https://karna.se/fhir/CodeSystem/besokstyp"
    /// Kärna's codes for what the care flows record (triage priority, NEWS2 parts, checklist items, tasks).
    public static let careFlow = "https://karna.se/fhir/CodeSystem/vardflode"
    public static let acvpu = "https://karna.se/fhir/CodeSystem/acvpu"
    public static let airway = "https://karna.se/fhir/CodeSystem/luftvag"
    /// The triage priority colours (röd … blå).
    public static let triagePriority = "https://karna.se/fhir/CodeSystem/triageprioritet"
    /// A complaint card (ESS, sökorsak) of the loaded triage table; the table's id is the version.
    public static let complaintCard = "https://karna.se/fhir/CodeSystem/sokorsak"
    /// A step of the emergency visit (ankomst, triage, läkare, beslut, utskriven), on each statusHistory entry.
    public static let edStep = "https://karna.se/fhir/StructureDefinition/akut-steg"
    /// Who took the step (a PractitionerRole), on each statusHistory entry.
    public static let performedBy = "https://karna.se/fhir/StructureDefinition/utford-av"
    /// Why a step was skipped, on the statusHistory entry that skipped it.
    public static let skipReason = "https://karna.se/fhir/StructureDefinition/hoppat-over-orsak"
    public static let skipReasons = "https://karna.se/fhir/CodeSystem/akut-avsteg"
    /// How the patient came (ambulans, egen).
    public static let arrivalMode = "https://karna.se/fhir/StructureDefinition/ankomstsatt"
    public static let participantRole = "https://karna.se/fhir/CodeSystem/akut-roll"
    public static let disposition = "https://karna.se/fhir/CodeSystem/akut-avslut"
    /// The ward a patient is to be admitted to from the emergency department.
    public static let admitTo = "https://karna.se/fhir/StructureDefinition/inlaggning-avdelning"
}

/// A step of the emergency department visit, in order, with the Encounter status it sets.
public enum EmergencyStep: String, CaseIterable, Sendable, Comparable {
    case arrival = "ankomst"
    case triage
    case doctor = "lakare"
    case decision = "beslut"
    case left = "utskriven"

    public var status: String {
        switch self {
        case .arrival: "arrived"
        case .triage: "triaged"
        case .doctor, .decision: "in-progress"
        case .left: "finished"
        }
    }

    public var display: String {
        switch self {
        case .arrival: "Ankomst"
        case .triage: "Triage"
        case .doctor: "Läkarbedömning"
        case .decision: "Klar för beslut"
        case .left: "Lämnat akuten"
        }
    }

    var order: Int { Self.allCases.firstIndex(of: self)! }
    public static func < (a: EmergencyStep, b: EmergencyStep) -> Bool { a.order < b.order }

    /// Why a step may be skipped (a transition that does not take the next step needs one).
    public static let skipReasons: [(code: String, display: String)] = [
        ("livshotande", "Livshotande tillstånd – direkt till läkare"),
        ("lakare-i-triage", "Läkare i triage"),
        ("avvek", "Patienten lämnade"),
        ("direkt-till-avdelning", "Direkt till avdelning"),
        ("annan", "Annan orsak"),
    ]

    /// How the visit ends (dischargeDisposition).
    public static let dispositions: [(code: String, display: String)] = [
        ("hem", "Hem"), ("inlaggning", "Inläggning på vårdavdelning"), ("overflyttning", "Överflyttning till annat sjukhus"),
        ("lamnat-fore-lakare", "Lämnade före läkarbedömning"), ("avbruten", "Avbruten vård – lämnade efter läkarbedömning"), ("avliden", "Avliden"),
    ]
}
