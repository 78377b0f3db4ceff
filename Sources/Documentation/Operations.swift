import Access
import FHIRCore

extension Documentation {
    /// The FHIR operations this module answers (docs/documentation.md has each one in full).
    /// The API routes by this list and the CapabilityStatement is made from it.
    public static let operations: [OperationDescriptor] = {
        let m = "Documentation"
        let section = "section:string*"
        return [
            // Notes
            .type("Composition", "write-note", post: true, "template:code!", "patient:id!", "eventTime:dateTime!", "encounter:id", "responsible:id", section,
                  module: m, "Start a note from a template (unsigned until signed)"),
            .instance("Composition", "save-draft", post: true, "eventTime:dateTime!", section, module: m, "Save an unsigned note's text"),
            .instance("Composition", "sign", post: true, module: m, "Sign a note: it becomes final and is never overwritten"),
            .instance("Composition", "correct", post: true, "reason:string!", section, module: m, "Correct a signed note: a new version, the old kept"),
            .instance("Composition", "entered-in-error", post: true, "reason:string!", module: m, "Mark a note written on the wrong patient"),
            .instance("Composition", "versions", post: false, module: m, "A note's versions with who changed which heading"),
            .type("Composition", "unsigned", post: false, module: m, "Notes the user must sign or has left unsigned"),
            .instance("Patient", "journal", post: false, "unit:id", "profession:code", "type:code", "from:date", "to:date", "sokord:code", "text:string",
                      "unsigned:boolean", module: m, "The patient's journal, filtered by unit, profession, note type, period, sökord and text"),
            .system("note-templates", post: false, module: m, "The region's note templates (journalmallar)"),
            .system("configure-note-templates", post: true, "templates:string!", module: m, "Replace the note templates"),
            // Diagnoses and the problem list
            .instance("Encounter", "register-diagnoses", post: true, "main:code!", "secondary:code*", "procedure:code*", module: m,
                      "Register a contact's diagnoses (ICD-10-SE) and procedures (KVÅ)"),
            .instance("Patient", "problem-list", post: false, module: m, "The patient's active and resolved problems"),
            .type("Condition", "add-problem", post: true, "patient:id!", "code:code!", "onset:date", "note:string", module: m, "Add a problem to the list"),
            .instance("Condition", "resolve", post: true, "abatement:date", "reason:string!", module: m, "Mark a problem-list item resolved, saying why"),
            // Attention signals (uppmärksamhetssignaler)
            .type("AllergyIntolerance", "record", post: true, "patient:id!", "substanceSystem:uri", "substance:code", "substanceText:string",
                  "category:code", "reaction:string", "severity:code", "criticality:code", "certainty:code", "allowDuplicate:boolean", module: m,
                  "Record an allergy or intolerance (a second active one to the same substance only with allowDuplicate)"),
            .instance("AllergyIntolerance", "end", post: true, "reason:string!", module: m, "End an allergy signal that no longer holds"),
            .type("Flag", "record", post: true, "kind:code!", "patient:id!", "code:code!", "note:string", "decidedBy:id", "decidedAt:date", module: m,
                  "Record an attention signal (smitta, behandling, vårdbegränsning, …)"),
            .instance("Flag", "end", post: true, "reason:string!", module: m, "End an attention signal"),
            .instance("Patient", "attention-signals", post: false, module: m, "The patient's attention signals, for the banner"),
        ]
    }()
}

extension Documentation: ClinicalModule {
    public var name: String { "Documentation" }
    public var operations: [OperationDescriptor] { Self.operations }
    public var chart: [ChartPart] { Self.chartParts }
    public var codes: CodeBindings { Self.codeBindings }
}
