import Access
import FHIRCore
import Foundation
import Terminology

/// Kärna's code systems and extensions for clinical documentation.
public enum DocumentationCodes {
    /// Note types (anteckningstyper): one code per template.
    public static let noteType = "https://karna.se/fhir/CodeSystem/anteckningstyp"
    /// Headings (sökord).
    public static let heading = "https://karna.se/fhir/CodeSystem/sokord"
    /// Who must sign a note written for them (vidimering): a PractitionerRole reference.
    public static let responsibleSigner = "https://karna.se/fhir/StructureDefinition/ansvarig-signerare"
    /// The author's position (befattning) as a Coding, kept on the note for HSLF-FS 2016:40 and filtering.
    public static let authorPosition = "https://karna.se/fhir/StructureDefinition/forfattarens-befattning"
    /// Why a note was corrected or marked entered-in-error.
    public static let changeReason = "https://karna.se/fhir/StructureDefinition/andringsorsak"
    /// The headings a version changed, on its Provenance.
    public static let changedHeadings = "https://karna.se/fhir/StructureDefinition/andrade-sokord"
    /// What a Provenance of a note records: draft, signing, correction, entered-in-error.
    public static let noteActivity = "https://karna.se/fhir/CodeSystem/journalhandelse"
    public static let loinc = "http://loinc.org"
    public static let conditionCategory = "http://terminology.hl7.org/CodeSystem/condition-category"
    public static let conditionClinical = "http://terminology.hl7.org/CodeSystem/condition-clinical"
    public static let conditionVerification = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
    public static let diagnosisRole = "http://terminology.hl7.org/CodeSystem/diagnosis-role"
    public static let flagCategory = "https://karna.se/fhir/CodeSystem/uppmarksamhetskategori"
    public static let allergyClinical = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
    public static let allergyVerification = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
}

/// A note template (anteckningsmall) a region configures: its headings in order, which are mandatory,
/// who may write and sign it, and who may write it for someone else to sign (vidimering).
public struct NoteTemplate: Codable, Sendable, Equatable {
    /// One heading (sökord).
    public struct Heading: Codable, Sendable, Equatable {
        public var code: String
        public var title: String
        public var mandatory: Bool

        public init(_ code: String, _ title: String, mandatory: Bool = false) {
            self.code = code
            self.title = title
            self.mandatory = mandatory
        }
    }

    public var code: String
    public var title: String
    /// The LOINC document type for exchange (Composition.type).
    public var loinc: String
    public var headings: [Heading]
    /// Positions (befattningar) whose holders write the note and sign it themselves.
    public var professions: [String]
    /// Positions that may write the note for a responsible author of `professions`, who signs it (vidimerar).
    public var transcribers: [String]

    public init(code: String, title: String, loinc: String, headings: [Heading], professions: [String], transcribers: [String] = []) {
        self.code = code
        self.title = title
        self.loinc = loinc
        self.headings = headings
        self.professions = professions
        self.transcribers = transcribers
    }

    public func heading(_ code: String) -> Heading? { headings.first { $0.code == code } }

