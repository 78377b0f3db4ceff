import Access
import FHIRCore
import Foundation
import Logging
import Maternity
import ServiceLifecycle

/// The Graviditetsregistret extract, written once a day: after the configured hour, the day before's file is written
/// to the configured directory if it is not there (so a restart or a second node writes nothing twice, and a missed
/// night is caught up at the next start). A system job through the gateway, audited as the register's reads.
struct MaternityJobs: Service {
    let services: KarnaServices
    let logger: Logger

    func run() async throws {
        guard let directory = services.configuration.graviditetsregistretDirectory,
              let maternity = services.modules.compactMap({ $0 as? Maternity }).first else {
            // No directory set: nothing to write, but a service that returns would stop the server.
            try? await gracefulShutdown()
            return
        }
        let hour = services.configuration.graviditetsregistretHour
        await cancelWhenGracefulShutdown {
            let lease = JobLease(store: services.store, holder: services.configuration.nodeName, pausedBy: services.gateway.readOnly)
            while !Task.isCancelled {
                let now = Instant.now()
                let minuteOfDay = Int((now - SwedishTime.instant(day: SwedishTime.day(of: now), minuteOfDay: 0)) / 60_000)
                if minuteOfDay >= hour * 60 {
                    do {
                        // The lease outlasts the ten-minute wait, so one node writes while it runs.
                        guard try await lease.holds("graviditetsregistret", seconds: 1_800) else {
                            try? await Task.sleep(for: .seconds(600))
                            continue
                        }
                        if let written = try await Self.write(day: SwedishTime.day(of: now) - 1, directory: directory, maternity: maternity, gateway: services.gateway,
                                                              replace: false) {
                            logger.info("Graviditetsregistret: wrote \(written.path) (\(written.lines) lines)")
                        }
                    } catch {
                        logger.error("Graviditetsregistret: the daily extract failed: \(error)")
                    }
                }
                try? await Task.sleep(for: .seconds(600))
            }
        }
    }

    /// Writes one day's extract into the directory (atomically: a reader never sees half a file); nil when the
    /// file was there and `replace` is false.
    static func write(day: Int, directory: String, maternity: Maternity, gateway: AccessGateway, replace: Bool) async throws -> (path: String, lines: Int)? {
        let session = gateway.session(.job("graviditetsregistret"), action: "graviditetsregistret-extract")
        let extract = try await maternity.registers.graviditetsregistret(day: day, maternity: maternity, session: session)
        let folder = URL(fileURLWithPath: directory)
        let target = folder.appendingPathComponent(extract.fileName)
        if !replace, FileManager.default.fileExists(atPath: target.path) { return nil }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data(extract.text.utf8).write(to: target, options: .atomic)
        return (target.path, extract.lines)
    }
}

/// For `karna export graviditetsregistret`: the module the server would run, over an open store.
public enum MaternityExport {
    public static func write(day: Int, directory: String, services: KarnaServices) async throws -> (path: String, lines: Int) {
        guard let maternity = services.modules.compactMap({ $0 as? Maternity }).first else {
            throw KarnaConfiguration.Error(description: "the maternity module is not loaded")
        }
        return try await MaternityJobs.write(day: day, directory: directory, maternity: maternity, gateway: services.gateway, replace: true)
            ?? (directory, 0)
    }
}
