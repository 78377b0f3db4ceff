import Foundation

/// Evaluates FHIRPath over stored resource JSON, typed by the R4 definitions
/// (so `Observation.value.ofType(Quantity)` finds `valueQuantity`).
public struct FHIRPathEngine: Sendable {
    let definitions: Definitions
    /// Whether nodes carry their path (`Patient.name[0]`) for messages; indexing does without it.
    let tracksLocations: Bool
    /// Whether nodes know the element definition they instantiate, which invariant checking needs.
    let tracksElements: Bool

    public init(definitions: Definitions = .r4, tracksLocations: Bool = true, tracksElements: Bool = true) {
        self.definitions = definitions
        self.tracksLocations = tracksLocations
        self.tracksElements = tracksElements
    }

    /// The evaluation context: the root and the variables in scope.
    struct Context {
        var variables: [String: [FHIRPathItem]]
        var this: [FHIRPathItem]? = nil
        var index: Int? = nil
        var total: [FHIRPathItem]? = nil
    }

    /// Evaluates `expression` with `resource` as focus, `%resource`, `%context` and `%rootResource`.
    public func evaluate(_ expression: FHIRPathExpression, on resource: JSONObject,
                         environment: [String: [FHIRPathItem]] = [:]) throws(FHIRPathError) -> [FHIRPathItem] {
        let root: [FHIRPathItem] = [.node(.resource(resource))]
        return try evaluate(expression, focus: root, rootResource: root, environment: environment)
    }

    /// Evaluates with an explicit focus (an element, for invariants) and root resource.
    public func evaluate(_ expression: FHIRPathExpression, focus: [FHIRPathItem], rootResource: [FHIRPathItem],
                         environment: [String: [FHIRPathItem]] = [:]) throws(FHIRPathError) -> [FHIRPathItem] {
        try eval(expression, focus, context(focus: focus, rootResource: rootResource, environment: environment))
    }

    /// The variables of an evaluation, built once and reused for every expression on the same resource.
    func context(focus: [FHIRPathItem], rootResource: [FHIRPathItem], environment: [String: [FHIRPathItem]] = [:]) -> Context {
        var variables = environment
        variables["resource"] = variables["resource"] ?? rootResource
        variables["rootResource"] = variables["rootResource"] ?? rootResource
        variables["context"] = variables["context"] ?? focus
        variables["ucum"] = [.string("http://unitsofmeasure.org")]
        variables["sct"] = [.string("http://snomed.info/sct")]
        variables["loinc"] = [.string("http://loinc.org")]
        return Context(variables: variables)
    }

    // MARK: Expressions

    func eval(_ expression: FHIRPathExpression, _ focus: [FHIRPathItem], _ context: Context) throws(FHIRPathError) -> [FHIRPathItem] {
        switch expression {
        case .literal(let item):
            return [item]
        case .empty:
            return []
        case .variable(let name):
            switch name {
            case "$this": return context.this ?? focus
            case "$index": return context.index.map { [.integer($0)] } ?? []
            case "$total": return context.total ?? []
            default:
                if name.hasPrefix("vs-") { return [.string("http://hl7.org/fhir/ValueSet/" + name.dropFirst(3))] }
                if name.hasPrefix("ext-") { return [.string("http://hl7.org/fhir/StructureDefinition/" + name.dropFirst(4))] }
                guard let value = context.variables[name] else { throw FHIRPathError(.semantic, "unknown variable %\(name)") }
                return value
            }
        case .member(let receiver, let name):
            let input = try receiver.map { (r) throws(FHIRPathError) in try eval(r, focus, context) } ?? focus
            var result: [FHIRPathItem] = []
            // At the start of a path a type name filters the focus (`Patient.name`).
            if receiver == nil, name.first?.isUppercase == true, definitions.types[name] != nil {
                return input.filter { item in
                    if case .node(let node) = item { return definitions.type(node.typeName, derivesFrom: name) }
                    return false
                }
            }
            // A static path naming an element its type lacks is a semantic error; after
            // children() or descendants() the type varies, and a missing element is just empty.
            var strict = true
            if case .function? = receiver { strict = false }
            for item in input {
                switch item {
                case .node(let node):
                    result += try children(of: node, named: name, strict: strict)
                case .typeInfo(let namespace, let typeName):
                    if name == "namespace" { result.append(.string(namespace)) }
                    if name == "name" { result.append(.string(typeName)) }
                default:
                    continue
                }
            }
            return result
        case .function(let receiver, let name, let arguments):
            let input = try receiver.map { (r) throws(FHIRPathError) in try eval(r, focus, context) } ?? (context.this ?? focus)
            return try call(name, input: input, arguments: arguments, context: context, focus: focus)
        case .indexer(let base, let indexExpression):
            let items = try eval(base, focus, context)
            guard let index = try integer(eval(indexExpression, focus, context), "indexer") else { return [] }
            return index >= 0 && index < items.count ? [items[index]] : []
        case .negate(let inner):
            let items = try eval(inner, focus, context)
            guard items.count <= 1 else { throw FHIRPathError(.execution, "unary minus needs a single value") }
            guard let item = items.first?.systemValue else { return [] }
            switch item {
            case .integer(let i): return [.integer(-i)]
            case .decimal(let d): return [.decimal(FHIRPathDecimal(-d.value, scale: d.scale))]
            case .quantity(var q): q.value.value = -q.value.value; return [.quantity(q)]
            default: throw FHIRPathError(.execution, "unary minus cannot apply to this value")
            }
        case .typeOperator(let op, let inner, let type):
            let items = try eval(inner, focus, context)
            try checkType(type)
            // R4 search expressions apply `as` to collections (`Observation.component.value as Quantity`): it filters them.
            if op == "as" { return items.filter { isType($0, type, exactPrimitive: true) } }
            guard items.count <= 1 else { throw FHIRPathError(.execution, "'\(op)' needs a single value but got \(items.count)") }
            guard let item = items.first else { return [] }
            return [.boolean(isType(item, type))]
        case .binary(let op, let left, let right):
            return try binary(op, left, right, focus, context)
        }
    }

