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
