import Foundation

/// A resource's logical identity on this server: its type and id (`Patient/123`).
public struct ResourceKey: Sendable, Hashable, CustomStringConvertible {
    public let type: String
    public let id: String

    public init(type: String, id: String) {
        self.type = type
        self.id = id
    }

    /// Parses a relative reference `Type/id` (ignoring a trailing `/_history/n`).
    public init?(reference: String) {
        let parts = reference.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 || (parts.count == 4 && parts[2] == "_history"),
              let first = parts[0].first, first.isUppercase, !parts[1].isEmpty
        else { return nil }
        self.init(type: String(parts[0]), id: String(parts[1]))
    }

    /// Parses the `Type/id` at the end of an absolute reference (`https://host/fhir/Patient/123`).
    public init?(absoluteReference: String) {
        var text = Substring(absoluteReference)
        if let history = text.range(of: "/_history/") { text = text[..<history.lowerBound] }
        guard text.contains("://") else { return nil }
        let parts = text.split(separator: "/")
        guard parts.count >= 3, let first = parts[parts.count - 2].first, first.isUppercase else { return nil }
        self.init(type: String(parts[parts.count - 2]), id: String(parts[parts.count - 1]))
    }

    public var description: String { "\(type)/\(id)" }
}
