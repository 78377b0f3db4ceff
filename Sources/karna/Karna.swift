import ArgumentParser
import FHIRAPI
import Foundation
import KarnaServer
import Logging
import Store

/// The `karna` command: serve, migrate, import.
@main
struct Karna: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "karna",
        abstract: "Kärna: an open core healthcare information system (FHIR R4) for Swedish regions.",
        version: KarnaVersion.current,
        subcommands: [Serve.self, Migrate.self, Import.self, Validate.self, Seed.self, BenchInsert.self],
        defaultSubcommand: Serve.self
    )
}

/// Settings shared by every command; each also reads its `KARNA_*` variable.
struct ServerOptions: ParsableArguments {
    @Option(help: "Address to listen on (KARNA_HOST, default 127.0.0.1).") var host: String?
    @Option(help: "Port to listen on (KARNA_PORT, default 8080).") var port: String?
    @Option(help: "sqlite:PATH or postgres://user:password@host:port/db (KARNA_DATABASE_URL, default sqlite:./data/karna.sqlite).")
    var databaseURL: String?
    @Option(help: "Public FHIR base URL (KARNA_BASE_URL).") var baseURL: String?
    @Option(help: "Largest request body in bytes (KARNA_MAX_BODY_BYTES).") var maxBodyBytes: String?
    @Option(help: "Most entries in a batch or transaction (KARNA_MAX_BUNDLE_ENTRIES).") var maxBundleEntries: String?
    @Option(help: "Deepest JSON nesting (KARNA_MAX_JSON_DEPTH).") var maxJsonDepth: String?
    @Option(help: "Longest JSON string in bytes (KARNA_MAX_STRING_BYTES).") var maxStringBytes: String?
    @Option(help: "Page size when _count is absent (KARNA_DEFAULT_PAGE_SIZE).") var defaultPageSize: String?
    @Option(help: "Largest _count honoured (KARNA_MAX_PAGE_SIZE).") var maxPageSize: String?
    @Option(help: "Log level (KARNA_LOG_LEVEL, default info).") var logLevel: String?

    func resolve() throws -> KarnaConfiguration {
        let flags: [String: String?] = [
            "host": host, "port": port, "database-url": databaseURL, "base-url": baseURL,
            "max-body-bytes": maxBodyBytes, "max-bundle-entries": maxBundleEntries, "max-json-depth": maxJsonDepth,
            "max-string-bytes": maxStringBytes, "default-page-size": defaultPageSize, "max-page-size": maxPageSize, "log-level": logLevel,
        ]
        do {
            return try KarnaConfiguration(flags: flags.compactMapValues { $0 })
        } catch let error as KarnaConfiguration.Error {
            throw ValidationError("configuration: \(error.description)")
        }
    }

    func logger(_ configuration: KarnaConfiguration) -> Logger {
        var logger = Logger(label: "karna")
        logger.logLevel = Logger.Level(rawValue: configuration.logLevel) ?? .info
        return logger
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the server (FHIR API under /fhir).")
    @OptionGroup var options: ServerOptions

    func run() async throws {
        let configuration = try options.resolve()
        let logger = options.logger(configuration)
        let store = try await KarnaApplication.openStore(configuration, logger: logger)
        print("Kärna \(KarnaVersion.current) on \(store.backendName) (\(configuration.redactedDatabaseURL))")
        print("FHIR R4 API:  \(configuration.baseURL)")
        print("Capabilities: \(configuration.baseURL)/metadata")
        print("No login yet: the FHIR API is open to this machine (\(configuration.host)); identity and PDL access control come next.")
        let app = KarnaApplication.build(configuration, store: store, logger: logger)
        try await app.runService()
        try await store.close()
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Bring the database schema up to date and exit.")
    @OptionGroup var options: ServerOptions

    func run() async throws {
        let configuration = try options.resolve()
        let logger = options.logger(configuration)
        let store = try StoreFactory.open(url: configuration.databaseURL, logger: logger)
        let applied = try await store.migrate()
        print(applied.isEmpty ? "\(store.backendName): schema is up to date" : "\(store.backendName): applied \(applied.joined(separator: ", "))")
        try await store.close()
    }
}

struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load FHIR transaction or batch Bundles (.json or .json.bz2): a file or a folder of them.",
        discussion: "Client ids from urn:uuid fullUrls are kept, so importing the same files twice changes nothing and says so."
    )
    @OptionGroup var options: ServerOptions
    @Argument(help: "A Bundle file or a folder of them.") var path: String

    func run() async throws {
        let configuration = try options.resolve()
        let logger = options.logger(configuration)
        let store = try await KarnaApplication.openStore(configuration, logger: logger)
        let engine = FHIREngine(store: store, limits: configuration.limits, baseURL: configuration.baseURL, logger: logger)
        let files = try BundleImporter.files(at: path)
        print("importing \(files.count) files into \(store.backendName) (\(configuration.redactedDatabaseURL))")
        let report = await BundleImporter(engine: engine).importFiles(files) { file, report in
            print("[\(report.files)/\(files.count)] \((file as NSString).lastPathComponent): \(report.entries) resources, \(Int(report.resourcesPerSecond))/s")
        }
        try await store.optimize()
        for failure in report.failedFiles { print("FAILED \(failure.file): \(failure.reason)") }
        print(report.summary)
        try await store.close()
        if !report.failedFiles.isEmpty { throw ExitCode(1) }
    }
}
