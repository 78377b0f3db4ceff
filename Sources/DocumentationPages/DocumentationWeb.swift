import Access
public import Documentation
import FHIRCore
public import Foundation
public import Hummingbird
import StoreModel
public import WebApp

/// Clinical documentation's pages as the web app takes them: routes, templates, the journal and
/// signals tabs on a patient's pages, the note templates' administration section and the start page's
/// unsigned notes.
public struct DocumentationWeb: WebModule {
    let documentation: Documentation

    public init(_ documentation: Documentation) {
        self.documentation = documentation
    }

    public var name: String { "DocumentationPages" }
    public var templates: URL? { Bundle.module.resourceURL?.appendingPathComponent("Templates") }

    public var patientTabs: [PatientTab] {
        [PatientTab(key: "journal", title: "Journal", suffix: "/journal"), PatientTab(key: "signaler", title: "Signaler och diagnoser", suffix: "/signaler")]
    }

    public var adminSections: [AdminSectionEntry] { [AdminSectionEntry(path: "mallar", title: "Anteckningsmallar")] }

    public func register<Context: RequestContext>(on signed: RouterGroup<SignedInContext<Context>>, app: WebApp<Context>) {
        DocumentationPages(app: app, documentation: documentation).register(on: signed)
    }

    public func startSections<Context: RequestContext>(for user: WebUser, app: WebApp<Context>) async throws -> [StartSection] {
        try await DocumentationPages(app: app, documentation: documentation).startSections(user)
    }
}

/// Clinical documentation's page handlers, over the shell's gateway, layout and helpers.
struct DocumentationPages<Context: RequestContext>: ModulePages {
    let app: WebApp<Context>
    let documentation: Documentation
}

extension DocumentationPages {
    /// The user's unsigned notes (and those waiting for their signature) on the start page.
    func startSections(_ user: User) async throws -> [StartSection] {
        let session = user.data(gateway, action: "start-page")
        let notes = try await documentation.notes.unsigned(session: session)
        let patientIDs = Set(notes.compactMap { Display.id($0.note.object["subject"], type: "Patient") })
        let patients = Dictionary(try await session.read(keys: patientIDs.sorted().map { ResourceKey(type: "Patient", id: $0) }).map { ($0.id, $0.object) },
                                  uniquingKeysWith: { a, _ in a })
        let rows = notes.map { item -> [String: Any] in
            let note = item.note.object
            let patientID = Display.id(note["subject"], type: "Patient")
            return ["title": note["title"]?.stringValue ?? "Anteckning", "patientID": patientID ?? "",
                    "patientName": patientID.flatMap { patients[$0] }.map(Display.name) ?? "Patient utan åtkomst",
                    "date": Display.time(note["date"]?.stringValue), "mustSign": item.mustSign]
        }
        return [StartSection(rank: 20, html: pages.render("start-unsigned", ["unsigned": rows]))]
    }
}
