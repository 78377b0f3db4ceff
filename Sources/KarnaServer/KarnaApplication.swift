import Access
import AuthAPI
import BulkExport
import CDSHooksAPI
import FHIRAPI
import FHIRCore
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import CareFlows
import CareFlowsPages
import Maternity
import MaternityPages
import DICOMwebClient
import Documentation
import DocumentationPages
import Medication
import MedicationPages
import PatientAdministration
import PatientAdministrationPages
import Results
import ResultsPages
import Store
import StoreModel
import Terminology
import WebApp

/// The wired parts of a running Kärna: the store behind the access gateway, identity and tokens, the FHIR engine.
public struct KarnaServices: Sendable {
    public let store: any ResourceStore
    public let gateway: AccessGateway
    public let accounts: AccountService
    public let tokens: TokenService
    public let engine: FHIREngine
    public let configuration: KarnaConfiguration
    /// Patient administration's workflows (also reached through the engine's operations).
    public let administration: PatientAdministration
    /// Clinical documentation and the terminology service (also reached through the engine's operations).
    public let documentation: Documentation
    /// Every clinical module, in the composition root's order (demo data, and what a module hands the platform).
    public let modules: [any ClinicalModule]
    /// The modules' web pages, in the same order.
    public let pages: [any WebModule]

    /// The code systems and value sets the server holds (shipped subsets, imported releases, the drug catalogue).
    public var terminology: TerminologyService { documentation.terminology }

    /// The same services with more pages in the web app after the modules' (a region's own pages, or a test's).
    public func adding(pages more: [any WebModule]) -> KarnaServices {
        KarnaServices(store: store, gateway: gateway, accounts: accounts, tokens: tokens, engine: engine, configuration: configuration,
                      administration: administration, documentation: documentation, modules: modules, pages: pages + more)
    }
}

/// Builds the Kärna application: opens and migrates the store, wires the gateway, mounts the interfaces.
public enum KarnaApplication {
    /// Opens the store a configuration names and brings its schema up to date.
    public static func openStore(_ configuration: KarnaConfiguration, logger: Logger) async throws -> any ResourceStore {
        let store = try StoreFactory.open(url: configuration.databaseURL, preparedSearches: configuration.preparedSearches,
                                          probeSeconds: configuration.searchProbeSeconds, waitSeconds: Double(configuration.databaseWaitSeconds),
                                          postgres: configuration.postgres, logger: logger)
        try await store.probe()
        let applied = try await store.migrate()
        if !applied.isEmpty {
            logger.info("applied migrations: \(applied.joined(separator: ", "))")
            // A migration may build tables or indexes the planner has no statistics for yet.
            try await store.optimize()
        }
        return store
    }

