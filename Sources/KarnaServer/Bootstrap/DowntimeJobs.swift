import Access
import FHIRCore
import Foundation
import Logging
import ServiceLifecycle
import WebApp

/// Writes every care unit's downtime list (driftstoppslista) into a folder on a schedule, so the latest lists lie
/// there, printable, when Kärna or its database is down: each unit's patients, their warnings and chart, the doses
/// and visits planned in the hours ahead. One node writes (a lease); each run is a system job through the gateway,
/// its reads audited with the purpose "downtime-list".
struct DowntimeJobs: Service {
    let services: KarnaServices
    let logger: Logger

    func run() async throws {
        guard let directory = services.configuration.downtimeListDirectory else {
            // No folder set: nothing to write, but a service that returns would stop the server.
            try? await gracefulShutdown()
            return
        }
        let minutes = services.configuration.downtimeListMinutes
        let print = try await DowntimePrint.load()
        await cancelWhenGracefulShutdown {
            let lease = JobLease(store: services.store, holder: services.configuration.nodeName)
            while !Task.isCancelled {
                do {
                    if try await lease.holds("downtime-lists", seconds: JobLease.seconds(forInterval: minutes * 60)) {
                        let written = try await DowntimeLists.write(directory: directory, services: services, print: print)
                        logger.info("downtime lists: \(written.count) units written to \(directory)")
                    }
                } catch {
                    logger.error("downtime lists: the run failed: \(error)")
                }
                try? await Task.sleep(for: .seconds(minutes * 60))
            }
        }
    }
}

/// The downtime lists of every active care unit, written as print-ready HTML with an index.
public enum DowntimeLists {
    /// Writes one file per care unit (`UNIT.html`, atomically: a reader never finds half a list) and `index.html`;
    /// answers each unit with its file and patient count.
    public static func write(directory: String, services: KarnaServices, print: DowntimePrint, now: Int64 = Instant.now()) async throws
        -> [(unitID: String, path: String, patients: Int)] {
        let folder = URL(fileURLWithPath: directory)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let window = DowntimeWindow(from: now, to: now + Int64(services.configuration.downtimeListHours) * 3_600_000)
        let session = services.gateway.session(.job("karna-downtime-list"), action: "downtime-list")
        let parts = services.modules.flatMap(\.downtime)
        var written: [(unitID: String, path: String, patients: Int)] = []
        var index: [(name: String, file: String, patients: Int)] = []
        for unit in try await services.gateway.directory.careUnits() {
            let list = try await UnitDowntimeList.build(unitID: unit.id, unitName: unit.name, window: window, parts: parts,
                                                        overview: services.gateway.overview, session: session)
            let file = folder.appendingPathComponent(safeName(unit.id) + ".html")
            // A unit without patients gets a list that says so, replacing an older one that named some.
            try Data(print.html(list, generated: now).utf8).write(to: file, options: .atomic)
            written.append((unit.id, file.path, list.patients.count))
            index.append((unit.name, file.lastPathComponent, list.patients.count))
        }
        let generated = SwedishTime.format(now)
        var html = "<!doctype html><html lang=\"sv\"><head><meta charset=\"utf-8\"><title>Driftstoppslistor</title></head><body>"
        html += "<h1>Driftstoppslistor</h1><p>Skrivna \(escape(String(generated.prefix(10)) + " " + String(generated.dropFirst(11).prefix(5)))).</p><ul>"
        for entry in index where entry.patients > 0 {
            html += "<li><a href=\"\(escape(entry.file))\">\(escape(entry.name))</a> (\(entry.patients) patienter)</li>"
        }
        html += "</ul></body></html>\n"
        try Data(html.utf8).write(to: folder.appendingPathComponent("index.html"), options: .atomic)
        return written
    }

    /// A unit id as a file name: FHIR ids are [A-Za-z0-9.-], anything else is replaced.
    static func safeName(_ id: String) -> String {
        String(id.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == ".") ? $0 : "_" })
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "\"", with: "&quot;")
    }
}
