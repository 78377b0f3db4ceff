import Access
import FHIRCore
import Foundation
import StoreModel

/// An order (lab or imaging) has a requester, an owning unit and a placer number from its creation, whoever
/// writes it; no two orders share a placer number.
struct OrderRule: WriteRule {
    var types: Set<String> { ["ServiceRequest"] }

    static func isOrder(_ resource: JSONObject) -> Bool {
        (resource["category"]?.arrayValue ?? []).contains { concept in
            (concept.objectValue?["coding"]?.arrayValue ?? []).contains { $0.objectValue?["system"]?.stringValue == ResultsVocabulary.orderKindSystem }
        }
    }

    static func placer(_ resource: JSONObject) -> String? {
        (resource["identifier"]?.arrayValue ?? []).lazy.compactMap { $0.objectValue }
            .first { $0["system"]?.stringValue == ResultsVocabulary.placerSystem }?["value"]?.stringValue
    }

    func check(_ resource: JSONObject, id: String, current: StoredResource?, commit: [WriteOperation], session: PatientDataSession) async throws {
        guard Self.isOrder(resource) else { return }
        guard resource["requester"]?.objectValue?["reference"]?.stringValue != nil else {
            throw refused("ServiceRequest.requester: an order must name who ordered it", expression: ["ServiceRequest.requester"],
                          text: "En beställning måste ha en beställare.")
        }
        guard let placer = Self.placer(resource), !placer.isEmpty else {
            throw refused("ServiceRequest.identifier: an order needs its placer number (system \(ResultsVocabulary.placerSystem))",
                          expression: ["ServiceRequest.identifier"], text: "En beställning måste ha ett beställningsnummer.")
        }
        if let current, let before = Self.placer(current.object), before != placer {
            throw refused("ServiceRequest.identifier: the placer number \(before) cannot change (results are matched by it)",
                          expression: ["ServiceRequest.identifier"], text: "Beställningsnumret kan inte ändras.")
        }
        // A user's unit tags the record in the commit; a system client must name the owning unit itself.
        if session.principal.assignment == nil, RecordTags.unit(of: resource) == nil, current == nil {
            throw refused("ServiceRequest.meta.tag: an order written by a system client must name its owning unit (system \(RecordTags.careUnit))",
                          expression: ["ServiceRequest.meta.tag"], text: "En beställning måste ha en ägande enhet.")
        }
    }

    func guards(for resource: JSONObject, id: String) throws -> [UniquenessGuard] {
        guard Self.isOrder(resource), let placer = Self.placer(resource) else { return [] }
        let criteria = try ConditionalCriteria(type: "ServiceRequest", query: "identifier=\(ResultsVocabulary.placerSystem)|\(placer)")
        return [UniquenessGuard(key: "ServiceRequest.placer|\(placer)", criteria: criteria,
                                holds: { Self.placer($0) == placer },
                                conflict: { holder in
                                    FHIRError(.conflict, code: .duplicate, "ServiceRequest.identifier: the placer number \(placer) already belongs to ServiceRequest/\(holder)",
                                              expression: ["ServiceRequest.identifier"])
                                })]
    }
}

/// A final report has something to say: a result, a conclusion or a presented form. An empty final
/// radiology report is refused, not sent on (1,200 blank reports went out elsewhere).
struct ReportRule: WriteRule {
    var types: Set<String> { ["DiagnosticReport"] }

    func check(_ resource: JSONObject, id: String, current: StoredResource?, commit: [WriteOperation], session: PatientDataSession) async throws {
        guard ["final", "corrected", "amended", "appended"].contains(resource["status"]?.stringValue ?? "") else { return }
        let results = resource["result"]?.arrayValue ?? []
        let conclusion = resource["conclusion"]?.stringValue?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        let forms = resource["presentedForm"]?.arrayValue ?? []
        guard !results.isEmpty || !conclusion.isEmpty || !forms.isEmpty else {
            throw refused("DiagnosticReport: a \(resource["status"]?.stringValue ?? "final") report must have its text (conclusion, presentedForm) or results",
                          expression: ["DiagnosticReport.conclusion"], text: "Ett slutligt svar utan text tas inte emot.")
        }
    }
}
