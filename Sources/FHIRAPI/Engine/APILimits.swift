import Access
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
    /// Whether a `meta.profile` the server does not hold refuses a write (`KARNA_UNKNOWN_PROFILES=error`)
    /// rather than being a warning of `$validate`.
    public var unknownProfilesAreErrors = false

    public init(maxBodyBytes: Int = 32 * 1024 * 1024, maxBundleEntries: Int = 10_000, maxJSONDepth: Int = 64,
                maxStringBytes: Int = 16 * 1024 * 1024, defaultPageSize: Int = 50, maxPageSize: Int = 1_000) {
        self.maxBodyBytes = maxBodyBytes
        self.maxBundleEntries = maxBundleEntries
        self.maxJSONDepth = maxJSONDepth
        self.maxStringBytes = maxStringBytes
        self.defaultPageSize = defaultPageSize
        self.maxPageSize = maxPageSize
    }

    /// The parser's limits for a request body: an array longer than a Bundle may be is refused while it is read.
    var json: JSONLimits { JSONLimits(maxDepth: maxJSONDepth, maxStringBytes: maxStringBytes, maxArrayElements: maxBundleEntries) }
}

extension APILimits {
    /// The REST API's limits, declared once (flag, variable, file key, help and README come from here).
    public enum Keys {
        public static let maxBodyBytes = Setting.integer("max-body-bytes", default: 32 * 1024 * 1024, 1_024...1 << 31, "largest request body")
        public static let maxBundleEntries = Setting.integer("max-bundle-entries", default: 10_000, 1...1_000_000, "most entries in a batch or transaction")
        public static let maxJSONDepth = Setting.integer("max-json-depth", default: 64, 8...1_000, "deepest JSON nesting")
        public static let maxStringBytes = Setting.integer("max-string-bytes", default: 16 * 1024 * 1024, 1_024...1 << 31, "longest JSON string")
        public static let defaultPageSize = Setting.integer("default-page-size", default: 50, 1...10_000, "page size when _count is absent")
        public static let maxPageSize = Setting.integer("max-page-size", default: 1_000, 1...100_000, "largest _count honoured")
        public static let unknownProfiles = Setting.choice("unknown-profiles", default: "warning", ["warning", "error"],
                                                           "a meta.profile the server holds no StructureDefinition for: a $validate warning, or an error that refuses the write")
        public static let all = [maxBodyBytes, maxBundleEntries, maxJSONDepth, maxStringBytes, defaultPageSize, maxPageSize, unknownProfiles]
    }

    /// The limits as the server's reader resolves them.
    public init(reading settings: any SettingsReader) throws {
        self.init(maxBodyBytes: try settings.integer(Keys.maxBodyBytes), maxBundleEntries: try settings.integer(Keys.maxBundleEntries),
                  maxJSONDepth: try settings.integer(Keys.maxJSONDepth), maxStringBytes: try settings.integer(Keys.maxStringBytes),
                  defaultPageSize: try settings.integer(Keys.defaultPageSize), maxPageSize: try settings.integer(Keys.maxPageSize))
        unknownProfilesAreErrors = try settings.string(Keys.unknownProfiles) == "error"
    }
}
