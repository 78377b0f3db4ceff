import Access
import FHIRCore
import StoreModel
import Terminology

/// A signed note is never overwritten or erased (HSLF-FS 2016:40), whichever interface writes:
/// a change to it is a correction (amended) or an entered-in-error marking, with its Provenance in
/// the same commit; a signed version names who signed it; a note marked entered-in-error stays as it is.
struct SignedNoteRule: WriteRule {
    var types: Set<String> { ["Composition"] }

    func check(_ resource: JSONObject, id: String, current: StoredResource?, commit: [WriteOperation], session: PatientDataSession) async throws {
        let status = resource["status"]?.stringValue ?? ""
        if ["final", "amended"].contains(status), !Self.hasLegalAttester(resource) {
            throw FHIRError(.invalid, code: .businessRule, "a signed (\(status)) note names who signed it: Composition.attester with mode 'legal', a time and a party",
                            expression: ["Composition.attester"])
        }
        guard let current, !current.isDeleted else { return }
        let before = current.object["status"]?.stringValue ?? ""
        if before == "entered-in-error" {
            throw refused("Composition/\(id) is marked entered-in-error and is kept as it is", expression: ["Composition.status"])
        }
        guard before == "final" || before == "amended" else { return }
        guard status == "amended" || status == "entered-in-error" else {
            throw refused("Composition/\(id) is signed: it is never overwritten; correct it (status amended, with a Provenance giving the reason) or mark it entered-in-error",
                          expression: ["Composition.status"])
        }
        let hasProvenance = commit.contains { operation in
            guard operation.type == "Provenance", case .create(let provenance, _) = operation.kind else { return false }
            return (provenance["target"]?.arrayValue ?? []).contains {
                ($0.objectValue?["reference"]?.stringValue ?? "").hasPrefix("Composition/\(id)/_history/")
                    || $0.objectValue?["reference"]?.stringValue == "Composition/\(id)"
            }
        }
        guard hasProvenance else {
            throw refused("a change to the signed Composition/\(id) is written with a Provenance (who, why) in the same transaction", expression: ["Composition"])
        }
    }

    func checkDelete(_ current: StoredResource, commit: [WriteOperation], session: PatientDataSession) async throws {
        guard current.object["status"]?.stringValue != "preliminary" else { return }
        throw refused("Composition/\(current.id) is part of the journal and is kept; mark it entered-in-error instead of deleting it")
    }

    static func hasLegalAttester(_ note: JSONObject) -> Bool {
        (note["attester"]?.arrayValue ?? []).contains {
            $0.objectValue?["mode"]?.stringValue == "legal" && $0.objectValue?["party"] != nil && $0.objectValue?["time"] != nil
        }
    }
}

/// A code from a code system the server holds must exist in it: an unknown ICD-10-SE, KVÅ, ATC or NPU
/// code is a clear error naming where it is, not silently stored. Codes of other systems are the sender's.
struct CodedValueRule: WriteRule {
    let terminology: TerminologyService

    var types: Set<String> {
        ["Condition", "Procedure", "Observation", "MedicationRequest", "MedicationStatement", "MedicationAdministration", "AllergyIntolerance",
         "Flag", "Encounter", "DiagnosticReport", "ServiceRequest", "Immunization", "Composition", "FamilyMemberHistory"]
    }

    /// Kärna's own lists that templates define per region; they are checked by the module that uses them.
    static let unchecked: Set<String> = [DocumentationCodes.heading, DocumentationCodes.noteType]

    /// The elements bound to Kärna's value sets: a coding there from a system the server holds must be in the value set.
    static let bindings: [String: [(element: String, valueSet: String)]] = [
        "Condition": [("code", KarnaValueSets.diagnoses)],
        "Procedure": [("code", KarnaValueSets.procedures)],
        "MedicationRequest": [("medicationCodeableConcept", KarnaValueSets.medicines)],
        "MedicationStatement": [("medicationCodeableConcept", KarnaValueSets.medicines)],
        "MedicationAdministration": [("medicationCodeableConcept", KarnaValueSets.medicines)],
        "AllergyIntolerance": [("code", KarnaValueSets.allergens)],
        "Observation": [("code", KarnaValueSets.laboratoryAnalyses)],
    ]

    func check(_ resource: JSONObject, id: String, current: StoredResource?, commit: [WriteOperation], session: PatientDataSession) async throws {
        let type = resource.resourceType ?? "Resource"
        if let problem = firstProblem(.object(resource), path: type) { throw FHIRError(.invalid, code: .codeInvalid, problem.message, expression: [problem.path]) }
        for binding in Self.bindings[type] ?? [] {
            for (index, coding) in (resource[binding.element]?.objectValue?["coding"]?.arrayValue ?? []).enumerated() {
                guard let coding = coding.objectValue, let system = coding["system"]?.stringValue, let code = coding["code"]?.stringValue,
                      terminology.codeSystem(system) != nil, try !terminology.isMember(valueSet: binding.valueSet, system: system, code: code)
                else { continue }
                let path = "\(type).\(binding.element).coding[\(index)]"
                throw FHIRError(.invalid, code: .codeInvalid,
                                "\(path): '\(code)' (\(terminology.codeSystem(system)?.title ?? system)) is not in the value set \(terminology.valueSet(binding.valueSet)?.title ?? binding.valueSet) that \(type).\(binding.element) is bound to",
                                expression: [path])
            }
        }
    }

    private func firstProblem(_ value: JSONValue, path: String) -> (message: String, path: String)? {
        switch value {
        case .object(let object):
            if let system = object["system"]?.stringValue, let code = object["code"]?.stringValue, !Self.unchecked.contains(system),
               let problem = terminology.problem(system: system, code: code) {
                return ("\(path): \(problem)", path)
            }
            for (key, member) in object where key != "meta" && key != "text" {
                if let found = firstProblem(member, path: "\(path).\(key)") { return found }
            }
        case .array(let items):
            for (index, item) in items.enumerated() {
                if let found = firstProblem(item, path: "\(path)[\(index)]") { return found }
            }
        default:
            break
        }
        return nil
    }
}

/// A CodeSystem or ValueSet written through any interface must be usable (a clear error names what
/// is not, e.g. an unsupported filter), and is taken into use by this server's terminology service.
struct TerminologyResourceRule: WriteRule {
    let terminology: TerminologyService

    var types: Set<String> { ["CodeSystem", "ValueSet"] }

    func check(_ resource: JSONObject, id: String, current: StoredResource?, commit: [WriteOperation], session: PatientDataSession) async throws {
        try terminology.load(resource: resource)
    }
}
