import ArgumentParser
import FHIRCore
import Foundation
import KarnaServer
import Store
import WebApp

/// `karna export graviditetsregistret`: one day's Graviditetsregistret extract, the file the server writes each night.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export", abstract: "Register extracts.", subcommands: [Graviditetsregistret.self, Driftstopp.self])

    /// `karna export driftstopp --out DIR`: every care unit's downtime list now, as the server writes them on its schedule.
    struct Driftstopp: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write every care unit's downtime list (driftstoppslista: patients, warnings, planned doses and visits) as print-ready HTML into a directory.")
        @OptionGroup var options: ServerOptions
        @Option(help: "the directory to write the lists into") var out: String

        func run() async throws {
            let written = try await options.withStore { store, configuration, logger in
                let services = try await KarnaApplication.services(configuration, store: store, logger: logger)
                return try await DowntimeLists.write(directory: out, services: services, print: try await DowntimePrint.load())
            }
            let listed = written.filter { $0.patients > 0 }
            print("wrote \(written.count) downtime lists into \(out) (\(listed.count) units with patients, \(listed.map(\.patients).reduce(0, +)) patients); index.html lists them")
        }
    }

    struct Graviditetsregistret: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a day's Graviditetsregistret extract (pregnancies delivered, final-signed or archive-signed that day) into a directory; the same data give the same bytes.")
        @OptionGroup var options: ServerOptions
        @Option(help: "the day (YYYY-MM-DD); yesterday when left out") var day: String?
        @Option(help: "the directory to write the file into") var out: String

        func run() async throws {
            guard let chosen = day.map({ SwedishTime.parseDay($0) }) ?? SwedishTime.today - 1 else {
                throw ValidationError("--day must be a date as YYYY-MM-DD; got \(day ?? "")")
            }
            let written = try await options.withStore { store, configuration, logger in
                let services = try await KarnaApplication.services(configuration, store: store, logger: logger)
                return try await MaternityExport.write(day: chosen, directory: out, services: services)
            }
            print("wrote \(written.path): \(written.lines) lines for \(SwedishTime.formatDay(chosen))")
        }
    }
}
