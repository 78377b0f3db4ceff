import Access
import FHIRCore
import Foundation
import StoreModel
import Terminology

/// Journal notes (journalanteckningar) as FHIR Compositions, one section per sökord:
/// draft → signed, corrections as new versions, entered-in-error kept but hidden.
public struct Notes: Sendable {
    /// What a note is written as; the template decides its headings and who may write and sign it.
    public struct Draft: Sendable {
        public var template: String
        public var patientID: String
        public var encounterID: String?
        /// When what the note describes happened (defaults to now).
        public var eventTime: Int64?
        /// Heading code → text; an empty text leaves the heading out.
        public var sections: [String: String]
        /// For a transcription: the PractitionerRole who signs it (vidimerar).
        public var responsibleRoleID: String?

        public init(template: String, patientID: String, encounterID: String? = nil, eventTime: Int64? = nil, sections: [String: String],
                    responsibleRoleID: String? = nil) {
            self.template = template
            self.patientID = patientID
            self.encounterID = encounterID
            self.eventTime = eventTime
            self.sections = sections
            self.responsibleRoleID = responsibleRoleID
        }
    }

    /// One version of a note as the history view shows it: who did what, when, and which headings changed.
    public struct Version: Sendable {
        public var note: StoredResource
        public var status: String
        public var activity: String
        public var by: String?
        public var at: String?
        public var reason: String?
        public var changedHeadings: [String]
    }

    /// A note in a user's list of notes to sign (osignerade), or written by them and waiting for someone else.
    public struct Unsigned: Sendable {
        public var note: StoredResource
        public var mustSign: Bool
    }

    /// The journal view's filters; nil means any.
    public struct JournalFilter: Sendable {
        public var unitID: String?
        public var profession: String?
        public var noteType: String?
        public var fromDay: String?
        public var toDay: String?
        public var heading: String?
        public var text: String?
        public var includeUnsigned = true

        public init(unitID: String? = nil, profession: String? = nil, noteType: String? = nil, fromDay: String? = nil, toDay: String? = nil,
                    heading: String? = nil, text: String? = nil, includeUnsigned: Bool = true) {
            self.unitID = unitID
            self.profession = profession
            self.noteType = noteType
            self.fromDay = fromDay
            self.toDay = toDay
            self.heading = heading
            self.text = text
            self.includeUnsigned = includeUnsigned
        }
    }

    let settings: DocumentationSettings
    let terminology: TerminologyService

    // MARK: Templates

    /// The region's templates, or the defaults when none are configured.
    public func templates(session: PatientDataSession) async throws -> [NoteTemplate] {
        guard let json = try await session.configuration(NoteTemplate.configurationKey) else { return NoteTemplate.defaults }
        return try JSONDecoder().decode([NoteTemplate].self, from: Data(json))
    }

    /// Replaces the templates (systemförvaltare only, audited).
    public func configureTemplates(_ templates: [NoteTemplate], positions: Set<String>, session: PatientDataSession) async throws {
        try NoteTemplate.validate(templates, positions: positions)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try await session.configure(NoteTemplate.configurationKey, json: Array(try encoder.encode(templates)),
                                    summary: "note templates: \(templates.map(\.code).joined(separator: ", "))")
        terminology.register(NoteTemplate.headingCodeSystem(templates))
        terminology.register(NoteTemplate.noteTypeCodeSystem(templates))
    }

    func template(_ code: String, session: PatientDataSession) async throws -> NoteTemplate {
        let all = try await templates(session: session)
        guard let template = all.first(where: { $0.code == code }) else {
            throw FHIRError(.invalid, code: .value, "'\(code)' is not a note template; use one of \(all.map(\.code).joined(separator: ", "))", expression: ["template"])
        }
        return template
    }

    // MARK: Writing