    // MARK: Navigation

    /// The members named `name` of `node`, typed from the definitions; choice elements match by prefix.
    func children(of node: FHIRPathNode, named name: String, strict: Bool = false) throws(FHIRPathError) -> [FHIRPathItem] {
        guard let object = node.object else {
            // A primitive's id and extensions live in its `_name` sibling.
            if let extra = node.primitiveExtension, let value = extra[name] {
                return wrap(value, extension: nil, typeName: name == "extension" ? "Extension" : "string",
                            definitionType: name == "extension" ? "Extension" : "string", definitionPath: "", location: node.location + "." + name)
            }
            return []
        }
        let typeDefinition = definitions.types[node.definitionType]
        if let typeDefinition, let elements = typeDefinition.childrenByName[node.definitionPath] {
            if let element = elements[name] {
                let childPath = element.path
                if element.isChoice {
                    var result: [FHIRPathItem] = []
                    for type in element.types {
                        let key = name + type.capitalizedFirst
                        if object[key] != nil || object["_" + key] != nil {
                            result += member(object, key: key, type: type, in: typeDefinition, elementPath: childPath, parent: node)
                        }
                    }
                    return result
                }
                return member(object, key: name, type: element.types.first ?? "", in: typeDefinition, elementPath: childPath, parent: node)
            }
            guard strict else { return [] }
            throw FHIRPathError(.semantic, "\(node.typeName.isEmpty ? node.definitionType : node.typeName) has no element '\(name)'")
        }
        return member(object, key: name, type: "", in: nil, elementPath: name, parent: node)
    }

    private func member(_ object: JSONObject, key: String, type: String, in definition: TypeDefinition?, elementPath: String,
                        parent: FHIRPathNode) -> [FHIRPathItem] {
        var definitionType = type
        var definitionPath = ""
        if let definition, let inline = definition.childrenPath(for: elementPath), type == "BackboneElement" || type == "Element" || definition.elementsByPath[elementPath]?.contentReference != nil {
            definitionType = definition.name
            definitionPath = inline
        }
        let items = wrap(object[key], extension: object["_" + key], typeName: type, definitionType: definitionType, definitionPath: definitionPath,
                         location: tracksLocations ? parent.location + "." + key : "")
        guard tracksElements, let definition else { return items }
        // Invariant checking needs to know which element definition each node instantiates.
        return items.map { item in
            guard case .node(var node) = item, node.definitionPath.isEmpty || node.definitionType == definition.name else { return item }
            node.elementType = definition.name
            node.elementPath = elementPath
            return .node(node)
        }
    }

    private func wrap(_ value: JSONValue?, extension primitiveExtension: JSONValue?, typeName: String, definitionType: String, definitionPath: String,
                      location: String) -> [FHIRPathItem] {
        func one(_ value: JSONValue?, _ extra: JSONValue?, _ location: String) -> FHIRPathItem? {
            if value == nil || value == .null, extra == nil || extra == .null { return nil }
            let value = value == .null ? nil : value
            // Resource-typed members (contained, Bundle.entry.resource) take their type from the instance.
            if typeName == "Resource" || typeName == "DomainResource" || typeName.isEmpty,
               let type = value?.objectValue?["resourceType"]?.stringValue, definitions.types[type] != nil {
                return .node(FHIRPathNode(value: value, typeName: type, definitionType: type, definitionPath: "", location: location))
            }
            return .node(FHIRPathNode(value: value, primitiveExtension: extra?.objectValue, typeName: typeName,
                                      definitionType: definitionType, definitionPath: definitionPath, location: location))
        }
        if case .array(let items)? = value {
            let extras = primitiveExtension?.arrayValue ?? []
            return items.enumerated().compactMap { i, item in one(item, i < extras.count ? extras[i] : nil, tracksLocations ? "\(location)[\(i)]" : "") }
        }
        if value == nil, case .array(let extras)? = primitiveExtension {
            return extras.enumerated().compactMap { i, extra in one(nil, extra, "\(location)[\(i)]") }
        }
        return one(value, primitiveExtension, location).map { [$0] } ?? []
    }

