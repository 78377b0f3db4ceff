import Access
import Documentation
import FHIRCore
import Foundation
import KarnaTesting
import Store
import StoreModel
import Testing

@Suite("Journal notes: signing, corrections, entered-in-error, access")
struct NoteTests {
    @Test("a draft shows in the author's unsigned list; only the author signs, and only with every mandatory heading", arguments: backends)
    func signingRules(backend: StoreBackend) async throws {
        let ward = try await Ward.make(backend)
        let encounter = try await ward.contact("doc", patient: "p1")
        let notes = ward.documentation.notes
        let doc = try await ward.session("doc")
        let draft = try await notes.write(Notes.Draft(template: "lakaranteckning-besok", patientID: "p1", encounterID: encounter,
                                                      sections: ["kontaktorsak": "Hosta sedan en vecka"]), session: doc)
        let object = draft.object
        #expect(object["status"]?.stringValue == "preliminary")
        #expect(object["author"]?.arrayValue?.first?.objectValue?["display"]?.stringValue == "doc, Läkare")
        #expect(object.extensionValue(DocumentationCodes.authorPosition)?.objectValue?["code"]?.stringValue == "lakare")
        #expect(object.referenceID("custodian", type: "Organization") == "vc")
        #expect(object.referenceID("encounter", type: "Encounter") == encounter)
        #expect(object["event"]?.arrayValue?.first?.objectValue?["period"]?.objectValue?["start"] != nil)
        #expect(object["date"] != nil)
        #expect(try await notes.unsigned(session: doc).map(\.note.id) == [draft.id])

        // A nurse may not write a physician's note; a colleague may not sign it; the author may not sign it incomplete.
        try await ward.contact("nurse", patient: "p1")
        #expect(await fails(.forbidden, containing: "may not write a läkaranteckning") {
            _ = try await notes.write(Notes.Draft(template: "lakaranteckning-besok", patientID: "p1", sections: [:]), session: try await ward.session("nurse"))
        })
        try await ward.contact("doc2", patient: "p1")
        #expect(await fails(.forbidden, containing: "only doc, Läkare signs") { _ = try await notes.sign(noteID: draft.id, session: try await ward.session("doc2")) })
        #expect(await fails(.conflict, containing: "missing: Status, Bedömning") { _ = try await notes.sign(noteID: draft.id, session: doc) })
        #expect(await fails(.invalid, containing: "'diagnos' is not a heading") {
            _ = try await notes.saveDraft(noteID: draft.id, sections: ["diagnos": "x"], eventTime: nil, session: doc)
        })
        #expect(await fails(.forbidden, containing: "only the one who wrote the draft") {
            _ = try await notes.saveDraft(noteID: draft.id, sections: ["status": "x"], eventTime: nil, session: try await ward.session("doc2"))
        })
        let completed = try await notes.saveDraft(noteID: draft.id, sections: ["status": "Lungor: ronki bilateralt", "bedomning": "Bronkit"], eventTime: nil, session: doc)
        #expect(completed.versionId == 2)
        let signed = try await notes.sign(noteID: draft.id, session: doc)
        #expect(signed.object["status"]?.stringValue == "final")
        let attester = try #require(signed.object["attester"]?.arrayValue?.first?.objectValue)
        #expect(attester["mode"]?.stringValue == "legal")
        #expect(attester["party"]?.objectValue?["reference"]?.stringValue == "PractitionerRole/doc-role")
        #expect(try await notes.unsigned(session: doc).isEmpty)
        #expect(await fails(.conflict, containing: "already signed") { _ = try await notes.sign(noteID: draft.id, session: doc) })
        #expect(await fails(.conflict, containing: "changed with $correct") {
            _ = try await notes.saveDraft(noteID: draft.id, sections: ["status": "x"], eventTime: nil, session: doc)
        })
        // Every version has its Provenance: draft, edit, signing.
        let provenance = try await ward.store.search(try SearchQuery.parse(type: "Provenance", parameters: [("patient", "Patient/p1")], strict: true), limit: 50)
        #expect(provenance.count == 3)
    }

    @Test("a secretary's transcription is signed only by the responsible physician (vidimering)", arguments: backends)
    func transcription(backend: StoreBackend) async throws {
        let ward = try await Ward.make(backend)
        try await ward.contact("doc", patient: "p1")
        let notes = ward.documentation.notes
        let secretary = try await ward.session("secretary")
        #expect(await fails(.invalid, containing: "needs the responsible author") {
            _ = try await notes.write(Notes.Draft(template: "lakaranteckning-besok", patientID: "p1", sections: [:]), session: secretary)
        })
        #expect(await fails(.invalid, containing: "may not sign") {
            _ = try await notes.write(Notes.Draft(template: "lakaranteckning-besok", patientID: "p1", sections: [:], responsibleRoleID: "nurse-role"), session: secretary)
        })
        #expect(await fails(.forbidden, containing: "may not write a sjuksköterskeanteckning") {
            _ = try await notes.write(Notes.Draft(template: "sjukskoterskeanteckning", patientID: "p1", sections: [:]), session: secretary)
        })
        let note = try await notes.write(Notes.Draft(template: "lakaranteckning-besok", patientID: "p1",
                                                     sections: ["kontaktorsak": "Diktat", "status": "Opåverkad", "bedomning": "Frisk"],
                                                     responsibleRoleID: "doc-role"), session: secretary)
        #expect(note.object["author"]?.arrayValue?.count == 2, "the responsible and the one who wrote it")
        #expect(await fails(.forbidden, containing: "only doc signs") { _ = try await notes.sign(noteID: note.id, session: secretary) })
        #expect(try await notes.unsigned(session: secretary).map(\.mustSign) == [false])
        let doc = try await ward.session("doc")
        #expect(try await notes.unsigned(session: doc).map { "\($0.note.id) \($0.mustSign)" } == ["\(note.id) true"])
        let signed = try await notes.sign(noteID: note.id, session: doc)
        #expect(signed.object["status"]?.stringValue == "final")
    }

    @Test("a signed note is never overwritten: a correction is a new signed version, earlier versions stay readable", arguments: backends)
    func corrections(backend: StoreBackend) async throws {
        let ward = try await Ward.make(backend)
        try await ward.contact("doc", patient: "p1")
        let notes = ward.documentation.notes
        let doc = try await ward.session("doc")
        let note = try await ward.visitNote("doc")
        let signed = try await notes.sign(noteID: note.id, session: doc)

        // Neither a plain update nor a delete through any interface changes a signed note.
        var overwritten = signed.object.withoutServerMeta
        overwritten["section"] = .array([])
        #expect(await fails(.conflict, containing: "never overwritten") {
            _ = try await doc.commit(.update(overwritten, type: "Composition", id: note.id, ifMatch: nil))
        })
        #expect(await fails(.conflict, containing: "kept; mark it entered-in-error") {
            _ = try await doc.commit(.delete(type: "Composition", id: note.id))
        })
        var sneaky = overwritten
        sneaky["status"] = .string("amended")
        #expect(await fails(.conflict, containing: "with a Provenance") {
            _ = try await doc.commit(.update(sneaky, type: "Composition", id: note.id, ifMatch: nil))
        })

        #expect(await fails(.invalid, containing: "needs a reason") {
            _ = try await notes.correct(noteID: note.id, sections: ["status": "x"], reason: " ", session: doc)
        })
        #expect(await fails(.invalid, containing: "changes no heading") {
            _ = try await notes.correct(noteID: note.id, sections: [:], reason: "ingen", session: doc)
        })
        try await ward.contact("wardoc", patient: "p1")
        #expect(await fails(.forbidden, containing: "at the unit that wrote it") {
            _ = try await notes.correct(noteID: note.id, sections: ["status": "x"], reason: "fel", session: try await ward.session("wardoc"))
        })
        let corrected = try await notes.correct(noteID: note.id, sections: ["status": "Blodtryck 140/90. Hjärta: regelbunden rytm."],
                                                reason: "Felskrivet blodtryck", session: doc)
        #expect(corrected.object["status"]?.stringValue == "amended")
        #expect(corrected.versionId == 3)
        #expect(sectionText(corrected, "status")?.contains("140/90") == true)

        // The earlier signed version is still there, unchanged.
        let before = try #require(try await doc.vread(type: "Composition", id: note.id, versionId: 2))
        #expect(sectionText(before, "status")?.contains("150/95") == true)
        #expect(before.object["status"]?.stringValue == "final")

        let versions = try await notes.versions(noteID: note.id, session: doc)
        #expect(versions.map(\.activity) == ["rattelse", "signering", "utkast"])
        #expect(versions[0].reason == "Felskrivet blodtryck")
        #expect(versions[0].changedHeadings == ["status"])
        #expect(versions[0].by == "doc, Läkare")

        // A colleague at the same unit may correct too; the correction is theirs.
        try await ward.contact("doc2", patient: "p1")
        let again = try await notes.correct(noteID: note.id, sections: ["planering": "Återbesök om 3 månader"], reason: "Tillägg", session: try await ward.session("doc2"))
        #expect(again.object["attester"]?.arrayValue?.first?.objectValue?["party"]?.objectValue?["reference"]?.stringValue == "PractitionerRole/doc2-role")
        let provenance = try await ward.store.search(try SearchQuery.parse(type: "Provenance", parameters: [("patient", "Patient/p1")], strict: true), limit: 50)
        #expect(provenance.count == 4)
    }

    @Test("a note on the wrong patient is marked entered-in-error: gone from the journal, kept, reachable from its history", arguments: backends)
    func enteredInError(backend: StoreBackend) async throws {
        let ward = try await Ward.make(backend)
        try await ward.contact("doc", patient: "p2")
        let notes = ward.documentation.notes
        let doc = try await ward.session("doc")
        let wrong = try await ward.visitNote("doc", patient: "p2")
        _ = try await notes.sign(noteID: wrong.id, session: doc)
        let kept = try await ward.visitNote("doc", patient: "p2", status: "Annat status")
        #expect(try await notes.journal(patientID: "p2", filter: .init(), session: doc).count == 2)
        #expect(await fails(.invalid, containing: "needs a reason") { _ = try await notes.markEnteredInError(noteID: wrong.id, reason: "", session: doc) })
        let marked = try await notes.markEnteredInError(noteID: wrong.id, reason: "Skriven på fel patient", session: doc)
        #expect(marked.object["status"]?.stringValue == "entered-in-error")
        #expect(try await notes.journal(patientID: "p2", filter: .init(), session: doc).map(\.id) == [kept.id])
        let read = try #require(try await doc.read(type: "Composition", id: wrong.id))
        #expect(read.object["status"]?.stringValue == "entered-in-error")
        #expect(sectionText(read, "status") != nil, "the text is retained")
        let versions = try await notes.versions(noteID: wrong.id, session: doc)
        #expect(versions.first?.activity == "makulering")
        #expect(versions.first?.reason == "Skriven på fel patient")
        #expect(await fails(.conflict, containing: "kept as it is") {
            _ = try await notes.correct(noteID: wrong.id, sections: ["status": "x"], reason: "x", session: doc)
        })
        #expect(await fails(.conflict, containing: "entered-in-error and is kept") {
            var revived = read.object.withoutServerMeta
            revived["status"] = .string("final")
            _ = try await doc.commit(.update(revived, type: "Composition", id: wrong.id, ifMatch: nil))
        })
        // The overview's latest notes leave it out too.
        let chart = try await ward.gateway.overview.chart(patientID: "p2", session: doc)
        #expect(chart.records("note").map(\.id) == [kept.id])
    }

    @Test("the journal filters by unit, profession, note type, date, heading and text", arguments: backends)
    func journalFilters(backend: StoreBackend) async throws {
        let ward = try await Ward.make(backend)
        for person in ["doc", "nurse", "wardoc"] { try await ward.contact(person, patient: "p1") }
        let notes = ward.documentation.notes
        let visit = try await ward.visitNote("doc")
        let nursing = try await notes.write(Notes.Draft(template: "sjukskoterskeanteckning", patientID: "p1",
                                                        sections: ["omvardnadsstatus": "Trycksår sakrum grad 1", "atgard": "Vändschema"]),
                                            session: try await ward.session("nurse"))
        let yesterday = Instant.now() - 86_400_000 * 2
        let day = try await notes.write(Notes.Draft(template: "daganteckning", patientID: "p1", eventTime: yesterday,
                                                    sections: ["aktuellt": "Mår bättre", "status": "Afebril, blodtryck 130/80"]),
                                        session: try await ward.session("wardoc"))
        let doc = try await ward.session("doc")
        func ids(_ filter: Notes.JournalFilter) async throws -> Set<String> {
            Set(try await notes.journal(patientID: "p1", filter: filter, session: doc).map(\.id))
        }
        let all = try await notes.journal(patientID: "p1", filter: .init(), session: doc)
        #expect(all.map(\.id).last == day.id, "newest event first; the day note happened two days ago")
        #expect(try await ids(.init(profession: "sjukskoterska")) == [nursing.id])
        #expect(try await ids(.init(unitID: "ward")) == [day.id])
        #expect(try await ids(.init(noteType: "lakaranteckning-besok")) == [visit.id])
        let today = String(Instant.format(milliseconds: Instant.now()).prefix(10))
        #expect(try await ids(.init(fromDay: today)) == [visit.id, nursing.id])
        #expect(try await ids(.init(text: "BLODTRYCK")) == [visit.id, day.id])
        #expect(try await ids(.init(text: "trycksar")) == [nursing.id], "accents ignored")
        #expect(try await ids(.init(includeUnsigned: false)).isEmpty)
        let status = try await notes.journal(patientID: "p1", filter: .init(heading: "status"), session: doc)
        #expect(Set(status.map(\.id)) == [visit.id, day.id])
        for note in status {
            #expect(note.object["section"]?.arrayValue?.count == 1, "only the Status heading is kept")
            #expect(note.object["meta"]?.objectValue?["tag"]?.arrayValue?.contains { $0.objectValue?["code"]?.stringValue == "SUBSETTED" } == true)
        }
    }

    @Test("notes written at other units follow the access rules through the gateway", arguments: backends)
    func otherUnits(backend: StoreBackend) async throws {
        let ward = try await Ward.make(backend)
        try await ward.contact("doc", patient: "p1")
        let note = try await ward.visitNote("doc")
        _ = try await ward.documentation.notes.sign(noteID: note.id, session: try await ward.session("doc"))
        let notes = ward.documentation.notes

        // Same provider, other unit: no care relationship → refused; with one → readable.
        #expect(await fails(.forbidden, containing: "vårdrelation") { _ = try await ward.session("wardoc2").read(type: "Composition", id: note.id) })
        #expect(await fails(.forbidden) { _ = try await notes.journal(patientID: "p1", filter: .init(), session: try await ward.session("wardoc2")) })
        try await ward.contact("wardoc", patient: "p1")
        let wardoc = try await ward.session("wardoc")
        #expect(try await wardoc.read(type: "Composition", id: note.id) != nil)
        #expect(try await notes.journal(patientID: "p1", filter: .init(), session: wardoc).map(\.id) == [note.id])

        // Another provider: refused without consent, even with a care relationship there.
        try await ward.contact("privdoc", patient: "p1")
        let privdoc = try await ward.session("privdoc")
        #expect(await fails(.forbidden) { _ = try await privdoc.read(type: "Composition", id: note.id) })
        #expect(try await notes.journal(patientID: "p1", filter: .init(), session: privdoc).isEmpty)

        // A spärr on the vårdcentral hides the note from the ward, as if absent.
        _ = try await ward.session("doc").block(patientID: "p1", unitID: "vc", providerID: nil, reason: "Patientens begäran",
                                                          patientRequest: "muntligen vid besöket")
        let after = try await ward.session("wardoc")
        #expect(try await after.read(type: "Composition", id: note.id) == nil)
        #expect(try await notes.journal(patientID: "p1", filter: .init(), session: after).isEmpty)

        // Every look was audited, refusals included.
        let audit = try await ward.store.auditRecords(AuditQuery(patientID: "p1", limit: 500))
        #expect(audit.contains { $0.entry.actor.hasSuffix("wardoc2") && $0.entry.outcome == "denied" })
        #expect(audit.contains {
            $0.entry.actor.hasSuffix("/wardoc") && $0.entry.outcome == "allowed" && String(decoding: $0.entry.json, as: UTF8.self).contains("Composition/\(note.id)")
        })
    }
}
