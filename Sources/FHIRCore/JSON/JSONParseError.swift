/// Why a JSON text was refused, and where: byte offset, line and column.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of problem the text had.
    public struct Reason: Sendable, Equatable, CustomStringConvertible {
        private enum Base: Equatable, Sendable {
            case syntax(String)
            case invalidUTF8
            case tooDeep(Int)
            case stringTooLong(Int)
            case tooManyElements(Int)
            case duplicateKey(String)
        }
        private let base: Base

        public static func syntax(_ detail: String) -> Reason { Reason(base: .syntax(detail)) }
        public static let invalidUTF8 = Reason(base: .invalidUTF8)
        public static func tooDeep(_ limit: Int) -> Reason { Reason(base: .tooDeep(limit)) }
        public static func stringTooLong(_ limit: Int) -> Reason { Reason(base: .stringTooLong(limit)) }
        public static func tooManyElements(_ limit: Int) -> Reason { Reason(base: .tooManyElements(limit)) }
        public static func duplicateKey(_ key: String) -> Reason { Reason(base: .duplicateKey(key)) }

        public var isLimit: Bool {
            switch base {
            case .tooDeep, .stringTooLong, .tooManyElements: true
            default: false
            }
        }

        public var description: String {
            switch base {
            case .syntax(let detail): detail
            case .invalidUTF8: "the text is not valid UTF-8"
            case .tooDeep(let limit): "nesting is deeper than the limit of \(limit) levels"
            case .stringTooLong(let limit): "a string is longer than the limit of \(limit) bytes"
            case .tooManyElements(let limit): "an array has more than the limit of \(limit) elements (a Bundle's entries: KARNA_MAX_BUNDLE_ENTRIES)"
            case .duplicateKey(let key): "the property '\(key)' appears twice in one object"
            }
        }
    }

    public let reason: Reason
    public let offset: Int
    public let line: Int
    public let column: Int

    public var description: String {
        "Invalid JSON at line \(line), column \(column): \(reason)"
    }
}
