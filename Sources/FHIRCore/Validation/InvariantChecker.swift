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

    private let engine: FHIRPathEngine
    private let definitions: Definitions
    private let compiled: [String: [String: [Compiled]]]

    public init(definitions: Definitions) {
        self.definitions = definitions
        engine = FHIRPathEngine(definitions: definitions)
        compiled = definitions.constraints.mapValues { byPath in
            byPath.mapValues { constraints in
                constraints.compactMap { constraint in
                    guard constraint.severity == "error", let expression = try? FHIRPathParser.parse(constraint.expression) else { return nil }
                    return Compiled(constraint: constraint, expression: expression)
                }
            }
        }
    }

    /// The violated invariants of `resource`.
    public func check(_ resource: JSONObject) -> [FHIRIssue] {
        var issues: [FHIRIssue] = []
        let root = FHIRPathNode.resource(resource)
        let rootItems: [FHIRPathItem] = [.node(root)]
        let context = engine.context(focus: rootItems, rootResource: rootItems)
        var stack: [FHIRPathNode] = [root]
        while let node = stack.popLast() {
            for rule in rules(for: node) {
                // An expression the engine cannot evaluate is not held against the client.
                guard let result = try? engine.eval(rule.expression, [.node(node)], context) else { continue }
                if result.count == 1, case .boolean(false)? = result[0].systemValue {
                    issues.append(FHIRIssue(code: "invariant",
                                            diagnostics: "\(rule.constraint.key): \(rule.constraint.human) (\(rule.constraint.expression))",
                                            expression: [node.location]))
                }
            }
            for case .node(let child) in engine.allChildren(of: node).reversed() { stack.append(child) }
        }
        return issues
    }

    /// The element's own constraints, then those of its type and the types that type derives from.
    private func rules(for node: FHIRPathNode) -> [Compiled] {
        var rules = compiled[node.elementType]?[node.elementPath] ?? []
        var type: String? = node.typeName.isEmpty ? nil : node.typeName
        while let name = type {
            rules += compiled[name]?[""] ?? []
            type = definitions.types[name]?.base
        }
        return rules
    }
}
