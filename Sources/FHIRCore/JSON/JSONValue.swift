/// A JSON value that keeps what FHIR needs and Foundation's parser loses:
/// member order, the lexical form of numbers (a decimal `1.50` keeps its
/// precision) and the exact UTF-8 bytes of every string.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// A number as the text it was written in; FHIR decimals carry precision in their digits.
    case number(String)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var objectValue: JSONObject? {
        if case .object(let o) = self { return o }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// The JSON kind, as named in error messages.
    public var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// Structural equality that compares strings by their UTF-8 bytes, not by
    /// Swift's canonical equivalence: "å" composed and decomposed are different
    /// texts to a clinician's record, and must stay so.
    public func isIdentical(to other: JSONValue) -> Bool {
        switch (self, other) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.number(let a), .number(let b)): return a.utf8.elementsEqual(b.utf8)
        case (.string(let a), .string(let b)): return a.utf8.elementsEqual(b.utf8)
        case (.array(let a), .array(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.isIdentical(to: $1) }
        case (.object(let a), .object(let b)):
            return a.count == b.count && a.allSatisfy { key, value in
                b[key].map { value.isIdentical(to: $0) } ?? false
            }
        default: return false
        }
    }
}

/// A JSON object whose members keep the order they were written in.
///
/// FHIR resources have tens of members at most, so a linear scan beats hashing
/// and keeps the order for free.
public struct JSONObject: Sendable, Equatable, Sequence {
    public private(set) var members: [(key: String, value: JSONValue)]

    public init() { members = [] }

    public init(_ members: [(key: String, value: JSONValue)]) { self.members = members }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        lhs.members.count == rhs.members.count
            && zip(lhs.members, rhs.members).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

    public var count: Int { members.count }
    public var isEmpty: Bool { members.isEmpty }
    public var keys: [String] { members.map(\.key) }

    public func makeIterator() -> IndexingIterator<[(key: String, value: JSONValue)]> {
        members.makeIterator()
    }

    public subscript(key: String) -> JSONValue? {
        get {
            for member in members where member.key == key { return member.value }
            return nil
        }
        set {
            if let index = members.firstIndex(where: { $0.key == key }) {
                if let newValue { members[index].value = newValue } else { members.remove(at: index) }
            } else if let newValue {
                members.append((key, newValue))
            }
        }
    }

    /// Sets `key`, placing it at `position` when it is new (keeps `resourceType`, `id`, `meta` first).
    public mutating func set(_ key: String, _ value: JSONValue, insertingAt position: Int) {
        if let index = members.firstIndex(where: { $0.key == key }) {
            members[index].value = value
        } else {
            members.insert((key, value), at: Swift.min(position, members.count))
        }
    }

    public func filter(_ isIncluded: (String) -> Bool) -> JSONObject {
        JSONObject(members.filter { isIncluded($0.key) })
    }
}
