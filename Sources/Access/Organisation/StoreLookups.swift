import FHIRCore
import Store
import StoreModel

/// Internal lookups the access layer makes on the store for its own decisions
/// (never returned to a caller, so not audited as patient-data access).
extension ResourceStore {
    /// Current resources matching FHIR search parameters, at most `limit`.
    func lookup(_ type: String, _ parameters: [(name: String, value: String)], limit: Int = 200) async throws -> [StoredResource] {
        let query = try SearchQuery.parse(type: type, parameters: parameters, strict: true)
        return try await searchResources(query, limit: limit)
    }

    /// A current resource as a JSON object, nil when missing or deleted.
    func object(_ type: String, _ id: String) async throws -> JSONObject? {
        guard let stored = try await read(type: type, id: id), !stored.isDeleted else { return nil }
        return stored.object
    }
}

extension JSONObject {
    /// `Type/id` of a Reference member, split; nil when absent or not relative.
    public func reference(_ member: String) -> ResourceKey? {
        guard let text = self[member]?.objectValue?["reference"]?.stringValue else { return nil }
        return ResourceKey(reference: text)
    }

    /// Codes of a CodeableConcept array member in one system.
    func codes(_ member: String, system: String) -> [String] {
        (self[member]?.arrayValue ?? []).flatMap { concept -> [String] in
            (concept.objectValue?["coding"]?.arrayValue ?? []).compactMap { coding in
                guard let coding = coding.objectValue, coding["system"]?.stringValue == system else { return nil }
                return coding["code"]?.stringValue
            }
        }
    }
}
