import FHIRCore

/// The criteria of a conditional create, update or delete, or of a
/// conditional reference in a transaction (`Patient?identifier=…`): a full
/// search, parsed strictly so an unknown parameter never matches everything.
public struct ConditionalCriteria: Sendable, CustomStringConvertible {
    public let type: String
    /// The query text as given, for messages and for serialising concurrent conditional creates.
    public let query: String
    public let search: SearchQuery

    public var description: String { "\(type)?\(query)" }

    public init(type: String, query: String) throws(FHIRError) {
        self.type = type
        self.query = query
        let parameters = query.queryPairs
        if let empty = parameters.first(where: { $0.value.isEmpty }) {
            throw FHIRError(.invalid, code: .invalid, "the search parameter '\(empty.name)' in '\(type)?\(query)' has no value")
        }
        let search = try SearchQuery.parse(type: type, parameters: parameters, strict: true)
        guard !search.filters.isEmpty else {
            throw FHIRError(.invalid, code: .invalid, "conditional criteria '\(type)?\(query)' have no search parameters")
        }
        self.search = search
    }
}
