import Access
import Documentation
import FHIRCore
import Foundation
import Hummingbird
import WebApp
import StoreModel

/// The journal: the timeline of notes with its filters, writing a note from a template with its
/// sökord, saving a draft and signing.
extension DocumentationPages {
    /// A note form's texts by heading code (fields `s-<code>`), with the browser's CRLF line breaks made plain.
    static func sections(_ form: [String: String]) -> [String: String] {
        Dictionary(form.compactMap { key, value -> (String, String)? in
            key.hasPrefix("s-") ? (String(key.dropFirst(2)), value.replacingOccurrences(of: "\r\n", with: "\n")) : nil
        }, uniquingKeysWith: { a, _ in a })
    }

    func journal(patientID: String, request: Request, user: User, notice: String? = nil) async throws -> Response {
        let session = user.data(gateway, action: "journal")
        let (shown, access) = try await header(patientID: patientID, session: session)
        guard let banner = shown else { return try await accessPage(patientID: patientID, status: access, user: user, form: [:], errors: [:]) }
        let query = Self.query(request)
        func chosen(_ name: String) -> String? { query[name].flatMap { $0.isEmpty ? nil : $0 } }
        let filter = Notes.JournalFilter(noteType: chosen("typ"), heading: chosen("sokord"), text: chosen("text"))
        async let found = documentation.notes.journal(patientID: patientID, filter: filter, session: session)
        async let available = documentation.notes.templates(session: session)
        let (notes, templates) = try await (found, available)

        var context = layout(user, title: "Journal – \(banner["name"] as? String ?? "")")
        context["patientID"] = patientID
        context["patientTabs"] = patientTabs(current: "journal")
        context["banner"] = banner
        if let notice { context["notice"] = notice }
        if let saved = chosen("sparad") {
            context["confirmation"] = query["klar"] == "signerad" ? "Anteckningen är signerad." : "Anteckningen är sparad som utkast (osignerad)."
            context["confirmationHref"] = "/anteckningar/\(Self.encoded(saved))"
        }
        context["text"] = filter.text ?? ""
        context["templates"] = templates.map { ["code": $0.code, "title": $0.title, "selected": $0.code == filter.noteType] as [String: Any] }
        var seen = Set<String>()
        context["headings"] = templates.flatMap(\.headings).filter { seen.insert($0.code).inserted }
            .map { ["code": $0.code, "title": $0.title, "selected": $0.code == filter.heading] as [String: Any] }
        context["countText"] = notes.count == 1 ? "1 anteckning" : "\(notes.count) anteckningar"
        let me = user.assignment.map { "PractitionerRole/\($0.id)" }
        context["notes"] = notes.map { stored -> [String: Any] in
            let note = stored.object
            let texts = Notes.sectionTexts(note)
            let sections = (note["section"]?.arrayValue ?? []).compactMap(\.objectValue).compactMap { section -> [String: Any]? in
                let code = (section["code"]?.objectValue?["coding"]?.arrayValue?.first?.objectValue?["code"]?.stringValue) ?? ""
                guard let text = texts[code], !text.isEmpty else { return nil }
                return ["title": section["title"]?.stringValue ?? code, "text": text]
            }
            let author = note["author"]?.arrayValue?.first
            let draft = note["status"]?.stringValue == "preliminary"
            return ["id": stored.id, "title": note["title"]?.stringValue ?? "Anteckning", "unsigned": draft,
                    "amended": note["status"]?.stringValue == "amended",
                    "event": Display.noteEvent(note),
                    "author": Display.reference(author), "unit": Display.reference(note["custodian"]), "sections": sections,
                    "canSign": draft && author?.objectValue?["reference"]?.stringValue == me, "justSaved": stored.id == chosen("sparad")]
        }
        return pages.page("journal", context)
    }

    /// The draft name of the note form.
    static var noteDraft: String { "anteckning" }

