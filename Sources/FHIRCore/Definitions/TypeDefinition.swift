/// A resource, complex or primitive type of FHIR R4, from its StructureDefinition.
public struct TypeDefinition: Sendable {
    /// What sort of type this is.
    public enum Kind: String, Sendable, Decodable {
        case primitiveType = "primitive-type"
        case complexType = "complex-type"
        case resource
    }

    /// How a JSON property maps to an element: the element, and for a choice the type it names.
    public struct Property: Sendable {
        public let element: ElementDefinition
        public let type: String
    }

    public let name: String
    public let kind: Kind
    public let isAbstract: Bool
    /// The type this one specialises (`DomainResource` for `Patient`, `string` for `code`).
    public let base: String?
    public let elements: [ElementDefinition]
    /// Elements by path, for resolving `contentReference`.
    public let elementsByPath: [String: ElementDefinition]
    /// For each element path with inline children ("" for the root): its JSON properties.
    public let properties: [String: [String: Property]]
    /// For each element path with inline children: its child elements, in snapshot order.
    public let children: [String: [ElementDefinition]]
    /// For each element path with inline children: its child elements by name (choices without `[x]`).
    public let childrenByName: [String: [String: ElementDefinition]]

    init(name: String, kind: Kind, isAbstract: Bool, base: String?, elements: [ElementDefinition]) {
        self.base = base
        self.name = name
        self.kind = kind
        self.isAbstract = isAbstract
        self.elements = elements
        var byPath: [String: ElementDefinition] = [:]
        var properties: [String: [String: Property]] = [:]
        var children: [String: [ElementDefinition]] = [:]
        for element in elements {
            byPath[element.path] = element
            children[element.parentPath, default: []].append(element)
            if element.isChoice {
                for type in element.types {
                    properties[element.parentPath, default: [:]][element.name + type.capitalizedFirst] = Property(element: element, type: type)
                }
            } else {
                properties[element.parentPath, default: [:]][element.name] = Property(element: element, type: element.types.first ?? "")
            }
        }
        self.elementsByPath = byPath
        self.properties = properties
        self.children = children
        self.childrenByName = children.mapValues { elements in
            Dictionary(elements.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        }
    }

    /// The path whose children describe the element at `path`, following `contentReference`.
    public func childrenPath(for path: String) -> String? {
        if let element = elementsByPath[path], let reference = element.contentReference { return reference }
        return children[path] == nil ? nil : path
    }
}

extension String {
    var capitalizedFirst: String {
        guard let first else { return self }
        return first.uppercased() + dropFirst()
    }
}
