import Access
import ArgumentParser
import BulkExport
import FHIRCore
import Foundation
import KarnaServer
import Store
import WebApp

/// `karna export graviditetsregistret|driftstopp|omop|par`: the register extracts, the downtime lists and the OMOP CDM export.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export", abstract: "Register extracts.", subcommands: [Graviditetsregistret.self, Driftstopp.self, OMOP.self, PAR.self])

    /// `karna export driftstopp --out DIR`: every care unit's downtime list now, as the server writes them on its schedule.
    struct Driftstopp: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write every care unit's downtime list (driftstoppslista: patients, warnings, planned doses and visits) as print-ready HTML into a directory.")
        @OptionGroup var options: ServerOptions
        @Option(help: "the directory to write the lists into") var out: String

        func run() async throws {
            let written = try await options.withServices { services in
                try await DowntimeLists.write(directory: out, services: services, print: try await DowntimePrint.load())
            }
            let listed = written.filter { $0.patients > 0 }
            print("wrote \(written.count) downtime lists into \(out) (\(listed.count) units with patients, \(listed.map(\.patients).reduce(0, +)) patients); index.html lists them")
        }
    }

    /// `karna export omop --out DIR|FILE.duckdb`: the OMOP CDM v5.4 tables for research, as CSV files loadable into DuckDB or as the DuckDB database.
    struct OMOP: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write an OMOP CDM v5.4 export: one CSV file per table and load-duckdb.sql (the official DDL and primary keys) into a directory, "
                + "or, with --out FILE.duckdb, the DuckDB database they load into.")
        @OptionGroup var options: ServerOptions
        @Option(help: "the directory to write the tables into, or a FILE.duckdb to write the database (needs the duckdb command or Python's duckdb package)")
        var out: String
        @Flag(help: "leave out every source value that names a patient or a practitioner (person ids are never derived from personnummer)") var pseudonymise = false
        @Flag(help: "move each person's dates by one random number of days") var shiftDates = false
        @Option(help: "the most days a person's dates move with --shift-dates") var shiftDays = 180
        @Flag(help: "include free text (notes, free-text dosage, text answers)") var includeText = false

        func run() async throws {
            guard (1...3_650).contains(shiftDays) else { throw ValidationError("--shift-days must be between 1 and 3650; got \(shiftDays)") }
            let export = try OMOPExport(options: .init(pseudonymise: pseudonymise, shiftDates: shiftDates, shiftDays: shiftDays, includeText: includeText))
            // A database file is made from the same CSV files, in a folder beside it; DuckDB is found before anything is read.
            let database = out.hasSuffix(".duckdb") ? URL(fileURLWithPath: out) : nil
            let duckdb = try database.map { _ in
                do {
                    return try DuckDBFile.find(asked: "--out ending in .duckdb", otherwise: "or give --out a directory to get the CSV files and load-duckdb.sql")
                } catch let failure as DuckDBFile.Failure {
                    throw ValidationError(failure.description)
                }
            }
            let tables = database.map { $0.deletingLastPathComponent().appendingPathComponent(".\($0.lastPathComponent).tables") } ?? URL(fileURLWithPath: out)
            let summary = try await options.withServices { services in
                try await export.write(directory: tables, session: services.gateway.session(.job("omop-export"), action: "omop-export"))
            }
            let rows = summary.rows.filter { $0.value > 0 }.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            let counts = "\(summary.persons) persons; \(rows); skipped \(summary.skippedPatients) patients without a birth date "
                + "and \(summary.skippedRecords) records without a plausible date"
            if let database, let duckdb {
                do {
                    try duckdb.load(tables: tables, into: database)
                } catch let failure as DuckDBFile.Failure {
                    throw ValidationError(failure.description)
                }
                try? FileManager.default.removeItem(at: tables)
                print("wrote the OMOP CDM v5.4 export as the DuckDB database \(out) (the official DDL and primary keys): \(counts)")
            } else {
                print("wrote the OMOP CDM v5.4 export into \(out): \(counts); load it with `duckdb FILE.duckdb < load-duckdb.sql` in that directory")
            }
        }
    }

    /// `karna export par --month YYYY-MM --out DIR`: the month's delivery to the patientregister.
    struct PAR: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the patientregister (PAR) delivery of a month (the three months before it) into a directory; the same data give the same bytes.")
        @OptionGroup var options: ServerOptions
        @Option(help: "the delivery month (YYYY-MM); this month when left out") var month: String?
        @Option(help: "the directory to write the files into") var out: String
        @Option(help: "the region's layout of the files (its par.json: länskod, sjukhuskoder, MVO codes, variables); Kärna's own when left out")
        var layout: String?

        func run() async throws {
            let chosen = month ?? String(SwedishTime.formatDay(SwedishTime.today).prefix(7))
            guard chosen.count == 7, SwedishTime.parseDay(chosen + "-01") != nil else { throw ValidationError("--month must be YYYY-MM; got '\(chosen)'") }
            let export: PARExport
            do {
                export = try PARExport(layoutFile: layout.map { URL(fileURLWithPath: $0) })
            } catch let error as FHIRError {
                throw ValidationError(error.issues.first?.diagnostics ?? "\(error)")
            }
            let written = try await options.withServices { services in
                try await export.write(month: chosen, directory: URL(fileURLWithPath: out), session: services.gateway.session(.job("par-export"), action: "par-export"))
            }
            print("wrote the PAR delivery of \(chosen) into \(out): " + written.map { "\($0.name) (\($0.lines) lines)" }.joined(separator: ", "))
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
            let written = try await options.withServices { services in
                try await MaternityExport.write(day: chosen, directory: out, services: services)
            }
            print("wrote \(written.path): \(written.lines) lines for \(SwedishTime.formatDay(chosen))")
        }
    }
}
