import Access
import Documentation
import FHIRCore
import Foundation
import KarnaTesting
import Store
import StoreModel
import Terminology
import Testing

@Suite("Diagnoses, problem list, attention signals, templates and the chart overview")
struct ClinicalRecordTests {
    @Test("diagnoses and procedures on a care contact: main first, codes checked, a new registration replaces the old", arguments: backends)
    func diagnoses(backend: StoreBackend) async throws {
        let ward = try await Ward.make(backend)
        let encounter = try await ward.contact("doc", patient: "p1")
        let doc = try await ward.session("doc")
        let diagnoses = ward.documentation.diagnoses
        #expect(await fails(.invalid, containing: "main: 'I99.99' is not a code of ICD-10-SE") {
            _ = try await diagnoses.register(encounterID: encounter, main: "I99.99", secondary: [], procedures: [], session: doc)
        })
        #expect(await fails(.invalid, containing: "procedure: 'QQ999'") {
            _ = try await diagnoses.register(encounterID: encounter, main: "I10", secondary: [], procedures: ["QQ999"], session: doc)
        })
        #expect(await fails(.invalid, containing: "'C09AA05' is not a code of ICD-10-SE") {
            _ = try await diagnoses.register(encounterID: encounter, main: "C09AA05", secondary: [], procedures: [], session: doc)
        })
        let first = try await diagnoses.register(encounterID: encounter, main: "I48.9", secondary: ["I10"], procedures: ["AF037"], session: doc)
        let entries = first.encounter.object["diagnosis"]?.arrayValue ?? []
        #expect(entries.map { $0.objectValue?["rank"]?.numberText } == ["1", "2"])
        #expect(entries.first?.objectValue?.code("use", system: DocumentationCodes.diagnosisRole) == "DD")
        #expect(Set(first.conditions.compactMap { $0.object.code("code", system: KnownSystems.icd10SE) }) == ["I48.9", "I10"])
        #expect(first.procedures.map { $0.object.code("code", system: KnownSystems.kva) } == ["AF037"])

        let second = try await diagnoses.register(encounterID: encounter, main: "I10", secondary: [], procedures: ["AF037"], session: doc)
        #expect(second.conditions.count == 1)
        #expect(second.procedures.count == 1, "the same procedure is not registered twice")
        let all = try await ward.store.search(try SearchQuery.parse(type: "Condition", parameters: [("encounter", "Encounter/\(encounter)")], strict: true), limit: 10)
        let stored = try await ward.store.read(keys: all.map { ResourceKey(type: "Condition", id: $0) })
        let retired = stored.filter { $0.object.code("verificationStatus", system: DocumentationCodes.conditionVerification) == "entered-in-error" }
        #expect(retired.map { $0.object.code("code", system: KnownSystems.icd10SE) } == ["I48.9"])

        // The problem list holds problem-list items only: the visit's diagnoses (I10) are not ongoing problems.
        let problem = try await diagnoses.addProblem(patientID: "p1", code: "E11", onset: "2019-03-01", note: "Tablettbehandlad", session: doc)
        var list = try await diagnoses.problemList(patientID: "p1", session: doc)
        #expect(Set(list.active.compactMap { $0.object.code("code", system: KnownSystems.icd10SE) }) == ["E11"])
        let visitDiagnosis = try #require(second.conditions.first)
        #expect(await fails(.conflict, containing: "not a problem-list item") {
            _ = try await diagnoses.resolveProblem(conditionID: visitDiagnosis.id, abatement: nil, reason: "Utläkt", session: doc)
        })
        // Ending a problem says why.
        #expect(await fails(.invalid, containing: "needs a reason") { _ = try await diagnoses.resolveProblem(conditionID: problem.id, abatement: nil, reason: " ", session: doc) })
        let resolved = try await diagnoses.resolveProblem(conditionID: problem.id, abatement: "2026-01-01", reason: "Diagnosen var fel, normalt HbA1c", session: doc)
        #expect(resolved.object["note"]?.arrayValue?.last?.objectValue?["text"]?.stringValue == "Avslutat: Diagnosen var fel, normalt HbA1c")
        #expect(await fails(.conflict, containing: "already resolved") {
            _ = try await diagnoses.resolveProblem(conditionID: problem.id, abatement: nil, reason: "Igen", session: doc)
        })
        list = try await diagnoses.problemList(patientID: "p1", session: doc)
        #expect(list.resolved.map(\.id) == [problem.id])
        #expect(try await doc.vread(type: "Condition", id: problem.id, versionId: 1)?.object.code("clinicalStatus", system: DocumentationCodes.conditionClinical) == "active")
    }

    @Test("attention signals: coded and checked, care limitations name a deciding physician, ended signals leave the banner", arguments: backends)
    func attentionSignals(backend: StoreBackend) async throws {
        let ward = try await Ward.make(backend)
        try await ward.contact("doc", patient: "p1")
        try await ward.contact("nurse", patient: "p1")
        let doc = try await ward.session("doc"), nurse = try await ward.session("nurse")
        let signals = ward.documentation.attentionSignals
        #expect(await fails(.invalid, containing: "substance: 'Z99ZZ99'") {
            _ = try await signals.recordAllergy(.init(patientID: "p1", substanceCode: "Z99ZZ99"), session: doc)
        })
        #expect(await fails(.invalid, containing: "severity must be one of") {
            _ = try await signals.recordAllergy(.init(patientID: "p1", substanceText: "Kattallergi", severity: "terrible"), session: doc)
        })
        let mild = try await signals.recordAllergy(.init(patientID: "p1", substanceSystem: KarnaValueSets.allergenSystem, substanceCode: "bjorkpollen",
                                                         reaction: "Rinit", severity: "mild", criticality: "low"), session: nurse)
        let penicillin = try await signals.recordAllergy(.init(patientID: "p1", substanceCode: "J01CE02", reaction: "Anafylaxi", severity: "severe",
                                                               criticality: "high"), session: doc)
        _ = try await signals.recordAllergy(.init(patientID: "p1", substanceText: "Okänt plåster", certainty: "unconfirmed"), session: nurse)
        #expect(await fails(.invalid, containing: "is not a smitta signal") {
            _ = try await signals.record(patientID: "p1", kind: .infection, code: "pacemaker", note: nil, decidedByRoleID: nil, decidedAt: nil, session: doc)
        })
        let mrsa = try await signals.record(patientID: "p1", kind: .infection, code: "mrsa", note: "Bärare", decidedByRoleID: nil, decidedAt: nil, session: nurse)
        #expect(await fails(.invalid, containing: "names the physician who decided") {
            _ = try await signals.record(patientID: "p1", kind: .careLimitation, code: "ej-hlr", note: nil, decidedByRoleID: nil, decidedAt: nil, session: nurse)
        })
        #expect(await fails(.invalid, containing: "is not one") {
            _ = try await signals.record(patientID: "p1", kind: .careLimitation, code: "ej-hlr", note: nil, decidedByRoleID: "nurse-role", decidedAt: nil, session: nurse)
        })
        let limitation = try await signals.record(patientID: "p1", kind: .careLimitation, code: "ej-hlr", note: "Efter samtal med patienten",
                                                  decidedByRoleID: "doc-role", decidedAt: "2026-11-20", session: nurse)
        #expect(limitation.object["author"]?.objectValue?["reference"]?.stringValue == "PractitionerRole/doc-role")
        #expect(limitation.object["period"]?.objectValue?["start"]?.stringValue == "2026-11-20")

        var state = try await signals.state(patientID: "p1", session: doc)
        #expect(state.allergies.first?.id == penicillin.id, "high criticality first")
        #expect(state.allergies.count == 3)
        #expect(state.infections.map(\.id) == [mrsa.id])
        #expect(state.careLimitations.map(\.id) == [limitation.id])
        _ = try await signals.end(type: "Flag", id: mrsa.id, reason: "Tre negativa odlingar", session: doc)
        _ = try await signals.end(type: "AllergyIntolerance", id: mild.id, reason: "Felregistrerad", session: doc)
        #expect(await fails(.conflict, containing: "is not active") { _ = try await signals.end(type: "Flag", id: mrsa.id, reason: "igen", session: doc) })
        state = try await signals.state(patientID: "p1", session: doc)
        #expect(state.infections.isEmpty)
        #expect(state.allergies.count == 2)
        #expect(try await doc.vread(type: "Flag", id: mrsa.id, versionId: 1)?.object["status"]?.stringValue == "active", "the earlier version stays readable")
        // Without a care relationship, the banner is refused too.
        #expect(await fails(.forbidden) { _ = try await signals.state(patientID: "p1", session: try await ward.session("wardoc")) })
    }

    @Test("the chart overview answers every part in one look, audited once", arguments: backends)
    func overview(backend: StoreBackend) async throws {
        let ward = try await Ward.make(backend)
        let encounter = try await ward.contact("doc", patient: "p1")
        let doc = try await ward.session("doc")
        let documentation = ward.documentation
        _ = try await documentation.diagnoses.register(encounterID: encounter, main: "I10", secondary: [], procedures: [], session: doc)
        _ = try await documentation.attentionSignals.recordAllergy(.init(patientID: "p1", substanceCode: "J01CE02", criticality: "high"), session: doc)
        let note = try await ward.visitNote("doc")
        let medication = try ordination([("medicationCodeableConcept", .object(JSONObject([("coding", .array([.object(JSONObject([
                                             ("system", .string(KnownSystems.atc)), ("code", .string("C09AA05"))]))]))])))])
        _ = try await doc.commit(.create(medication, type: "MedicationRequest", id: "rx-1"))
        for day in 1...12 {
            let observation = JSONObject([("resourceType", .string("Observation")), ("status", .string("final")),
                                          ("code", .object(JSONObject([("coding", .array([.object(JSONObject([("system", .string(KnownSystems.npu)),
                                                                                                              ("code", .string("NPU28309"))]))]))]))),
                                          ("subject", Fixtures.reference("Patient/p1")),
                                          ("effectiveDateTime", .string(String(format: "2026-10-%02d", day))),
                                          ("valueQuantity", .object(JSONObject([("value", .number(String(120 + day))), ("unit", .string("g/L"))])))])
            _ = try await doc.commit(.create(observation, type: "Observation", id: "obs-\(day)"))
        }
        let before = try await ward.store.auditRecords(AuditQuery(patientID: "p1", limit: 1_000)).count
        let chart = try await ward.gateway.overview.chart(patientID: "p1", session: doc)
        let records = try await ward.store.auditRecords(AuditQuery(patientID: "p1", limit: 1_000))
        #expect(records.count - before == 1, "one audit record for the whole chart")
        // The chart opens the record: its ground is the care relationship, not the directory look-up of the Patient.
        let audited = String(decoding: try #require(records.max { $0.sequence < $1.sequence }).entry.json, as: UTF8.self)
        #expect(audited.contains("\"basis\":\"care-relationship\""), "\(audited)")
        #expect(audited.contains("\"careRelationship\":\"Encounter/\(encounter)\""), "\(audited)")
        // Also when the Patient (a directory look-up) is the first thing the look touches.
        _ = try await doc.search(together: [(try SearchQuery.parse(type: "Patient", parameters: [("_id", "p1")], strict: true), 1),
                                            (try SearchQuery.parse(type: "Condition", parameters: [("patient", "Patient/p1")], strict: true), 10)])
        let patientFirst = try await ward.store.auditRecords(AuditQuery(patientID: "p1", limit: 1_000)).max { $0.sequence < $1.sequence }
        let recorded = String(decoding: try #require(patientFirst).entry.json, as: UTF8.self)
        #expect(recorded.contains("\"basis\":\"care-relationship\"") && recorded.contains("\"careRelationship\""), "\(recorded)")
        #expect(chart.patient.id == "p1")
        #expect(chart.records("allergy").count == 1)
        #expect(chart.records("problem").isEmpty, "a visit diagnosis is not an active problem")
        #expect(chart.records("visitDiagnosis").compactMap { $0.object.code("code", system: KnownSystems.icd10SE) } == ["I10"])
        #expect(chart.records("medication").map(\.id) == ["rx-1"])
        #expect(chart.records("result").map(\.id) == (3...12).reversed().map { "obs-\($0)" }, "the ten latest results, newest first")
        #expect(chart.records("note").map(\.id) == [note.id])
        #expect(chart.records("currentContact").map(\.id) == [encounter])
        #expect(await fails(.forbidden) { _ = try await ward.gateway.overview.chart(patientID: "p1", session: try await ward.session("wardoc")) })
    }

    @Test("note templates are the region's: only a systemförvaltare replaces them, checked, and new headings can be looked up", arguments: backends)
    func templates(backend: StoreBackend) async throws {
        let ward = try await Ward.make(backend)
        let notes = ward.documentation.notes
        let positions = Set(Position.defaults.map(\.code))
        var templates = NoteTemplate.defaults
        templates.append(NoteTemplate(code: "fallprevention", title: "Fallpreventionsanteckning", loinc: "34746-8",
                                      headings: [.init("fallrisk", "Fallrisk", mandatory: true), .init("atgard", "Åtgärd")], professions: ["sjukskoterska"]))
        #expect(await fails(.forbidden, containing: "systemförvaltare") {
            try await notes.configureTemplates(templates, positions: positions, session: try await ward.session("doc"))
        })
        var broken = templates
        broken[broken.count - 1].professions = ["astronaut"]
        #expect(await fails(.invalid, containing: "'astronaut' is not a position") {
            try await notes.configureTemplates(broken, positions: positions, session: try await ward.session("admin"))
        })
        try await notes.configureTemplates(templates, positions: positions, session: try await ward.session("admin"))
        #expect(try ward.documentation.terminology.lookup(system: DocumentationCodes.heading, code: "fallrisk").concept.display == "Fallrisk")
        try await ward.contact("nurse", patient: "p1")
        let nurse = try await ward.session("nurse")
        let written = try await notes.write(Notes.Draft(template: "fallprevention", patientID: "p1", sections: ["fallrisk": "Hög, fallit två gånger"]), session: nurse)
        let signed = try await notes.sign(noteID: written.id, session: nurse)
        #expect(signed.object["status"]?.stringValue == "final")
        #expect(await fails(.invalid, containing: "'nope' is not a note template") {
            _ = try await notes.write(Notes.Draft(template: "nope", patientID: "p1", sections: [:]), session: nurse)
        })
    }

    @Test("a code of a system the server holds is checked on every write; other systems' codes pass", arguments: backends)
    func codedValues(backend: StoreBackend) async throws {
        let ward = try await Ward.make(backend)
        try await ward.contact("doc", patient: "p1")
        let doc = try await ward.session("doc")
        func condition(_ system: String, _ code: String) -> JSONObject {
            JSONObject([("resourceType", .string("Condition")), ("subject", Fixtures.reference("Patient/p1")),
                        ("code", .object(JSONObject([("coding", .array([.object(JSONObject([("system", .string(system)), ("code", .string(code))]))]))])))])
        }
        do {
            _ = try await doc.commit(.create(condition(KnownSystems.icd10SE, "Q99.99"), type: "Condition", id: "c1"))
            Issue.record("an unknown ICD-10-SE code must be refused")
        } catch let error as FHIRError {
            #expect(error.category == .invalid)
            #expect(error.issues.first?.expression == ["Condition.code.coding[0]"])
            #expect(error.issues.first?.diagnostics.contains("load the full release") == true)
        }
        _ = try await doc.commit(.create(condition("http://snomed.info/sct", "44054006"), type: "Condition", id: "c2"))
        // A real code in the wrong place: a medicine is not a diagnosis.
        do {
            _ = try await doc.commit(.create(condition(KnownSystems.atc, "C09AA05"), type: "Condition", id: "c3"))
            Issue.record("an ATC code as a diagnosis must be refused")
        } catch let error as FHIRError {
            #expect(error.issues.first?.diagnostics.contains("is not in the value set Diagnoser (ICD-10-SE)") == true)
        }
        #expect(try await doc.read(type: "Condition", id: "c1") == nil, "nothing was written")
    }
}
