import Access
import FHIRCore
import Foundation
import Hummingbird
import Logging
import StoreModel

/// Settings of the web app; every limit is explicit.
public struct WebSettings: Sendable {
    /// Idle time after which a session ends and the page says so.
    public var sessionSeconds: Int
    /// The FHIR base URL shown to integrators on the login page; https makes cookies Secure.
    public var fhirBaseURL: String
    /// The most patients one search lists.
    public var maximumSearchResults: Int
    /// The most times (and bookings) one day or week of the appointment book shows.
    public var maximumBookRows: Int
    /// The most audit records one log-review page shows.
    public var maximumLogRows: Int
    /// How long a session lasts at most, however active: a session left open on a shared computer ends.
    public var sessionMaximumSeconds: Int
    /// Log review's session: one user's accesses to one patient with at most this many minutes between them are decided on as one.
    public var logSessionMinutes: Int

    public init(sessionSeconds: Int = 1_800, fhirBaseURL: String, maximumSearchResults: Int = 50, maximumBookRows: Int = 400, maximumLogRows: Int = 100,
                sessionMaximumSeconds: Int = 43_200, logSessionMinutes: Int = 60) {
        self.logSessionMinutes = logSessionMinutes
        self.sessionSeconds = sessionSeconds
        self.sessionMaximumSeconds = sessionMaximumSeconds
        self.fhirBaseURL = fhirBaseURL
        self.maximumSearchResults = maximumSearchResults
        self.maximumBookRows = maximumBookRows
        self.maximumLogRows = maximumLogRows
    }
}

/// The clinician web app under `/`: the shell (login, start page, the chart, access questions,
/// accounts, administration, log review) and each module's pages, server-rendered over the same
/// gateway as the FHIR API, so every read and write is authorised under the Patientdatalag rules and
/// audited. The shell imports no clinical module: their pages come as `WebModule`s at wiring time.
public struct WebApp<Context: RequestContext>: Sendable {
    public let settings: WebSettings
    public let gateway: AccessGateway
    let accounts: AccountService
    let tokens: TokenService
    /// The modules' pages, in the composition root's order.
    let modules: [any WebModule]
    let sessions: WebSessions
    public let pages: PageRenderer
    public let logger: Logger

    /// Loads the shell's and every module's templates; fails when one does not parse or two share a name.
    public init(settings: WebSettings, gateway: AccessGateway, accounts: AccountService, tokens: TokenService,
                modules: [any WebModule], logger: Logger) async throws {
        self.settings = settings
        self.gateway = gateway
        self.accounts = accounts
        self.tokens = tokens
        self.modules = modules
        self.sessions = WebSessions(tokens: tokens, idleSeconds: settings.sessionSeconds, maximumSeconds: settings.sessionMaximumSeconds)
        self.pages = try await PageRenderer.load(modules: modules.compactMap { module in module.templates.map { (module.name, $0) } })
        self.logger = logger
    }

    var secureCookies: Bool { settings.fhirBaseURL.hasPrefix("https://") }

