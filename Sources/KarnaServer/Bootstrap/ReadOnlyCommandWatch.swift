import Access
import Logging
import ServiceLifecycle

/// Follows the operators' läsläge command (`karna downtime on|off`, a control record) and the downtimes that ended
/// (what back-entered records are marked against) on this node: read every few seconds, so every node behind the
/// load balancer enters and leaves läsläge together.
struct ReadOnlyCommandWatch: Service {
    let services: KarnaServices
    let logger: Logger
    static let seconds = 5

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var last: ReadOnlyMode.State?
            while !Task.isCancelled {
                do {
                    let command = try await ReadOnlyMode.stored(in: services.store)
                    services.gateway.readOnly.follow(command: command)
                    services.gateway.readOnly.follow(periods: try await BackEntry.periods(in: services.store))
                    if command != last { logger.notice(command == nil ? "läsläge: ended by command" : "läsläge: entered by command (\(command!.reason))") }
                    last = command
                } catch {
                    // A database that cannot be read keeps the last command; a refused write shows the database's own reason.
                    logger.warning("läsläge: the command could not be read: \(error)")
                }
                try? await Task.sleep(for: .seconds(Self.seconds))
            }
        }
    }
}
