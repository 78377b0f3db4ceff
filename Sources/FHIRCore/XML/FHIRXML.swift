/// FHIR's XML format (R4 xml.html) to and from the JSON the server keeps, driven by the R4 definitions:
/// which elements repeat, which are primitives (and of which JSON kind), where a resource sits inside
/// another, and the order elements must be written in. Strings and decimals pass through as text, and
/// a narrative `div` is kept byte for byte, so XML and JSON carry the same values.
public struct FHIRXML: Sendable {
    public static let namespace = "http://hl7.org/fhir"
    public static let xhtmlNamespace = "http://www.w3.org/1999/xhtml"

    public let definitions: Definitions
    public let maxDepth: Int

    public init(definitions: Definitions = .r4, maxDepth: Int = 128) {
        self.definitions = definitions
        self.maxDepth = maxDepth
    }

    // MARK: Reading

    /// The resource an XML document holds, as JSON; a problem names the line or the element's path.
    public func read(_ bytes: [UInt8]) throws(FHIRError) -> JSONValue {
        let root: XMLTree.Element
        do {
            root = try XMLTree.parse(bytes, maxDepth: maxDepth).root
        } catch {
            throw FHIRError(.invalid, code: .structure, "the XML is not well-formed: \(error.message)")
        }
        guard root.attribute("xmlns") == Self.namespace else {
            throw FHIRError(.invalid, code: .structure, "the root element <\(root.name)> must be in the FHIR namespace xmlns=\"\(Self.namespace)\"")
        }
        return .object(try resource(root, source: bytes, expression: nil))
    }

    /// One resource element (`<Patient>` …) as a JSON object.
    func resource(_ element: XMLTree.Element, source: [UInt8], expression: String?) throws(FHIRError) -> JSONObject {
        guard definitions.isResourceType(element.name), let type = definitions.types[element.name] else {
            throw FHIRError(.invalid, code: .notSupported, "<\(element.name)> is not an R4 resource type", expression: [expression ?? element.name])
        }
        if let namespace = element.attribute("xmlns"), namespace != Self.namespace {
            throw FHIRError(.invalid, code: .structure, "<\(element.name)> is in the namespace \(namespace), not FHIR's", expression: [expression ?? element.name])
        }
        var object = JSONObject([("resourceType", .string(element.name))])
        try members(of: element, type: type, path: "", into: &object, source: source, expression: expression ?? element.name)
        return object
    }

    /// The child elements of `element` as members of `object`, by the definition of `type` at `path`.
    func members(of element: XMLTree.Element, type: TypeDefinition, path: String, into object: inout JSONObject, source: [UInt8],
                 expression: String) throws(FHIRError) {
        if element.hasText {
            throw FHIRError(.invalid, code: .structure, "text is not allowed directly inside <\(element.name)>; values go in value attributes", expression: [expression])
        }
        guard let childrenPath = type.childrenPath(for: path), let properties = type.properties[childrenPath] else {
            throw FHIRError(.invalid, code: .structure, "no definition for \(type.name).\(path)", expression: [expression])
        }
        for child in element.children {
            let childExpression = expression + "." + child.name
            guard let property = properties[child.name] else {
                throw FHIRError(.invalid, code: .structure, "unknown element <\(child.name)> in \(path.isEmpty ? type.name : "\(type.name).\(path)")",
                                expression: [childExpression])
            }
            let repeats = property.element.isRepeating
            let (value, primitiveExtension) = try self.value(child, property: property, owner: type, source: source, expression: childExpression)
            if repeats {
                var values = object[child.name]?.arrayValue ?? []
                var extensions = object["_" + child.name]?.arrayValue ?? []
                if primitiveExtension != nil || !extensions.isEmpty {
                    while extensions.count < values.count { extensions.append(.null) }
                    extensions.append(primitiveExtension ?? .null)
                    object["_" + child.name] = .array(extensions)
                }
                values.append(value ?? .null)
                object[child.name] = .array(values)
            } else {
                if object[child.name] != nil || object["_" + child.name] != nil {
                    throw FHIRError(.invalid, code: .structure, "<\(child.name)> appears twice but does not repeat", expression: [childExpression])
                }
                if let value { object[child.name] = value }
                if let primitiveExtension { object["_" + child.name] = primitiveExtension }
            }
        }
        // A repeating primitive whose values all carry only extensions has no value array.
        for key in object.keys where key.hasPrefix("_") {
            if case .array(let values)? = object[String(key.dropFirst())], values.allSatisfy({ $0 == .null }) {
                object[String(key.dropFirst())] = nil
            }
        }
    }