    public func register(on router: Router<Context>) {
        // Every page behind the login: its handlers get the user from a typed context, and the audit of
        // what they read is appended by the group's middleware (SignIn), never by a handler.
        let signed = router.group(context: SignedInContext<Context>.self).add(middleware: SignIn(app: self))
        router.get("/") { request, _ in
            switch try await sessions.resume(request.cookies[Self.sessionCookie]?.value) {
            case .active: Self.redirect("/start")
            case .expired: Self.redirect("/login?orsak=timeout")
            case .missing: Self.redirect("/login")
            }
        }
        router.get("static/:file") { _, context in try staticFile(try context.parameters.require("file")) }
        router.get("login") { request, _ in loginPage(request) }
        router.post("login") { request, _ in try await login(request) }
        router.post("login/uppdrag") { request, _ in try await chooseAssignment(request) }
        router.post("logga-ut") { request, _ in try await logout(request) }
        signed.get("start") { request, context in try await context.page { user in try await startPage(user) } }
        signed.get("efterregistrering") { request, context in try await context.page { user in try await backEntryPage(user) } }
        signed.get("patienter/:id") { request, context in
            try await context.page { user in
                try await chart(patientID: try context.parameters.require("id"), user: user, registered: Self.query(request)["registrerad"] == "ja")
            }
        }
        signed.get("loggranskning") { request, context in
            try await context.page { user in
                try await logReviewPage(.queue(flag: Self.query(request)["flagga"].flatMap { $0.isEmpty ? nil : $0 }, after: Self.cursor(request, "efter")),
                                        request, user)
            }
        }
        signed.get("loggranskning/patient/:id") { request, context in
            try await context.page { user in
                try await logReviewPage(.patient(try context.parameters.require("id"), before: Self.cursor(request, "fore")), request, user)
            }
        }
        signed.get("loggranskning/anvandare") { request, context in
            try await context.page { user in try await logReviewPage(.user(Self.query(request)["id"] ?? "", before: Self.cursor(request, "fore")), request, user) }
        }
        signed.post("loggranskning/beslut") { request, context in try await context.page { user in try await decideOnAccesses(request, user) } }
        signed.post("loggranskning/:seq/beslut") { request, context in
            try await context.page { user in try await decideOnAccess(sequence: try context.parameters.require("seq"), request, user) }
        }
        signed.post("utkast") { request, context in try await context.page { user in try await saveDraft(user) } }
        signed.post("utkast/slang") { request, context in try await context.page { user in try await discardDraft(user) } }
        signed.post("session/aktiv") { request, context in try await context.page { user in keepAlive(user) } }
        signed.get("konto") { request, context in try await context.page { user in try await accountPage(user) } }
        signed.post("konto/losenord") { request, context in try await context.page { user in try await changeOwnPassword(user) } }
        signed.post("admin/konton/:username/:change") { request, context in
            try await context.page { user in
                try await changeAccount(username: try context.parameters.require("username"), change: try context.parameters.require("change"), user)
            }
        }
        signed.post("admin/uppdrag") { request, context in try await context.page { user in try await addAssignment(user) } }
        signed.post("admin/uppdrag/:id/avsluta") { request, context in
            try await context.page { user in try await endAssignment(id: try context.parameters.require("id"), user) }
        }
        signed.post("admin/enhet/:id/avveckla") { request, context in
            try await context.page { user in try await endUnit(id: try context.parameters.require("id"), user) }
        }
        signed.post("admin/enhet/:id") { request, context in
            try await context.page { user in try await changeUnit(id: try context.parameters.require("id"), user) }
        }
        router.get("admin") { _, _ in Self.redirect("/admin/enheter") }
        signed.get("admin/:section") { request, context in
            try await context.page { user in
                guard let section = AdminSection(rawValue: try context.parameters.require("section")) else { throw HTTPError(.notFound) }
                let query = Self.query(request)
                return try await adminPage(section, user, notice: query["klar"], editing: section == .units ? query["andra"] : nil)
            }
        }
        signed.post("admin/:section") { request, context in
            try await context.page { user in
                guard let section = AdminSection(rawValue: try context.parameters.require("section")) else { throw HTTPError(.notFound) }
                return try await adminSave(section, user)
            }
        }
        signed.post("patienter/:id/vardrelation") { request, context in
            try await context.page { user in
                try await registerAccess(.careRelationship, patientID: try context.parameters.require("id"), form: user.form, user: user)
            }
        }
        signed.post("patienter/:id/sparr") { request, context in
            try await context.page { user in try await registerBlock(patientID: try context.parameters.require("id"), user) }
        }
        signed.post("patienter/:id/samtycke") { request, context in
            try await context.page { user in try await registerConsent(patientID: try context.parameters.require("id"), user) }
        }
        signed.post("patienter/:id/nodatkomst") { request, context in
            try await context.page { user in
                try await registerAccess(.emergency, patientID: try context.parameters.require("id"), form: user.form, user: user)
            }
        }
        // Each module's pages, from its own target: a module's routes, templates and menu entries live together.
        for module in modules { module.register(on: signed, app: self) }
    }

