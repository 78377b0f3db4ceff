import FHIRCore

/// A commit that failed at one operation: which one, and why. Nothing of the commit was written.
public struct CommitFailure: Error, Sendable {
    /// The position of the failing operation in the list given to `commit`.
    public let index: Int
    public let error: FHIRError

    public init(index: Int, error: FHIRError) {
        self.index = index
        self.error = error
    }
}