    func noteForm(patientID: String, request: Request, user: User, values: [String: String] = [:], error: String? = nil,
                  status: HTTPResponse.Status = .ok) async throws -> Response {
        let session = user.data(gateway, action: "note-form")
        let (shown, access) = try await header(patientID: patientID, session: session)
        guard let banner = shown else { return try await accessPage(patientID: patientID, status: access, user: user, form: [:], errors: [:]) }
        let templates = try await documentation.notes.templates(session: session)
        let position = user.assignment?.position.code ?? ""
        // Only the templates this profession writes (or transcribes) are offered.
        let mine = templates.filter { $0.professions.contains(position) || $0.transcribers.contains(position) }
        var context = layout(user, title: "Ny anteckning")
        context["patientID"] = patientID
        context["banner"] = banner
        context["templates"] = mine.map { ["code": $0.code, "title": $0.title] }
        // A draft kept while the user typed (the session ended, the tab closed) comes back with its form.
        var values = values
        if values.isEmpty, let draft = try await session.draft(patientID: patientID, form: Self.noteDraft) {
            values = draft.fields
            context["draftSavedAt"] = Display.time(Instant.format(milliseconds: draft.savedAt))
        }
        let code = values["mall"] ?? Self.query(request)["mall"]
        if let template = mine.first(where: { $0.code == code }) {
            let named = error.map { message in template.headings.filter { message.contains($0.code) || message.contains($0.title) }.map(\.code) } ?? []
            context["template"] = [
                "code": template.code, "title": template.title,
                "headings": template.headings.map { heading -> [String: Any] in
                    ["code": heading.code, "title": heading.title, "mandatory": heading.mandatory, "text": values["s-\(heading.code)"] ?? "",
                     "invalid": named.contains(heading.code)]
                },
            ] as [String: Any]
        }
        if let error { context["error"] = error }
        return pages.page("note-form", context, status: status)
    }

    func writeNote(patientID: String, request: Request, user: User) async throws -> Response {
        let form = user.form
        let session = user.data(gateway, action: "write-note")
        let sections = Self.sections(form)
        // The note belongs to the patient's ongoing contact at the user's unit, when there is one.
        let contacts = try await Records(session: session).search("Encounter", [("patient", "Patient/\(patientID)"), ("status", "arrived,in-progress,onleave")], limit: 10)
        let unit = user.assignment?.unitID
        let contact = contacts.first { RecordTags.unit(of: $0.object) == unit || $0.object.referenceID("serviceProvider", type: "Organization") == unit }
        let written: StoredResource
        do {
            written = try await documentation.notes.write(Notes.Draft(template: form["mall"] ?? "", patientID: patientID, encounterID: contact?.id,
                                                                     sections: sections), session: session)
        } catch let error as FHIRError where error.category == .invalid || error.category == .forbidden {
            return try await noteForm(patientID: patientID, request: request, user: user, values: form,
                                      error: Self.said(error), status: .badRequest)
        }
        // Written into the journal: the working copy has served.
        try await session.discardDraft(patientID: patientID, form: Self.noteDraft)
        guard form["action"] == "signera" else { return Self.redirect(Self.saved(patientID: patientID, noteID: written.id, signed: false)) }
        do {
            _ = try await documentation.notes.sign(noteID: written.id, session: session)
        } catch let error as FHIRError where error.category == .invalid || error.category == .forbidden || error.category == .conflict {
            return try await journal(patientID: patientID, request: request, user: user,
                                     notice: "Anteckningen sparades som utkast men signerades inte: \(Self.said(error))")
        }
        return Self.redirect(Self.saved(patientID: patientID, noteID: written.id, signed: true))
    }

    /// The journal after a note was saved or signed: it says so at the top (the user stays where they
    /// read) rather than jumping to an anchor further down.
    static func saved(patientID: String, noteID: String, signed: Bool) -> String {
        link("/patienter/\(patientID)/journal", [("sparad", noteID), ("klar", signed ? "signerad" : "utkast")])
    }

    func signNote(noteID: String, user: User) async throws -> Response {
        let session = user.data(gateway, action: "sign-note")
        let signed = try await documentation.notes.sign(noteID: noteID, session: session)
        let patientID = Display.id(signed.object["subject"], type: "Patient") ?? ""
        return Self.redirect(Self.saved(patientID: patientID, noteID: noteID, signed: true))
    }
}