    // MARK: Signed-in requests

    static var sessionCookie: String { "karna_web" }

    /// The signed-in user of a request (the shell's and the modules' pages take it as `User`).
    public typealias User = WebUser

    /// What a request to a signed-in page resolves to: its user, or the answer to send instead.
    enum SignInOutcome {
        case user(User)
        case answer(Response)
    }

    /// The signed-in user of a request (the session, its principal and, for posts, the checked form),
    /// or the redirect or message to answer instead (used by `SignIn`).
    func resolveUser(_ request: Request, form: Bool, passwordPage: Bool) async throws -> SignInOutcome {
        let token = request.cookies[Self.sessionCookie]?.value
        let stored: WebSessions.Stored
        let named: ControlRecordWithNamed
        switch try await sessions.resume(token) {
        case .active(let found, let records): (stored, named) = (found, records)
        case .expired: return .answer(Self.redirect(Self.timeoutLogin(returningTo: request.method == .get ? request.uri.description : nil)))
        case .missing: return .answer(Self.redirect("/login"))
        }
        let principal: Principal
        do {
            principal = try await tokens.principal(for: stored.grant, named: named)
        } catch {
            // The account was disabled or the assignment ended since login.
            if let token { try await sessions.end(token) }
            return .answer(Self.redirect("/login?orsak=andrad"))
        }
        if stored.mustChangePassword == true, !passwordPage { return .answer(Self.redirect("/konto")) }
        var user = User(token: token ?? "", session: stored, principal: principal)
        if form {
            user.form = try await Self.formFields(request)
            guard user.form["formToken"] == stored.formToken else {
                return .answer(message(user: user, heading: "Formuläret kunde inte skickas",
                                       text: "Formuläret hörde till en tidigare session. Ladda om sidan och försök igen.", status: .forbidden))
            }
        }
        return .user(user)
    }

    /// What the layout shows for every signed-in page.
    public func layout(_ user: User, title: String, nav: String? = nil) -> [String: Any] {
        var context: [String: Any] = [
            "title": title, "sessionSeconds": remainingSeconds(user), "formToken": user.session.formToken,
            "user": ["name": user.principal.displayName, "unit": user.assignment?.unitName ?? "", "position": user.assignment?.position.display ?? "",
                     "formToken": user.session.formToken] as [String: Any],
        ]
        if let nav { context[nav] = true }
        if let notice = gateway.readOnly.notice() { context["readOnlyNotice"] = notice }
        // The menu offers what the assignment's position may do, from each module's entries; the modules refuse the rest anyway.
        context["menu"] = menuContext(user.principal.permissions, current: nav)
        return context
    }

    /// A module's refusal as a page that says what is wrong, with the HTTP status the API would answer.
    public func failure(_ error: FHIRError, user: User) -> Response {
        let (heading, status): (String, HTTPResponse.Status) = switch error.category {
        case .forbidden: ("Åtkomst nekad", .forbidden)
        case .notFound, .gone: ("Hittades inte", .notFound)
        case .conflict, .preconditionFailed: ("Någon annan hann före", .conflict)
        case .invalid, .unprocessable: ("Uppgifterna kunde inte sparas", .badRequest)
        case .tooLarge: ("För många träffar", .badRequest)
        default: ("Något gick fel", .internalServerError)
        }
        if status == .internalServerError { logger.error("web app: \(error)") }
        return message(user: user, heading: heading, text: Self.said(error), technical: error.text == nil ? error.description : nil, status: status)
    }

