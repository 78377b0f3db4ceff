import FHIRCore

/// Versioned resource persistence. Every write makes a new version and no
/// version is ever erased; a commit is all or nothing.
///
/// Patient data reaches a store only through the access gateway; a store
/// knows nothing of users, only of resources.
public protocol ResourceStore: Sendable {
    /// Which database this is, for logs and reports ("sqlite", "postgresql").
    var backendName: String { get }

    /// Applies the named, ordered migrations that have not run yet; returns the names applied.
    @discardableResult
    func migrate() async throws -> [String]

    /// The current version of a resource, including a deletion marker; nil if it never existed.
    func read(type: String, id: String) async throws -> StoredResource?

    /// One version of a resource; nil if there is no such version.
    func vread(type: String, id: String, versionId: Int) async throws -> StoredResource?

    /// Versions newest first, for one resource, one type, or the whole system.
    func history(_ query: HistoryQuery) async throws -> [StoredResource]

    /// Ids of current resources that match `criteria`.
    func find(_ criteria: ConditionalCriteria) async throws -> [String]

    /// Applies all operations atomically, in order; the results come in the same order.
    func commit(_ operations: [WriteOperation]) async throws -> [WriteResult]

    /// Number of current (not deleted) resources of a type, or of all types.
    func count(type: String?) async throws -> Int

    func close() async throws
}

extension ResourceStore {
    /// Applies one operation.
    public func commit(_ operation: WriteOperation) async throws -> WriteResult {
        try await commit([operation])[0]
    }
}

/// Which versions a history request wants.
public struct HistoryQuery: Sendable {
    public var type: String?
    public var id: String?
    /// Only versions at or after this time (ms since 1970).
    public var since: Int64?
    /// Only versions at or before this time (ms), for `_at` and stable paging.
    public var before: Int64?
    /// Page cursor: only versions with a sequence number below this.
    public var beforeSequence: Int64?
    public var count: Int

    public init(type: String? = nil, id: String? = nil, since: Int64? = nil, before: Int64? = nil, beforeSequence: Int64? = nil, count: Int = 50) {
        self.type = type
        self.id = id
        self.since = since
        self.before = before
        self.beforeSequence = beforeSequence
        self.count = count
    }
}