/// One note with its versions, and its correction and entered-in-error (makulering).
extension DocumentationPages {
    func notePage(noteID: String, user: User, values: [String: String] = [:], errors: [String: String] = [:],
                  status: HTTPResponse.Status = .ok) async throws -> Response {
        let session = user.data(gateway, action: "read-note")
        let stored = try await Records(session: session).require("Composition", noteID, role: "note")
        let note = stored.object
        let patientID = Display.id(note["subject"], type: "Patient") ?? ""
        let (shown, access) = try await header(patientID: patientID, session: session)
        guard let banner = shown else { return try await accessPage(patientID: patientID, status: access, user: user, form: [:], errors: [:]) }
        async let history = documentation.notes.versions(noteID: noteID, session: session)
        async let available = documentation.notes.templates(session: session)
        let (versions, templates) = try await (history, available)
        let texts = Notes.sectionTexts(note)
        let typeCode = (note["type"]?.objectValue?["coding"]?.arrayValue ?? []).compactMap { $0.objectValue?["code"]?.stringValue }
        let template = templates.first { typeCode.contains($0.code) }
        let headings: [(code: String, title: String)] = template?.headings.map { ($0.code, $0.title) }
            ?? (note["section"]?.arrayValue ?? []).compactMap(\.objectValue).map {
                ((($0["code"]?.objectValue?["coding"]?.arrayValue?.first?.objectValue?["code"]?.stringValue) ?? ""), $0["title"]?.stringValue ?? "")
            }
        let titles = Dictionary(headings.map { ($0.code, $0.title) }, uniquingKeysWith: { a, _ in a })
        let noteStatus = note["status"]?.stringValue ?? ""

        var context = layout(user, title: note["title"]?.stringValue ?? "Anteckning")
        context["banner"] = banner
        context["patientID"] = patientID
        context["id"] = noteID
        context["title"] = note["title"]?.stringValue ?? "Anteckning"
        context["statusText"] = ["preliminary": "osignerad", "final": "signerad", "amended": "rättad", "entered-in-error": "felaktigt förd"][noteStatus] ?? noteStatus
        context["warn"] = noteStatus != "final"
        context["event"] = Display.noteEvent(note)
        context["author"] = Display.reference(note["author"]?.arrayValue?.first)
        context["unit"] = Display.reference(note["custodian"])
        context["sections"] = headings.compactMap { heading -> [String: Any]? in
            guard let text = texts[heading.code], !text.isEmpty else { return nil }
            return ["title": heading.title, "text": text]
        }
        let activities = ["utkast": "Utkast", "signering": "Signering", "rattelse": "Rättelse", "makulering": "Felaktigt förd", "andring": "Ändring"]
        context["versions"] = versions.map { version -> [String: Any] in
            ["version": version.note.versionId, "activity": activities[version.activity] ?? version.activity, "by": version.by ?? "",
             "at": Display.time(version.at), "reason": version.reason ?? "",
             "changed": version.changedHeadings.map { titles[$0] ?? $0 }.joined(separator: ", ")]
        }
        // A signed note can be corrected or marked entered-in-error; the module decides who may.
        context["canChange"] = noteStatus == "final" || noteStatus == "amended"
        context["headings"] = headings.map { ["code": $0.code, "title": $0.title, "text": values["s-\($0.code)"] ?? texts[$0.code] ?? ""] }
        context["correctReason"] = values["correctReason"] ?? ""
        for (key, value) in errors { context[key] = value }
        return pages.page("note", context, status: status)
    }

    enum NoteChange { case correct, enteredInError }

    func changeNote(_ change: NoteChange, noteID: String, user: User) async throws -> Response {
        let form = user.form
        let reason = form["reason"]?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        let session = user.data(gateway, action: change == .correct ? "correct-note" : "note-entered-in-error")
        guard !reason.isEmpty else {
            var values = form
            values["correctReason"] = ""
            return try await notePage(noteID: noteID, user: user, values: change == .correct ? values : [:],
                                      errors: [change == .correct ? "correctError" : "errorError": "Skriv ett skäl. Det visas i versionshistoriken."],
                                      status: .badRequest)
        }
        do {
            switch change {
            case .correct:
                _ = try await documentation.notes.correct(noteID: noteID, sections: Self.sections(form), reason: reason, session: session)
            case .enteredInError:
                let marked = try await documentation.notes.markEnteredInError(noteID: noteID, reason: reason, session: session)
                return Self.redirect("/patienter/\(Display.id(marked.object["subject"], type: "Patient") ?? "")/journal")
            }
        } catch let error as FHIRError where error.category == .invalid || error.category == .conflict {
            var values = form
            values["correctReason"] = reason
            return try await notePage(noteID: noteID, user: user, values: change == .correct ? values : [:],
                                      errors: ["error": Self.said(error)], status: .badRequest)
        }
        return Self.redirect("/anteckningar/\(noteID)")
    }
}