    /// Writes a draft (preliminary). Refused when the writer's position may not write the template.
    public func write(_ draft: Draft, session: PatientDataSession) async throws -> StoredResource {
        let records = Records(session: session)
        let author = try Self.author(session)
        let template = try await template(draft.template, session: session)
        let position = author.position.code
        var responsible: (id: String, display: String, position: String)?
        if template.professions.contains(position) {
            if draft.responsibleRoleID != nil {
                throw FHIRError(.invalid, code: .value, "a \(author.position.display.lowercased()) signs their own \(template.title.lowercased()); leave out responsible",
                                expression: ["responsible"])
            }
        } else if template.transcribers.contains(position) {
            guard let roleID = draft.responsibleRoleID else {
                throw FHIRError(.invalid, code: .required, "a \(template.title.lowercased()) written by a \(author.position.display.lowercased()) needs the responsible author who signs it",
                                expression: ["responsible"])
            }
            let role = try await records.require("PractitionerRole", roleID, role: "responsible").object
            let code = role.code("code", system: Position.system) ?? ""
            guard template.professions.contains(code) else {
                throw FHIRError(.invalid, code: .value, "responsible: PractitionerRole/\(roleID) is a '\(code)', who may not sign a \(template.title.lowercased()) (\(template.professions.joined(separator: ", ")))",
                                expression: ["responsible"])
            }
            let name = role["practitioner"]?.objectValue?["display"]?.stringValue ?? "PractitionerRole/\(roleID)"
            responsible = (roleID, name, code)
        } else {
            throw FHIRError(.forbidden, code: .forbidden,
                            "a \(author.position.display.lowercased()) may not write a \(template.title.lowercased()); it is written by \(template.professions.joined(separator: ", "))")
        }
        _ = try await records.require("Patient", draft.patientID, role: "patient")
        if let encounterID = draft.encounterID {
            let encounter = try await records.require("Encounter", encounterID, role: "encounter")
            guard encounter.object.referenceID("subject", type: "Patient") == draft.patientID else {
                throw FHIRError(.invalid, code: .value, "encounter: Encounter/\(encounterID) is another patient's care contact", expression: ["encounter"])
            }
        }
        let now = Instant.now()
        let eventTime = draft.eventTime ?? now
        guard eventTime <= now + 86_400_000 else {
            throw FHIRError(.invalid, code: .value, "eventTime lies more than a day ahead; a note describes what has happened", expression: ["eventTime"])
        }
        let sections = try checkedSections(draft.sections, template: template)
        let id = UUID().uuidString.lowercased()
        var authors: [JSONValue] = []
        if let responsible { authors.append(FHIR.reference("PractitionerRole", responsible.id, display: responsible.display)) }
        authors.append(author.reference)
        var members: [(String, JSONValue?)] = [
            ("resourceType", .string("Composition")), ("id", .string(id)),
            ("extension", .array([FHIR.object([("url", .string(DocumentationCodes.authorPosition)),
                                               ("valueCoding", FHIR.coding(Position.system, author.position.code, author.position.display))])]
                                 + (responsible.map { [FHIR.object([("url", .string(DocumentationCodes.responsibleSigner)),
                                                                    ("valueReference", FHIR.reference("PractitionerRole", $0.id, display: $0.display))])] } ?? []))),
            ("status", .string("preliminary")),
            ("type", FHIR.object([("coding", .array([FHIR.coding(DocumentationCodes.noteType, template.code, template.title),
                                                     FHIR.coding(DocumentationCodes.loinc, template.loinc)])), ("text", .string(template.title))])),
            ("subject", FHIR.reference("Patient", draft.patientID)),
            ("encounter", draft.encounterID.map { FHIR.reference("Encounter", $0) }),
            ("date", .string(Instant.format(milliseconds: now))),
            ("author", .array(authors)),
            ("title", .string(template.title)),
            ("custodian", FHIR.reference("Organization", author.unitID, display: author.unitName)),
            ("event", .array([FHIR.object([("period", FHIR.object([("start", .string(Instant.format(milliseconds: eventTime)))]))])])),
            ("section", sections.isEmpty ? nil : .array(sections)),
        ]
        members.removeAll { $0.1 == nil }
        let note = FHIR.object(members).objectValue!
        let provenance = Self.provenance(noteID: id, version: 1, patientID: draft.patientID, activity: "utkast", session: session, reason: nil, changed: [])
        let results = try await session.commit([.create(note, type: "Composition", id: id), provenance])
        return try Self.written(results[0])
    }

