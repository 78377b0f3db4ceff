import Access
import BulkExport
import FHIRAPI
import FHIRCore
import Foundation
import Documentation
import Maternity
import PatientAdministration
import Store

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
    /// Läsläge from the start (a node against a replica).
    public var readOnly: Bool
    /// This node as the job leases name it: its host and port, the same across restarts, so a node restarted after a
    /// crash takes its own leases back at once instead of waiting for them to expire (two nodes cannot share both).
    public var nodeName: String { "\(ProcessInfo.processInfo.hostName):\(port)" }
    /// Where the downtime lists are written (nil: none), how often, and how many hours ahead they plan.
    public var downtimeListDirectory: String?
    public var downtimeListMinutes: Int
    public var downtimeListHours: Int
    /// `text` or `json` (one object per line).
    public var logFormat: String
    /// A real installation: no demo data, no demo secrets (`karna admin create` makes the first administrator).
    public var production: Bool
    /// PostgreSQL's pools, connect timeout and pooler.
    public var postgres: PostgresOptions
    /// The Patientdatalag limits (care relationship window, nödåtkomst length, default provider).
    public var access: AccessSettings
    /// The export module's folder, retention and limits.
    public var export: ExportSettings
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
    /// Minutes between one user's accesses to one patient within which log review counts them as one session.
    public var webLogSessionMinutes: Int
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
    /// Browser origins allowed to call the API besides the registered SMART apps' (`https://app.example.se`).
    public var corsOrigins: [String] = []
    /// The region's läkemedelskontroll tables, when it names its own.
    public var medicationRulesPath: String?
    /// Nationella läkemedelslistan: its address (nil: prescriptions wait as "ej skickad"), the token file, the
    /// time limit per call, the unsent alarm and the day ordinationsorsak becomes mandatory.
    public var nllURL: String?
    public var nllTokenPath: String?
    /// Whose token NLL sees on a user's call: `organisation` or `user`.
    public var nllAuthorization: String
    /// The region's identity provider's token endpoint for RFC 8693 exchange (nll-authorization exchange).
    public var nllTokenExchangeURL: String?
    public var nllTokenExchangeClient: String?
    public var nllTokenExchangeSecretPath: String?
    public var nllAudience: String
    public var nllTimeoutSeconds: Int
    public var nllUnsentAlarmMinutes: Int
    public var nllReasonRequiredFrom: String
    /// The port Kärna takes HL7 v2 over MLLP on (results from the labs); 0 takes none.
    public var mllpPort: Int
    /// The largest HL7 v2 message taken over MLLP.
    public var mllpMaxMessageBytes: Int
    /// PEM files for MLLP over TLS: the server's certificate chain and key, and the CA client certificates must chain to.
    public var mllpTLSCertificate: String?
    public var mllpTLSKey: String?
    public var mllpTLSClientCA: String?
    /// Seconds an order may wait undelivered before it is on its requester's "ej levererad" list.
    public var orderUndeliveredSeconds: Int
    /// Seconds one MLLP send to a lab may take.
    public var mllpTimeoutSeconds: Int
    /// A region's critical value lists (larmlistor); unset, the demonstration lists.
    public var criticalValuesPath: String?
    /// Minutes a critical value may wait unacknowledged before it goes to the doctor on call.
    public var criticalEscalationMinutes: Int
    public var signOffEscalationHours: Int
    /// The PACS's DICOMweb root (QIDO-RS, WADO-RS); unset, imaging studies wait without a PACS.
    public var dicomwebURL: String?
    /// Seconds one DICOMweb call may take.
    public var dicomwebTimeoutSeconds: Int
    /// A region's lab channel file (which labs, their codes, character sets, owners); unset, the demonstration channels.
    public var labChannelsPath: String?
    /// The region's RETTS table; unset, the demonstration table (not clinical content).
    public var triagePath: String?
    /// The NEWS2 chart as data; unset, the shipped RCP 2017 chart.
    public var news2Path: String?
    /// The day-surgery checklists; unset, the demonstration lists.
    public var daySurgeryPath: String?
    /// Maternity's data files (unset: the shipped ones) and where the daily register extract goes.
    public var maternityProgrammePath: String?
    public var maternityQuestionnairesPath: String?
    public var maternityReferencePath: String?
    public var maternitySFRulesPath: String?
    public var maternityPartogramPath: String?
    public var maternityRegistersPath: String?
    public var graviditetsregistretDirectory: String?
    public var graviditetsregistretHour: Int
    /// The emergency department's targets (minutes from arrival) and return window (hours).
    public var edTriageMinutes: Int
    public var edDoctorMinutes: Int
    public var edStayMinutes: Int
    public var edReturnHours: Int
    /// Seconds between a tracking board's refreshes when nothing told it of a change (changes on other nodes).
    public var edBoardRefreshSeconds: Int

    /// The server's own settings; the modules declare theirs beside the settings they fill (`Keys` of
    /// `APILimits`, `AccessSettings`, `AdministrationSettings`, `DocumentationSettings`).
    public enum Keys {
        public static let host = Setting.text("host", default: "127.0.0.1", "address to listen on")
        public static let port = Setting.integer("port", default: 8080, 1...65_535, "port to listen on")
        public static let databaseURL = Setting.text("database-url", default: "sqlite:./data/karna.sqlite", secret: true,
                                                     "sqlite:PATH or postgres://user:password@host:port/db")
        public static let baseURL = Setting.text("base-url", default: nil, "public FHIR base URL (default http://HOST:PORT/fhir)")
        public static let configFile = Setting.text("config-file", default: nil,
                                                    "a JSON file of settings ({\"port\": 8080, …}); flags and variables win over it")
        public static let logLevel = Setting.choice("log-level", default: "info", ["trace", "debug", "info", "notice", "warning", "error", "critical"],
                                                    "how much the server logs")
        public static let logFormat = Setting.choice("log-format", default: "text", ["text", "json"],
                                                     "log lines as text or as one JSON object per line (for a log collector)")
        public static let production = Setting.choice("production", default: "off", ["off", "on"],
                                                      "on: a real installation - no demo organisation, users or data; refuses demo secrets; the first administrator comes from karna admin create")
        public static let databasePoolSize = Setting.integer("database-pool-size", default: 20, 1...1_000, "PostgreSQL: connections in the main pool")
        public static let databaseSearchPoolSize = Setting.integer("database-search-pool-size", default: 20, 1...1_000,
                                                                   "PostgreSQL: connections in the pool for one patient's prepared searches")
        public static let databaseConnectSeconds = Setting.integer("database-connect-seconds", default: 5, 1...120,
                                                                   "PostgreSQL: seconds one connection attempt may take; an unreachable database stops the start with this long a wait")
        public static let databasePooler = Setting.choice("database-pooler", default: "none", ["none", "pgbouncer"],
                                                          "PostgreSQL: pgbouncer when PgBouncer in transaction mode stands between (no startup parameters, no prepared searches)")
        public static let bootstrapClientID = Setting.text("bootstrap-client-id", default: nil,
                                                           "id of the system client the first start creates (default karna-demo-system)")
        public static let bootstrapClientSecret = Setting.text("bootstrap-client-secret", default: nil, secret: true,
                                                               "its secret, at least 16 characters; set both for automation (default: random, printed)")
        public static let demoCredentials = Setting.text("demo-credentials", default: "./data/demo-credentials.json", "file for the demo users' credentials")
        public static let accessTokenSeconds = Setting.integer("access-token-seconds", default: 900, 30...86_400, "lifetime of access tokens")
        public static let sessionSeconds = Setting.integer("session-seconds", default: 1_800, 60...86_400, "idle lifetime of a web login session")
        public static let sessionMaxSeconds = Setting.integer("session-max-seconds", default: 43_200, 60...604_800,
                                                              "time after login at which a web session ends however active it is")
        public static let webSearchRows = Setting.integer("web-search-rows", default: 50, 1...1_000, "patients a web patient search lists at most")
        public static let webBookRows = Setting.integer("web-book-rows", default: 400, 10...5_000, "times and bookings a web appointment-book view reads at most")
        public static let webLogRows = Setting.integer("web-log-rows", default: 100, 10...2_000, "audit records one web log-review page lists; further pages follow")
        public static let webLogSessionMinutes = Setting.integer("web-log-session-minutes", default: 60, 1...1_440,
                                                                 "log review groups one user's accesses to one patient into one decision while no more than this many minutes pass between them")
        public static let preparedSearches = Setting.integer("prepared-searches", default: 64, 0...1_000,
                                                             "one-patient search statements PostgreSQL keeps planned per connection (0 plans each time)")
        public static let searchProbeSeconds = Setting.integer("search-probe-seconds", default: 60, 0...3_600,
                                                               "seconds PostgreSQL's search planner keeps its index-row counts (0 counts for every search)")
        public static let passwordCost = Setting.integer("password-cost", default: 15, 10...20, "scrypt cost exponent for new password hashes")
        public static let lockoutAttempts = Setting.integer("lockout-attempts", default: 5, 1...100, "failed logins before an account locks, with doubling back-off")
        public static let passwordMinLength = Setting.integer("password-min-length", default: 12, 8...128, "the shortest password a user may choose")
        public static let oidcIssuer = Setting.text("oidc-issuer", default: nil, "a trusted external OpenID Connect issuer (the region's identity provider)")
        public static let oidcAudience = Setting.text("oidc-audience", default: nil, "the audience its tokens must carry (default the FHIR base URL)")
        public static let oidcJWKSFile = Setting.text("oidc-jwks-file", default: nil, "a file with the external issuer's JWK set")
        public static let auditRetentionYears = Setting.integer("audit-retention-years", default: 10, 1...100,
                                                                "years audit records are kept before archiving may be considered")
        public static let maxExpansion = Setting.integer("max-expansion", default: 1_000, 10...100_000, "most codes one $expand page returns")
        public static let databaseWaitSeconds = Setting.integer("database-wait-seconds", default: 5, 1...300,
                                                                "PostgreSQL: the longest a request waits for a connection before it is answered 503 with Retry-After")
        public static let rateLogins = Setting.integer("rate-logins", default: 60, 0...100_000, "login form posts per client address and minute; 429 beyond, 0 no limit")
        public static let rateAccountLogins = Setting.integer("rate-account-logins", default: 10, 0...100_000, "login attempts per account and minute from any address")
        public static let rateTokens = Setting.integer("rate-tokens", default: 120, 0...1_000_000, "token requests per client address and minute")
        public static let rateAPI = Setting.integer("rate-api", default: 30_000, 0...10_000_000, "FHIR API requests per client address and minute")
        public static let headerTimeoutSeconds = Setting.integer("header-timeout-seconds", default: 10, 1...600,
                                                                 "seconds from opening a connection to a complete request head; then it is closed")
        public static let bodyTimeoutSeconds = Setting.integer("body-timeout-seconds", default: 60, 1...3_600, "seconds from a request head to the end of its body")
        public static let idleTimeoutSeconds = Setting.integer("idle-timeout-seconds", default: 75, 1...3_600, "seconds a kept-alive connection may wait for its next request")
        public static let connectionsPerClient = Setting.integer("connections-per-client", default: 64, 1...100_000,
                                                                 "open connections one client address may hold; more are closed at once")
        public static let notify = Setting.text("notify", default: "file:./data/notifications.jsonl",
                                                "patient notifications: file:PATH or smtp(s)://host:port; SMTP login from KARNA_SMTP_USER and KARNA_SMTP_PASSWORD")
        public static let notifyFrom = Setting.text("notify-from", default: "noreply@karna.invalid", "sender address of e-mail notifications")
        public static let outboxSeconds = Setting.integer("outbox-seconds", default: 30, 1...86_400, "seconds between outbox runs and referral alarm checks")

        public static let medicationRules = Setting.text("medication-rules", default: nil,
                                                         "JSON file of the läkemedelskontroll tables (interactions, renal limits, override reasons); default the shipped synthetic tables, not clinical content")
        public static let nllURL = Setting.text("nll-url", default: nil,
                                                "base address of Nationella läkemedelslistan's FHIR API (or of the NLL-simulator in a demo); unset, prescriptions wait as ej skickad")
        public static let nllTokenFile = Setting.text("nll-token-file", default: nil, "file (mode 0600) holding the bearer token for NLL")
        public static let nllAuthorization = Setting.choice("nll-authorization", default: "organisation", ["organisation", "user", "exchange"],
                                                            "whose token NLL sees on a user's call: the organisation's (nll-token-file), the user's own from the region's identity provider (oidc-issuer), or that one exchanged there for an NLL token (RFC 8693, nll-token-exchange-url)")
        public static let nllTokenExchangeURL = Setting.text("nll-token-exchange-url", default: nil,
                                                             "the region's identity provider's token endpoint where the user's token is exchanged for NLL's (nll-authorization exchange)")
        public static let nllTokenExchangeClient = Setting.text("nll-token-exchange-client", default: nil, "Kärna's client id at the identity provider, for the token exchange")
        public static let nllTokenExchangeSecretFile = Setting.text("nll-token-exchange-secret-file", default: nil,
                                                                    "file (mode 0600) holding Kärna's client secret at the identity provider, for the token exchange")
        public static let nllAudience = Setting.text("nll-audience", default: "https://nll.ehalsomyndigheten.se",
                                                     "the audience asked for in the token exchange: NLL as the identity provider names it")
        public static let nllTimeoutSeconds = Setting.integer("nll-timeout-seconds", default: 10, 1...120, "seconds one NLL call may take before it counts as unavailable")
        public static let nllUnsentAlarmMinutes = Setting.integer("nll-unsent-alarm-minutes", default: 30, 1...10_080,
                                                                  "minutes an unsent prescription waits before it is overdue on the prescriber's ej skickad list")
        public static let mllpPort = Setting.integer("mllp-port", default: 0, 0...65_535,
                                                     "port for HL7 v2 over MLLP (lab and imaging results, ORU^R01); 0 listens on none")
        public static let mllpMaxMessageBytes = Setting.integer("mllp-max-message-bytes", default: 1_048_576, 1_024...67_108_864,
                                                                "largest HL7 v2 message taken over MLLP; a longer one closes the connection")
        public static let mllpTLSCertificate = Setting.text("mllp-tls-certificate", default: nil,
                                                            "PEM file with the certificate chain for MLLP over TLS (with mllp-tls-key); unset, MLLP is plain TCP")
        public static let mllpTLSKey = Setting.text("mllp-tls-key", default: nil, "PEM file with the private key of mllp-tls-certificate")
        public static let mllpTLSClientCA = Setting.text("mllp-tls-client-ca", default: nil,
                                                         "PEM file of the CA a lab's client certificate must chain to; set, MLLP over TLS takes only labs with one")
        public static let orderUndeliveredSeconds = Setting.integer("order-undelivered-seconds", default: 60, 5...86_400,
                                                                    "seconds a lab or imaging order may wait undelivered before it is on its requester's ej levererad list")
        public static let mllpTimeoutSeconds = Setting.integer("mllp-timeout-seconds", default: 10, 1...120,
                                                               "seconds one order sent to a lab over MLLP may wait for its ACK")
        public static let criticalValuesFile = Setting.text("critical-values-file", default: nil,
                                                            "the region's critical value lists (JSON: per lab and analysis the limits, the doctor on call); unset, the demonstration lists")
        public static let criticalEscalationMinutes = Setting.integer("critical-escalation-minutes", default: 10, 1...1_440,
                                                                      "minutes a critical value may wait unacknowledged before it goes to the doctor on call")
        public static let signOffEscalationHours = Setting.integer("sign-off-escalation-hours", default: 72, 1...2_160,
                                                                   "hours a final result may wait unsigned before it is escalated to its unit")
        public static let dicomwebURL = Setting.text("dicomweb-url", default: nil,
                                                     "the PACS's DICOMweb root (e.g. http://pacs:8042/dicom-web): imaging studies are found there by accession number; unset, none is asked")
        public static let dicomwebTimeoutSeconds = Setting.integer("dicomweb-timeout-seconds", default: 10, 1...300, "seconds one DICOMweb call to the PACS may take")
        public static let labChannelsFile = Setting.text("lab-channels-file", default: nil,
                                                         "the region's lab channel file (JSON: labs, codes, character sets, owners of unmatched results, order routes with optional TLS); unset, the demonstration channels")
        public static let triageFile = Setting.text("triage-file", default: nil,
                                                    "the region's RETTS table (JSON: colours, vital-parameter bands, complaint cards); unset, a demonstration table that is not clinical content")
        public static let news2File = Setting.text("news2-file", default: nil, "the NEWS2 chart as data (JSON: bands and scores, response levels); unset, the shipped RCP 2017 chart")
        public static let daySurgeryFile = Setting.text("day-surgery-file", default: nil,
                                                        "the day-surgery checklists (JSON: pre-operative items, discharge criteria, follow-up hour); unset, the demonstration lists")
        public static let edTriageMinutes = Setting.integer("ed-triage-minutes", default: 10, 1...600, "emergency department target: minutes from arrival to triage (TTT)")
        public static let edDoctorMinutes = Setting.integer("ed-doctor-minutes", default: 60, 1...1_440, "emergency department target: minutes from arrival to the first doctor (TTL)")
        public static let edStayMinutes = Setting.integer("ed-stay-minutes", default: 240, 1...2_880, "emergency department target: minutes from arrival to leaving (TVT)")
        public static let edReturnHours = Setting.integer("ed-return-hours", default: 72, 1...720, "hours after leaving within which a new emergency visit counts as a return")
        public static let edBoardRefreshSeconds = Setting.integer("ed-board-refresh-seconds", default: 20, 2...600,
                                                                  "seconds between an open tracking board's refreshes when no change was announced to it (changes made on another node)")
        public static let maternityProgrammeFile = Setting.text("maternity-programme-file", default: nil,
                                                                "the region's basprogram for mödrahälsovård (JSON: items, visits by gestational week, MHV1 risk factors); unset, a demonstration programme")
        public static let maternityQuestionnairesFile = Setting.text("maternity-questionnaires-file", default: nil,
                                                                     "the forms the programme uses (JSON: FHIR Questionnaires with ordinalValue points, AUDIT and EPDS); unset, the shipped forms with abbreviated wording")
        public static let maternityReferenceFile = Setting.text("maternity-reference-file", default: nil,
                                                                "the gravidogram's reference curves (JSON: per measure, week → mean and SD); unset, a DEMONSTRATION table that is not clinical content")
        public static let maternitySFRulesFile = Setting.text("maternity-sf-rules-file", default: nil,
                                                              "the symphysis-fundus rules (JSON: SD limits, intervals, actions with due days); unset, the Stockholm rules")
        public static let maternityPartogramFile = Setting.text("maternity-partogram-file", default: nil,
                                                                "the partogram's alert and action lines and charted parts (JSON); unset, WHO 1993 (4 cm, 1 cm/h, 4 h)")
        public static let maternityRegistersFile = Setting.text("maternity-registers-file", default: nil,
                                                                "the register mapping (JSON: MFR sheets MHV1/MHV2/FV1/FV2 and the Graviditetsregistret extract's variables); unset, the assumed demonstration mapping")
        public static let graviditetsregistretDirectory = Setting.text("graviditetsregistret-dir", default: nil,
                                                                       "directory the daily Graviditetsregistret extract is written to (one file per day, yesterday's, after graviditetsregistret-hour); unset, no daily file")
        public static let graviditetsregistretHour = Setting.integer("graviditetsregistret-hour", default: 2, 0...23,
                                                                     "local hour after which the daily Graviditetsregistret extract of the day before is written")
        public static let readOnly = Setting.choice("read-only", default: "off", ["off", "on"],
                                                    "on: this node takes no clinical records (läsläge) and every page says so; the operators command it for all nodes with karna downtime on")
        public static let downtimeListDir = Setting.text("downtime-list-dir", default: nil,
                                                         "folder every care unit's downtime list (driftstoppslista: patients, warnings, planned doses and visits) is written to, as print-ready HTML; unset, none")
        public static let downtimeListMinutes = Setting.integer("downtime-list-minutes", default: 60, 5...1_440, "minutes between writes of the downtime lists")
        public static let downtimeListHours = Setting.integer("downtime-list-hours", default: 12, 1...72, "hours ahead a downtime list plans doses and visits for")
        public static let nllReasonRequiredFrom = Setting.text("nll-reason-required-from", default: "2028-09-01",
                                                               "day (YYYY-MM-DD) from which an e-prescription without ordinationsorsak or latest follow-up date is refused")
        public static let corsOrigins = Setting.text("cors-origins", default: nil,
                                                     "browser origins (scheme://host[:port], comma-separated) allowed to call the FHIR API besides registered SMART apps' redirect-URI origins; never *")

        static let server = [host, port, databaseURL, baseURL, configFile, logLevel, logFormat, production, databasePoolSize, databaseSearchPoolSize,
                             databaseConnectSeconds, databasePooler, bootstrapClientID, bootstrapClientSecret, demoCredentials,
                             accessTokenSeconds, sessionSeconds, sessionMaxSeconds, webSearchRows, webBookRows, webLogRows, webLogSessionMinutes, preparedSearches,
                             searchProbeSeconds, passwordCost, lockoutAttempts, passwordMinLength, oidcIssuer, oidcAudience, oidcJWKSFile,
                             auditRetentionYears, maxExpansion, databaseWaitSeconds, rateLogins, rateAccountLogins, rateTokens, rateAPI,
                             headerTimeoutSeconds, bodyTimeoutSeconds, idleTimeoutSeconds, connectionsPerClient, notify, notifyFrom, outboxSeconds, medicationRules,
                             nllURL, nllTokenFile, nllAuthorization, nllTokenExchangeURL, nllTokenExchangeClient, nllTokenExchangeSecretFile, nllAudience, nllTimeoutSeconds, nllUnsentAlarmMinutes, nllReasonRequiredFrom, mllpPort, mllpMaxMessageBytes, mllpTLSCertificate, mllpTLSKey, mllpTLSClientCA, mllpTimeoutSeconds, orderUndeliveredSeconds, labChannelsFile, criticalValuesFile, criticalEscalationMinutes, signOffEscalationHours, dicomwebURL, dicomwebTimeoutSeconds,
                             triageFile, news2File, daySurgeryFile, edTriageMinutes, edDoctorMinutes, edStayMinutes, edReturnHours, edBoardRefreshSeconds,
                             maternityProgrammeFile, maternityQuestionnairesFile, maternityReferenceFile, maternitySFRulesFile, maternityPartogramFile, maternityRegistersFile,
                             graviditetsregistretDirectory, graviditetsregistretHour, readOnly, downtimeListDir, downtimeListMinutes, downtimeListHours, corsOrigins]
    }

    /// Every setting, each declared once: `karna --help` and the README's settings table are made from this list.
    public static let declared: [Setting] = Keys.server + APILimits.Keys.all + AccessSettings.Keys.all + AdministrationSettings.Keys.all
        + DocumentationSettings.Keys.all + ExportSettings.Keys.all

    public static let defaultDatabaseURL = Keys.databaseURL.defaultText ?? ""

    /// A configuration problem, naming the setting.
    public struct Error: Swift.Error, CustomStringConvertible {
        public let description: String
    }

    /// Resolves each setting from `flags` (key → value), then `environment`, then the settings file
    /// (`config-file`), then its declared default (all read through swift-configuration).
    public init(flags: [String: String] = [:], environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        let known = Set(Self.declared.map(\.key))
        if let unknown = flags.keys.first(where: { !known.contains($0) }) {
            throw Error(description: "--\(unknown) is not a setting of Kärna; `karna --help` lists them")
        }
        let settings = try SettingsSource(flags: flags, environment: environment)
        if let unknown = settings.fileKeys.subtracting(known).sorted().first {
            throw Error(description: "\(unknown) in the settings file is not a setting of Kärna; `karna --help` lists them")
        }
        host = try settings.string(Keys.host)
        port = try settings.integer(Keys.port)
        databaseURL = try settings.string(Keys.databaseURL)
        let url = databaseURL
        let valid = url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") || url.hasPrefix("sqlite:") || !url.contains("://")
        guard valid, !url.isEmpty else {
            throw Error(description: "\(settings.source(Keys.databaseURL)) must be sqlite:PATH or postgres://user:password@host:port/database; got '\(url)'")
        }
        if let url = try settings.text(Keys.baseURL) {
            guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host != nil else {
                throw Error(description: "\(settings.source(Keys.baseURL)) must be an http(s) URL such as https://fhir.example.se/fhir; got '\(url)'")
            }
            publicBaseURL = url
        }
        limits = try APILimits(reading: settings)
        logLevel = try settings.string(Keys.logLevel)
        logFormat = try settings.string(Keys.logFormat)
        readOnly = try settings.string(Keys.readOnly) == "on"
        downtimeListDirectory = try settings.text(Keys.downtimeListDir)
        downtimeListMinutes = try settings.integer(Keys.downtimeListMinutes)
        downtimeListHours = try settings.integer(Keys.downtimeListHours)
        production = try settings.string(Keys.production) == "on"
        postgres = PostgresOptions(maximumConnections: try settings.integer(Keys.databasePoolSize), searchConnections: try settings.integer(Keys.databaseSearchPoolSize),
                                   connectSeconds: Double(try settings.integer(Keys.databaseConnectSeconds)),
                                   behindPooler: try settings.string(Keys.databasePooler) == "pgbouncer")
        access = try AccessSettings(reading: settings)
        export = try ExportSettings(reading: settings)
        bootstrapClientID = try settings.text(Keys.bootstrapClientID)
        bootstrapClientSecret = try settings.text(Keys.bootstrapClientSecret)
        if let secret = bootstrapClientSecret, secret.count < 16 {
            throw Error(description: "\(settings.source(Keys.bootstrapClientSecret)) must be at least 16 characters")
        }
        demoCredentialsPath = try settings.string(Keys.demoCredentials)
        medicationRulesPath = try settings.text(Keys.medicationRules)
        nllURL = try settings.text(Keys.nllURL)
        if let nllURL, URL(string: nllURL)?.scheme.map({ ["http", "https"].contains($0) }) != true {
            throw Error(description: "\(settings.source(Keys.nllURL)) must be an http(s) address; got '\(nllURL)'")
        }
        nllTokenPath = try settings.text(Keys.nllTokenFile)
        nllAuthorization = try settings.string(Keys.nllAuthorization)
        nllTokenExchangeURL = try settings.text(Keys.nllTokenExchangeURL)
        nllTokenExchangeClient = try settings.text(Keys.nllTokenExchangeClient)
        nllTokenExchangeSecretPath = try settings.text(Keys.nllTokenExchangeSecretFile)
        nllAudience = try settings.text(Keys.nllAudience) ?? "https://nll.ehalsomyndigheten.se"
        if nllAuthorization == "exchange" {
            guard let url = nllTokenExchangeURL, URL(string: url)?.scheme.map({ ["http", "https"].contains($0) }) == true else {
                throw Error(description: "nll-authorization exchange needs \(settings.source(Keys.nllTokenExchangeURL)), the identity provider's token endpoint (http(s))")
            }
            guard nllTokenExchangeClient != nil, nllTokenExchangeSecretPath != nil else {
                throw Error(description: "nll-authorization exchange needs \(settings.source(Keys.nllTokenExchangeClient)) and \(settings.source(Keys.nllTokenExchangeSecretFile))")
            }
        }
        nllTimeoutSeconds = try settings.integer(Keys.nllTimeoutSeconds)
        nllUnsentAlarmMinutes = try settings.integer(Keys.nllUnsentAlarmMinutes)
        nllReasonRequiredFrom = try settings.text(Keys.nllReasonRequiredFrom) ?? "2028-09-01"
        mllpPort = try settings.integer(Keys.mllpPort)
        mllpMaxMessageBytes = try settings.integer(Keys.mllpMaxMessageBytes)
        mllpTLSCertificate = try settings.text(Keys.mllpTLSCertificate)
        mllpTLSKey = try settings.text(Keys.mllpTLSKey)
        mllpTLSClientCA = try settings.text(Keys.mllpTLSClientCA)
        labChannelsPath = try settings.text(Keys.labChannelsFile)
        triagePath = try settings.text(Keys.triageFile)
        news2Path = try settings.text(Keys.news2File)
        daySurgeryPath = try settings.text(Keys.daySurgeryFile)
        maternityProgrammePath = try settings.text(Keys.maternityProgrammeFile)
        maternityQuestionnairesPath = try settings.text(Keys.maternityQuestionnairesFile)
        maternityReferencePath = try settings.text(Keys.maternityReferenceFile)
        maternitySFRulesPath = try settings.text(Keys.maternitySFRulesFile)
        maternityPartogramPath = try settings.text(Keys.maternityPartogramFile)
        maternityRegistersPath = try settings.text(Keys.maternityRegistersFile)
        graviditetsregistretDirectory = try settings.text(Keys.graviditetsregistretDirectory)
        graviditetsregistretHour = try settings.integer(Keys.graviditetsregistretHour)
        edTriageMinutes = try settings.integer(Keys.edTriageMinutes)
        edDoctorMinutes = try settings.integer(Keys.edDoctorMinutes)
        edStayMinutes = try settings.integer(Keys.edStayMinutes)
        edReturnHours = try settings.integer(Keys.edReturnHours)
        edBoardRefreshSeconds = try settings.integer(Keys.edBoardRefreshSeconds)
        orderUndeliveredSeconds = try settings.integer(Keys.orderUndeliveredSeconds)
        criticalValuesPath = try settings.text(Keys.criticalValuesFile)
        dicomwebURL = try settings.text(Keys.dicomwebURL)
        if let dicomwebURL, URL(string: dicomwebURL)?.scheme.map({ ["http", "https"].contains($0) }) != true {
            throw Error(description: "\(settings.source(Keys.dicomwebURL)) must be an http(s) address; got '\(dicomwebURL)'")
        }
        dicomwebTimeoutSeconds = try settings.integer(Keys.dicomwebTimeoutSeconds)
        criticalEscalationMinutes = try settings.integer(Keys.criticalEscalationMinutes)
        signOffEscalationHours = try settings.integer(Keys.signOffEscalationHours)
        mllpTimeoutSeconds = try settings.integer(Keys.mllpTimeoutSeconds)
        guard nllReasonRequiredFrom.count == 10, Instant.parse(nllReasonRequiredFrom) != nil else {
            throw Error(description: "\(settings.source(Keys.nllReasonRequiredFrom)) must be a day YYYY-MM-DD; got '\(nllReasonRequiredFrom)'")
        }
        accessTokenSeconds = try settings.integer(Keys.accessTokenSeconds)
        sessionSeconds = try settings.integer(Keys.sessionSeconds)
        sessionMaximumSeconds = try settings.integer(Keys.sessionMaxSeconds)
        databaseWaitSeconds = try settings.integer(Keys.databaseWaitSeconds)
        rateLimits = RateLimitSettings(loginsPerMinute: try settings.integer(Keys.rateLogins), accountLoginsPerMinute: try settings.integer(Keys.rateAccountLogins),
                                       tokensPerMinute: try settings.integer(Keys.rateTokens), apiPerMinute: try settings.integer(Keys.rateAPI))
        connections = ConnectionLimits(headerSeconds: Double(try settings.integer(Keys.headerTimeoutSeconds)),
                                       bodySeconds: Double(try settings.integer(Keys.bodyTimeoutSeconds)),
                                       idleSeconds: Double(try settings.integer(Keys.idleTimeoutSeconds)),
                                       perClient: try settings.integer(Keys.connectionsPerClient))
        webSearchRows = try settings.integer(Keys.webSearchRows)
        webBookRows = try settings.integer(Keys.webBookRows)
        webLogRows = try settings.integer(Keys.webLogRows)
        webLogSessionMinutes = try settings.integer(Keys.webLogSessionMinutes)
        preparedSearches = try settings.integer(Keys.preparedSearches)
        searchProbeSeconds = try settings.integer(Keys.searchProbeSeconds)
        passwordCost = try settings.integer(Keys.passwordCost)
        lockoutAttempts = try settings.integer(Keys.lockoutAttempts)
        passwordMinimumLength = try settings.integer(Keys.passwordMinLength)
        externalIssuer = try settings.text(Keys.oidcIssuer)
        externalAudience = try settings.text(Keys.oidcAudience)
        externalJWKSPath = try settings.text(Keys.oidcJWKSFile)
        if externalIssuer != nil, externalJWKSPath == nil {
            throw Error(description: "KARNA_OIDC_ISSUER needs KARNA_OIDC_JWKS_FILE (the issuer's JWK set, downloaded by the region)")
        }
        auditRetentionYears = try settings.integer(Keys.auditRetentionYears)
        administration = try AdministrationSettings(reading: settings)
        documentation = try DocumentationSettings(reading: settings)
        maximumExpansion = try settings.integer(Keys.maxExpansion)
        notify = try settings.string(Keys.notify)
        guard notify.hasPrefix("file:") || notify.hasPrefix("smtp://") || notify.hasPrefix("smtps://") else {
            throw Error(description: "\(settings.source(Keys.notify)) must be file:PATH, smtp://host:port or smtps://host:port; got '\(notify)'")
        }
        notifyFrom = try settings.string(Keys.notifyFrom)
        outboxSeconds = try settings.integer(Keys.outboxSeconds)
        for origin in (try settings.text(Keys.corsOrigins) ?? "").split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !origin.isEmpty {
            guard origin != "*" else {
                throw Error(description: "\(settings.source(Keys.corsOrigins)) must list origins; '*' would let any web page call an API that answers with patient data")
            }
            guard let url = URLComponents(string: origin), ["http", "https"].contains(url.scheme ?? ""), url.host?.isEmpty == false,
                  url.path.isEmpty, url.query == nil else {
                throw Error(description: "\(settings.source(Keys.corsOrigins)): '\(origin)' is not an origin such as https://app.example.se (scheme, host and port only)")
            }
            corsOrigins.append(origin)
        }
        if limits.defaultPageSize > limits.maxPageSize {
            throw Error(description: "the default page size (\(limits.defaultPageSize)) is larger than the maximum page size (\(limits.maxPageSize))")
        }
    }

    /// The settings as the README's Markdown table (`karna settings` prints it; a test keeps the README equal to it).
    public static var markdownTable: String {
        (["| flag | variable | default | meaning |", "| --- | --- | --- | --- |"] + declared.map { setting in
            "| `\(setting.flag)` | `\(setting.variable)` | \(setting.defaultText.map { "`\($0)`" } ?? "—") | \(setting.meaning.replacingOccurrences(of: "|", with: "\\|")) |"
        }).joined(separator: "\n")
    }

    /// The settings for `karna --help`: flag, variable, default and meaning, one per line.
    public static var helpText: String {
        "Settings (flag, environment variable, or key in the --config-file JSON; flags win, then variables, then the file):\n"
            + declared.map { setting in
                "  \(setting.flag) / \(setting.variable)\n      \(setting.meaning)" + (setting.defaultText.map { " (default \($0))" } ?? "")
            }.joined(separator: "\n")
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

extension KarnaConfiguration {
    /// The maternity module with the region's files where set and the shipped ones elsewhere; a bad file stops the
    /// start, naming the file and what is wrong in it.
    func maternity() throws -> Maternity {
        func file<T>(_ path: String?, _ load: (URL) throws -> T, _ shipped: () throws -> T) throws -> T {
            try path.map { try load(URL(fileURLWithPath: $0)) } ?? shipped()
        }
        return try Maternity(programme: file(maternityProgrammePath, Basprogram.load, Basprogram.shipped),
                             questionnaires: file(maternityQuestionnairesPath, QuestionnaireSet.load, QuestionnaireSet.shipped),
                             curves: file(maternityReferencePath, ReferenceCurves.load, ReferenceCurves.shipped),
                             sfRules: file(maternitySFRulesPath, FundalHeightRules.load, FundalHeightRules.shipped),
                             partogram: file(maternityPartogramPath, PartogramLines.load, PartogramLines.shipped),
                             registers: file(maternityRegistersPath, RegisterMapping.load, RegisterMapping.shipped))
    }
}
