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
            throw refused("Composition/\(id) is marked entered-in-error and is kept as it is", expression: ["Composition.status"], text: "Anteckningen är makulerad och sparas som den är.")
        }
        guard before == "final" || before == "amended" else { return }
        guard status == "amended" || status == "entered-in-error" else {
            throw refused("Composition/\(id) is signed: it is never overwritten; correct it (status amended, with a Provenance giving the reason) or mark it entered-in-error",
                          expression: ["Composition.status"], text: "Anteckningen är signerad och skrivs aldrig över. Rätta den med ett skäl, eller makulera den.")
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
        throw refused("Composition/\(current.id) is part of the journal and is kept; mark it entered-in-error instead of deleting it", text: "Anteckningen är en del av journalen och sparas. Makulera den i stället.")
    }

    static func hasLegalAttester(_ note: JSONObject) -> Bool {
        (note["attester"]?.arrayValue ?? []).contains {
            $0.objectValue?["mode"]?.stringValue == "legal" && $0.objectValue?["party"] != nil && $0.objectValue?["time"] != nil
        }
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
