/// SMART on FHIR scopes (App Launch v2, with v1 forms accepted): what an app
/// asked for and the user granted. Scopes only narrow what the Patientdatalag
/// rules allow; they never widen it.
public struct ScopeSet: Sendable, Equatable, CustomStringConvertible {
    /// `patient/`, `user/` or `system/`.
    public enum Context: String, Sendable { case patient, user, system }

    /// One resource scope, e.g. `patient/Observation.rs`.
    public struct ResourceScope: Sendable, Equatable {
        public let context: Context
        /// A resource type or `*`.
        public let type: String
        /// Any of `c r u d s`.
        public let interactions: Set<Character>
    }

    public let resources: [ResourceScope]
    /// Every scope as given, including `openid`, `fhirUser`, `launch/patient`, `offline_access`.
    public let all: [String]

    /// Parses a space-separated scope string; unknown scopes are kept in `all` and grant nothing.
    public init(_ text: String) {
        all = text.split(separator: " ").map(String.init)
        resources = all.compactMap(Self.parse)
    }

    static func parse(_ scope: String) -> ResourceScope? {
        guard let slash = scope.firstIndex(of: "/"), let context = Context(rawValue: String(scope[..<slash])) else { return nil }
        let rest = scope[scope.index(after: slash)...]
        guard let dot = rest.lastIndex(of: ".") else { return nil }
        let type = String(rest[..<dot])
        let action = String(rest[rest.index(after: dot)...])
        var interactions: Set<Character>
        switch action {
        case "read": interactions = ["r", "s"]
        case "write": interactions = ["c", "u", "d"]
        case "*": interactions = ["c", "r", "u", "d", "s"]
        default:
            // v2: letters in the order c r u d s, each at most once.
            let letters = Array(action)
            guard !letters.isEmpty, letters.allSatisfy({ "cruds".contains($0) }), letters == letters.sorted(by: { Self.order($0) < Self.order($1) }),
                  Set(letters).count == letters.count
            else { return nil }
            interactions = Set(letters)
        }
        guard type == "*" || (type.first?.isUppercase ?? false) else { return nil }
        return ResourceScope(context: context, type: type, interactions: interactions)
    }

    private static func order(_ c: Character) -> Int { Array("cruds").firstIndex(of: c) ?? 9 }

    public func contains(_ scope: String) -> Bool { all.contains(scope) }

    /// Whether some scope of `context` allows `interaction` (`c r u d s`) on `type`.
    public func allows(_ interaction: Character, on type: String, in contexts: Set<Context>) -> Bool {
        resources.contains { contexts.contains($0.context) && ($0.type == "*" || $0.type == type) && $0.interactions.contains(interaction) }
    }

    public var description: String { all.joined(separator: " ") }

    /// Keeps only the requested scopes that `allowed` also grants (a client's registered scopes).
    public func narrowed(to allowed: ScopeSet) -> ScopeSet {
        ScopeSet(all.filter { scope in
            if allowed.all.contains(scope) { return true }
            guard let resource = Self.parse(scope) else { return false }
            return resource.interactions.allSatisfy { allowed.allows($0, on: resource.type == "*" ? "*" : resource.type, in: [resource.context]) }
                && (resource.type != "*" || allowed.resources.contains { $0.context == resource.context && $0.type == "*" })
        }.joined(separator: " "))
    }
}
