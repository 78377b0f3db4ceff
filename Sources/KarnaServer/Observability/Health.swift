import FHIRCore
import Foundation
import Hummingbird
import Store
import StoreModel
import Synchronization

/// Liveness and readiness for a load balancer or an orchestrator. Live: the process answers HTTP. Ready: the
/// database answers within the time limit and the audit chain's head links to the record before it, so a node
/// whose database is gone, or whose audit trail was cut or altered at its end, is taken out of rotation.
public struct Health: Sendable {
    let store: any ResourceStore
    /// The longest the readiness check waits for the database.
    let timeoutSeconds: Double

    public init(store: any ResourceStore, timeoutSeconds: Double) {
        self.store = store
        self.timeoutSeconds = timeoutSeconds
    }

    /// What the readiness check found.
    public struct Report: Sendable {
        public var ready: Bool
        public var database: String
        public var auditHead: String
    }

    public func check() async -> Report {
        do {
            // The probe is left behind, not awaited, when the time is up: a database that does not answer must not
            // hold the check (a task group would wait for its child at the end).
            let head: [AuditRecord]? = try await withCheckedThrowingContinuation { continuation in
                let answered = Mutex(false)
                let finish: @Sendable (Result<[AuditRecord]?, any Error>) -> Void = { result in
                    guard answered.withLock({ done in defer { done = true }; return !done }) else { return }
                    continuation.resume(with: result)
                }
                Task { [store] in
                    do { finish(.success(try await store.auditRecords(AuditQuery(ascending: false, limit: 2)))) } catch { finish(.failure(error)) }
                }
                // The clock runs on a Dispatch timer, not in the task pool: a busy pool must not delay the answer.
                DispatchQueue.global().asyncAfter(deadline: .now() + timeoutSeconds) { finish(.success(nil)) }
            }
            guard let records = head else { return Report(ready: false, database: "no answer within \(Int(timeoutSeconds)) s", auditHead: "not checked") }
            guard let last = records.first else { return Report(ready: true, database: "ok", auditHead: "empty") }
            let previous = records.count > 1 ? records[1] : nil
            if let broken = AuditChain.verify([last], previousHash: previous?.hash ?? "", previousSequence: previous?.sequence ?? 0) {
                return Report(ready: false, database: "ok", auditHead: "broken: \(broken)")
            }
            return Report(ready: true, database: "ok", auditHead: "intact at \(last.sequence)")
        } catch {
            return Report(ready: false, database: "unavailable: \(error)", auditHead: "not checked")
        }
    }

    func register<Context: RequestContext>(on router: Router<Context>) {
        router.get("health/live") { _, _ in "ok\n" }
        let ready: @Sendable (Request, Context) async throws -> Response = { _, _ in
            let report = await check()
            let text = "\(report.ready ? "ready" : "not ready")\ndatabase: \(report.database)\naudit chain head: \(report.auditHead)\n"
            return Response(status: report.ready ? .ok : .serviceUnavailable, headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store"],
                            body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        router.get("health/ready", use: ready)
        router.get("health", use: ready)
        router.get("metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
                     body: .init(byteBuffer: ByteBuffer(string: Telemetry.exposition())))
        }
    }
}
