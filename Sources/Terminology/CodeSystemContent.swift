import FHIRCore

/// One concept of a code system: its code, display and parent in the hierarchy, and any further
/// properties its source gives (a drug product's form, strength, ATC code and substance).
public struct Concept: Sendable, Equatable {
    public var code: String
    public var display: String
    public var parent: String?
    public var inactive: Bool
    /// Further string properties, in the source's order (a code may repeat).
    public var properties: [Property]

    /// One string property of a concept (`CodeSystem.concept.property` with `valueString`).
    public struct Property: Sendable, Equatable {
        public var code: String
        public var value: String

        public init(_ code: String, _ value: String) {
            self.code = code
            self.value = value
        }
    }

    public init(code: String, display: String, parent: String? = nil, inactive: Bool = false, properties: [Property] = []) {
        self.code = code
        self.display = display
        self.parent = parent
        self.inactive = inactive
        self.properties = properties
    }

    /// The first value of a property.
    public func property(_ code: String) -> String? { properties.first { $0.code == code }?.value }
}

/// A code system (kodverk) held in memory for look-ups, validation and expansion.
public struct CodeSystemContent: Sendable {
    public let url: String
    public let version: String?
    public let name: String
    public let title: String
    /// `complete`, or `fragment` for the small subsets Kärna ships for demos.
    public let content: String
    /// Where the codes come from and when (shown in `$lookup` and on the CodeSystem).
    public let source: String
    public let concepts: [String: Concept]
    /// Codes in the order the source lists them (expansions keep it).
    public let order: [String]
    let children: [String: [String]]
    /// The string properties concepts carry, with what each means (`CodeSystem.property`).
    public let propertyDefinitions: [(code: String, description: String)]

    public init(url: String, version: String?, name: String, title: String, content: String, source: String, concepts: [Concept],
                propertyDefinitions: [(code: String, description: String)] = []) {
        self.propertyDefinitions = propertyDefinitions
        self.url = url
        self.version = version
        self.name = name
        self.title = title
        self.content = content
        self.source = source
        var byCode: [String: Concept] = [:]
        var order: [String] = []
        var children: [String: [String]] = [:]
        for concept in concepts where byCode[concept.code] == nil {
            byCode[concept.code] = concept
            order.append(concept.code)
            if let parent = concept.parent { children[parent, default: []].append(concept.code) }
        }
        self.concepts = byCode
        self.order = order
        self.children = children
    }

    /// Reads a CodeSystem resource; nested concepts become children of the concept they sit in.
    public init(resource: JSONObject) throws(FHIRError) {
        guard resource.resourceType == "CodeSystem" else { throw FHIRError(.invalid, code: .structure, "expected a CodeSystem resource") }
        guard let url = resource["url"]?.stringValue, !url.isEmpty else {
            throw FHIRError(.invalid, code: .required, "a CodeSystem needs a url to be used for look-ups", expression: ["CodeSystem.url"])
        }
        var flat: [Concept] = []
        func walk(_ items: [JSONValue], parent: String?) {
            for item in items {
                guard let object = item.objectValue, let code = object["code"]?.stringValue else { continue }
                var concept = Concept(code: code, display: object["display"]?.stringValue ?? code, parent: parent)
                for property in object["property"]?.arrayValue ?? [] {
                    guard let property = property.objectValue else { continue }
                    switch property["code"]?.stringValue {
                    case "parent": concept.parent = property["valueCode"]?.stringValue ?? concept.parent
                    case "inactive": concept.inactive = property["valueBoolean"]?.boolValue ?? false
                    case "status": concept.inactive = ["retired", "inactive"].contains(property["valueCode"]?.stringValue ?? "")
                    case let code?:
                        if let value = property["valueString"]?.stringValue { concept.properties.append(.init(code, value)) }
                    default: break
                    }
                }
                flat.append(concept)
                walk(object["concept"]?.arrayValue ?? [], parent: code)
            }
        }
        walk(resource["concept"]?.arrayValue ?? [], parent: nil)
        self.init(url: url, version: resource["version"]?.stringValue, name: resource["name"]?.stringValue ?? url,
                  title: resource["title"]?.stringValue ?? resource["name"]?.stringValue ?? url,
                  content: resource["content"]?.stringValue ?? "complete", source: resource["description"]?.stringValue ?? "", concepts: flat,
                  propertyDefinitions: (resource["property"]?.arrayValue ?? []).compactMap { item in
                      guard let item = item.objectValue, item["type"]?.stringValue == "string", let code = item["code"]?.stringValue else { return nil }
                      return (code, item["description"]?.stringValue ?? "")
                  })
    }

    /// The CodeSystem resource, concepts flat with a `parent` property (how large releases stay readable).
    public func resource(id: String) -> JSONObject {
        var members: [(key: String, value: JSONValue)] = [
            ("resourceType", .string("CodeSystem")), ("id", .string(id)), ("url", .string(url)),
        ]
        if let version { members.append(("version", .string(version))) }
        members += [("name", .string(name)), ("title", .string(title)), ("status", .string("active")),
                    ("description", .string(source)), ("hierarchyMeaning", .string("is-a")),
                    ("content", .string(content)), ("count", .number(String(order.count)))]
        var declared: [JSONValue] = []
        if !children.isEmpty { declared.append(.object(JSONObject([("code", .string("parent")), ("type", .string("code"))]))) }
        if concepts.values.contains(where: \.inactive) { declared.append(.object(JSONObject([("code", .string("inactive")), ("type", .string("boolean"))]))) }
        for definition in propertyDefinitions {
            declared.append(.object(JSONObject([("code", .string(definition.code)), ("description", .string(definition.description)), ("type", .string("string"))])))
        }
        if !declared.isEmpty { members.append(("property", .array(declared))) }
        members.append(("concept", .array(order.compactMap { concepts[$0] }.map { concept in
            var item: [(key: String, value: JSONValue)] = [("code", .string(concept.code)), ("display", .string(concept.display))]
            var properties: [JSONValue] = []
            if let parent = concept.parent { properties.append(.object(JSONObject([("code", .string("parent")), ("valueCode", .string(parent))]))) }
            if concept.inactive { properties.append(.object(JSONObject([("code", .string("inactive")), ("valueBoolean", .bool(true))]))) }
            for property in concept.properties {
                properties.append(.object(JSONObject([("code", .string(property.code)), ("valueString", .string(property.value))])))
            }
            if !properties.isEmpty { item.append(("property", .array(properties))) }
            return .object(JSONObject(item))
        })))
        return JSONObject(members)
    }

    /// Whether `code` is `ancestor` or lies below it.
    public func isA(_ code: String, _ ancestor: String) -> Bool {
        var current: String? = code
        var steps = 0
        while let here = current, steps < 64 {
            if here == ancestor { return true }
            current = concepts[here]?.parent
            steps += 1
        }
        return false
    }

    /// The codes directly below `code`.
    public func childCodes(of code: String) -> [String] { children[code] ?? [] }
}