    /// A page with one message; `technical` is the module's own words (in English, for support), folded away under the Swedish text.
    public func message(user: User?, heading: String, text: String, detail: String? = nil, technical: String? = nil, status: HTTPResponse.Status) -> Response {
        var context: [String: Any] = user.map { layout($0, title: heading) } ?? ["title": heading]
        context["heading"] = heading
        context["text"] = text
        context["alarm"] = status.code >= 400
        if let detail { context["detail"] = detail }
        if let technical { context["technical"] = technical }
        context["backHref"] = user == nil ? "/login" : "/start"
        context["backText"] = user == nil ? "Till inloggningen" : "Till startsidan"
        return pages.page("message", context, status: status)
    }

    // MARK: Helpers

    public static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
    }

    /// The fields of a posted form (`application/x-www-form-urlencoded`), up to 256 KiB (a long note fits).
    public static func formFields(_ request: Request) async throws -> [String: String] {
        let buffer = try await request.body.collect(upTo: 256 * 1024)
        return Dictionary(String(buffer: buffer).queryPairs.map { ($0.name, $0.value) }, uniquingKeysWith: { _, b in b })
    }

    public static func query(_ request: Request) -> [String: String] {
        Dictionary((request.uri.query ?? "").queryPairs.map { ($0.name, $0.value) }, uniquingKeysWith: { _, b in b })
    }

    /// A value for a path segment or a query: everything but RFC 3986's unreserved characters percent-encoded.
    public static func encoded(_ value: String) -> String { value.addingPercentEncoding(withAllowedCharacters: unreservedCharacters) ?? "" }

    /// An address with its query, each value encoded.
    public static func link(_ path: String, _ query: [(name: String, value: String)]) -> String {
        query.isEmpty ? path : path + "?" + query.map { "\($0.name)=\(encoded($0.value))" }.joined(separator: "&")
    }

    /// A page cursor from the query (a sequence number); anything else is no cursor, so a mangled link opens the first page.
    public static func cursor(_ request: Request, _ name: String) -> Int64? { cursor(query(request)[name]) }

    /// A page cursor's value (from a query or a form field): a sequence number, else none.
    public static func cursor(_ value: String?) -> Int64? { value.flatMap { Int64($0) }.flatMap { $0 >= 0 ? $0 : nil } }

    /// A module's refusal in Swedish words, for a form's message: the issues' own texts, else what its kind of refusal means.
    /// (The English diagnostics are for integrators and the log; a person is never shown them as the message.)
    public static func said(_ error: FHIRError) -> String {
        if let text = error.text { return text }
        return switch error.category {
        case .forbidden: "Du har inte behörighet att göra det här."
        case .notFound, .gone: "Uppgiften finns inte."
        case .conflict, .preconditionFailed: "Uppgiften hann ändras av någon annan, eller strider mot en regel. Ladda om sidan och försök igen."
        case .invalid, .unprocessable: "Uppgifterna är inte giltiga. Kontrollera det du skrev."
        case .tooLarge: "För mycket på en gång. Begränsa och försök igen."
        case .busy: "Kärna är hårt belastad just nu. Försök igen om en stund."
        default: "Något gick fel. Försök igen, och kontakta support om det upprepas."
        }
    }

    /// The app's CSS and script, from the bundle; only the names shipped are served.
    func staticFile(_ name: String) throws -> Response {
        let types = ["karna.css": "text/css; charset=utf-8", "karna.js": "text/javascript; charset=utf-8"]
        guard let type = types[name], let url = Bundle.module.resourceURL?.appendingPathComponent("Static/\(name)"),
              let data = FileManager.default.contents(atPath: url.path) else { throw HTTPError(.notFound) }
        return Response(status: .ok, headers: [.contentType: type, .cacheControl: "max-age=3600"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// RFC 3986's unreserved characters: what an address may carry without percent-encoding.
private let unreservedCharacters = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
