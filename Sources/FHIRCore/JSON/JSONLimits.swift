/// The limits a parser enforces on untrusted JSON; every one is configurable.
public struct JSONLimits: Sendable, Equatable {
    /// Deepest allowed nesting of objects and arrays.
    public var maxDepth: Int
    /// Longest allowed string, in UTF-8 bytes.
    public var maxStringBytes: Int
    /// Most elements in one array (a Bundle's entries): refused at the first one over, before the rest is read.
    public var maxArrayElements: Int

    public init(maxDepth: Int = 64, maxStringBytes: Int = 16 * 1024 * 1024, maxArrayElements: Int = .max) {
        self.maxDepth = maxDepth
        self.maxStringBytes = maxStringBytes
        self.maxArrayElements = maxArrayElements
    }

    /// For JSON the server wrote itself (stored resources, its own answers): only a depth guard.
    public static let serverWritten = JSONLimits(maxDepth: 512, maxStringBytes: .max)
}
