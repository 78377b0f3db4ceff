import FHIRCore

/// Small FHIR resources test regions are built from.
public enum Fixtures {
    /// An Organization (care provider or unit), under `partOf` when given.
    public static func organization(_ id: String, _ name: String, partOf: String?) -> JSONObject {
        var members: [(key: String, value: JSONValue)] = [("resourceType", .string("Organization")), ("id", .string(id)), ("name", .string(name))]
        if let partOf { members.append(("partOf", reference("Organization/\(partOf)"))) }
        return JSONObject(members)
    }

    /// `{"reference": "Type/id"}`.
    public static func reference(_ reference: String) -> JSONValue {
        .object(JSONObject([("reference", .string(reference))]))
    }
}
