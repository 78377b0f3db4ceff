/// An R4 SearchParameter, reduced to what indexing and the capability statement need.
public struct SearchParameterDefinition: Sendable, Decodable {
    public let name: String
    /// token, string, date, reference, quantity, number, uri, composite, special.
    public let type: String
    /// The FHIRPath expression for this base type; nil for parameters without one (e.g. `_text`).
    public let expression: String?
    public let targets: [String]
    public let url: String
}
