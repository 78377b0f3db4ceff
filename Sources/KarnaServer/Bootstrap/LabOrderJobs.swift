import Access
import FHIRCore
import StoreModel
import Foundation
import Logging
import Results
import ServiceLifecycle

/// Sends lab and imaging orders to their labs (the outbox), announces each order that becomes undelivered
/// once, escalates unacknowledged critical values to the doctor on call, and moves sign-offs to absent doctors'
/// substitutes and unsigned old ones to their unit: a system job through the gateway.
struct LabOrderJobs: Service {
    let services: KarnaServices
    let logger: Logger

    func run() async throws {
        guard let results = services.modules.compactMap({ $0 as? Results }).first else {
            try? await gracefulShutdown()
            return
        }
        let interval = services.configuration.outboxSeconds
        await cancelWhenGracefulShutdown {
            var announced: Set<String> = []
            // The sign-off sweep pages through every open sign-off of the region: once a minute is soon enough for
            // an absence that began or an escalation measured in hours, and spares the database a read of them all
            // on each outbox run.
            var swept = ContinuousClock.now - .seconds(60)
            let lease = JobLease(store: services.store, holder: services.configuration.nodeName, pausedBy: services.gateway.readOnly)
            while !Task.isCancelled {
                do {
                    guard try await lease.holds("lab-outbox", seconds: JobLease.seconds(forInterval: interval)) else {
                        try? await Task.sleep(for: .seconds(interval))
                        continue
                    }
                    let session = services.gateway.session(.job("karna-lab-outbox"), action: "lab-outbox")
                    let run = try await results.orders.delivery.sendWaiting(session: session)
                    if run.sent > 0 { logger.info("sent \(run.sent) orders to the labs") }
                    for failure in run.failures { logger.warning("order not delivered yet: \(failure)") }
                    // Orders still to go: those that failed this run and those past the undelivered limit.
                    Telemetry.outbox("lab-orders", depth: run.failures.count + run.undelivered.count, oldestSeconds: 0)
                    var now: Set<String> = []
                    for line in run.undelivered {
                        now.insert(line)
                        if !announced.contains(line) { logger.warning("order alarm: ej levererad - \(line)") }
                    }
                    announced = now
                    let arrived = try await results.orders.imaging.refreshWaiting(session: session)
                    if arrived > 0 { logger.info("\(arrived) imaging studies found in the PACS") }
                    for alarm in try await results.ingest.critical.escalate(session: session) {
                        let owner = alarm.object["owner"]?.objectValue?["reference"]?.stringValue ?? "no one"
                        logger.warning("critical value alarm: Task/\(alarm.id) unacknowledged for \(results.ingest.critical.escalationMinutes) minutes, escalated to \(owner)")
                    }
                    var signOffs: (rerouted: [StoredResource], escalated: [StoredResource]) = ([], [])
                    if ContinuousClock.now - swept >= .seconds(60) {
                        swept = .now
                        signOffs = try await results.signOff.sweep(session: session)
                    }
                    for task in signOffs.rerouted {
                        logger.info("sign-off Task/\(task.id) went to \(task.object["owner"]?.objectValue?["reference"]?.stringValue ?? "no one"), standing in for an absent doctor")
                    }
                    for task in signOffs.escalated {
                        logger.warning("sign-off alarm: Task/\(task.id) unsigned for \(results.signOff.escalationHours) hours, escalated to its unit \(RecordTags.unit(of: task.object) ?? "(none)")")
                    }
                } catch {
                    logger.error("the lab order outbox failed: \(error)")
                }
                try? await Task.sleep(for: .seconds(interval))
            }
        }
    }
}
