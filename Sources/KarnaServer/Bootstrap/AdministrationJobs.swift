import Access
import Logging
import PatientAdministration
import ServiceLifecycle
import StoreModel
import FHIRCore

/// The server's periodic patient-administration work: sending the notification outbox (with
/// reminders) and raising the alarm for referrals nobody has acted on, as a system job through the gateway.
struct AdministrationJobs: Service {
    let services: KarnaServices
    let logger: Logger

    func run() async throws {
        let dispatcher = OutboxDispatcher(sender: services.configuration.notificationSender(), settings: services.configuration.administration, logger: logger)
        let interval = services.configuration.outboxSeconds
        await cancelWhenGracefulShutdown {
            var alarmedToday: Set<String> = []
            var alarmDay = -1
            let lease = JobLease(store: services.store, holder: services.configuration.nodeName, pausedBy: services.gateway.readOnly)
            while !Task.isCancelled {
                do {
                    // One node sends: with several, the others wait for the lease.
                    guard try await lease.holds("patient-administration", seconds: JobLease.seconds(forInterval: interval)) else {
                        try? await Task.sleep(for: .seconds(interval))
                        continue
                    }
                    let session = services.gateway.session(.job("karna-outbox"), action: "notify")
                    let sent = try await dispatcher.runOnce(session: session)
                    if sent > 0 { logger.info("sent \(sent) patient notifications") }
                    let backlog = try await dispatcher.backlog(session: session)
                    Telemetry.outbox("notifications", depth: backlog.count, oldestSeconds: backlog.oldest.map { Double(Instant.now() - $0) / 1_000 } ?? 0)
                    // Each stale referral is announced once a day, naming the unit whose inbox holds it.
                    if alarmDay != SwedishTime.today { alarmedToday = []; alarmDay = SwedishTime.today }
                    let alarms = try await services.administration.referrals.alarms(session: services.gateway.session(.job("karna-referral-alarm"), action: "referral-alarms"))
                    for alarm in alarms where !alarmedToday.contains(alarm.task.id) {
                        alarmedToday.insert(alarm.task.id)
                        let owner = alarm.task.object["owner"]?.objectValue?["reference"]?.stringValue ?? "no owner"
                        logger.warning("referral alarm: Task/\(alarm.task.id) in the inbox of \(owner) has had no action for \(alarm.daysSinceAction) days")
                    }
                } catch {
                    logger.error("patient administration job failed: \(error)")
                }
                try? await Task.sleep(for: .seconds(interval))
            }
        }
    }
}
