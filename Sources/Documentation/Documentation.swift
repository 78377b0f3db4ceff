import Access
import Terminology

/// Settings of the documentation module; every limit is explicit.
public struct DocumentationSettings: Sendable {
    /// The longest text one heading of a note may hold.
    public var maximumSectionCharacters: Int
    /// The most notes one journal view reads for a patient (more is refused, naming the limit).
    public var maximumJournalNotes: Int

    public init(maximumSectionCharacters: Int = 100_000, maximumJournalNotes: Int = 5_000) {
        self.maximumSectionCharacters = maximumSectionCharacters
        self.maximumJournalNotes = maximumJournalNotes
    }
}

/// The clinical documentation module (journaldokumentation): notes with sökord, signing and
/// corrections, diagnoses and procedures, the problem list, attention signals, and their parts of the chart.
/// Each part works on a gateway session, so every read and write is authorised and audited.
public struct Documentation: Sendable {
    public let settings: DocumentationSettings
    public let terminology: TerminologyService
    public let notes: Notes
    public let diagnoses: Diagnoses
    public let attentionSignals: AttentionSignals

    public init(terminology: TerminologyService, settings: DocumentationSettings = DocumentationSettings()) {
        self.settings = settings
        self.terminology = terminology
        terminology.register(NoteTemplate.headingCodeSystem(NoteTemplate.defaults))
        terminology.register(NoteTemplate.noteTypeCodeSystem(NoteTemplate.defaults))
        notes = Notes(settings: settings, terminology: terminology)
        diagnoses = Diagnoses(terminology: terminology)
        attentionSignals = AttentionSignals(terminology: terminology)
    }

    /// The rules this module adds to every write, whichever interface it comes through.
    public var rules: [any WriteRule] { [SignedNoteRule(), TerminologyResourceRule(terminology: terminology)] }
}

extension DocumentationSettings {
    /// Clinical documentation's settings, declared once (flag, variable, file key, help and README come from here).
    public enum Keys {
        public static let maxSectionCharacters = Setting.integer("max-section-characters", default: 100_000, 100...10_000_000,
                                                                 "longest text one heading (sökord) of a note may hold")
        public static let maxJournalNotes = Setting.integer("max-journal-notes", default: 5_000, 10...1_000_000, "most notes one journal view reads for a patient")
        public static let all = [maxSectionCharacters, maxJournalNotes]
    }

    /// The settings as the server's reader resolves them.
    public init(reading settings: any SettingsReader) throws {
        self.init(maximumSectionCharacters: try settings.integer(Keys.maxSectionCharacters), maximumJournalNotes: try settings.integer(Keys.maxJournalNotes))
    }
}