    /// Replaces headings of a draft (only its writer, only while unsigned); an empty text removes a heading.
    public func saveDraft(noteID: String, sections: [String: String], eventTime: Int64?, session: PatientDataSession) async throws -> StoredResource {
        let stored = try await Records(session: session).require("Composition", noteID)
        var note = stored.object
        guard note["status"]?.stringValue == "preliminary" else {
            throw refused("Composition/\(noteID) is \(Self.statusText(note)); a signed note is changed with $correct", expression: ["Composition.status"])
        }
        let author = try Self.author(session)
        guard Self.writerRoleID(note) == author.assignmentID else {
            throw FHIRError(.forbidden, code: .forbidden, "only the one who wrote the draft changes it")
        }
        let template = try await template(Self.templateCode(note), session: session)
        var texts = Self.sectionTexts(note)
        for (code, text) in sections { texts[code] = text }
        note["section"] = .array(try checkedSections(texts, template: template))
        if let eventTime { note["event"] = .array([FHIR.object([("period", FHIR.object([("start", .string(Instant.format(milliseconds: eventTime)))]))])]) }
        note["date"] = .string(Instant.format(milliseconds: Instant.now()))
        let changed = Self.changedHeadings(from: stored.object, to: note)
        let provenance = Self.provenance(noteID: noteID, version: stored.versionId + 1, patientID: Self.patientID(note), activity: "utkast",
                                         session: session, reason: nil, changed: changed)
        let results = try await session.commit([.update(note.forUpdate, type: "Composition", id: noteID, ifMatch: stored.versionId), provenance])
        return try Self.written(results[0])
    }

    /// Signs a draft: only the author (or, for a transcription, the responsible), with every mandatory heading written.
    public func sign(noteID: String, session: PatientDataSession) async throws -> StoredResource {
        let stored = try await Records(session: session).require("Composition", noteID)
        var note = stored.object
        guard note["status"]?.stringValue == "preliminary" else {
            throw refused("Composition/\(noteID) is already \(Self.statusText(note)); only a draft is signed", expression: ["Composition.status"])
        }
        let signer = try Self.author(session)
        let mustSign = Self.signerRoleID(note)
        guard mustSign == signer.assignmentID else {
            throw FHIRError(.forbidden, code: .forbidden, "only \(Self.signerDisplay(note)) signs this note (the author, or the responsible for a transcription)", text: "Bara \(Self.signerDisplay(note)) signerar anteckningen (författaren, eller den ansvarige för en diktering).")
        }
        guard session.principal.permissions.sign else {
            throw FHIRError(.forbidden, code: .forbidden, "your position (\(signer.position.display)) may not sign notes", text: "Din befattning (\(signer.position.display)) får inte signera anteckningar.")
        }
        let template = try await template(Self.templateCode(note), session: session)
        let texts = Self.sectionTexts(note)
        let missing = template.headings.filter { $0.mandatory && (texts[$0.code] ?? "").isEmpty }
        guard missing.isEmpty else {
            throw FHIRError(.conflict, code: .businessRule,
                            "a \(template.title.lowercased()) is signed with every mandatory heading written; missing: \(missing.map(\.title).joined(separator: ", "))",
                            expression: missing.map { "section[\($0.code)]" }, text: "Alla obligatoriska sökord måste vara ifyllda för att signera. Saknas: \(missing.map(\.title).joined(separator: ", ")).")
        }
        note["status"] = .string("final")
        note["attester"] = .array([FHIR.object([("mode", .string("legal")), ("time", .string(Instant.format(milliseconds: Instant.now()))),
                                                ("party", signer.reference)])])
        let provenance = Self.provenance(noteID: noteID, version: stored.versionId + 1, patientID: Self.patientID(note), activity: "signering",
                                         session: session, reason: nil, changed: [])
        let results = try await session.commit([.update(note.forUpdate, type: "Composition", id: noteID, ifMatch: stored.versionId), provenance])
        return try Self.written(results[0])
    }