    /// Wires the gateway, identity and engine over an open store.
    public static func services(_ configuration: KarnaConfiguration, store: any ResourceStore, logger: Logger) async throws -> KarnaServices {
        // The shipped code lists first, then what the region has loaded into the database over them.
        let terminology = TerminologyService.shipped(maximumExpansion: configuration.maximumExpansion)
        let loaded = try await TerminologyLoader.load(store: store, into: terminology)
        if loaded > 0 { logger.info("terminology: \(loaded) code systems and value sets from the database") }
        let documentation = Documentation(terminology: terminology, settings: configuration.documentation)
        let administration = PatientAdministration(settings: configuration.administration)
        // The clinical modules, listed once: the gateway takes their rules, record semantics, code bindings and
        // chart parts, the API their operations (docs/architecture.md, "Adding a module").
        // A region's own medication tables are read now: a bad file stops the start, naming what is wrong.
        let medicationRules = try configuration.medicationRulesPath.map { try MedicationSafetyRules.load(URL(fileURLWithPath: $0)) }
        let medication = Medication(safetyRules: medicationRules.map { .success($0) }, prescribing: try configuration.prescribingSettings(),
                                    terminology: terminology)
        // The lab channels are read now too: a bad file stops the start, naming what is wrong.
        let channels = try configuration.labChannelsPath.map { try LabChannels.load(from: URL(fileURLWithPath: $0)) } ?? LabChannels.shipped()
        let critical = try configuration.criticalValuesPath.map {
            try CriticalValues.load(from: URL(fileURLWithPath: $0), escalationMinutes: configuration.criticalEscalationMinutes)
        } ?? CriticalValues.shipped(escalationMinutes: configuration.criticalEscalationMinutes)
        let results = Results(channels: channels, delivery: OrderDelivery(
            channels: channels, undeliveredSeconds: configuration.orderUndeliveredSeconds, timeoutSeconds: Double(configuration.mllpTimeoutSeconds)), critical: critical,
            imaging: Imaging(pacs: configuration.dicomwebURL.flatMap(URL.init(string:)).map { DICOMwebClient(baseURL: $0, timeoutSeconds: Double(configuration.dicomwebTimeoutSeconds)) }),
            terminology: terminology, signOff: SignOff(escalationHours: configuration.signOffEscalationHours))
        // The care flows' tables are read now too (RETTS, NEWS2, day-surgery lists): a bad file stops the start, naming what is wrong.
        let careFlows = CareFlows(
            triage: try configuration.triagePath.map { try TriageTable.load(from: URL(fileURLWithPath: $0)) } ?? TriageTable.shipped(),
            news2: try configuration.news2Path.map { try EarlyWarningTable.load(from: URL(fileURLWithPath: $0)) } ?? EarlyWarningTable.shipped(),
            daySurgery: try configuration.daySurgeryPath.map { try DaySurgeryLists.load(from: URL(fileURLWithPath: $0)) } ?? DaySurgeryLists.shipped(),
            targets: EmergencyTargets(triageMinutes: configuration.edTriageMinutes, doctorMinutes: configuration.edDoctorMinutes,
                                      stayMinutes: configuration.edStayMinutes, returnHours: configuration.edReturnHours))
        // Maternity's tables too (programme, forms, curves, SF rules, partogram lines, register mapping).
        let maternity = try configuration.maternity()
        let modules: [any ClinicalModule] = [administration, documentation, medication, results, careFlows, maternity, BulkExport(settings: configuration.export)]
        // Their pages in the web app (a module without pages has none here).
        let pages: [any WebModule] = [AdministrationWeb(administration), DocumentationWeb(documentation), MedicationWeb(medication, terminology: terminology), ResultsWeb(results),
                                      CareFlowsWeb(careFlows, boardRefreshSeconds: configuration.edBoardRefreshSeconds), MaternityWeb(maternity)]
        let gateway = AccessGateway(store: store, settings: configuration.access, modules: modules, codes: terminology,
                                    readOnly: ReadOnlyMode(setting: configuration.readOnly), logger: logger)
        let accounts = AccountService(store: store, hasher: PasswordHasher(costExponent: configuration.passwordCost),
                                      lockout: LockoutPolicy(freeAttempts: configuration.lockoutAttempts),
                                      policy: PasswordPolicy(minimumLength: configuration.passwordMinimumLength),
                                      accountLimiter: RateLimiter(perMinute: configuration.rateLimits.accountLoginsPerMinute))
        var trusted: TrustedIssuer?
        if let issuer = configuration.externalIssuer, let path = configuration.externalJWKSPath {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw KarnaConfiguration.Error(description: "KARNA_OIDC_JWKS_FILE: cannot read \(path)")
            }
            trusted = TrustedIssuer(issuer: issuer, audience: configuration.externalAudience ?? configuration.baseURL, jwks: String(decoding: data, as: UTF8.self))
        }
        let tokens = try await TokenService(store: store, directory: gateway.directory, accounts: accounts, issuer: configuration.authIssuerURL,
                                            audience: configuration.baseURL, accessTokenSeconds: configuration.accessTokenSeconds,
                                            trustedIssuer: trusted)
        let engine = FHIREngine(gateway: gateway, limits: configuration.limits, baseURL: configuration.baseURL,
                                modules: modules, terminology: terminology, logger: logger)
        return KarnaServices(store: store, gateway: gateway, accounts: accounts, tokens: tokens, engine: engine, configuration: configuration,
                             administration: administration, documentation: documentation, modules: modules, pages: pages)
    }

    /// The router with every interface mounted, for the server and for tests.
    /// `requestLogger` writes one line per request (tests pass one that collects them).
    public static func router(_ services: KarnaServices, requestLogger: Logger? = nil) async throws -> Router<KarnaRequestContext> {
        let router = Router(context: KarnaRequestContext.self)
        var requestLogger = requestLogger ?? Logger(label: "karna.requests", metadataProvider: RequestOrigin.metadataProvider)
        if requestLogger.label == "karna.requests" { requestLogger.logLevel = Logger.Level(rawValue: services.configuration.logLevel) ?? .info }
        Telemetry.start()
        router.add(middleware: OriginMiddleware(logger: requestLogger))
        router.add(middleware: RateLimits(services.configuration.rateLimits))
        router.add(middleware: SecurityHeaders())
        router.add(middleware: CrossOrigin(origins: AllowedOrigins(configured: services.configuration.corsOrigins, clients: services.tokens.clients)))
        router.add(middleware: Unavailable())
        let engine = services.engine
        let configuration = services.configuration
        let webApp = try await WebApp<KarnaRequestContext>(
            settings: WebSettings(sessionSeconds: configuration.sessionSeconds, fhirBaseURL: configuration.baseURL,
                                  maximumSearchResults: configuration.webSearchRows, maximumBookRows: configuration.webBookRows,
                                  maximumLogRows: configuration.webLogRows, sessionMaximumSeconds: configuration.sessionMaximumSeconds,
                                  logSessionMinutes: configuration.webLogSessionMinutes),
            gateway: services.gateway, accounts: services.accounts, tokens: services.tokens,
            modules: services.pages, logger: Logger(label: "karna.web")
        )
        router.add(middleware: webApp.notFoundPage)
        router.add(middleware: webApp.readOnlyRefusal)
        Health(store: services.store, timeoutSeconds: Double(configuration.databaseWaitSeconds)).register(on: router)
        webApp.register(on: router)
        FHIRRoutes<KarnaRequestContext>(engine: engine, tokens: services.tokens).register(on: router)
        CDSHooksRoutes<KarnaRequestContext>(services: services.modules.flatMap(\.decisionSupport), gateway: services.gateway, tokens: services.tokens,
                                            maximumBodyBytes: engine.limits.maxBodyBytes, logger: Logger(label: "karna.cds-hooks")).register(on: router)
        AuthRoutes<KarnaRequestContext>(tokens: services.tokens, accounts: services.accounts, directory: services.gateway.directory,
                                        fhirBaseURL: services.configuration.baseURL, sessionSeconds: services.configuration.sessionSeconds)
            .register(on: router)
        return router
    }

    /// The whole application, ready to `runService()`.
    public static func build(_ services: KarnaServices, logger: Logger) async throws -> some ApplicationProtocol {
        let configuration = services.configuration
        let limits = configuration.connections, counts = ConnectionCounts()
        let guardLogger = Logger(label: "karna.connections")
        return Application(
            router: try await router(services),
            server: .http1(configuration: HTTP1Channel.Configuration(
                additionalChannelHandlers: [ConnectionGuard(limits: limits, counts: counts, logger: guardLogger)])),
            configuration: ApplicationConfiguration(address: .hostname(configuration.host, port: configuration.port), serverName: "Karna"),
            services: [AdministrationJobs(services: services, logger: logger), PrescribingJobs(services: services, logger: logger),
                       MLLPListener(services: services, logger: logger, tls: try MLLPListener.tlsContext(configuration)), LabOrderJobs(services: services, logger: logger),
                       MaternityJobs(services: services, logger: logger), DowntimeJobs(services: services, logger: logger),
                       ReadOnlyCommandWatch(services: services, logger: logger)],
            logger: logger
        )
    }
}