    /// The defaults Kärna ships; a region replaces them with `$configure-note-templates`.
    public static let defaults: [NoteTemplate] = [
        NoteTemplate(code: "lakaranteckning-besok", title: "Läkaranteckning, besök", loinc: "11506-3", headings: [
            Heading("kontaktorsak", "Kontaktorsak", mandatory: true), Heading("anamnes", "Anamnes"), Heading("status", "Status", mandatory: true),
            Heading("bedomning", "Bedömning", mandatory: true), Heading("atgard", "Åtgärd"), Heading("planering", "Planering"),
        ], professions: ["lakare"], transcribers: ["medicinsk-sekreterare"]),
        NoteTemplate(code: "lakaranteckning-inskrivning", title: "Läkaranteckning, inskrivning", loinc: "34117-2", headings: [
            Heading("inkomstorsak", "Inkomstorsak", mandatory: true), Heading("aktuellt", "Aktuellt"), Heading("tidigare-sjukdomar", "Tidigare sjukdomar"),
            Heading("sociala", "Sociala förhållanden"), Heading("lakemedel", "Läkemedel"), Heading("status", "Status", mandatory: true),
            Heading("bedomning", "Bedömning", mandatory: true), Heading("planering", "Planering", mandatory: true),
        ], professions: ["lakare"], transcribers: ["medicinsk-sekreterare"]),
        NoteTemplate(code: "daganteckning", title: "Daganteckning", loinc: "11506-3", headings: [
            Heading("aktuellt", "Aktuellt", mandatory: true), Heading("status", "Status"), Heading("bedomning", "Bedömning"), Heading("planering", "Planering"),
        ], professions: ["lakare"], transcribers: ["medicinsk-sekreterare"]),
        NoteTemplate(code: "sjukskoterskeanteckning", title: "Sjuksköterskeanteckning", loinc: "34746-8", headings: [
            Heading("kontaktorsak", "Kontaktorsak"), Heading("omvardnadsstatus", "Omvårdnadsstatus", mandatory: true),
            Heading("atgard", "Åtgärd"), Heading("planering", "Planering"),
        ], professions: ["sjukskoterska", "barnmorska"]),
        NoteTemplate(code: "telefonanteckning", title: "Telefonanteckning", loinc: "34109-9", headings: [
            Heading("kontaktorsak", "Kontaktorsak", mandatory: true), Heading("aktuellt", "Aktuellt"), Heading("bedomning", "Bedömning"),
            Heading("atgard", "Åtgärd", mandatory: true),
        ], professions: ["lakare", "sjukskoterska", "barnmorska"]),
        NoteTemplate(code: "epikris", title: "Epikris", loinc: "18842-5", headings: [
            Heading("inkomstorsak", "Inkomstorsak", mandatory: true), Heading("vardforlopp", "Vårdförlopp", mandatory: true), Heading("diagnos", "Diagnos"),
            Heading("lakemedel", "Läkemedel"), Heading("uppfoljning", "Uppföljning", mandatory: true),
        ], professions: ["lakare"], transcribers: ["medicinsk-sekreterare"]),
        NoteTemplate(code: "barnmorskeanteckning", title: "Barnmorskeanteckning", loinc: "34109-9", headings: [
            Heading("graviditet", "Graviditet", mandatory: true), Heading("status", "Status"), Heading("bedomning", "Bedömning", mandatory: true),
            Heading("planering", "Planering"),
        ], professions: ["barnmorska"]),
    ]

    /// The configuration key templates are stored under.
    static let configurationKey = "note-templates"

    /// Checks a configured set: names what is wrong and where.
    static func validate(_ templates: [NoteTemplate], positions: Set<String>) throws(FHIRError) {
        guard !templates.isEmpty else { throw FHIRError(.invalid, code: .required, "at least one note template is needed", text: "Minst en anteckningsmall behövs.") }
        var codes = Set<String>()
        for (i, template) in templates.enumerated() {
            let path = "templates[\(i)]"
            guard !template.code.isEmpty, codes.insert(template.code).inserted else {
                throw FHIRError(.invalid, code: .value, "\(path): the code '\(template.code)' is empty or used twice", expression: ["\(path).code"])
            }
            guard !template.headings.isEmpty else { throw FHIRError(.invalid, code: .required, "\(path) (\(template.code)) has no headings", expression: ["\(path).headings"]) }
            var headingCodes = Set<String>()
            for (j, heading) in template.headings.enumerated() where heading.code.isEmpty || !headingCodes.insert(heading.code).inserted || heading.title.isEmpty {
                throw FHIRError(.invalid, code: .value, "\(path).headings[\(j)]: a heading needs a unique code and a title", expression: ["\(path).headings[\(j)]"])
            }
            guard !template.professions.isEmpty else {
                throw FHIRError(.invalid, code: .required, "\(path) (\(template.code)) names no profession that may write it", expression: ["\(path).professions"])
            }
            for position in template.professions + template.transcribers where !positions.contains(position) {
                throw FHIRError(.invalid, code: .value, "\(path) (\(template.code)): '\(position)' is not a position of this region", expression: ["\(path).professions"])
            }
        }
    }

    /// Every heading of the templates as a code system, so headings can be looked up and expanded.
    static func headingCodeSystem(_ templates: [NoteTemplate]) -> CodeSystemContent {
        var seen = Set<String>()
        var concepts: [Concept] = []
        for heading in templates.flatMap(\.headings) where seen.insert(heading.code).inserted {
            concepts.append(Concept(code: heading.code, display: heading.title))
        }
        return CodeSystemContent(url: DocumentationCodes.heading, version: nil, name: "Sokord", title: "Sökord", content: "complete",
                                 source: "Kärna's note templates (configurable)", concepts: concepts)
    }

    static func noteTypeCodeSystem(_ templates: [NoteTemplate]) -> CodeSystemContent {
        CodeSystemContent(url: DocumentationCodes.noteType, version: nil, name: "Anteckningstyp", title: "Anteckningstyp", content: "complete",
                          source: "Kärna's note templates (configurable)", concepts: templates.map { Concept(code: $0.code, display: $0.title) })
    }
}