    /// Corrects a signed note (rättelse): a new, signed version with the reason; the earlier versions stay readable.
    public func correct(noteID: String, sections: [String: String], reason: String, session: PatientDataSession) async throws -> StoredResource {
        let stored = try await Records(session: session).require("Composition", noteID)
        var note = stored.object
        guard ["final", "amended"].contains(note["status"]?.stringValue ?? "") else {
            throw refused("Composition/\(noteID) is \(Self.statusText(note)); \(note["status"]?.stringValue == "preliminary" ? "change the draft with $save-draft" : "it is kept as it is")",
                          expression: ["Composition.status"])
        }
        let reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !reason.isEmpty else { throw FHIRError(.invalid, code: .required, "a correction needs a reason", expression: ["reason"], text: "Skriv skälet till rättelsen.") }
        let corrector = try Self.author(session)
        let template = try await template(Self.templateCode(note), session: session)
        try Self.requireCareGiver(corrector, note: note, template: template, doing: "correct")
        guard session.principal.permissions.sign else {
            throw FHIRError(.forbidden, code: .forbidden, "your position (\(corrector.position.display)) may not sign, so it may not correct a signed note", text: "Din befattning (\(corrector.position.display)) får inte signera, och därför inte rätta en signerad anteckning.")
        }
        var texts = Self.sectionTexts(note)
        for (code, text) in sections { texts[code] = text }
        note["section"] = .array(try checkedSections(texts, template: template))
        let changed = Self.changedHeadings(from: stored.object, to: note)
        guard !changed.isEmpty else { throw FHIRError(.invalid, code: .value, "the correction changes no heading", expression: ["section"], text: "Rättelsen ändrar inget sökord.") }
        let missing = template.headings.filter { $0.mandatory && (texts[$0.code] ?? "").isEmpty }
        guard missing.isEmpty else {
            throw FHIRError(.conflict, code: .businessRule, "a correction may not empty a mandatory heading: \(missing.map(\.title).joined(separator: ", "))",
                            expression: missing.map { "section[\($0.code)]" }, text: "En rättelse får inte tömma ett obligatoriskt sökord: \(missing.map(\.title).joined(separator: ", ")).")
        }
        let now = Instant.format(milliseconds: Instant.now())
        note["status"] = .string("amended")
        note["date"] = .string(now)
        note["attester"] = .array([FHIR.object([("mode", .string("legal")), ("time", .string(now)), ("party", corrector.reference)])])
        note.setExtension(DocumentationCodes.changeReason, "valueString", .string(reason))
        let provenance = Self.provenance(noteID: noteID, version: stored.versionId + 1, patientID: Self.patientID(note), activity: "rattelse",
                                         session: session, reason: reason, changed: changed)
        let results = try await session.commit([.update(note.forUpdate, type: "Composition", id: noteID, ifMatch: stored.versionId), provenance])
        return try Self.written(results[0])
    }

    /// Marks a note written in error (e.g. on the wrong patient): hidden from the journal, kept, reachable from the history.
    public func markEnteredInError(noteID: String, reason: String, session: PatientDataSession) async throws -> StoredResource {
        let stored = try await Records(session: session).require("Composition", noteID)
        var note = stored.object
        guard note["status"]?.stringValue != "entered-in-error" else { throw refused("Composition/\(noteID) is already marked entered-in-error", text: "Anteckningen är redan makulerad.") }
        let reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !reason.isEmpty else { throw FHIRError(.invalid, code: .required, "marking a note entered-in-error needs a reason", expression: ["reason"], text: "Skriv skälet till makuleringen.") }
        let actor = try Self.author(session)
        if Self.writerRoleID(note) != actor.assignmentID {
            let template = try await template(Self.templateCode(note), session: session)
            try Self.requireCareGiver(actor, note: note, template: template, doing: "mark entered-in-error")
        }
        note["status"] = .string("entered-in-error")
        note["date"] = .string(Instant.format(milliseconds: Instant.now()))
        note.setExtension(DocumentationCodes.changeReason, "valueString", .string(reason))
        let provenance = Self.provenance(noteID: noteID, version: stored.versionId + 1, patientID: Self.patientID(note), activity: "makulering",
                                         session: session, reason: reason, changed: [])
        let results = try await session.commit([.update(note.forUpdate, type: "Composition", id: noteID, ifMatch: stored.versionId), provenance])
        return try Self.written(results[0])
    }

    // MARK: Reading

