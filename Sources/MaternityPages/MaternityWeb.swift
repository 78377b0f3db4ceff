import Access
public import Foundation
public import Hummingbird
public import Maternity
public import WebApp

/// Maternity's pages: the midwife's worklist, registering a pregnancy, the pregnancy with its plan, risk assessment,
/// tasks and the gravidogram, the visit form with AUDIT and EPDS, the delivery's partogram, the birth, the MFR sheets.
public struct MaternityWeb: WebModule {
    let maternity: Maternity

    public init(_ maternity: Maternity) { self.maternity = maternity }

    public var name: String { "MaternityPages" }
    public var templates: URL? { Bundle.module.resourceURL?.appendingPathComponent("Templates") }

    public var menu: [MenuEntry] {
        [MenuEntry(title: "Mödravård", path: "/mvc", nav: "navMaternity") { $0.mayWrite("EpisodeOfCare") && $0.mayWrite("Observation") }]
    }

    public var patientTabs: [PatientTab] { [PatientTab(key: "graviditet", title: "Graviditet", suffix: "/graviditet")] }

    public var patientActions: [PatientAction] {
        [PatientAction(title: "Inskrivning på förlossningen", path: "/forlossning/ny?patient={id}") { $0.mayWrite("Encounter") && $0.mayWrite("Observation") }]
    }

    public func register<Context: RequestContext>(on signed: RouterGroup<SignedInContext<Context>>, app: WebApp<Context>) {
        let pages = MaternityPages(app: app, maternity: maternity)
        signed.get("mvc") { request, context in
            try await context.page { user in try await pages.worklist(user, notice: MaternityPages<Context>.query(request)["klar"]) }
        }
        signed.get("patienter/:id/graviditet") { request, context in
            try await context.page { user in
                try await pages.pregnancy(patientID: try context.parameters.require("id"), user, notice: MaternityPages<Context>.query(request)["klar"])
            }
        }
        signed.post("patienter/:id/graviditet") { _, context in
            try await context.page { user in try await pages.register(patientID: try context.parameters.require("id"), user) }
        }
        signed.get("graviditet/:id/besok") { request, context in
            try await context.page { user in
                try await pages.visitForm(pregnancyID: try context.parameters.require("id"), user, values: MaternityPages<Context>.query(request))
            }
        }
        signed.post("graviditet/:id/besok") { _, context in
            try await context.page { user in try await pages.recordVisit(pregnancyID: try context.parameters.require("id"), user) }
        }
        signed.post("graviditet/:id/:action") { _, context in
            try await context.page { user in
                try await pages.pregnancyAction(pregnancyID: try context.parameters.require("id"), action: try context.parameters.require("action"), user)
            }
        }
        signed.get("graviditet/:id/mfr") { _, context in
            try await context.page { user in try await pages.sheets(pregnancyID: try context.parameters.require("id"), user) }
        }
        signed.get("forlossning/ny") { request, context in
            try await context.page { user in try await pages.admissionForm(patientID: MaternityPages<Context>.query(request)["patient"] ?? "", user) }
        }
        signed.post("forlossning/ny") { _, context in try await context.page { user in try await pages.admit(user) } }
        signed.get("forlossning/:id") { request, context in
            try await context.page { user in
                try await pages.partogram(encounterID: try context.parameters.require("id"), user, notice: MaternityPages<Context>.query(request)["klar"])
            }
        }
        signed.post("forlossning/:id/partogram") { _, context in
            try await context.page { user in try await pages.recordPartogram(encounterID: try context.parameters.require("id"), user) }
        }
        signed.post("forlossning/:id/fodelse") { _, context in
            try await context.page { user in try await pages.registerBirth(encounterID: try context.parameters.require("id"), user) }
        }
        signed.post("mvc/uppgift/:id/klar") { _, context in
            try await context.page { user in try await pages.completeTask(try context.parameters.require("id"), user) }
        }
    }
}
