/// The database cannot serve the request now (issue 31, item 11): unreachable, or full. Answered 503
/// with `Retry-After`, never 500 and never after a minute's wait: a client retries, a person is told.
public struct StoreUnavailable: Error, Sendable, CustomStringConvertible {
    public enum Reason: String, Sendable {
        /// No connection within the bounded wait, or the connection failed.
        case unreachable
        /// The disk or the database's size limit is full: reads still work, writes do not.
        case full
    }

    public let reason: Reason
    /// When a retry may succeed, for `Retry-After`.
    public let retryAfterSeconds: Int

    public init(_ reason: Reason, retryAfterSeconds: Int) {
        self.reason = reason
        self.retryAfterSeconds = retryAfterSeconds
    }

    public var description: String {
        switch reason {
        case .unreachable: "the database cannot be reached now; try again in \(retryAfterSeconds) s"
        case .full: "the database's disk is full: nothing can be written now (reading still works); try again in \(retryAfterSeconds) s"
        }
    }
}
