/// FHIRPath Patch (R4 fhirpatch.html): a Parameters resource of `operation`s — add, insert, delete,
/// replace, move — each addressing elements by a FHIRPath expression. Applied in order to a copy of the
/// resource; a failing operation names its index, type and path, and nothing is applied.
public struct FHIRPathPatch: Sendable {
    let definitions: Definitions
    private let engine: FHIRPathEngine

    public init(definitions: Definitions = .r4) {
        self.definitions = definitions
        engine = FHIRPathEngine(definitions: definitions, tracksLocations: true)
    }

    /// One step of a node's location (`name[2]` → ("name", 2)).
    struct Step: Equatable {
        var key: String
        var index: Int?
    }

    public func apply(_ parameters: JSONObject, to resource: JSONObject) throws(FHIRError) -> JSONObject {
        guard parameters.resourceType == "Parameters" else {
            throw FHIRError(.invalid, code: .structure, "a FHIRPath Patch is a Parameters resource, not a \(parameters.resourceType ?? "body without resourceType")")
        }
        var result = resource
        for (index, parameter) in (parameters["parameter"]?.arrayValue ?? []).enumerated() {
            guard let parameter = parameter.objectValue, parameter["name"]?.stringValue == "operation" else {
                throw FHIRError(.invalid, code: .structure, "Parameters.parameter[\(index)] is not an 'operation'", expression: ["Parameters.parameter[\(index)]"])
            }
            try applyOperation(parameter, index: index, to: &result)
        }
        return result
    }

    private func applyOperation(_ operation: JSONObject, index: Int, to resource: inout JSONObject) throws(FHIRError) {
        var parts: [String: JSONObject] = [:]
        for case .object(let part) in operation["part"]?.arrayValue ?? [] {
            if let name = part["name"]?.stringValue { parts[name] = part }
        }
        let at = "Parameters.parameter[\(index)]"
        func text(_ name: String) throws(FHIRError) -> String {
            guard let part = parts[name], let value = part.first(where: { $0.key.hasPrefix("value") })?.value.stringValue else {
                throw FHIRError(.invalid, code: .required, "\(at): the operation has no '\(name)' part", expression: [at])
            }
            return value
        }
        func integer(_ name: String) throws(FHIRError) -> Int {
            guard case .number(let n)? = parts[name]?["valueInteger"], let value = Int(n) else {
                throw FHIRError(.invalid, code: .required, "\(at): the operation needs an integer '\(name)' part", expression: [at])
            }
            return value
        }
        let type = try text("type")
        let path = try text("path")
        let label = "\(at) (\(type) \(path))"
        let targets = try locate(path, in: resource, label: label)
        switch type {
        case "add":
            let name = try text("name")
            guard targets.count == 1 else { throw notSingle(targets.count, label: label) }
            let (value, suffix) = try self.value(parts["value"], label: label)
            let original = resource
            try modify(targets[0], in: &resource, label: label) { (container: inout JSONValue) throws(FHIRError) in
                guard case .object(var object) = container else { throw FHIRError(.invalid, code: .structure, "\(label): the path is not an element that has children") }
                // A choice element is named by its base ("deceased"); the value's type completes the key ("deceasedBoolean").
                var key = name
                if property(container: targets[0], resource: original, name: name) == nil, let suffix,
                   property(container: targets[0], resource: original, name: name + suffix) != nil {
                    key = name + suffix
                }
                if case .array(var items)? = object[key] {
                    items.append(value)
                    object[key] = .array(items)
                } else if object[key] != nil {
                    throw FHIRError(.unprocessable, code: .invalid, "\(label): '\(key)' already has a value and does not repeat; use replace")
                } else {
                    let repeats = property(container: targets[0], resource: original, name: key)?.element.isRepeating ?? false
                    object[key] = repeats ? .array([value]) : value
                }
                container = .object(object)
            }
        case "insert":
            let position = try integer("index")
            let (value, _) = try self.value(parts["value"], label: label)
            try insert(value, at: position, path: path, targets: targets, resource: &resource, label: label)
        case "delete":
            guard targets.count <= 1 else { throw notSingle(targets.count, label: label) }
            guard let target = targets.first else { return }
            try remove(target, from: &resource, label: label)
            // FHIR has no empty elements: a parent left with nothing goes too.
            if case .object(let pruned) = Self.pruned(.object(resource)) { resource = pruned }
        case "replace":
            guard targets.count == 1 else { throw notSingle(targets.count, label: label) }
            let (value, _) = try self.value(parts["value"], label: label)
            try modify(targets[0], in: &resource, label: label) { (element: inout JSONValue) throws(FHIRError) in element = value }
        case "move":
            let source = try integer("source"), destination = try integer("destination")
            guard let list = targets.first, let key = list.last?.key else { throw FHIRError(.unprocessable, code: .notFound, "\(label): the path finds no list") }
            let parent = Array(list.dropLast())
            try modify(parent, in: &resource, label: label) { (container: inout JSONValue) throws(FHIRError) in
                guard case .object(var object) = container, case .array(var items)? = object[key], items.indices.contains(source),
                      destination >= 0, destination < items.count else {
                    throw FHIRError(.unprocessable, code: .invalid, "\(label): source \(source) or destination \(destination) is outside the list")
                }
                let moved = items.remove(at: source)
                items.insert(moved, at: destination)
                object[key] = .array(items)
                container = .object(object)
            }
        default:
            throw FHIRError(.invalid, code: .value, "\(at): '\(type)' is not a FHIRPath Patch operation (add, insert, delete, replace, move)", expression: [at])
        }
    }

