import FHIRCore

/// Search criteria the store can answer without the search engine: `_id` and
/// `identifier` tokens. Used by conditional create and by conditional
/// references in transactions (`Practitioner?identifier=system|value`).
public struct ConditionalCriteria: Sendable, Hashable, CustomStringConvertible {
    /// One `identifier=system|value` term; a nil system matches any.
    public struct IdentifierToken: Sendable, Hashable {
        public let system: String?
        public let value: String
    }

    public let type: String
    public var ids: [String] = []
    public var identifiers: [IdentifierToken] = []
    /// The query text as given, for messages.
    public let query: String

    public var description: String { "\(type)?\(query)" }

    /// Parses `identifier=…&_id=…`. Other parameters are refused with a message that names them.
    public init(type: String, query: String) throws(FHIRError) {
        self.type = type
        self.query = query
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0]).percentDecoded
            let value = parts.count > 1 ? String(parts[1]).percentDecoded : ""
            guard !value.isEmpty else {
                throw FHIRError(.invalid, code: "invalid", "the search parameter '\(name)' in '\(type)?\(query)' has no value")
            }
            switch name {
            case "_id":
                ids.append(value)
            case "identifier":
                if let bar = value.firstIndex(of: "|") {
                    let system = String(value[..<bar])
                    identifiers.append(IdentifierToken(system: system, value: String(value[value.index(after: bar)...])))
                } else {
                    identifiers.append(IdentifierToken(system: nil, value: value))
                }
            default:
                throw FHIRError(.unsupported, code: "not-supported",
                                "conditional criteria may use only '_id' and 'identifier' so far; '\(name)' in '\(type)?\(query)' is not supported")
            }
        }
        guard !ids.isEmpty || !identifiers.isEmpty else {
            throw FHIRError(.invalid, code: "invalid", "conditional criteria '\(type)?\(query)' are empty")
        }
    }
}
