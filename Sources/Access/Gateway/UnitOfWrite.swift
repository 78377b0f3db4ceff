import FHIRCore

extension RecordTags {
    /// The resource with its care-unit tag set to `unit` (any earlier unit tag replaced, other tags kept).
    public static func tagged(_ resource: JSONObject, unit: String) -> JSONObject {
        var resource = resource
        resource.setTag(careUnit, unit)
        return resource
    }
}

extension PatientDataSession {
    /// The care unit a write is for: the one named, else the caller's own; a system client has none and must name one.
    public func actingUnit(_ named: String?) throws -> String {
        if let named, !named.isEmpty { return named }
        if let unit = principal.assignment?.unitID { return unit }
        throw FHIRError(.invalid, code: .required, "name the care unit (unit)", expression: ["unit"], text: "Ange vårdenheten.")
    }

    /// Tags what a system client writes for `unit` with that unit, as the gateway tags a user's writes with the user's.
    public func tagForUnit(_ resource: inout JSONObject, unit: String) {
        guard principal.kind == .system, !unit.isEmpty else { return }
        resource = RecordTags.tagged(resource, unit: unit)
    }
}
