import Access
import ArgumentParser
import FHIRAPI
import Foundation
import KarnaServer
import Logging
import Store
import StoreModel
import Synchronization
import Hummingbird

/// The `karna` command: serve, migrate, import.
@main
struct Karna: AsyncParsableCommand {
    /// Once per process (swift-log allows one): standard output, line-buffered, as text or JSON lines, with the
    /// request id on every line written during a request.
    static let loggingBootstrapped = Mutex(false)
    static func bootstrapLogging(format: String) {
        guard loggingBootstrapped.withLock({ done in defer { done = true }; return !done }) else { return }
        StandardOutput.lineBuffered()
        LoggingSystem.bootstrap({ label, provider -> any LogHandler in
            format == "json" ? JSONLogHandler.standardOutput(label: label, metadataProvider: provider)
                : StreamLogHandler.standardOutput(label: label, metadataProvider: provider)
        }, metadataProvider: RequestOrigin.metadataProvider)
    }

    static let configuration = CommandConfiguration(
        commandName: "karna",
        abstract: "Kärna: an open core healthcare information system (FHIR R4) for Swedish regions.",
        discussion: KarnaConfiguration.helpText,
        version: KarnaVersion.current,
        subcommands: [Serve.self, SettingsCommand.self, Migrate.self, AdminCommand.self, ClientCommand.self, BackupCommand.self, DowntimeCommand.self, Import.self, Validate.self, Seed.self, TerminologyCommand.self, DrugsCommand.self, AuditCommand.self, ExportCommand.self, TOTPCode.self, BenchInsert.self],
        defaultSubcommand: Serve.self
    )

    /// Commands whose own options share names with settings (`bench-insert --database-url`) keep them.
    static let ownOptions: Set<String> = ["bench-insert", "totp"]

    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if let command = arguments.first, ownOptions.contains(command) {
            await main(arguments)
            return
        }
        let (flags, rest) = ServerOptions.takeSettings(from: arguments)
        ServerOptions.given.withLock { $0 = flags }
        await main(rest)
    }
}

/// Settings shared by every command that opens the database. They are not ArgumentParser options:
/// each is declared once (`KarnaConfiguration.declared`), `main` takes its `--flag value` out of the
/// arguments before ArgumentParser sees them, and swift-configuration resolves flags over `KARNA_*`
/// variables over a settings file over the defaults. `karna --help` lists them.
struct ServerOptions: ParsableArguments {
    /// The setting flags of this invocation, taken from the arguments by `Karna.main` before parsing.
    static let given = Mutex<[String: String]>([:])

    func resolve() throws -> KarnaConfiguration {
        do {
            return try KarnaConfiguration(flags: Self.given.withLock { $0 })
        } catch let error as KarnaConfiguration.Error {
            throw ValidationError("configuration: \(error.description)")
        }
    }

