/// Evaluates the invariants of the R4 StructureDefinitions (ele-1, dom-2 …,
/// and each type's own, such as pat-1) on every element of a resource, and
/// reports each violated error-level invariant with its key, its expression
/// and where it failed.
///
/// Warning-level invariants (dom-6 "should have narrative" and the like) are
/// not reported: the API refuses a write on any reported issue.
public struct InvariantChecker: Sendable {
    struct Compiled: Sendable {
        let constraint: Definitions.Constraint
        let expression: FHIRPathExpression
    }

    public static let r4 = InvariantChecker(definitions: .r4)

    /// Walks without building node paths (the common case: no violation) …
    private let engine: FHIRPathEngine
    /// … and again with them, to say where, only when something is violated.
    private let locatingEngine: FHIRPathEngine
    private let definitions: Definitions
    private let compiled: [String: [String: [Compiled]]]
    /// The root constraints of each type and of every type it derives from.
    private let inherited: [String: [Compiled]]

    public init(definitions: Definitions) {
        self.definitions = definitions
        engine = FHIRPathEngine(definitions: definitions, tracksLocations: false)
        locatingEngine = FHIRPathEngine(definitions: definitions, tracksLocations: true)
        compiled = definitions.constraints.mapValues { byPath in
            byPath.mapValues { constraints in
                constraints.compactMap { constraint in
                    guard constraint.severity == "error", let expression = try? FHIRPathParser.parse(constraint.expression) else { return nil }
                    return Compiled(constraint: constraint, expression: expression)
                }
            }
        }
        var inherited: [String: [Compiled]] = [:]
        for name in definitions.types.keys {
            var rules: [Compiled] = []
            var type: String? = name
            while let current = type {
                rules += compiled[current]?[""] ?? []
                type = definitions.types[current]?.base
            }
            inherited[name] = rules
        }
        self.inherited = inherited
    }

    /// The violated invariants of `resource`.
    public func check(_ resource: JSONObject) -> [FHIRIssue] {
        guard !check(resource, engine: engine).isEmpty else { return [] }
        return check(resource, engine: locatingEngine)
    }

    private func check(_ resource: JSONObject, engine: FHIRPathEngine) -> [FHIRIssue] {
        var issues: [FHIRIssue] = []
        let root = FHIRPathNode.resource(resource)
        let rootItems: [FHIRPathItem] = [.node(root)]
        // %resource is the nearest resource around the element (an entry's resource, a contained one, a
        // Bundle inside a Bundle); %rootResource stays the outermost, where resolve() finds entries.
        let rootContext = engine.context(focus: rootItems, rootResource: rootItems)
        var stack: [(node: FHIRPathNode, context: FHIRPathEngine.Context)] = [(root, rootContext)]
        while let (node, enclosing) = stack.popLast() {
            var context = enclosing
            if node.location != root.location, node.isResourceRoot, definitions.isResourceType(node.typeName) {
                context = engine.context(focus: rootItems, rootResource: rootItems, environment: ["resource": [.node(node)]])
            }
            for rule in rules(for: node) {
                // ele-1 holds for every element of every resource: checked directly, it costs nothing.
                if rule.constraint.key == "ele-1" {
                    if !Self.hasValueOrChildren(node) {
                        issues.append(FHIRIssue(code: .invariant,
                                                diagnostics: "ele-1: \(rule.constraint.human) (\(rule.constraint.expression))",
                                                expression: [node.location]))
                    }
                    continue
                }
                // dom-3 unions four descendants() walks per contained resource; the same rule checked
                // directly walks the resource once.
                if rule.constraint.key == "dom-3" {
                    if let object = node.object, let orphan = Self.unreferencedContained(object) {
                        issues.append(FHIRIssue(code: .invariant,
                                                diagnostics: "dom-3: \(rule.constraint.human) (contained '\(orphan)' is not referenced)",
                                                expression: [node.location]))
                    }
                    continue
                }
                // An expression the engine cannot evaluate is not held against the client.
                guard let result = try? engine.eval(rule.expression, [.node(node)], context) else { continue }
                if result.count == 1, case .boolean(false)? = result[0].systemValue {
                    issues.append(FHIRIssue(code: .invariant,
                                            diagnostics: "\(rule.constraint.key): \(rule.constraint.human) (\(rule.constraint.expression))",
                                            expression: [node.location]))
                }
            }
            for case .node(let child) in engine.allChildren(of: node).reversed() { stack.append((child, context)) }
        }
        return issues
    }

    /// The id of a contained resource that nothing in the resource references (`#id`) and that does
    /// not itself refer to its container (`#`), if there is one.
    static func unreferencedContained(_ resource: JSONObject) -> String? {
        guard case .array(let contained)? = resource["contained"], !contained.isEmpty else { return nil }
        var local = Set<String>()
        func collect(_ value: JSONValue) {
            switch value {
            case .string(let s): if s.hasPrefix("#") { local.insert(s) }
            case .array(let items): items.forEach(collect)
            case .object(let object): for (_, member) in object { collect(member) }
            default: break
            }
        }
        collect(.object(resource))
        for case .object(let inner) in contained {
            guard let id = inner["id"]?.stringValue else { continue }
            if local.contains("#" + id) { continue }
            var refersBack = false
            func scan(_ value: JSONValue) {
                switch value {
                case .string(let s): if s == "#" { refersBack = true }
                case .array(let items): items.forEach(scan)
                case .object(let object): for (_, member) in object { scan(member) }
                default: break
                }
            }
            scan(.object(inner))
            if !refersBack { return id }
        }
        return nil
    }

    /// `hasValue() or (children().count() > id.count())`, without building the children.
    static func hasValueOrChildren(_ node: FHIRPathNode) -> Bool {
        if let object = node.object { return object.keys.contains { $0 != "id" } }
        if node.value != nil { return true }
        return node.primitiveExtension?.keys.contains { $0 != "id" } ?? false
    }

    /// The element's own constraints, then those of its type and the types that type derives from.
    private func rules(for node: FHIRPathNode) -> [Compiled] {
        let own = compiled[node.elementType]?[node.elementPath] ?? []
        let fromType = inherited[node.typeName] ?? []
        return own.isEmpty ? fromType : own + fromType
    }
}
