/// One element of a type's snapshot, reduced to what validation and summaries need.
public struct ElementDefinition: Sendable, Decodable {
    /// Path below the type's root, e.g. `contact.name` or `value[x]`.
    public let path: String
    public let min: Int
    /// `"*"` or a number.
    public let max: String
    public let types: [String]
    /// For `contentReference` elements: the path whose definition this element reuses.
    public let contentReference: String?
    public let isSummary: Bool
    public let isModifier: Bool
    /// For a Reference element: the resource types it may point at (empty: any).
    public let targets: [String]
    /// The value set of a required binding (without its version), or nil when the element has none.
    public let requiredBinding: String?
    /// The value set of an extensible binding the required-binding table also holds: a code outside it is a warning.
    public let extensibleBinding: String?

    enum CodingKeys: String, CodingKey {
        case path, min, max, types, ref, summary, modifier, targets, binding, extensible
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        path = try c.decode(String.self, forKey: .path)
        min = try c.decode(Int.self, forKey: .min)
        max = try c.decode(String.self, forKey: .max)
        types = try c.decodeIfPresent([String].self, forKey: .types) ?? []
        contentReference = try c.decodeIfPresent(String.self, forKey: .ref)
        isSummary = try c.decodeIfPresent(Bool.self, forKey: .summary) ?? false
        isModifier = try c.decodeIfPresent(Bool.self, forKey: .modifier) ?? false
        targets = try c.decodeIfPresent([String].self, forKey: .targets) ?? []
        requiredBinding = try c.decodeIfPresent(String.self, forKey: .binding)
        extensibleBinding = try c.decodeIfPresent(String.self, forKey: .extensible)
        isChoice = path.hasSuffix("[x]")
        let last = path.split(separator: ".").last.map(String.init) ?? path
        name = isChoice ? String(last.dropLast(3)) : last
    }

    /// The last path segment without `[x]`: the JSON property name, or its prefix for a choice.
    /// Stored, not computed: FHIRPath navigation asks for it on every step.
    public let name: String

    public let isChoice: Bool
    public var isRepeating: Bool { max != "1" && max != "0" }

    /// The path of the parent element below the root ("" for a top-level element).
    public var parentPath: String {
        guard let dot = path.lastIndex(of: ".") else { return "" }
        return String(path[..<dot])
    }
}