    /// Splits `--key value` and `--key=value` of declared settings from the other arguments.
    static func takeSettings(from arguments: [String]) -> (flags: [String: String], rest: [String]) {
        let keys = Set(KarnaConfiguration.declared.map(\.key))
        var flags: [String: String] = [:]
        var rest: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument.hasPrefix("--") {
                let body = argument.dropFirst(2)
                if let equals = body.firstIndex(of: "="), keys.contains(String(body[..<equals])) {
                    flags[String(body[..<equals])] = String(body[body.index(after: equals)...])
                    index += 1
                    continue
                }
                if keys.contains(String(body)), index + 1 < arguments.count {
                    flags[String(body)] = arguments[index + 1]
                    index += 2
                    continue
                }
            }
            rest.append(argument)
            index += 1
        }
        return (flags, rest)
    }

    /// Opens the configured database for a one-off command and closes it afterwards, also when the command throws.
    func withStore<T>(_ body: (_ store: any ResourceStore, _ configuration: KarnaConfiguration, _ logger: Logger) async throws -> T) async throws -> T {
        let configuration = try resolve()
        let logger = logger(configuration)
        let store = try await KarnaApplication.openStore(configuration, logger: logger)
        do {
            let result = try await body(store, configuration, logger)
            try await store.close()
            return result
        } catch {
            try? await store.close()
            throw error
        }
    }

    /// The same with the server's services over the store (the gateway, the modules), for a command that works as a job would.
    func withServices<T>(_ body: (_ services: KarnaServices) async throws -> T) async throws -> T {
        try await withStore { store, configuration, logger in
            try await body(try await KarnaApplication.services(configuration, store: store, logger: logger))
        }
    }

    func logger(_ configuration: KarnaConfiguration) -> Logger {
        // Every logger, whoever makes it, writes the request id of the request it runs in (RequestOrigin).
        Karna.bootstrapLogging(format: configuration.logFormat)
        var logger = Logger(label: "karna")
        logger.logLevel = Logger.Level(rawValue: configuration.logLevel) ?? .info
        return logger
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the server (web app under /, FHIR API under /fhir, login and tokens under /auth).",
                                                    discussion: KarnaConfiguration.helpText)
    @OptionGroup var options: ServerOptions

    func run() async throws {
        let configuration = try options.resolve()
        let logger = options.logger(configuration)
        let store = try await KarnaApplication.openStore(configuration, logger: logger)
        let services = try await KarnaApplication.services(configuration, store: store, logger: logger)
        var created: DemoSetup.Credentials?
        if configuration.production {
            // A real installation: no demo data is made, and a start that finds the demo's traces stops, naming them.
            let traces = try await ProductionSetup.demoTraces(accounts: services.accounts, clients: services.tokens.clients, configuration: configuration)
            guard traces.isEmpty else {
                try await store.close()
                throw ValidationError("production: refusing to start with demo secrets: " + traces.joined(separator: "; "))
            }
            try await ProductionSetup.ensureBootstrapClient(clients: services.tokens.clients, configuration: configuration)
        } else if !configuration.readOnly {
            created = try await DemoSetup.ensure(gateway: services.gateway, accounts: services.accounts, clients: services.tokens.clients,
                                                 configuration: configuration)
        }
        let web = configuration.baseURL.hasSuffix("/fhir") ? String(configuration.baseURL.dropLast(5)) : configuration.baseURL
        print("Kärna \(KarnaVersion.current) on \(store.backendName) (\(configuration.redactedDatabaseURL))\(configuration.production ? ", production" : "")")
        print("Web app:      \(web)/" + (configuration.production ? "" : "   (log in as a demo user below)"))
        print("FHIR R4 API:  \(configuration.baseURL)   (OAuth 2.0 bearer tokens; every access audited)")
        print("Capabilities: \(configuration.baseURL)/metadata")
        print("Login (OpenID Connect / SMART): \(configuration.authIssuerURL)/authorize")
        if let notice = services.gateway.readOnly.notice() { print(notice) }
        print("Health:       \(web)/health/live, \(web)/health/ready; metrics at \(web)/metrics")
        if configuration.production {
            if try await !services.accounts.hasAccounts() { print("No accounts yet: create the first administrator with `karna admin create` (docs/operations.md).") }
        } else {
            if created != nil { print("First start: created the demo organisation, users and clients.") }
            if let credentials = created ?? DemoSetup.load(from: configuration.demoCredentialsPath) {
                for line in DemoSetup.summary(credentials, configuration: configuration) { print(line) }
            }
        }
        let app = try await KarnaApplication.build(services, logger: logger)
        try await app.runService()
        try await store.close()
    }
}

/// `karna totp USERNAME`: the current one-time code of a demo user, for logging in without an authenticator app.
struct TOTPCode: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "totp", abstract: "Print the current one-time code of a demo user (or of a TOTP secret).")
    @Option(help: "The demo credentials file (KARNA_DEMO_CREDENTIALS).") var demoCredentials: String?
    @Argument(help: "A demo username, or a base32 TOTP secret.") var user: String

    func run() throws {
        let path = demoCredentials ?? ProcessInfo.processInfo.environment["KARNA_DEMO_CREDENTIALS"] ?? "./data/demo-credentials.json"
        let secret = DemoSetup.load(from: path)?.users.first { $0.username == user.lowercased() }?.totpSecret ?? user
        guard let code = TOTP.code(secret: secret, step: TOTP.step()) else {
            throw ValidationError("'\(user)' is neither a demo user in \(path) nor a base32 TOTP secret")
        }
        print(code)
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Bring the database schema up to date and exit.")
    @OptionGroup var options: ServerOptions

    func run() async throws {
        let configuration = try options.resolve()
        let logger = options.logger(configuration)
        let store = try StoreFactory.open(url: configuration.databaseURL, preparedSearches: configuration.preparedSearches,
                                          waitSeconds: Double(configuration.databaseWaitSeconds), postgres: configuration.postgres, logger: logger)
        try await store.probe()
        let applied = try await store.migrate()
        if !applied.isEmpty { try await store.optimize() }
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
        let services = try await KarnaApplication.services(configuration, store: store, logger: logger)
        // The import is a job of its own: it passes the gateway as a system principal and is audited per patient.
        let engine = services.engine.bound(to: .job("karna-import"), action: "import")
        let files = try BundleImporter.files(at: path)
        print("importing \(files.count) files into \(store.backendName) (\(configuration.redactedDatabaseURL))")
        let report = await BundleImporter(engine: engine).importFiles(files) { file, report in
            print(BundleImporter.progressLine(file: file, report: report, of: files.count))
        }
        try await store.optimize()
        for failure in report.failedFiles { print("FAILED \(failure.file): \(failure.reason)") }
        print(report.summary)
        try await store.close()
        if !report.failedFiles.isEmpty { throw ExitCode(1) }
    }
}

/// `karna settings`: the settings table as the README shows it, made from the declarations.
struct SettingsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "settings", abstract: "Print every setting as a Markdown table (flag, variable, default, meaning).")

    func run() {
        print(KarnaConfiguration.markdownTable)
    }
}