    private func notSingle(_ count: Int, label: String) -> FHIRError {
        FHIRError(.unprocessable, code: count == 0 ? .notFound : .multipleMatches,
                  count == 0 ? "\(label): no content found at the path" : "\(label): the path finds \(count) elements; it must find one")
    }

    /// The JSON locations of what `path` selects, as steps below the resource root.
    private func locate(_ path: String, in resource: JSONObject, label: String) throws(FHIRError) -> [[Step]] {
        let items: [FHIRPathItem]
        do {
            items = try engine.evaluate(try FHIRPathParser.parse(path), on: resource)
        } catch {
            throw FHIRError(.invalid, code: .invalid, "\(label): the path does not evaluate: \(error)")
        }
        return try items.map { item throws(FHIRError) in
            guard case .node(let node) = item, !node.location.isEmpty else {
                throw FHIRError(.invalid, code: .invalid, "\(label): the path must select elements of the resource, not computed values")
            }
            return Self.steps(node.location)
        }
    }

    /// `Patient.name[0].given[1]` → [name 0, given 1] (the first segment is the resource type).
    static func steps(_ location: String) -> [Step] {
        location.split(separator: ".").dropFirst().map { segment in
            if let open = segment.firstIndex(of: "["), let index = Int(segment[segment.index(after: open)...].dropLast()) {
                return Step(key: String(segment[..<open]), index: index)
            }
            return Step(key: String(segment), index: nil)
        }
    }

    /// The definition of the element `name` (a JSON key) under the element at `container`, from the R4 definitions.
    private func property(container: [Step], resource: JSONObject, name: String) -> TypeDefinition.Property? {
        guard let type = resource.resourceType, let definition = definitions.types[type] else { return nil }
        var currentType = definition
        var path = ""
        for step in container {
            let childPath = path.isEmpty ? step.key : path + "." + step.key
            guard let children = currentType.childrenPath(for: path), let property = currentType.properties[children]?[step.key] else { return nil }
            if currentType.children[childPath] != nil || property.element.contentReference != nil {
                path = property.element.contentReference ?? childPath
            } else if let next = definitions.types[property.type] {
                currentType = next
                path = ""
            } else {
                return nil
            }
        }
        guard let children = currentType.childrenPath(for: path) else { return nil }
        return currentType.properties[children]?[name]
    }

    /// The `value` part: a `value[x]` (with its type suffix, for naming a choice element) or, for an
    /// anonymous (backbone) type, nested parts that become its members.
    private func value(_ part: JSONObject?, label: String) throws(FHIRError) -> (JSONValue, String?) {
        guard let part else { throw FHIRError(.invalid, code: .required, "\(label): the operation has no 'value' part") }
        if let member = part.first(where: { $0.key.hasPrefix("value") && $0.key != "value" }) {
            return (member.value, String(member.key.dropFirst(5)))
        }
        guard case .array(let nested)? = part["part"] else { throw FHIRError(.invalid, code: .required, "\(label): the 'value' part has no value") }
        var object = JSONObject()
        for case .object(let child) in nested {
            guard let name = child["name"]?.stringValue else { continue }
            let (value, _) = try self.value(child, label: label)
            if case .array(var items)? = object[name] { items.append(value); object[name] = .array(items) } else { object[name] = value }
        }
        return (.object(object), nil)
    }