    /// One element's JSON value and, for a primitive, its `_name` part (id and extensions).
    func value(_ element: XMLTree.Element, property: TypeDefinition.Property, owner: TypeDefinition, source: [UInt8],
               expression: String) throws(FHIRError) -> (JSONValue?, JSONValue?) {
        let typeName = property.type
        if typeName == "xhtml" {
            return (.string(String(decoding: source[element.range], as: UTF8.self)), nil)
        }
        if definitions.primitives.contains(typeName) {
            var extra = JSONObject()
            if let id = element.attribute("id") { extra["id"] = .string(id) }
            if let elementType = definitions.types["Element"] {
                let extensions = element.children.filter { $0.name == "extension" }
                if extensions.count != element.children.count || element.hasText {
                    throw FHIRError(.invalid, code: .structure, "a primitive element holds only extensions; its value is the value attribute", expression: [expression])
                }
                var holder = JSONObject()
                try members(of: XMLTree.Element(name: element.name, attributes: [], children: extensions, hasText: false, range: element.range),
                            type: elementType, path: "", into: &holder, source: source, expression: expression)
                if let list = holder["extension"] { extra["extension"] = list }
            }
            let value = try element.attribute("value").map { text throws(FHIRError) in try primitive(text, type: typeName, expression: expression) }
            if value == nil && extra.isEmpty {
                throw FHIRError(.invalid, code: .required, "<\(element.name)> has neither a value nor extensions", expression: [expression])
            }
            return (value, extra.isEmpty ? nil : .object(extra))
        }
        if typeName == "Resource" {
            guard element.children.count == 1, !element.hasText else {
                throw FHIRError(.invalid, code: .structure, "<\(element.name)> must hold exactly one resource element", expression: [expression])
            }
            return (.object(try resource(element.children[0], source: source, expression: expression)), nil)
        }
        var object = JSONObject()
        if let id = element.attribute("id") { object["id"] = .string(id) }
        if typeName == "Extension", let url = element.attribute("url") { object["url"] = .string(url) }
        let inline = owner.children[property.element.path] != nil || property.element.contentReference != nil
        if inline {
            try members(of: element, type: owner, path: property.element.path, into: &object, source: source, expression: expression)
        } else if let type = definitions.types[typeName] {
            try members(of: element, type: type, path: "", into: &object, source: source, expression: expression)
        } else {
            throw FHIRError(.invalid, code: .structure, "no definition for the type \(typeName)", expression: [expression])
        }
        return (.object(object), nil)
    }

    /// A value attribute as its JSON kind: booleans and numbers unquoted (numbers as written), the rest strings.
    func primitive(_ text: String, type: String, expression: String) throws(FHIRError) -> JSONValue {
        switch type {
        case "boolean":
            guard text == "true" || text == "false" else { throw FHIRError(.invalid, code: .value, "'\(text)' is not a boolean", expression: [expression]) }
            return .bool(text == "true")
        case "integer", "unsignedInt", "positiveInt", "decimal", "integer64":
            guard !text.isEmpty, text.allSatisfy({ $0.isASCII && ($0.isNumber || "+-.eE".contains($0)) }), let first = text.first, first != "+" else {
                throw FHIRError(.invalid, code: .value, "'\(text)' is not a number", expression: [expression])
            }
            return .number(text)
        default:
            return .string(text)
        }
    }

    // MARK: Writing

    /// The resource as FHIR XML, its elements in the definitions' order.
    public func write(_ value: JSONValue) throws(FHIRError) -> [UInt8] {
        guard case .object(let object) = value else { throw FHIRError(.invalid, code: .structure, "only a resource can be written as XML") }
        var out: [UInt8] = Array("<?xml version=\"1.0\" encoding=\"UTF-8\"?>".utf8)
        try writeResource(object, into: &out, isRoot: true)
        return out
    }

    func writeResource(_ object: JSONObject, into out: inout [UInt8], isRoot: Bool) throws(FHIRError) {
        guard let typeName = object.resourceType, let type = definitions.types[typeName], definitions.isResourceType(typeName) else {
            throw FHIRError(.invalid, code: .structure, "'\(object.resourceType ?? "")' is not a resource type that can be written as XML")
        }
        out += Array("<\(typeName)".utf8)
        if isRoot { out += Array(" xmlns=\"\(Self.namespace)\"".utf8) }
        out.append(UInt8(ascii: ">"))
        try writeMembers(object, type: type, path: "", skip: ["resourceType"], into: &out)
        out += Array("</\(typeName)>".utf8)
    }

