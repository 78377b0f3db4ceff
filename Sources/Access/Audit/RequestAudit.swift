import Store
import StoreModel
import Synchronization

/// The read audit records of one request whose answer leaves only after all
/// its module calls (a web page calls five or six): they are appended in one
/// write when the answer is ready, not one write per call, and what the calls
/// read of one patient under one action is one record. The answer must not
/// leave before `AccessGateway.commit(_:)` has returned.
public final class RequestAudit: Sendable {
    private struct Pending {
        var entries: [AuditEntry] = []
        /// The per-patient reads of each principal and action, joined across calls, in the order first made.
        var reads: [(principal: Principal, action: String, log: PatientAccessLog)] = []
    }

    private let pending = Mutex(Pending())

    public init() {}

    func add(_ entries: [AuditEntry]) {
        pending.withLock { $0.entries.append(contentsOf: entries) }
    }

    func add(_ log: PatientAccessLog, principal: Principal, action: String) {
        guard !log.patients.isEmpty else { return }
        pending.withLock { pending in
            // The same person under the same assignment and action: another assignment is another purpose, recorded apart.
            if let index = pending.reads.firstIndex(where: {
                $0.action == action && $0.principal.reference == principal.reference && $0.principal.assignment?.id == principal.assignment?.id
            }) {
                pending.reads[index].log.merge(log)
            } else {
                pending.reads.append((principal, action, log))
            }
        }
    }

    func take() -> [AuditEntry] {
        let taken = pending.withLock { taken in
            defer { taken = Pending() }
            return taken
        }
        return taken.reads.flatMap { $0.log.entries(AuditRecordBuilder(principal: $0.principal), action: $0.action) } + taken.entries
    }
}
