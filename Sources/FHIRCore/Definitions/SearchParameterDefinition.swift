/// An R4 SearchParameter, reduced to what indexing and the capability statement need.
public struct SearchParameterDefinition: Sendable, Decodable {
    /// One part of a composite parameter: another parameter (by canonical URL) and the path to it from the composite's base.
    public struct Component: Sendable, Decodable {
        public let definition: String
        public let expression: String
    }

    public let name: String
    /// token, string, date, reference, quantity, number, uri, composite, special.
    public let type: String
    /// The FHIRPath expression for this base type; nil for parameters without one (e.g. `_text`).
    public let expression: String?
    public let targets: [String]
    public let url: String
    public let components: [Component]

    enum CodingKeys: String, CodingKey { case name, type, expression, targets, url, components }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        type = try c.decode(String.self, forKey: .type)
        expression = try c.decodeIfPresent(String.self, forKey: .expression)
        targets = try c.decodeIfPresent([String].self, forKey: .targets) ?? []
        url = try c.decode(String.self, forKey: .url)
        components = try c.decodeIfPresent([Component].self, forKey: .components) ?? []
    }
}
