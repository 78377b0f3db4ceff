/// `_summary` and `_elements` (FHIR R4 §3.1.1.5.8–9): a resource reduced to
/// some of its elements, tagged SUBSETTED so no one mistakes it for the whole.
public enum ResourceSubset: Sendable, Equatable {
    /// `_summary=true`: the elements marked as summary in the definitions.
    case summary
    /// `_summary=text`: text, id, meta and the mandatory top-level elements.
    case text
    /// `_summary=data`: everything but the narrative.
    case data
    /// `_elements=a,b`: the named top-level elements plus the mandatory ones.
    case elements(Set<String>)

    /// Parses `_summary` (`true`, `text`, `data`, `false`) and `_elements`; nil means the whole resource.
    public static func parse(summary: String?, elements: String?) throws(FHIRError) -> ResourceSubset? {
        if let summary {
            switch summary {
            case "true": return .summary
            case "text": return .text
            case "data": return .data
            case "false": break
            case "count": throw FHIRError(.invalid, code: .invalid, "_summary=count applies to searches, not to reading one resource")
            default: throw FHIRError(.invalid, code: .invalid, "_summary must be true, text, data, count or false; got '\(summary)'")
            }
        }
        if let elements {
            let names = Set(elements.split(separator: ",").map { String($0).trimming(" ") }.filter { !$0.isEmpty })
            return names.isEmpty ? nil : .elements(names)
        }
        return nil
    }

    public func apply(to resource: JSONObject, definitions: Definitions = .r4) -> JSONObject {
        guard let typeName = resource.resourceType, let type = definitions.types[typeName] else { return resource }
        let topLevel = type.children[""] ?? []
        let mandatory = Set(topLevel.filter { $0.min > 0 }.map(\.name))
        let keep: (String) -> Bool
        switch self {
        case .summary:
            let summary = Set(topLevel.filter(\.isSummary).map(\.name))
            keep = { summary.contains(Self.baseName($0, in: topLevel)) }
        case .text:
            keep = { ["text", "id", "meta"].contains($0) || mandatory.contains(Self.baseName($0, in: topLevel)) }
        case .data:
            keep = { $0 != "text" }
        case .elements(let names):
            keep = { names.contains($0) || names.contains(Self.baseName($0, in: topLevel)) || mandatory.contains(Self.baseName($0, in: topLevel)) }
        }
        var subset = resource.filter { key in
            if ["resourceType", "id", "meta"].contains(key) { return true }
            return keep(key.hasPrefix("_") ? String(key.dropFirst()) : key)
        }
        var meta = subset["meta"]?.objectValue ?? JSONObject()
        var tags = meta["tag"]?.arrayValue ?? []
        tags.append(.object(JSONObject([
            ("system", .string("http://terminology.hl7.org/CodeSystem/v3-ObservationValue")),
            ("code", .string("SUBSETTED")),
            ("display", .string("Resource encoded in summary mode")),
        ])))
        meta["tag"] = .array(tags)
        subset.set("meta", .object(meta), insertingAt: 2)
        return subset
    }

    /// The element name a JSON key belongs to (`valueQuantity` → `value`).
    private static func baseName(_ key: String, in elements: [ElementDefinition]) -> String {
        for element in elements where element.isChoice && key.hasPrefix(element.name) && key.count > element.name.count {
            return element.name
        }
        return key
    }
}
