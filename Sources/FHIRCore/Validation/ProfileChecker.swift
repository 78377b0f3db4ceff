/// Checks a resource against a profile (a constraining StructureDefinition the server holds): the
/// profile's type, the cardinality it sets on each element, and its fixed and pattern values. Slices
/// (`sliceName`), extension definitions by URL and profiles' own invariants are not checked, and each
/// skipped kind is named in the answer as information, so a caller knows what "valid" covered.
public struct ProfileChecker: Sendable {
    /// One element rule of the profile.
    struct Rule: Sendable {
        let path: String
        let parentPath: String
        let child: FHIRPathExpression
        let min: Int
        let max: Int?
        /// `fixed[x]` (exact) or `pattern[x]` (a subset the value must contain).
        let expected: JSONValue?
        let isFixed: Bool
    }

    public let url: String
    public let type: String
    let rules: [Rule]
    /// How many slice and invariant definitions the profile has that are not checked.
    let skipped: Int
    private let engine: FHIRPathEngine

    /// Reads a StructureDefinition; a definition without a type or elements is refused by name.
    public init(structureDefinition profile: JSONObject, definitions: Definitions = .r4) throws(FHIRError) {
        guard profile.resourceType == "StructureDefinition", let url = profile["url"]?.stringValue, let type = profile["type"]?.stringValue else {
            throw FHIRError(.invalid, code: .invalid, "a profile must be a StructureDefinition with a url and a type")
        }
        guard definitions.isResourceType(type) else {
            throw FHIRError(.invalid, code: .notSupported, "the profile \(url) constrains \(type), which is not a resource type; only resource profiles are checked")
        }
        let elements = (profile["snapshot"]?.objectValue?["element"] ?? profile["differential"]?.objectValue?["element"])?.arrayValue ?? []
        var rules: [Rule] = []
        var skipped = 0
        for case .object(let element) in elements {
            guard let path = element["path"]?.stringValue, path.contains(".") else { continue }
            if element["sliceName"] != nil || (element["id"]?.stringValue?.contains(":") ?? false) { skipped += 1; continue }
            skipped += (element["constraint"]?.arrayValue ?? []).filter { $0.objectValue?["source"]?.stringValue == url }.count
            let dot = path.lastIndex(of: ".")!
            let parentPath = String(path[..<dot])
            var name = String(path[path.index(after: dot)...])
            if name.hasSuffix("[x]") { name.removeLast(3) }
            guard let child = try? FHIRPathParser.parse(name) else { continue }
            var expected: JSONValue?
            var isFixed = false
            for (key, value) in element where key.hasPrefix("fixed") || key.hasPrefix("pattern") {
                expected = value
                isFixed = key.hasPrefix("fixed")
            }
            let max = element["max"]?.stringValue
            rules.append(Rule(path: path, parentPath: parentPath, child: child, min: Self.integer(element["min"]) ?? 0,
                              max: max == "*" ? nil : max.flatMap(Int.init), expected: expected, isFixed: isFixed))
        }
        self.url = url
        self.type = type
        self.rules = rules
        self.skipped = skipped
        self.engine = FHIRPathEngine(definitions: definitions)
    }

    /// Every way `resource` departs from the profile, each naming the element, the profile and what it requires.
    public func check(_ resource: JSONObject) -> [FHIRIssue] {
        guard resource.resourceType == type else {
            return [FHIRIssue(code: .invalid, diagnostics: "the profile \(url) is for \(type), not \(resource.resourceType ?? "this resource")",
                              expression: [resource.resourceType ?? "Resource"])]
        }
        let root: [FHIRPathItem] = [.node(.resource(resource))]
        var parentsByPath: [String: [FHIRPathNode]] = [type: [.resource(resource)]]
        func parents(_ path: String) -> [FHIRPathNode] {
            if let known = parentsByPath[path] { return known }
            let nodes: [FHIRPathNode]
            if let expression = try? FHIRPathParser.parse(path), let items = try? engine.evaluate(expression, focus: root, rootResource: root) {
                nodes = items.compactMap { if case .node(let node) = $0 { node } else { nil } }
            } else {
                nodes = []
            }
            parentsByPath[path] = nodes
            return nodes
        }
        var issues: [FHIRIssue] = []
        for rule in rules {
            for parent in parents(rule.parentPath) {
                let items = (try? engine.evaluate(rule.child, focus: [.node(parent)], rootResource: root)) ?? []
                let location = parent.location + "." + (rule.path.split(separator: ".").last.map(String.init) ?? rule.path)
                if items.count < rule.min {
                    issues.append(FHIRIssue(code: .required, diagnostics: "the profile \(url) requires at least \(rule.min) \(rule.path), found \(items.count)",
                                            expression: [location]))
                }
                if let max = rule.max, items.count > max {
                    issues.append(FHIRIssue(code: .structure,
                                            diagnostics: max == 0 ? "the profile \(url) does not allow \(rule.path)"
                                                : "the profile \(url) allows at most \(max) \(rule.path), found \(items.count)",
                                            expression: [location]))
                }
                guard let expected = rule.expected else { continue }
                for case .node(let node) in items {
                    guard let value = node.value else { continue }
                    let matches = rule.isFixed ? value == expected : Self.contains(value, pattern: expected)
                    if !matches {
                        issues.append(FHIRIssue(code: .value, diagnostics: "the profile \(url) \(rule.isFixed ? "fixes" : "sets a pattern for") \(rule.path); this value differs",
                                                expression: [node.location]))
                    }
                }
            }
        }
        return issues
    }

    /// What the check did not cover, as one information issue (nil when it covered everything).
    public var coverageNote: FHIRIssue? {
        guard skipped > 0 else { return nil }
        return FHIRIssue(severity: .information, code: .informational,
                         diagnostics: "\(skipped) slice and invariant definitions of the profile \(url) were not checked; cardinality, fixed and pattern values were")
    }

    static func integer(_ value: JSONValue?) -> Int? {
        if case .number(let text)? = value { return Int(text) }
        return nil
    }

    /// FHIR's pattern rule: every member the pattern has, the value has with the same content; arrays
    /// match when each pattern item is matched by some item of the value.
    static func contains(_ value: JSONValue, pattern: JSONValue) -> Bool {
        switch (value, pattern) {
        case (.object(let object), .object(let wanted)):
            return wanted.allSatisfy { key, member in object[key].map { contains($0, pattern: member) } ?? false }
        case (.array(let items), .array(let wanted)):
            return wanted.allSatisfy { member in items.contains { contains($0, pattern: member) } }
        case (.array(let items), _):
            return items.contains { contains($0, pattern: pattern) }
        default:
            return value == pattern
        }
    }
}