    /// Every child node of `node`, in document order.
    func allChildren(of node: FHIRPathNode) -> [FHIRPathItem] {
        guard let object = node.object else {
            return node.primitiveExtension?["extension"].map {
                wrap($0, extension: nil, typeName: "Extension", definitionType: "Extension", definitionPath: "", location: node.location + ".extension")
            } ?? []
        }
        var result: [FHIRPathItem] = []
        let definition = definitions.types[node.definitionType]
        for (key, value) in object where key != "resourceType" {
            if key.hasPrefix("_") {
                // A primitive that has only its `_name` part (an id or extensions, no value).
                let name = String(key.dropFirst())
                guard object[name] == nil else { continue }
                if let definition, let property = definition.properties[node.definitionPath]?[name] {
                    result += member(object, key: name, type: property.type, in: definition, elementPath: property.element.path, parent: node)
                } else {
                    result += wrap(nil, extension: value, typeName: "", definitionType: "", definitionPath: "", location: node.location + "." + name)
                }
                continue
            }
            if let definition, let property = definition.properties[node.definitionPath]?[key] {
                result += member(object, key: key, type: property.type, in: definition, elementPath: property.element.path, parent: node)
            } else {
                result += wrap(value, extension: object["_" + key], typeName: "", definitionType: "", definitionPath: "", location: node.location + "." + key)
            }
        }
        return result
    }

    // MARK: Types

    /// `is`/`as`/`ofType`: FHIR types match by inheritance, System types by name.
    /// Checks that a type specifier names a FHIR or System type.
    func checkType(_ specifier: String) throws(FHIRPathError) {
        let name = specifier.split(separator: ".").last.map(String.init) ?? specifier
        guard definitions.types[name] != nil || Self.systemTypes.contains(name) else {
            throw FHIRPathError(.semantic, "unknown type '\(specifier)'")
        }
    }

    static let systemTypes: Set<String> = ["Boolean", "Integer", "Decimal", "String", "Date", "DateTime", "Time", "Quantity"]

    func isType(_ item: FHIRPathItem, _ specifier: String, exactPrimitive: Bool = false) -> Bool {
        var namespace: String?
        var name = specifier
        if let dot = specifier.firstIndex(of: ".") {
            namespace = String(specifier[..<dot])
            name = String(specifier[specifier.index(after: dot)...])
        }
        if case .node(let node) = item {
            guard namespace == nil || namespace == "FHIR" else { return false }
            if node.typeName.isEmpty { return false }
            // The suite has a `code` pass `is(string)` but not `as(string)`: casts of primitives are exact.
            if exactPrimitive, definitions.primitives.contains(node.typeName) { return node.typeName == name }
            return definitions.type(node.typeName, derivesFrom: name)
        }
        guard namespace == nil || namespace == "System" else { return false }
        return systemTypeName(item) == name
    }

    func systemTypeName(_ item: FHIRPathItem) -> String {
        switch item {
        case .boolean: "Boolean"
        case .integer: "Integer"
        case .decimal: "Decimal"
        case .string: "String"
        case .quantity: "Quantity"
        case .temporal(let t): t.kind == .date ? "Date" : t.kind == .time ? "Time" : "DateTime"
        case .node(let node): node.typeName
        case .typeInfo: "TypeInfo"
        }
    }

    // MARK: Helpers

    func integer(_ items: [FHIRPathItem], _ what: String) throws(FHIRPathError) -> Int? {
        guard items.count <= 1 else { throw FHIRPathError(.execution, "\(what) needs a single integer") }
        guard let item = items.first?.systemValue else { return nil }
        if case .integer(let i) = item { return i }
        throw FHIRPathError(.execution, "\(what) needs an integer")
    }

    func singleString(_ items: [FHIRPathItem], _ what: String) throws(FHIRPathError) -> String? {
        guard items.count <= 1 else { throw FHIRPathError(.execution, "\(what) needs a single string but got \(items.count) items") }
        guard let item = items.first?.systemValue else { return nil }
        if case .string(let s) = item { return s }
        throw FHIRPathError(.execution, "\(what) needs a string")
    }

    /// Singleton evaluation of a collection as a Boolean: empty is nil, one boolean is itself, another single item is true.
    func boolean(_ items: [FHIRPathItem], _ what: String) throws(FHIRPathError) -> Bool? {
        guard let first = items.first else { return nil }
        guard items.count == 1 else { throw FHIRPathError(.execution, "\(what) needs a single boolean but got \(items.count) items") }
        if case .boolean(let b)? = first.systemValue { return b }
        return true
    }
}
