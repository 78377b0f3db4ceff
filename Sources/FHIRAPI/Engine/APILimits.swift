import FHIRCore

/// The limits the API enforces on requests. Each is configurable and each,
/// when exceeded, is answered with an OperationOutcome that names it.
public struct APILimits: Sendable, Equatable {
    /// Largest request body, in bytes (`KARNA_MAX_BODY_BYTES`).
    public var maxBodyBytes: Int
    /// Most entries in one batch or transaction Bundle (`KARNA_MAX_BUNDLE_ENTRIES`).
    public var maxBundleEntries: Int
    /// Deepest JSON nesting (`KARNA_MAX_JSON_DEPTH`).
    public var maxJSONDepth: Int
    /// Longest JSON string, in bytes (`KARNA_MAX_STRING_BYTES`).
    public var maxStringBytes: Int
    /// Default page size of history and search (`KARNA_DEFAULT_PAGE_SIZE`).
    public var defaultPageSize: Int
    /// Largest page size a client may ask for with `_count` (`KARNA_MAX_PAGE_SIZE`).
    public var maxPageSize: Int

    public init(maxBodyBytes: Int = 32 * 1024 * 1024, maxBundleEntries: Int = 10_000, maxJSONDepth: Int = 64,
                maxStringBytes: Int = 16 * 1024 * 1024, defaultPageSize: Int = 50, maxPageSize: Int = 1_000) {
        self.maxBodyBytes = maxBodyBytes
        self.maxBundleEntries = maxBundleEntries
        self.maxJSONDepth = maxJSONDepth
        self.maxStringBytes = maxStringBytes
        self.defaultPageSize = defaultPageSize
        self.maxPageSize = maxPageSize
    }

    var json: JSONLimits { JSONLimits(maxDepth: maxJSONDepth, maxStringBytes: maxStringBytes) }
}
