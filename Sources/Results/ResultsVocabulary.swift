/// The systems and codes Kärna's results records carry.
public enum ResultsVocabulary {
    /// `meta.tag` system naming the channel a record came in on.
    public static let channelSystem = "https://karna.se/fhir/CodeSystem/labkanal"
    /// The placer order number (ORC-2/OBR-2): Kärna's number for its order, matched as an exact string.
    public static let placerSystem = "https://karna.se/fhir/NamingSystem/bestallningsnummer"
    /// The lab's filler order number (ORC-3/OBR-3), per channel: `placerSystem` + `/` is not used for it.
    public static func fillerSystem(channel: String) -> String { "https://karna.se/fhir/NamingSystem/lab-svarsnummer/\(channel)" }
    /// What kind of order (lab, imaging): a ServiceRequest category.
    public static let orderKindSystem = "https://karna.se/fhir/CodeSystem/bestallningstyp"
    /// Task codes: the results module's lists.
    public static let taskSystem = "https://karna.se/fhir/CodeSystem/provsvar-uppgift"
    public static let signOffCode = "vidimering"
    public static let unmatchedCode = "omatchat-provsvar"
    public static let criticalCode = "larmvarde"
    /// Who opened the result, and when: signing needs it (extension on the sign-off Task).
    public static let openedExtension = "https://karna.se/fhir/StructureDefinition/provsvar-oppnat"
    public static let interpretationSystem = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
    public static let diagnosticServiceSystem = "http://terminology.hl7.org/CodeSystem/v2-0074"
    public static let npuSystem = "urn:oid:1.2.208.176.2.1"
    /// Why an order was cancelled (makuleringsorsak): R4's ServiceRequest has no statusReason, so an extension carries it.
    public static let cancelReasonSystem = "https://karna.se/fhir/CodeSystem/makuleringsorsak"
    /// The cancellation of an order: `orsak` (Coding), `kommentar`, `tid` and `av` (who cancelled it).
    public static let cancellationExtension = "https://karna.se/fhir/StructureDefinition/makulering"
    /// The reasons a clinician may give, in the order the form offers them.
    public static let cancelReasons: [(code: String, display: String)] = [
        ("fel-patient", "Fel patient"), ("fel-analys", "Fel analys eller undersökning"), ("dubblett", "Dubbelbeställning"),
        ("ej-indicerad", "Inte längre indicerad"), ("patienten-avbojer", "Patienten avböjer"), ("annan", "Annan orsak"),
    ]
}
