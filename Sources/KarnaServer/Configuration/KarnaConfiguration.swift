import Access
import FHIRAPI
import FHIRCore
import Foundation
import Documentation
import PatientAdministration

/// Every setting of a Kärna server, decoded once from flags and `KARNA_*`
/// environment variables (a flag wins). A bad value stops start-up with a
/// message that names the setting.
public struct KarnaConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// `sqlite:PATH` (the default, under `./data`) or `postgres://user:password@host:port/database`.
    public var databaseURL: String
    /// The FHIR base URL clients see, for links and `Location`; derived from host and port unless set.
    public var publicBaseURL: String?
    public var limits: APILimits
    public var logLevel: String
    /// The Patientdatalag limits (care relationship window, nödåtkomst length, default provider).
    public var access: AccessSettings
    /// The system client the first start creates, with known credentials for automation when both are set.
    public var bootstrapClientID: String?
    public var bootstrapClientSecret: String?
    /// Where the first start writes the demo users' credentials (mode 0600), printed at every start.
    public var demoCredentialsPath: String
    public var accessTokenSeconds: Int
    public var sessionSeconds: Int
    /// How long a web session lasts at most after the login, however active.
    public var sessionMaximumSeconds: Int
    /// The longest a request waits for a PostgreSQL connection before it is answered 503.
    public var databaseWaitSeconds = 5
    /// Header, body and idle timeouts and the per-client connection limit.
    public var connections = ConnectionLimits()
    /// Logins, token requests and API calls per client address (and logins per account) a minute.
    public var rateLimits = RateLimitSettings()
    /// The web app's longest lists: patient search hits, appointment-book rows, log rows.
    public var webSearchRows: Int
    public var webBookRows: Int
    public var webLogRows: Int
    /// One-patient search statements PostgreSQL keeps planned per connection (0: plan each time).
    public var preparedSearches: Int
    /// Seconds PostgreSQL's search planner keeps its index-row counts (0: counts for every search).
    public var searchProbeSeconds: Int
    /// log2 of scrypt's N for new password hashes.
    public var passwordCost: Int
    public var lockoutAttempts: Int
    /// The shortest password a user may choose.
    public var passwordMinimumLength: Int
    /// A trusted external OpenID Connect issuer, its audience, and a file with its JWK set.
    public var externalIssuer: String?
    public var externalAudience: String?
    public var externalJWKSPath: String?
    /// How long audit records are kept before they may be archived (never deleted by normal operation).
    public var auditRetentionYears: Int
    /// Patient administration's periods and limits (referral alarms, reminders, slot generation, merges).
    public var administration: AdministrationSettings
    /// Clinical documentation's limits (section length, journal size).
    public var documentation: DocumentationSettings
    /// The largest page `$expand` returns.
    public var maximumExpansion: Int
    /// Where patient notifications go: `file:PATH` (JSON lines, the default) or `smtp://host:port` / `smtps://…`.
    public var notify: String
    /// The sender address of e-mail notifications.
    public var notifyFrom: String
    /// Seconds between runs of the outbox and the referral alarm check.
    public var outboxSeconds: Int

    /// The settings, their variables and meaning, for `--help` and the README.
    public static let settings: [(flag: String, variable: String, meaning: String)] = [
        ("--host", "KARNA_HOST", "address to listen on (default 127.0.0.1)"),
        ("--port", "KARNA_PORT", "port to listen on (default 8080)"),
        ("--database-url", "KARNA_DATABASE_URL", "sqlite:PATH or postgres://user:password@host:port/db (default sqlite:./data/karna.sqlite)"),
        ("--base-url", "KARNA_BASE_URL", "public FHIR base URL (default http://HOST:PORT/fhir)"),
        ("--max-body-bytes", "KARNA_MAX_BODY_BYTES", "largest request body (default 33554432)"),
        ("--max-bundle-entries", "KARNA_MAX_BUNDLE_ENTRIES", "most entries in a batch or transaction (default 10000)"),
        ("--max-json-depth", "KARNA_MAX_JSON_DEPTH", "deepest JSON nesting (default 64)"),
        ("--max-string-bytes", "KARNA_MAX_STRING_BYTES", "longest JSON string (default 16777216)"),
        ("--default-page-size", "KARNA_DEFAULT_PAGE_SIZE", "page size when _count is absent (default 50)"),
        ("--max-page-size", "KARNA_MAX_PAGE_SIZE", "largest _count honoured (default 1000)"),
        ("--log-level", "KARNA_LOG_LEVEL", "trace, debug, info, notice, warning, error or critical (default info)"),
        ("--care-relationship-days", "KARNA_CARE_RELATIONSHIP_DAYS", "days a care relationship lasts after a care contact ends (default 30)"),
        ("--emergency-access-hours", "KARNA_EMERGENCY_ACCESS_HOURS", "hours a nödåtkomst lasts (default 4)"),
        ("--default-provider", "KARNA_DEFAULT_PROVIDER", "care provider of records without a unit tag (default region-karnland)"),
        ("--bootstrap-client-id", "KARNA_BOOTSTRAP_CLIENT_ID", "id of the system client the first start creates (default karna-demo-system)"),
        ("--bootstrap-client-secret", "KARNA_BOOTSTRAP_CLIENT_SECRET", "its secret; set both for automation (default: random, printed)"),
        ("--demo-credentials", "KARNA_DEMO_CREDENTIALS", "file for the demo users' credentials (default ./data/demo-credentials.json)"),
        ("--access-token-seconds", "KARNA_ACCESS_TOKEN_SECONDS", "lifetime of access tokens (default 900)"),
        ("--session-seconds", "KARNA_SESSION_SECONDS", "idle lifetime of a web login session (default 1800)"),
        ("--web-search-rows", "KARNA_WEB_SEARCH_ROWS", "patients a web patient search lists at most (default 50)"),
        ("--web-book-rows", "KARNA_WEB_BOOK_ROWS", "times and bookings a web appointment-book view reads at most (default 400)"),
        ("--web-log-rows", "KARNA_WEB_LOG_ROWS", "audit records one web log-review page lists; further pages follow (default 100)"),
        ("--prepared-searches", "KARNA_PREPARED_SEARCHES", "one-patient search statements PostgreSQL keeps planned per connection (default 64; 0 plans each time)"),
        ("--search-probe-seconds", "KARNA_SEARCH_PROBE_SECONDS", "seconds PostgreSQL's search planner keeps its index-row counts (default 60; 0 counts for every search)"),
        ("--password-cost", "KARNA_PASSWORD_COST", "scrypt cost exponent for new password hashes (default 15)"),
        ("--lockout-attempts", "KARNA_LOCKOUT_ATTEMPTS", "failed logins before an account locks, with doubling back-off (default 5)"),
        ("--password-min-length", "KARNA_PASSWORD_MIN_LENGTH", "the shortest password a user may choose (default 12)"),
        ("--oidc-issuer", "KARNA_OIDC_ISSUER", "a trusted external OpenID Connect issuer (the region's identity provider)"),
        ("--oidc-audience", "KARNA_OIDC_AUDIENCE", "the audience its tokens must carry (default the FHIR base URL)"),
        ("--oidc-jwks-file", "KARNA_OIDC_JWKS_FILE", "a file with the external issuer's JWK set"),
        ("--audit-retention-years", "KARNA_AUDIT_RETENTION_YEARS", "years audit records are kept before archiving may be considered (default 10)"),
        ("--referral-assessment-days", "KARNA_REFERRAL_ASSESSMENT_DAYS", "days within which a referral must be assessed before it is flagged overdue (default 7)"),
        ("--referral-alarm-days", "KARNA_REFERRAL_ALARM_DAYS", "days without any action on a referral before it raises an alarm (default 14)"),
        ("--reminder-hours", "KARNA_REMINDER_HOURS", "hours before a booked time that the patient is reminded (default 24)"),
        ("--max-slots-per-generation", "KARNA_MAX_SLOTS_PER_GENERATION", "most slots one $generate-slots call makes (default 3000)"),
        ("--max-merge-resources", "KARNA_MAX_MERGE_RESOURCES", "most records one patient merge moves (default 20000)"),
        ("--max-section-characters", "KARNA_MAX_SECTION_CHARACTERS", "longest text one heading (sökord) of a note may hold (default 100000)"),
        ("--max-journal-notes", "KARNA_MAX_JOURNAL_NOTES", "most notes one journal view reads for a patient (default 5000)"),
        ("--max-expansion", "KARNA_MAX_EXPANSION", "most codes one $expand page returns (default 1000)"),
        ("--database-wait-seconds", "KARNA_DATABASE_WAIT_SECONDS", "PostgreSQL: the longest a request waits for a connection before it is answered 503 with Retry-After (default 5)"),
        ("--rate-logins", "KARNA_RATE_LOGINS", "login form posts per client address and minute; 429 beyond, 0 no limit (default 60)"),
        ("--rate-account-logins", "KARNA_RATE_ACCOUNT_LOGINS", "login attempts per account and minute from any address (default 10)"),
        ("--rate-tokens", "KARNA_RATE_TOKENS", "token requests per client address and minute (default 120)"),
        ("--rate-api", "KARNA_RATE_API", "FHIR API requests per client address and minute (default 30000)"),
        ("--header-timeout-seconds", "KARNA_HEADER_TIMEOUT_SECONDS", "seconds from opening a connection to a complete request head; then it is closed (default 10)"),
        ("--body-timeout-seconds", "KARNA_BODY_TIMEOUT_SECONDS", "seconds from a request head to the end of its body (default 60)"),
        ("--idle-timeout-seconds", "KARNA_IDLE_TIMEOUT_SECONDS", "seconds a kept-alive connection may wait for its next request (default 75)"),
        ("--connections-per-client", "KARNA_CONNECTIONS_PER_CLIENT", "open connections one client address may hold; more are closed at once (default 64)"),
        ("--session-max-seconds", "KARNA_SESSION_MAX_SECONDS", "time after login at which a web session ends however active it is (default 43200)"),
        ("--max-chain-depth", "KARNA_MAX_CHAIN_DEPTH", "how deeply chains and _has may nest in one search parameter (default 2)"),
        ("--max-chain-matches", "KARNA_MAX_CHAIN_MATCHES", "most readable records one chained or _has part of a search may match (default 1000)"),
        ("--reference-check", "KARNA_REFERENCE_CHECK", "on: a write's references must name resources that exist; off for a bulk import whose bundles point outside themselves (default on)"),
        ("--notify", "KARNA_NOTIFY", "patient notifications: file:PATH or smtp(s)://host:port; SMTP login from KARNA_SMTP_USER and KARNA_SMTP_PASSWORD (default file:./data/notifications.jsonl)"),
        ("--notify-from", "KARNA_NOTIFY_FROM", "sender address of e-mail notifications (default noreply@karna.invalid)"),
        ("--outbox-seconds", "KARNA_OUTBOX_SECONDS", "seconds between outbox runs and referral alarm checks (default 30)"),
    ]

    public static let defaultDatabaseURL = "sqlite:./data/karna.sqlite"

    /// A configuration problem, naming the setting.
    public struct Error: Swift.Error, CustomStringConvertible {
        public let description: String
    }

    /// Resolves each setting from `flags` (name without dashes → value), then `environment`, then the default.
    public init(flags: [String: String] = [:], environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        func raw(_ flag: String, _ variable: String) -> (String, String)? {
            if let value = flags[flag] { return (value, "--\(flag)") }
            if let value = environment[variable], !value.isEmpty { return (value, variable) }
            return nil
        }
        func integer(_ flag: String, _ variable: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
            guard let (text, source) = raw(flag, variable) else { return value }
            guard let number = Int(text), range.contains(number) else {
                throw Error(description: "\(source) must be a whole number from \(range.lowerBound) to \(range.upperBound); got '\(text)'")
            }
            return number
        }
        host = raw("host", "KARNA_HOST")?.0 ?? "127.0.0.1"
        port = try integer("port", "KARNA_PORT", default: 8080, range: 1...65_535)
        databaseURL = raw("database-url", "KARNA_DATABASE_URL")?.0 ?? Self.defaultDatabaseURL
        if let (url, source) = raw("database-url", "KARNA_DATABASE_URL") {
            let valid = url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") || url.hasPrefix("sqlite:") || !url.contains("://")
            guard valid, !url.isEmpty else {
                throw Error(description: "\(source) must be sqlite:PATH or postgres://user:password@host:port/database; got '\(url)'")
            }
        }
        if let (url, source) = raw("base-url", "KARNA_BASE_URL") {
            guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host != nil else {
                throw Error(description: "\(source) must be an http(s) URL such as https://fhir.example.se/fhir; got '\(url)'")
            }
            publicBaseURL = url
        }
        limits = APILimits(
            maxBodyBytes: try integer("max-body-bytes", "KARNA_MAX_BODY_BYTES", default: 32 * 1024 * 1024, range: 1_024...1 << 31),
            maxBundleEntries: try integer("max-bundle-entries", "KARNA_MAX_BUNDLE_ENTRIES", default: 10_000, range: 1...1_000_000),
            maxJSONDepth: try integer("max-json-depth", "KARNA_MAX_JSON_DEPTH", default: 64, range: 8...1_000),
            maxStringBytes: try integer("max-string-bytes", "KARNA_MAX_STRING_BYTES", default: 16 * 1024 * 1024, range: 1_024...1 << 31),
            defaultPageSize: try integer("default-page-size", "KARNA_DEFAULT_PAGE_SIZE", default: 50, range: 1...10_000),
            maxPageSize: try integer("max-page-size", "KARNA_MAX_PAGE_SIZE", default: 1_000, range: 1...100_000)
        )
        logLevel = raw("log-level", "KARNA_LOG_LEVEL")?.0 ?? "info"
        let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
        guard levels.contains(logLevel) else {
            throw Error(description: "KARNA_LOG_LEVEL/--log-level must be one of \(levels.joined(separator: ", ")); got '\(logLevel)'")
        }
        access = AccessSettings(
            careRelationshipDays: try integer("care-relationship-days", "KARNA_CARE_RELATIONSHIP_DAYS", default: 30, range: 0...3_650),
            emergencyAccessHours: try integer("emergency-access-hours", "KARNA_EMERGENCY_ACCESS_HOURS", default: 4, range: 1...72),
            defaultProviderID: raw("default-provider", "KARNA_DEFAULT_PROVIDER")?.0 ?? "region-karnland"
        )
        access.maximumChainDepth = try integer("max-chain-depth", "KARNA_MAX_CHAIN_DEPTH", default: 2, range: 1...6)
        access.maximumChainMatches = try integer("max-chain-matches", "KARNA_MAX_CHAIN_MATCHES", default: 1_000, range: 10...100_000)
        if let (text, source) = raw("reference-check", "KARNA_REFERENCE_CHECK") {
            guard text == "on" || text == "off" else { throw Error(description: "\(source) must be on or off; got '\(text)'") }
            access.checkReferences = text == "on"
        }
        bootstrapClientID = raw("bootstrap-client-id", "KARNA_BOOTSTRAP_CLIENT_ID")?.0
        bootstrapClientSecret = raw("bootstrap-client-secret", "KARNA_BOOTSTRAP_CLIENT_SECRET")?.0
        if let secret = bootstrapClientSecret, secret.count < 16 {
            throw Error(description: "KARNA_BOOTSTRAP_CLIENT_SECRET/--bootstrap-client-secret must be at least 16 characters")
        }
        demoCredentialsPath = raw("demo-credentials", "KARNA_DEMO_CREDENTIALS")?.0 ?? "./data/demo-credentials.json"
        accessTokenSeconds = try integer("access-token-seconds", "KARNA_ACCESS_TOKEN_SECONDS", default: 900, range: 30...86_400)
        sessionSeconds = try integer("session-seconds", "KARNA_SESSION_SECONDS", default: 1_800, range: 60...86_400)
        sessionMaximumSeconds = try integer("session-max-seconds", "KARNA_SESSION_MAX_SECONDS", default: 43_200, range: 60...604_800)
        databaseWaitSeconds = try integer("database-wait-seconds", "KARNA_DATABASE_WAIT_SECONDS", default: 5, range: 1...300)
        rateLimits = RateLimitSettings(
            loginsPerMinute: try integer("rate-logins", "KARNA_RATE_LOGINS", default: 60, range: 0...100_000),
            accountLoginsPerMinute: try integer("rate-account-logins", "KARNA_RATE_ACCOUNT_LOGINS", default: 10, range: 0...100_000),
            tokensPerMinute: try integer("rate-tokens", "KARNA_RATE_TOKENS", default: 120, range: 0...1_000_000),
            apiPerMinute: try integer("rate-api", "KARNA_RATE_API", default: 30_000, range: 0...10_000_000))
        connections = ConnectionLimits(
            headerSeconds: Double(try integer("header-timeout-seconds", "KARNA_HEADER_TIMEOUT_SECONDS", default: 10, range: 1...600)),
            bodySeconds: Double(try integer("body-timeout-seconds", "KARNA_BODY_TIMEOUT_SECONDS", default: 60, range: 1...3_600)),
            idleSeconds: Double(try integer("idle-timeout-seconds", "KARNA_IDLE_TIMEOUT_SECONDS", default: 75, range: 1...3_600)),
            perClient: try integer("connections-per-client", "KARNA_CONNECTIONS_PER_CLIENT", default: 64, range: 1...100_000))
        webSearchRows = try integer("web-search-rows", "KARNA_WEB_SEARCH_ROWS", default: 50, range: 1...1_000)
        webBookRows = try integer("web-book-rows", "KARNA_WEB_BOOK_ROWS", default: 400, range: 10...5_000)
        webLogRows = try integer("web-log-rows", "KARNA_WEB_LOG_ROWS", default: 100, range: 10...2_000)
        preparedSearches = try integer("prepared-searches", "KARNA_PREPARED_SEARCHES", default: 64, range: 0...1_000)
        searchProbeSeconds = try integer("search-probe-seconds", "KARNA_SEARCH_PROBE_SECONDS", default: 60, range: 0...3_600)
        passwordCost = try integer("password-cost", "KARNA_PASSWORD_COST", default: 15, range: 10...20)
        lockoutAttempts = try integer("lockout-attempts", "KARNA_LOCKOUT_ATTEMPTS", default: 5, range: 1...100)
        passwordMinimumLength = try integer("password-min-length", "KARNA_PASSWORD_MIN_LENGTH", default: 12, range: 8...128)
        externalIssuer = raw("oidc-issuer", "KARNA_OIDC_ISSUER")?.0
        externalAudience = raw("oidc-audience", "KARNA_OIDC_AUDIENCE")?.0
        externalJWKSPath = raw("oidc-jwks-file", "KARNA_OIDC_JWKS_FILE")?.0
        if externalIssuer != nil, externalJWKSPath == nil {
            throw Error(description: "KARNA_OIDC_ISSUER needs KARNA_OIDC_JWKS_FILE (the issuer's JWK set, downloaded by the region)")
        }
        auditRetentionYears = try integer("audit-retention-years", "KARNA_AUDIT_RETENTION_YEARS", default: 10, range: 1...100)
        administration = AdministrationSettings()
        administration.referralAssessmentDays = try integer("referral-assessment-days", "KARNA_REFERRAL_ASSESSMENT_DAYS", default: 7, range: 1...365)
        administration.referralAlarmDays = try integer("referral-alarm-days", "KARNA_REFERRAL_ALARM_DAYS", default: 14, range: 1...365)
        administration.reminderHours = try integer("reminder-hours", "KARNA_REMINDER_HOURS", default: 24, range: 1...336)
        administration.maximumSlotsPerGeneration = try integer("max-slots-per-generation", "KARNA_MAX_SLOTS_PER_GENERATION", default: 3_000, range: 1...100_000)
        administration.maximumMergeResources = try integer("max-merge-resources", "KARNA_MAX_MERGE_RESOURCES", default: 20_000, range: 1...1_000_000)
        documentation = DocumentationSettings(
            maximumSectionCharacters: try integer("max-section-characters", "KARNA_MAX_SECTION_CHARACTERS", default: 100_000, range: 100...10_000_000),
            maximumJournalNotes: try integer("max-journal-notes", "KARNA_MAX_JOURNAL_NOTES", default: 5_000, range: 10...1_000_000))
        maximumExpansion = try integer("max-expansion", "KARNA_MAX_EXPANSION", default: 1_000, range: 10...100_000)
        notify = raw("notify", "KARNA_NOTIFY")?.0 ?? "file:./data/notifications.jsonl"
        guard notify.hasPrefix("file:") || notify.hasPrefix("smtp://") || notify.hasPrefix("smtps://") else {
            throw Error(description: "KARNA_NOTIFY/--notify must be file:PATH, smtp://host:port or smtps://host:port; got '\(notify)'")
        }
        notifyFrom = raw("notify-from", "KARNA_NOTIFY_FROM")?.0 ?? "noreply@karna.invalid"
        outboxSeconds = try integer("outbox-seconds", "KARNA_OUTBOX_SECONDS", default: 30, range: 1...86_400)
        if limits.defaultPageSize > limits.maxPageSize {
            throw Error(description: "the default page size (\(limits.defaultPageSize)) is larger than the maximum page size (\(limits.maxPageSize))")
        }
    }

    /// The FHIR base URL clients use.
    public var baseURL: String {
        if let publicBaseURL { return publicBaseURL }
        let shownHost = host == "0.0.0.0" || host == "::" ? "localhost" : host
        return "http://\(shownHost):\(port)/fhir"
    }

    /// The OpenID Connect issuer and SMART endpoints' base: `…/auth` beside `…/fhir`.
    public var authIssuerURL: String {
        (baseURL.hasSuffix("/fhir") ? String(baseURL.dropLast(5)) : baseURL) + "/auth"
    }

    /// The notification sender KARNA_NOTIFY names.
    public func notificationSender(environment: [String: String] = ProcessInfo.processInfo.environment) -> any NotificationSender {
        if notify.hasPrefix("file:") { return FileNotificationSender(path: String(notify.dropFirst(5))) }
        let credentials = environment["KARNA_SMTP_USER"].map { "\($0):\(environment["KARNA_SMTP_PASSWORD"] ?? "")" }
        return SMTPNotificationSender(url: notify, from: notifyFrom, credentials: credentials)
    }

    /// The database URL with any password hidden, for logs.
    public var redactedDatabaseURL: String {
        guard var components = URLComponents(string: databaseURL), components.password != nil else { return databaseURL }
        components.password = "***"
        return components.string ?? "postgres://…"
    }
}