    private func insert(_ value: JSONValue, at position: Int, path: String, targets: [[Step]], resource: inout JSONObject, label: String) throws(FHIRError) {
        // The list is the element the path names; it may be empty, so find its key from the path when nothing matched.
        let list: [Step]
        if let first = targets.first {
            list = Array(first.dropLast()) + [Step(key: first.last!.key, index: nil)]
        } else {
            throw FHIRError(.unprocessable, code: .notFound, "\(label): no content found at the path to insert into")
        }
        let key = list.last!.key
        try modify(Array(list.dropLast()), in: &resource, label: label) { (container: inout JSONValue) throws(FHIRError) in
            guard case .object(var object) = container else { throw FHIRError(.invalid, code: .structure, "\(label): the list's parent is not an element") }
            var items = object[key]?.arrayValue ?? []
            guard position >= 0, position <= items.count else {
                throw FHIRError(.unprocessable, code: .invalid, "\(label): index \(position) is outside the list of \(items.count)")
            }
            items.insert(value, at: position)
            object[key] = .array(items)
            container = .object(object)
        }
    }

    private func remove(_ target: [Step], from resource: inout JSONObject, label: String) throws(FHIRError) {
        guard let last = target.last else { throw FHIRError(.invalid, code: .invalid, "\(label): the resource itself cannot be deleted by a patch") }
        try modify(Array(target.dropLast()), in: &resource, label: label) { (container: inout JSONValue) throws(FHIRError) in
            guard case .object(var object) = container else { return }
            if let index = last.index, case .array(var items)? = object[last.key], items.indices.contains(index) {
                items.remove(at: index)
                object[last.key] = items.isEmpty ? nil : .array(items)
                if case .array(var extensions)? = object["_" + last.key], extensions.indices.contains(index) {
                    extensions.remove(at: index)
                    object["_" + last.key] = extensions.isEmpty ? nil : .array(extensions)
                }
            } else {
                object[last.key] = nil
                object["_" + last.key] = nil
            }
            container = .object(object)
        }
    }

    /// The value without empty objects and arrays (what deleting an element's last child leaves behind).
    static func pruned(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let object):
            var kept = JSONObject()
            for (key, member) in object {
                let inner = pruned(member)
                if inner == .object(JSONObject()) || inner == .array([]) { continue }
                kept[key] = inner
            }
            return .object(kept)
        case .array(let items):
            return .array(items.map(pruned))
        default:
            return value
        }
    }

    /// Runs `change` on the element at `steps` (the resource itself for none) and writes the result back.
    private func modify(_ steps: [Step], in resource: inout JSONObject, label: String, _ change: (inout JSONValue) throws(FHIRError) -> Void) throws(FHIRError) {
        var root = JSONValue.object(resource)
        try Self.modify(steps[...], in: &root, label: label, change)
        if case .object(let object) = root { resource = object }
    }

    private static func modify(_ steps: ArraySlice<Step>, in value: inout JSONValue, label: String, _ change: (inout JSONValue) throws(FHIRError) -> Void) throws(FHIRError) {
        guard let step = steps.first else { try change(&value); return }
        guard case .object(var object) = value, var child = object[step.key] else {
            throw FHIRError(.unprocessable, code: .notFound, "\(label): no content found at '\(step.key)'")
        }
        if let index = step.index {
            guard case .array(var items) = child, items.indices.contains(index) else {
                throw FHIRError(.unprocessable, code: .notFound, "\(label): no content found at '\(step.key)[\(index)]'")
            }
            try modify(steps.dropFirst(), in: &items[index], label: label, change)
            child = .array(items)
        } else {
            try modify(steps.dropFirst(), in: &child, label: label, change)
        }
        object[step.key] = child
        value = .object(object)
    }
}
