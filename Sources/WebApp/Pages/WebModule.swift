import Access
import FHIRCore
import Foundation
import Hummingbird

/// What a clinical module's pages hand the web app at wiring time: its routes on the signed-in group,
/// its templates, its menu entries, its tabs on the patient pages, its administration sections and
/// its parts of the start page. The composition root lists them once, beside the module itself.
public protocol WebModule: Sendable {
    /// The module's name (its templates are loaded under it; two modules may not share a template name).
    var name: String { get }
    /// Its Mustache templates' folder; they may use the shell's `layout`, `banner` and `tabs`.
    var templates: URL? { get }
    /// Its entries of the main menu, in order.
    var menu: [MenuEntry] { get }
    /// Its tabs on a patient's pages (after the overview).
    var patientTabs: [PatientTab] { get }
    /// Actions on a patient the chart offers (Ställ på väntelista …), each to the positions that may take it.
    var patientActions: [PatientAction] { get }
    /// Its sections of the administration pages (after the shell's).
    var adminSections: [AdminSectionEntry] { get }
    /// Adds its pages to the signed-in group: every handler there runs with a user, and what it reads is audited.
    func register<Context: RequestContext>(on signed: RouterGroup<SignedInContext<Context>>, app: WebApp<Context>)
    /// Its sections of the user's start page (worklists), rendered with its templates; none when it has none for this user.
    func startSections<Context: RequestContext>(for user: WebUser, app: WebApp<Context>) async throws -> [StartSection]
}

extension WebModule {
    public var menu: [MenuEntry] { [] }
    public var patientTabs: [PatientTab] { [] }
    public var patientActions: [PatientAction] { [] }
    public var adminSections: [AdminSectionEntry] { [] }
    public func startSections<Context: RequestContext>(for user: WebUser, app: WebApp<Context>) async throws -> [StartSection] { [] }
}

/// One tab of a patient's pages: `/patienter/[id][suffix]`.
public struct PatientTab: Sendable {
    public let key: String
    public let title: String
    public let suffix: String

    public init(key: String, title: String, suffix: String) {
        self.key = key
        self.title = title
        self.suffix = suffix
    }
}

/// An action on one patient, offered on the chart: a link to `path` with `{id}` as the patient's id.
public struct PatientAction: Sendable {
    public let title: String
    public let path: String
    public let isShown: @Sendable (Permissions) -> Bool

    public init(title: String, path: String, isShown: @escaping @Sendable (Permissions) -> Bool) {
        self.title = title
        self.path = path
        self.isShown = isShown
    }
}

/// One section of the administration pages, at `/admin/[path]`, shown to systemförvaltare.
public struct AdminSectionEntry: Sendable {
    public let path: String
    public let title: String

    public init(path: String, title: String) {
        self.path = path
        self.title = title
    }
}

/// One section of the start page, as HTML rendered from the module's template (Mustache escaped every value).
public struct StartSection: Sendable {
    /// Where it stands (lower first; equal ranks keep the modules' order).
    public let rank: Int
    public let html: String

    public init(rank: Int, html: String) {
        self.rank = rank
        self.html = html
    }
}

/// A module's page collection: its handlers reach the shell (gateway, layout, banner, access questions,
/// messages and helpers) through `app`, so a module's page code reads as the shell's own does.
public protocol ModulePages: Sendable {
    associatedtype Context: RequestContext
    var app: WebApp<Context> { get }
}

extension ModulePages {
    public typealias User = WebUser

    public var gateway: AccessGateway { app.gateway }
    public var settings: WebSettings { app.settings }
    public var pages: PageRenderer { app.pages }

    public func layout(_ user: User, title: String, nav: String? = nil) -> [String: Any] { app.layout(user, title: title, nav: nav) }
    public func message(user: User?, heading: String, text: String, detail: String? = nil, status: HTTPResponse.Status) -> Response {
        app.message(user: user, heading: heading, text: text, detail: detail, status: status)
    }
    public func header(patientID: String, session: PatientDataSession) async throws -> (banner: [String: Any]?, status: JSONObject) {
        try await app.header(patientID: patientID, session: session)
    }
    public func accessPage(patientID: String, status: JSONObject, user: User, form: [String: String], errors: [String: String],
                           httpStatus: HTTPResponse.Status = .forbidden) async throws -> Response {
        try await app.accessPage(patientID: patientID, status: status, user: user, form: form, errors: errors, httpStatus: httpStatus)
    }
    public func patientTabs(current: String) -> [[String: Any]] { app.patientTabs(current: current) }
    public func patientActions(patientID: String, _ user: User) -> [[String: Any]] { app.patientActions(patientID: patientID, user) }
    public func requireAdministrator(_ user: User) throws { try app.requireAdministrator(user) }
    public func adminContext(_ user: User, section: String, values: [String: String], errors: [String: String], notice: String?) throws -> [String: Any] {
        try app.adminContext(user, section: section, values: values, errors: errors, notice: notice)
    }

    public static func redirect(_ location: String) -> Response { WebApp<Context>.redirect(location) }
    public static func query(_ request: Request) -> [String: String] { WebApp<Context>.query(request) }
    public static func said(_ error: FHIRError) -> String { WebApp<Context>.said(error) }
    public static func encoded(_ value: String) -> String { WebApp<Context>.encoded(value) }
    public static func link(_ path: String, _ query: [(name: String, value: String)]) -> String { WebApp<Context>.link(path, query) }
    public static func cursor(_ request: Request, _ name: String) -> Int64? { WebApp<Context>.cursor(request, name) }
    public static func cursor(_ value: String?) -> Int64? { WebApp<Context>.cursor(value) }
}
