import Foundation

/// Small builders for FHIR JSON, so the workflows read as the resources they write.
public enum FHIR {
    public static func object(_ members: [(String, JSONValue?)]) -> JSONValue {
        .object(JSONObject(members.compactMap { key, value in value.map { (key, $0) } }))
    }

    public static func reference(_ type: String, _ id: String, display: String? = nil) -> JSONValue {
        object([("reference", .string("\(type)/\(id)")), ("display", display.map { .string($0) })])
    }

    public static func coding(_ system: String, _ code: String, _ display: String? = nil) -> JSONValue {
        object([("system", .string(system)), ("code", .string(code)), ("display", display.map { .string($0) })])
    }

    public static func concept(_ system: String, _ code: String, _ display: String? = nil, text: String? = nil) -> JSONValue {
        object([("coding", .array([coding(system, code, display)])), ("text", text.map { .string($0) })])
    }

    public static func text(_ text: String) -> JSONValue { object([("text", .string(text))]) }

    public static func money(_ kronor: Int) -> JSONValue { object([("value", .number(String(kronor))), ("currency", .string("SEK"))]) }
}

extension JSONObject {
    /// The id of a reference member of the given type, e.g. `subject` → patient id.
    public func referenceID(_ member: String, type: String) -> String? {
        guard let text = self[member]?.objectValue?["reference"]?.stringValue, let key = ResourceKey(reference: text), key.type == type else { return nil }
        return key.id
    }

    /// The first code of a CodeableConcept member (or the first of an array of them) in `system`.
    public func code(_ member: String, system: String) -> String? {
        let concepts = self[member]?.arrayValue ?? (self[member].map { [$0] } ?? [])
        for concept in concepts {
            for coding in concept.objectValue?["coding"]?.arrayValue ?? [] where coding.objectValue?["system"]?.stringValue == system {
                if let code = coding.objectValue?["code"]?.stringValue { return code }
            }
        }
        return nil
    }

    /// The value of an extension by URL.
    public func extensionValue(_ url: String) -> JSONValue? {
        for item in self["extension"]?.arrayValue ?? [] {
            guard let item = item.objectValue, item["url"]?.stringValue == url else { continue }
            return item.first { $0.key.hasPrefix("value") }?.value
        }
        return nil
    }

    /// Sets (or with nil removes) an extension.
    public mutating func setExtension(_ url: String, _ key: String, _ value: JSONValue?) {
        var items = (self["extension"]?.arrayValue ?? []).filter { $0.objectValue?["url"]?.stringValue != url }
        if let value { items.append(FHIR.object([("url", .string(url)), (key, value)])) }
        self["extension"] = items.isEmpty ? nil : .array(items)
    }

    /// The code of the `meta.tag` of `system`, if there is one.
    public func tagCode(_ system: String) -> String? {
        (self["meta"]?.objectValue?["tag"]?.arrayValue ?? []).lazy.compactMap(\.objectValue)
            .first { $0["system"]?.stringValue == system }?["code"]?.stringValue
    }

    /// Sets the `meta.tag` of `system` to `code`, replacing any earlier one of that system and keeping the others.
    public mutating func setTag(_ system: String, _ code: String, display: String? = nil) {
        var meta = self["meta"]?.objectValue ?? JSONObject()
        var tags = (meta["tag"]?.arrayValue ?? []).filter { $0.objectValue?["system"]?.stringValue != system }
        tags.append(FHIR.coding(system, code, display))
        meta["tag"] = .array(tags)
        self["meta"] = .object(meta)
    }

    /// Appends to an array member.
    public mutating func append(_ member: String, _ value: JSONValue) {
        self[member] = .array((self[member]?.arrayValue ?? []) + [value])
    }

    /// Server-managed meta removed, so an update carries only content (the gateway and store set meta).
    public var forUpdate: JSONObject { withoutServerMeta }
}


extension JSONValue {
    /// The text of a JSON number.
    public var numberText: String? {
        if case .number(let text) = self { return text }
        return nil
    }
}
