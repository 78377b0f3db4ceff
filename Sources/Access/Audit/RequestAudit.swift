import Store
import StoreModel
import Synchronization

/// The read audit records of one request whose answer leaves only after all
/// its module calls (a web page calls five or six): they are appended in one
/// write when the answer is ready, not one write per call. The answer must not
/// leave before `AccessGateway.commit(_:)` has returned.
public final class RequestAudit: Sendable {
    private let pending = Mutex<[AuditEntry]>([])

    public init() {}

    func add(_ entries: [AuditEntry]) {
        pending.withLock { $0.append(contentsOf: entries) }
    }

    func take() -> [AuditEntry] {
        pending.withLock { taken in
            defer { taken = [] }
            return taken
        }
    }
}
