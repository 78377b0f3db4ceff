import Access
import ArgumentParser
import FHIRAPI
import Foundation
import KarnaServer
import Logging
import Store
import StoreModel
import Hummingbird

/// The `karna` command: serve, migrate, import.
@main
struct Karna: AsyncParsableCommand {
    /// Once per process: standard output, with the request id on every line written during a request.
    static let bootstrapLogging: Void = LoggingSystem.bootstrap({ label, provider in
        StreamLogHandler.standardOutput(label: label, metadataProvider: provider)
    }, metadataProvider: RequestOrigin.metadataProvider)

    static let configuration = CommandConfiguration(
        commandName: "karna",
        abstract: "Kärna: an open core healthcare information system (FHIR R4) for Swedish regions.",
        version: KarnaVersion.current,
        subcommands: [Serve.self, Migrate.self, Import.self, Validate.self, Seed.self, TerminologyCommand.self, AuditCommand.self, TOTPCode.self, BenchInsert.self],
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
    @Option(help: "Days a care relationship lasts after a care contact (KARNA_CARE_RELATIONSHIP_DAYS, default 30).") var careRelationshipDays: String?
    @Option(help: "Hours a nödåtkomst lasts (KARNA_EMERGENCY_ACCESS_HOURS, default 4).") var emergencyAccessHours: String?
    @Option(help: "Care provider of records without a unit tag (KARNA_DEFAULT_PROVIDER).") var defaultProvider: String?
    @Option(help: "Id of the system client the first start creates (KARNA_BOOTSTRAP_CLIENT_ID).") var bootstrapClientId: String?
    @Option(help: "Its secret (KARNA_BOOTSTRAP_CLIENT_SECRET).") var bootstrapClientSecret: String?
    @Option(help: "File for the demo credentials (KARNA_DEMO_CREDENTIALS).") var demoCredentials: String?
    @Option(help: "Access token lifetime in seconds (KARNA_ACCESS_TOKEN_SECONDS).") var accessTokenSeconds: String?
    @Option(help: "Web session idle lifetime in seconds (KARNA_SESSION_SECONDS).") var sessionSeconds: String?
    @Option(help: "Patients a web patient search lists at most (KARNA_WEB_SEARCH_ROWS).") var webSearchRows: String?
    @Option(help: "Times and bookings a web appointment-book view reads at most (KARNA_WEB_BOOK_ROWS).") var webBookRows: String?
    @Option(help: "Audit records one web log-review page lists (KARNA_WEB_LOG_ROWS).") var webLogRows: String?
    @Option(help: "One-patient search statements PostgreSQL keeps planned per connection (KARNA_PREPARED_SEARCHES, default 64, 0 plans each time).") var preparedSearches: String?
    @Option(help: "Seconds PostgreSQL's search planner keeps its index-row counts (KARNA_SEARCH_PROBE_SECONDS, default 60, 0 counts for every search).") var searchProbeSeconds: String?
    @Option(help: "scrypt cost exponent for new passwords (KARNA_PASSWORD_COST).") var passwordCost: String?
    @Option(help: "Failed logins before lockout (KARNA_LOCKOUT_ATTEMPTS).") var lockoutAttempts: String?
    @Option(help: "The shortest password a user may choose (KARNA_PASSWORD_MIN_LENGTH, default 12).") var passwordMinLength: String?
    @Option(help: "Trusted external OIDC issuer (KARNA_OIDC_ISSUER).") var oidcIssuer: String?
    @Option(help: "Audience its tokens carry (KARNA_OIDC_AUDIENCE).") var oidcAudience: String?
    @Option(help: "File with its JWK set (KARNA_OIDC_JWKS_FILE).") var oidcJwksFile: String?
    @Option(help: "Years audit records are kept (KARNA_AUDIT_RETENTION_YEARS).") var auditRetentionYears: String?
    @Option(help: "Days before an unassessed referral is overdue (KARNA_REFERRAL_ASSESSMENT_DAYS, default 7).") var referralAssessmentDays: String?
    @Option(help: "Days without action before a referral raises an alarm (KARNA_REFERRAL_ALARM_DAYS, default 14).") var referralAlarmDays: String?
    @Option(help: "Hours before a booked time that reminders go out (KARNA_REMINDER_HOURS, default 24).") var reminderHours: String?
    @Option(help: "Most slots per $generate-slots call (KARNA_MAX_SLOTS_PER_GENERATION, default 3000).") var maxSlotsPerGeneration: String?
    @Option(help: "Most records one patient merge moves (KARNA_MAX_MERGE_RESOURCES, default 20000).") var maxMergeResources: String?
    @Option(help: "Longest text of one note heading (KARNA_MAX_SECTION_CHARACTERS, default 100000).") var maxSectionCharacters: String?
    @Option(help: "Most notes one journal view reads (KARNA_MAX_JOURNAL_NOTES, default 5000).") var maxJournalNotes: String?
    @Option(help: "Most codes one $expand page returns (KARNA_MAX_EXPANSION, default 1000).") var maxExpansion: String?
    @Option(help: "PostgreSQL: seconds a request waits for a connection before 503 (KARNA_DATABASE_WAIT_SECONDS, default 5).") var databaseWaitSeconds: String?
    @Option(help: "Login posts per client address a minute (KARNA_RATE_LOGINS, default 60, 0 no limit).") var rateLogins: String?
    @Option(help: "Login attempts per account a minute (KARNA_RATE_ACCOUNT_LOGINS, default 10).") var rateAccountLogins: String?
    @Option(help: "Token requests per client address a minute (KARNA_RATE_TOKENS, default 120).") var rateTokens: String?
    @Option(help: "FHIR API requests per client address a minute (KARNA_RATE_API, default 30000).") var rateApi: String?
    @Option(help: "Seconds to a complete request head (KARNA_HEADER_TIMEOUT_SECONDS, default 10).") var headerTimeoutSeconds: String?
    @Option(help: "Seconds from a request head to the end of its body (KARNA_BODY_TIMEOUT_SECONDS, default 60).") var bodyTimeoutSeconds: String?
    @Option(help: "Seconds a kept-alive connection waits for its next request (KARNA_IDLE_TIMEOUT_SECONDS, default 75).") var idleTimeoutSeconds: String?
    @Option(help: "Open connections per client address (KARNA_CONNECTIONS_PER_CLIENT, default 64).") var connectionsPerClient: String?
    @Option(help: "Time after login at which a web session ends however active (KARNA_SESSION_MAX_SECONDS, default 43200).") var sessionMaxSeconds: String?
    @Option(help: "How deeply chains and _has may nest (KARNA_MAX_CHAIN_DEPTH, default 2).") var maxChainDepth: String?
    @Option(help: "Most readable records one chained or _has part matches (KARNA_MAX_CHAIN_MATCHES, default 1000).") var maxChainMatches: String?
    @Option(help: "on: references must name resources that exist; off for bulk imports (KARNA_REFERENCE_CHECK, default on).") var referenceCheck: String?
    @Option(help: "Patient notifications: file:PATH or smtp(s)://host:port (KARNA_NOTIFY).") var notify: String?
    @Option(help: "Sender address of e-mail notifications (KARNA_NOTIFY_FROM).") var notifyFrom: String?
    @Option(help: "Seconds between outbox runs (KARNA_OUTBOX_SECONDS, default 30).") var outboxSeconds: String?

    func resolve() throws -> KarnaConfiguration {
        let flags: [String: String?] = [
            "host": host, "port": port, "database-url": databaseURL, "base-url": baseURL,
            "max-body-bytes": maxBodyBytes, "max-bundle-entries": maxBundleEntries, "max-json-depth": maxJsonDepth,
            "max-string-bytes": maxStringBytes, "default-page-size": defaultPageSize, "max-page-size": maxPageSize, "log-level": logLevel,
            "care-relationship-days": careRelationshipDays, "emergency-access-hours": emergencyAccessHours, "default-provider": defaultProvider,
            "bootstrap-client-id": bootstrapClientId, "bootstrap-client-secret": bootstrapClientSecret, "demo-credentials": demoCredentials,
            "access-token-seconds": accessTokenSeconds, "session-seconds": sessionSeconds, "web-search-rows": webSearchRows, "web-book-rows": webBookRows, "web-log-rows": webLogRows,
            "prepared-searches": preparedSearches, "search-probe-seconds": searchProbeSeconds,
            "password-cost": passwordCost,
            "lockout-attempts": lockoutAttempts, "password-min-length": passwordMinLength, "oidc-issuer": oidcIssuer, "oidc-audience": oidcAudience, "oidc-jwks-file": oidcJwksFile,
            "audit-retention-years": auditRetentionYears, "referral-assessment-days": referralAssessmentDays, "referral-alarm-days": referralAlarmDays,
            "reminder-hours": reminderHours, "max-slots-per-generation": maxSlotsPerGeneration, "max-merge-resources": maxMergeResources,
            "notify": notify, "notify-from": notifyFrom, "outbox-seconds": outboxSeconds,
            "max-section-characters": maxSectionCharacters, "max-journal-notes": maxJournalNotes, "max-expansion": maxExpansion,
            "session-max-seconds": sessionMaxSeconds, "header-timeout-seconds": headerTimeoutSeconds, "body-timeout-seconds": bodyTimeoutSeconds,
            "idle-timeout-seconds": idleTimeoutSeconds, "rate-logins": rateLogins, "database-wait-seconds": databaseWaitSeconds, "rate-account-logins": rateAccountLogins,
            "rate-tokens": rateTokens, "rate-api": rateApi, "connections-per-client": connectionsPerClient, "max-chain-depth": maxChainDepth, "max-chain-matches": maxChainMatches, "reference-check": referenceCheck,
        ]
        do {
            return try KarnaConfiguration(flags: flags.compactMapValues { $0 })
        } catch let error as KarnaConfiguration.Error {
            throw ValidationError("configuration: \(error.description)")
        }
    }

    func logger(_ configuration: KarnaConfiguration) -> Logger {
        // Every logger, whoever makes it, writes the request id of the request it runs in (RequestOrigin).
        Karna.bootstrapLogging
        var logger = Logger(label: "karna")
        logger.logLevel = Logger.Level(rawValue: configuration.logLevel) ?? .info
        return logger
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the server (web app under /, FHIR API under /fhir, login and tokens under /auth).")
    @OptionGroup var options: ServerOptions

    func run() async throws {
        let configuration = try options.resolve()
        let logger = options.logger(configuration)
        let store = try await KarnaApplication.openStore(configuration, logger: logger)
        let services = try await KarnaApplication.services(configuration, store: store, logger: logger)
        let created = try await DemoSetup.ensure(gateway: services.gateway, accounts: services.accounts, clients: services.tokens.clients,
                                                 configuration: configuration)
        print("Kärna \(KarnaVersion.current) on \(store.backendName) (\(configuration.redactedDatabaseURL))")
        print("Web app:      \(configuration.baseURL.hasSuffix("/fhir") ? String(configuration.baseURL.dropLast(5)) : configuration.baseURL)/   (log in as a demo user below)")
        print("FHIR R4 API:  \(configuration.baseURL)   (OAuth 2.0 bearer tokens; every access audited)")
        print("Capabilities: \(configuration.baseURL)/metadata")
        print("Login (OpenID Connect / SMART): \(configuration.authIssuerURL)/authorize")
        if created != nil { print("First start: created the demo organisation, users and clients.") }
        if let credentials = created ?? DemoSetup.load(from: configuration.demoCredentialsPath) {
            for line in DemoSetup.summary(credentials, configuration: configuration) { print(line) }
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
        let store = try StoreFactory.open(url: configuration.databaseURL, logger: logger)
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
            print("[\(report.files)/\(files.count)] \((file as NSString).lastPathComponent): \(report.entries) resources, \(Int(report.resourcesPerSecond))/s")
        }
        try await store.optimize()
        for failure in report.failedFiles { print("FAILED \(failure.file): \(failure.reason)") }
        print(report.summary)
        try await store.close()
        if !report.failedFiles.isEmpty { throw ExitCode(1) }
    }
}