    /// The user's unsigned notes: those they must sign, and those they wrote for someone else to sign.
    public func unsigned(session: PatientDataSession) async throws -> [Unsigned] {
        let me = try Self.author(session)
        let found = try await Records(session: session).all("Composition", [("status", "preliminary"), ("author", "PractitionerRole/\(me.assignmentID)")],
                                                             maximum: settings.maximumJournalNotes)
        return found.map { Unsigned(note: $0, mustSign: Self.signerRoleID($0.object) == me.assignmentID) }
            .sorted { Self.eventTime($0.note.object) > Self.eventTime($1.note.object) }
    }

    /// Every version of a note, newest first, with what each changed (the correction history).
    public func versions(noteID: String, session: PatientDataSession) async throws -> [Version] {
        _ = try await Records(session: session).require("Composition", noteID)
        let history = try await session.history(HistoryQuery(type: "Composition", id: noteID, count: 1_000)).versions.filter { !$0.isDeleted }
        let ordered = history.sorted { $0.versionId < $1.versionId }
        var result: [Version] = []
        for (index, version) in ordered.enumerated() {
            let object = version.object
            let status = object["status"]?.stringValue ?? "unknown"
            let previous = index > 0 ? ordered[index - 1].object : nil
            let activity: String
            switch (previous?["status"]?.stringValue, status) {
            case (nil, _): activity = "utkast"
            case ("preliminary", "preliminary"): activity = "utkast"
            case ("preliminary", "final"): activity = "signering"
            case (_, "amended"): activity = "rattelse"
            case (_, "entered-in-error"): activity = "makulering"
            default: activity = "andring"
            }
            let attester = object["attester"]?.arrayValue?.first?.objectValue
            let by = activity == "signering" || activity == "rattelse" ? attester?["party"]?.objectValue?["display"]?.stringValue
                : object["author"]?.arrayValue?.last?.objectValue?["display"]?.stringValue
            result.append(Version(note: version, status: status, activity: activity, by: by,
                                  at: activity == "signering" ? attester?["time"]?.stringValue : object["date"]?.stringValue,
                                  reason: activity == "rattelse" || activity == "makulering" ? object.extensionValue(DocumentationCodes.changeReason)?.stringValue : nil,
                                  changedHeadings: previous.map { Self.changedHeadings(from: $0, to: object) } ?? Self.sectionTexts(object).keys.sorted()))
        }
        return result.reversed()
    }

    /// The journal timeline: a patient's notes, newest event first, filtered; with `heading`, each note keeps only that heading.
    public func journal(patientID: String, filter: JournalFilter, session: PatientDataSession) async throws -> [StoredResource] {
        var parameters: [(name: String, value: String)] = [("subject", "Patient/\(patientID)"), ("status:not", "entered-in-error")]
        if let type = filter.noteType { parameters.append(("type", "\(DocumentationCodes.noteType)|\(type)")) }
        try await session.requireAccess(patientID: patientID)
        let notes = try await Records(session: session).all("Composition", parameters, maximum: settings.maximumJournalNotes)
        let words = filter.text.map { TerminologyService.fold($0).split(separator: " ").map(String.init) } ?? []
        var result: [(Int64, StoredResource)] = []
        for stored in notes {
            var note = stored.object
            if !filter.includeUnsigned, note["status"]?.stringValue == "preliminary" { continue }
            if let unit = filter.unitID, RecordTags.unit(of: note) != unit, note.referenceID("custodian", type: "Organization") != unit { continue }
            if let profession = filter.profession, note.extensionValue(DocumentationCodes.authorPosition)?.objectValue?["code"]?.stringValue != profession { continue }
            let event = Self.eventTime(note)
            if let from = filter.fromDay, let start = Instant.parse(from), event < start { continue }
            if let to = filter.toDay, let end = Instant.parse(to), event >= end + 86_400_000 { continue }
            if let heading = filter.heading {
                let kept = (note["section"]?.arrayValue ?? []).filter { Self.sectionCode($0) == heading }
                if kept.isEmpty { continue }
                note["section"] = .array(kept)
            }
            if !words.isEmpty {
                let text = TerminologyService.fold(([note["title"]?.stringValue ?? ""] + Self.sectionTexts(note).values).joined(separator: " ")).split(separator: " ")
                guard words.allSatisfy({ word in text.contains { $0.hasPrefix(word) } }) else { continue }
            }
            let shown = filter.heading == nil ? stored
                : StoredResource(type: stored.type, id: stored.id, versionId: stored.versionId, lastUpdated: stored.lastUpdated, method: stored.method,
                                 json: JSONWriter.bytes(.object(Self.subsetted(note))), sequence: stored.sequence, patientID: stored.patientID)
            result.append((event, shown))
        }
        return result.sorted { $0.0 != $1.0 ? $0.0 > $1.0 : $0.1.id < $1.1.id }.map(\.1)
    }

