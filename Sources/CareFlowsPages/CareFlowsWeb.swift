import Access
public import CareFlows
import FHIRCore
public import Foundation
public import Hummingbird
import HTTPTypes
import NIOCore
import StoreModel
public import WebApp

/// The care flows' pages: the emergency department's tracking board (live), arrival, the visit with triage and
/// its live colour, the steps and the decision, the ED times; vital signs with NEWS2 on the chart and the ward's
/// NEWS2 overview; day surgery with its checklists and the follow-up calls.
public struct CareFlowsWeb: WebModule {
    let flows: CareFlows
    /// Seconds between an open board's refreshes when no change was announced to it.
    let boardRefreshSeconds: Int
    /// Seconds one event stream stays open before the browser reconnects (a stream must end for the server to stop).
    let streamSeconds: Int

    public init(_ flows: CareFlows, boardRefreshSeconds: Int = 20, streamSeconds: Int = 120) {
        self.flows = flows
        self.boardRefreshSeconds = boardRefreshSeconds
        self.streamSeconds = streamSeconds
    }

    public var name: String { "CareFlowsPages" }
    public var templates: URL? { Bundle.module.resourceURL?.appendingPathComponent("Templates") }

    public var menu: [MenuEntry] {
        [MenuEntry(title: "Akuttavla", path: "/akut", nav: "navEmergency") { $0.mayWrite("Observation") && $0.mayWrite("Encounter") },
         MenuEntry(title: "NEWS2 på avdelningen", path: "/avdelning/news2", nav: "navNews2") { $0.mayWrite("Observation") },
         MenuEntry(title: "Dagkirurgi", path: "/dagkirurgi", nav: "navDaySurgery") { $0.mayWrite("Observation") && $0.mayWrite("Encounter") }]
    }

    public var patientTabs: [PatientTab] { [PatientTab(key: "vitalparametrar", title: "Vitalparametrar", suffix: "/vitalparametrar")] }

    public var patientActions: [PatientAction] {
        [PatientAction(title: "Ankomst till akuten", path: "/akut/ankomst?patient={id}") { $0.mayWrite("Encounter") && $0.mayWrite("Observation") },
         PatientAction(title: "Boka dagkirurgi", path: "/patienter/{id}/dagkirurgi") { $0.mayWrite("Encounter") }]
    }

    public func register<Context: RequestContext>(on signed: RouterGroup<SignedInContext<Context>>, app: WebApp<Context>) {
        let pages = CareFlowPages(app: app, flows: flows, boardRefreshSeconds: boardRefreshSeconds, streamSeconds: streamSeconds)
        signed.get("akut") { request, context in
            try await context.page { user in try await pages.board(user, notice: CareFlowPages<Context>.query(request)["klar"]) }
        }
        signed.get("akut/tavla") { _, context in try await context.page { user in try await pages.boardRows(user) } }
        signed.get("akut/handelser") { _, context in try await context.page { user in try pages.boardEvents(user) } }
        signed.get("akut/ankomst") { request, context in
            try await context.page { user in try await pages.arrivalForm(user, values: CareFlowPages<Context>.query(request)) }
        }
        signed.post("akut/ankomst") { _, context in try await context.page { user in try await pages.arrive(user) } }
        signed.post("akut/farg") { _, context in try await context.page { user in pages.liveColour(user) } }
        signed.get("akut/ledtider") { request, context in
            try await context.page { user in try await pages.times(user, query: CareFlowPages<Context>.query(request)) }
        }
        signed.get("akut/besok/:id") { request, context in
            try await context.page { user in
                try await pages.visit(try context.parameters.require("id"), user, notice: CareFlowPages<Context>.query(request)["klar"])
            }
        }
        signed.post("akut/besok/:id/:action") { _, context in
            try await context.page { user in
                try await pages.visitAction(try context.parameters.require("id"), action: try context.parameters.require("action"), user)
            }
        }
        signed.get("patienter/:id/vitalparametrar") { request, context in
            try await context.page { user in
                try await pages.vitalSigns(patientID: try context.parameters.require("id"), user, notice: CareFlowPages<Context>.query(request)["klar"])
            }
        }
        signed.post("patienter/:id/vitalparametrar") { _, context in
            try await context.page { user in try await pages.saveVitalSigns(patientID: try context.parameters.require("id"), user) }
        }
        signed.get("avdelning/news2") { _, context in try await context.page { user in try await pages.wardNews2(user) } }
        signed.get("dagkirurgi") { request, context in
            try await context.page { user in try await pages.daySurgery(user, query: CareFlowPages<Context>.query(request)) }
        }
        signed.get("dagkirurgi/:id") { request, context in
            try await context.page { user in
                try await pages.daySurgeryVisit(try context.parameters.require("id"), user, notice: CareFlowPages<Context>.query(request)["klar"])
            }
        }
        signed.post("dagkirurgi/:id/:action") { _, context in
            try await context.page { user in
                try await pages.daySurgeryAction(try context.parameters.require("id"), action: try context.parameters.require("action"), user)
            }
        }
        signed.post("uppfoljning/:id/klar") { _, context in
            try await context.page { user in try await pages.completeFollowUp(try context.parameters.require("id"), user) }
        }
        signed.get("patienter/:id/dagkirurgi") { _, context in
            try await context.page { user in try await pages.bookingForm(patientID: try context.parameters.require("id"), user) }
        }
        signed.post("patienter/:id/dagkirurgi") { _, context in
            try await context.page { user in try await pages.book(patientID: try context.parameters.require("id"), user) }
        }
    }

    public func startSections<Context: RequestContext>(for user: WebUser, app: WebApp<Context>) async throws -> [StartSection] {
        try await CareFlowPages(app: app, flows: flows, boardRefreshSeconds: boardRefreshSeconds, streamSeconds: streamSeconds).startSections(user)
    }
}
