import Foundation
import Synchronization

/// Tells the open tracking boards of a unit that something on them changed, so each screen fetches its
/// rows at once (server-sent events) instead of waiting for its next refresh. In one process: a board
/// served by another node learns of the change at its periodic refresh (`ed-board-refresh-seconds`).
public final class BoardEvents: Sendable {
    private struct Subscriber {
        let unit: String
        let continuation: AsyncStream<Void>.Continuation
    }

    private let subscribers = Mutex<[UUID: Subscriber]>([:])

    public init() {}

    /// A stream that yields once per change on the unit's board, until the caller stops reading it.
    public func subscribe(unit: String) -> AsyncStream<Void> {
        let id = UUID()
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        subscribers.withLock { $0[id] = Subscriber(unit: unit, continuation: continuation) }
        continuation.onTermination = { [weak self] _ in self?.subscribers.withLock { _ = $0.removeValue(forKey: id) } }
        return stream
    }

    /// Something on the unit's board changed.
    public func publish(unit: String) {
        let listening = subscribers.withLock { $0.values.filter { $0.unit == unit }.map(\.continuation) }
        for continuation in listening { continuation.yield() }
    }

    /// How many screens follow a unit's board (for tests and metrics).
    public func listeners(unit: String) -> Int { subscribers.withLock { $0.values.filter { $0.unit == unit }.count } }
}