    // MARK: Helpers

    /// The sections of a template in its heading order, each checked; unknown headings are named.
    func checkedSections(_ texts: [String: String], template: NoteTemplate) throws(FHIRError) -> [JSONValue] {
        for code in texts.keys where template.heading(code) == nil {
            throw FHIRError(.invalid, code: .value, "'\(code)' is not a heading (sökord) of \(template.title.lowercased()); its headings are \(template.headings.map(\.code).joined(separator: ", "))",
                            expression: ["section[\(code)]"], text: "Sökordet hör inte till mallen.")
        }
        var sections: [JSONValue] = []
        for heading in template.headings {
            let text = (texts[heading.code] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            if text.isEmpty { continue }
            guard text.count <= settings.maximumSectionCharacters else {
                throw FHIRError(.tooLarge, code: .tooLong, "the heading \(heading.title) holds \(text.count) characters; at most \(settings.maximumSectionCharacters) (KARNA_MAX_SECTION_CHARACTERS)",
                                expression: ["section[\(heading.code)]"], text: "Sökordet \(heading.title) har \(text.count) tecken; högst \(settings.maximumSectionCharacters) får plats.")
            }
            sections.append(FHIR.object([
                ("title", .string(heading.title)),
                ("code", FHIR.concept(DocumentationCodes.heading, heading.code, heading.title)),
                ("text", FHIR.object([("status", .string("generated")), ("div", .string(Narrative.div(text)))])),
            ]))
        }
        return sections
    }

    static func written(_ result: WriteResult) throws(FHIRError) -> StoredResource {
        guard let resource = result.resource else { throw FHIRError(.internalError, code: .exception, "the note was not written") }
        return resource
    }

    /// The acting user as a note records them: assignment, name, position and unit.
    struct Author {
        var assignmentID: String
        var name: String
        var position: Position
        var unitID: String
        var unitName: String
        var reference: JSONValue
    }

    static func author(_ session: PatientDataSession) throws(FHIRError) -> Author {
        let principal = session.principal
        guard principal.kind == .practitioner, let assignment = principal.assignment else {
            throw FHIRError(.forbidden, code: .forbidden, "notes are written by a practitioner in an assignment (medarbetaruppdrag)", text: "Anteckningar skrivs av vårdpersonal i ett medarbetaruppdrag.")
        }
        return Author(assignmentID: assignment.id, name: principal.displayName, position: assignment.position, unitID: assignment.unitID, unitName: assignment.unitName,
                      reference: FHIR.reference("PractitionerRole", assignment.id, display: "\(principal.displayName), \(assignment.position.display)"))
    }

    /// Someone other than the writer acting on a signed note: a holder of the template's professions at the note's unit.
    static func requireCareGiver(_ actor: Author, note: JSONObject, template: NoteTemplate, doing: String) throws(FHIRError) {
        if signerRoleID(note) == actor.assignmentID { return }
        let unit = RecordTags.unit(of: note) ?? note.referenceID("custodian", type: "Organization")
        guard template.professions.contains(actor.position.code), unit == actor.unitID else {
            throw FHIRError(.forbidden, code: .forbidden,
                            "only the one who signed it, or a \(template.professions.joined(separator: "/")) at the unit that wrote it, may \(doing) this note")
        }
    }

    static func templateCode(_ note: JSONObject) -> String { note.code("type", system: DocumentationCodes.noteType) ?? "" }
    static func patientID(_ note: JSONObject) -> String { note.referenceID("subject", type: "Patient") ?? "" }

    /// The assignment that wrote the note (the last author: a transcription lists the responsible first).
    static func writerRoleID(_ note: JSONObject) -> String? {
        guard let reference = note["author"]?.arrayValue?.last?.objectValue?["reference"]?.stringValue, let key = ResourceKey(reference: reference) else { return nil }
        return key.id
    }

    /// Who signs: the responsible of a transcription, else the writer.
    static func signerRoleID(_ note: JSONObject) -> String? {
        if let reference = note.extensionValue(DocumentationCodes.responsibleSigner)?.objectValue?["reference"]?.stringValue { return ResourceKey(reference: reference)?.id }
        return writerRoleID(note)
    }

    static func signerDisplay(_ note: JSONObject) -> String {
        note.extensionValue(DocumentationCodes.responsibleSigner)?.objectValue?["display"]?.stringValue
            ?? note["author"]?.arrayValue?.last?.objectValue?["display"]?.stringValue ?? "the author"
    }

    static func statusText(_ note: JSONObject) -> String {
        switch note["status"]?.stringValue {
        case "preliminary": "unsigned (preliminary)"
        case "final": "signed (final)"
        case "amended": "signed and corrected (amended)"
        case "entered-in-error": "marked entered-in-error"
        case let other: other ?? "without status"
        }
    }

    static func sectionCode(_ section: JSONValue) -> String? {
        section.objectValue?.code("code", system: DocumentationCodes.heading)
    }

    /// Heading code → plain text.
    public static func sectionTexts(_ note: JSONObject) -> [String: String] {
        var texts: [String: String] = [:]
        for section in note["section"]?.arrayValue ?? [] {
            guard let code = sectionCode(section), let div = section.objectValue?["text"]?.objectValue?["div"]?.stringValue else { continue }
            texts[code] = Narrative.text(div)
        }
        return texts
    }

    static func changedHeadings(from old: JSONObject, to new: JSONObject) -> [String] {
        let before = sectionTexts(old), after = sectionTexts(new)
        return Set(before.keys).union(after.keys).filter { before[$0] != after[$0] }.sorted()
    }

    static func eventTime(_ note: JSONObject) -> Int64 {
        let text = note["event"]?.arrayValue?.first?.objectValue?["period"]?.objectValue?["start"]?.stringValue ?? note["date"]?.stringValue ?? ""
        return Instant.parse(text) ?? 0
    }

    /// A note trimmed to some headings, marked as a subset as FHIR does for `_elements`.
    static func subsetted(_ note: JSONObject) -> JSONObject {
        var note = note
        var meta = note["meta"]?.objectValue ?? JSONObject()
        meta.append("tag", FHIR.coding("http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "SUBSETTED", "subsetted"))
        note["meta"] = .object(meta)
        return note
    }


    /// The Provenance of one version of a note: who did what, why, and which headings changed.
    static func provenance(noteID: String, version: Int, patientID: String, activity: String, session: PatientDataSession, reason: String?,
                           changed: [String]) -> WriteOperation {
        let id = UUID().uuidString.lowercased()
        let titles = ["utkast": "Utkast", "signering": "Signering", "rattelse": "Rättelse", "makulering": "Makulering"]
        var members: [(String, JSONValue?)] = [
            ("resourceType", .string("Provenance")), ("id", .string(id)),
            ("target", .array([FHIR.reference("Composition", "\(noteID)/_history/\(version)"), FHIR.reference("Patient", patientID)])),
            ("recorded", .string(Instant.format(milliseconds: Instant.now()))),
            ("activity", FHIR.concept(DocumentationCodes.noteActivity, activity, titles[activity])),
            ("agent", .array([FHIR.object([("type", FHIR.concept("http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                                                                  activity == "signering" || activity == "rattelse" ? "attester" : "author")),
                                           ("who", session.principal.authorReference)])])),
            ("reason", reason.map { .array([FHIR.text($0)]) }),
        ]
        if !changed.isEmpty {
            members.insert(("extension", .array(changed.map { FHIR.object([("url", .string(DocumentationCodes.changedHeadings)), ("valueCode", .string($0))]) })), at: 2)
        }
        return .create(FHIR.object(members).objectValue!, type: "Provenance", id: id)
    }
}
