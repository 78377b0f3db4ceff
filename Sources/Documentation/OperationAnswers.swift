import Access
import FHIRCore
import Foundation
import StoreModel
import Terminology

extension Documentation {
    /// Answers this module's FHIR operations (docs/documentation.md lists each one's parameters);
    /// `operations` declares them, and the API routes only those here.
    public func answer(_ call: OperationCall) async throws -> OperationAnswer {
        let input = call.input
        let d = self
        let data = call.session
        let operation = call.name
        func post() throws(FHIRError) { try call.requirePost() }
        func resource(_ stored: StoredResource, status: Int = 200) -> OperationAnswer { .resource(stored, status: status) }

        switch (call.resourceType, call.id, operation) {
        // Notes
        case ("Composition", nil, "write-note"):
            try post()
            let note = try await d.notes.write(Notes.Draft(template: try input.required("template"), patientID: try input.requiredID("patient"),
                                                           encounterID: try input.id("encounter"), eventTime: try input.instant("eventTime"),
                                                           sections: try input.sections(), responsibleRoleID: try input.id("responsible")), session: data)
            return resource(note, status: 201)
        case ("Composition", let noteID?, "save-draft"):
            try post()
            return resource(try await d.notes.saveDraft(noteID: noteID, sections: try input.sections(), eventTime: try input.instant("eventTime"), session: data))
        case ("Composition", let noteID?, "sign"):
            try post()
            return resource(try await d.notes.sign(noteID: noteID, session: data))
        case ("Composition", let noteID?, "correct"):
            try post()
            return resource(try await d.notes.correct(noteID: noteID, sections: try input.sections(), reason: try input.required("reason"), session: data))
        case ("Composition", let noteID?, "entered-in-error"):
            try post()
            return resource(try await d.notes.markEnteredInError(noteID: noteID, reason: try input.required("reason"), session: data))
        case ("Composition", let noteID?, "versions"):
            var out = ParametersBuilder()
            for version in try await d.notes.versions(noteID: noteID, session: data) {
                var part = ParametersBuilder()
                part.add("version", int: version.note.versionId)
                part.add("status", version.status)
                part.add("activity", version.activity)
                part.add("by", version.by)
                part.add("at", version.at)
                part.add("reason", version.reason)
                for heading in version.changedHeadings { part.add("changed", heading) }
                part.add("note", resource: version.note)
                out.add("version", part: part)
            }
            return .parameters(out)
        case ("Composition", nil, "unsigned"):
            var out = ParametersBuilder()
            for item in try await d.notes.unsigned(session: data) {
                var part = ParametersBuilder()
                part.add("mustSign", bool: item.mustSign)
                part.add("note", resource: item.note)
                out.add("unsigned", part: part)
            }
            return .parameters(out)
        case ("Patient", let patientID?, "journal"):
            let filter = Notes.JournalFilter(unitID: try input.id("unit"), profession: input["profession"], noteType: input["type"],
                                             fromDay: try input.day("from"), toDay: try input.day("to"), heading: input["sokord"], text: input["text"],
                                             includeUnsigned: try input.bool("unsigned", default: true))
            return .resources(try await d.notes.journal(patientID: patientID, filter: filter, session: data))
        case (nil, nil, "note-templates"):
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            var out = ParametersBuilder()
            out.add("templates", String(decoding: try encoder.encode(try await d.notes.templates(session: data)), as: UTF8.self))
            return .parameters(out)
        case (nil, nil, "configure-note-templates"):
            try post()
            let text = try input.required("templates")
            let templates: [NoteTemplate]
            do {
                templates = try JSONDecoder().decode([NoteTemplate].self, from: Data(text.utf8))
            } catch {
                throw FHIRError(.invalid, code: .structure, "templates must be a JSON list of note templates (as $note-templates returns): \(error)", expression: ["templates"])
            }
            let positions = Set(try await data.positions().map(\.code))
            try await d.notes.configureTemplates(templates, positions: positions, session: data)
            return .information("the note templates were replaced")

        // Diagnoses and the problem list
        case ("Encounter", let encounterID?, "register-diagnoses"):
            try post()
            let registration = try await d.diagnoses.register(encounterID: encounterID, main: try input.required("main"), secondary: input.strings("secondary"),
                                                              procedures: input.strings("procedure"), session: data)
            var out = ParametersBuilder()
            out.add("encounter", resource: registration.encounter)
            for condition in registration.conditions { out.add("diagnosis", resource: condition) }
            for procedure in registration.procedures { out.add("procedure", resource: procedure) }
            return .parameters(out)
        case ("Patient", let patientID?, "problem-list"):
            let list = try await d.diagnoses.problemList(patientID: patientID, session: data)
            var out = ParametersBuilder()
            for condition in list.active { out.add("active", resource: condition) }
            for condition in list.resolved { out.add("resolved", resource: condition) }
            return .parameters(out)
        case ("Condition", nil, "add-problem"):
            try post()
            return resource(try await d.diagnoses.addProblem(patientID: try input.requiredID("patient"), code: try input.required("code"), onset: try input.day("onset"),
                                                             note: input["note"], session: data), status: 201)
        case ("Condition", let conditionID?, "resolve"):
            try post()
            return resource(try await d.diagnoses.resolveProblem(conditionID: conditionID, abatement: try input.day("abatement"),
                                                                 reason: try input.required("reason"), session: data))

        // Attention signals
        case ("AllergyIntolerance", nil, "record"):
            try post()
            let allergy = AttentionSignals.Allergy(patientID: try input.requiredID("patient"), substanceSystem: input["substanceSystem"], substanceCode: input["substance"],
                                                   substanceText: input["substanceText"], category: input["category"], reaction: input["reaction"],
                                                   severity: input["severity"], criticality: input["criticality"], certainty: input["certainty"] ?? "confirmed",
                                                   allowDuplicate: try input.bool("allowDuplicate", default: false))
            return resource(try await d.attentionSignals.recordAllergy(allergy, session: data), status: 201)
        case ("Flag", nil, "record"):
            try post()
            guard let kind = AttentionSignals.Kind(rawValue: try input.required("kind")) else {
                throw FHIRError(.invalid, code: .value, "kind must be one of \(AttentionSignals.Kind.allCases.map(\.rawValue).joined(separator: ", "))", expression: ["kind"])
            }
            return resource(try await d.attentionSignals.record(patientID: try input.requiredID("patient"), kind: kind, code: try input.required("code"), note: input["note"],
                                                                decidedByRoleID: try input.id("decidedBy"), decidedAt: try input.day("decidedAt"), session: data), status: 201)
        case (let signalType?, let signalID?, "end") where signalType == "AllergyIntolerance" || signalType == "Flag":
            try post()
            return resource(try await d.attentionSignals.end(type: signalType, id: signalID, reason: try input.required("reason"), session: data))
        case ("Patient", let patientID?, "attention-signals"):
            var out = ParametersBuilder()
            addAttention(try await d.attentionSignals.state(patientID: patientID, session: data), to: &out)
            return .parameters(out)
        default:
            throw call.unsupported()
        }
    }

    private func addAttention(_ state: AttentionSignals.State, to out: inout ParametersBuilder) {
        out.add("hasAttentionSignals", bool: !state.isEmpty)
        for item in state.allergies { out.add("allergy", resource: item) }
        for item in state.infections { out.add("infection", resource: item) }
        for item in state.treatments { out.add("treatment", resource: item) }
        for item in state.careLimitations { out.add("careLimitation", resource: item) }
    }

}