    /// The members of `object` in definition order; `skip` are those written as attributes.
    func writeMembers(_ object: JSONObject, type: TypeDefinition, path: String, skip: Set<String>, into out: inout [UInt8]) throws(FHIRError) {
        guard let childrenPath = type.childrenPath(for: path), let children = type.children[childrenPath], let properties = type.properties[childrenPath] else {
            throw FHIRError(.invalid, code: .structure, "no definition for \(type.name).\(path)")
        }
        var written = skip
        for child in children {
            let keys = child.isChoice ? child.types.map { child.name + $0.capitalizedFirst } : [child.name]
            for key in keys where !skip.contains(key) && (object[key] != nil || object["_" + key] != nil) {
                guard let property = properties[key] else { continue }
                written.insert(key)
                written.insert("_" + key)
                let values: [JSONValue?]
                let extras: [JSONValue?]
                if property.element.isRepeating {
                    let list = object[key]?.arrayValue ?? []
                    let extraList = object["_" + key]?.arrayValue ?? []
                    let count = max(list.count, extraList.count)
                    values = (0..<count).map { $0 < list.count && list[$0] != .null ? list[$0] : nil }
                    extras = (0..<count).map { $0 < extraList.count && extraList[$0] != .null ? extraList[$0] : nil }
                } else {
                    values = [object[key]]
                    extras = [object["_" + key]]
                }
                for (value, extra) in zip(values, extras) {
                    try writeElement(key, value: value, extra: extra, property: property, owner: type, into: &out)
                }
            }
        }
        if let unknown = object.keys.first(where: { !written.contains($0) }) {
            throw FHIRError(.invalid, code: .structure, "'\(unknown)' is not an element of \(path.isEmpty ? type.name : "\(type.name).\(path)")")
        }
    }

    func writeElement(_ name: String, value: JSONValue?, extra: JSONValue?, property: TypeDefinition.Property, owner: TypeDefinition,
                      into out: inout [UInt8]) throws(FHIRError) {
        let typeName = property.type
        if typeName == "xhtml" {
            guard case .string(let div)? = value else { return }
            out += Array(div.utf8)
            return
        }
        if definitions.primitives.contains(typeName) {
            out += Array("<\(name)".utf8)
            let extraObject = extra?.objectValue
            if let id = extraObject?["id"]?.stringValue { Self.attribute("id", id, into: &out) }
            switch value {
            case .string(let text)?: Self.attribute("value", text, into: &out)
            case .number(let text)?: Self.attribute("value", text, into: &out)
            case .bool(let flag)?: Self.attribute("value", flag ? "true" : "false", into: &out)
            default: break
            }
            let extensions = extraObject?["extension"]?.arrayValue ?? []
            if extensions.isEmpty {
                out += Array("/>".utf8)
                return
            }
            out.append(UInt8(ascii: ">"))
            if let extensionType = definitions.types["Element"], let property = extensionType.properties[""]?["extension"] {
                for item in extensions { try writeElement("extension", value: item, extra: nil, property: property, owner: extensionType, into: &out) }
            }
            out += Array("</\(name)>".utf8)
            return
        }
        guard case .object(let object)? = value else { return }
        out += Array("<\(name)".utf8)
        if typeName == "Resource" {
            out.append(UInt8(ascii: ">"))
            try writeResource(object, into: &out, isRoot: false)
            out += Array("</\(name)>".utf8)
            return
        }
        var attributes: Set<String> = []
        if let id = object["id"]?.stringValue { Self.attribute("id", id, into: &out); attributes.insert("id") }
        if typeName == "Extension", let url = object["url"]?.stringValue { Self.attribute("url", url, into: &out); attributes.insert("url") }
        out.append(UInt8(ascii: ">"))
        if owner.children[property.element.path] != nil || property.element.contentReference != nil {
            try writeMembers(object, type: owner, path: property.element.contentReference ?? property.element.path, skip: attributes, into: &out)
        } else if let type = definitions.types[typeName] {
            try writeMembers(object, type: type, path: "", skip: attributes, into: &out)
        }
        out += Array("</\(name)>".utf8)
    }

    /// ` name="value"`, escaped so whitespace and markup characters survive a round trip.
    static func attribute(_ name: String, _ value: String, into out: inout [UInt8]) {
        out += Array(" \(name)=\"".utf8)
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "&"): out += Array("&amp;".utf8)
            case UInt8(ascii: "<"): out += Array("&lt;".utf8)
            case UInt8(ascii: ">"): out += Array("&gt;".utf8)
            case UInt8(ascii: "\""): out += Array("&quot;".utf8)
            case 0x0A: out += Array("&#10;".utf8)
            case 0x0D: out += Array("&#13;".utf8)
            case 0x09: out += Array("&#9;".utf8)
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
