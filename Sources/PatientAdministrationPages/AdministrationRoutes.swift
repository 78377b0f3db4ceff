import Access
import FHIRCore
public import Foundation
public import Hummingbird
public import PatientAdministration
public import WebApp

/// Patient administration's pages as the web app takes them: routes, templates, menu entries, the
/// referral tab on a patient's pages, the fee schedule's administration section and the start page's worklists.
public struct AdministrationWeb: WebModule {
    let administration: PatientAdministration

    public init(_ administration: PatientAdministration) {
        self.administration = administration
    }

    public var name: String { "PatientAdministrationPages" }
    public var templates: URL? { Bundle.module.resourceURL?.appendingPathComponent("Templates") }

    /// Each entry shown to positions that may use it (the module refuses the rest anyway).
    public var menu: [MenuEntry] {
        [
            MenuEntry(title: "Patienter", path: "/patienter", nav: "navPatients") { _ in true },
            MenuEntry(title: "Registrera patient", path: "/registrera", nav: "navRegister") { $0.mayWrite("Patient") },
            MenuEntry(title: "Tidbok", path: "/tidbok", nav: "navBook") { $0.mayWrite("Appointment") },
            MenuEntry(title: "Väntelista", path: "/vantelista", nav: "navWaiting") { $0.mayWrite("Appointment") },
            MenuEntry(title: "Avdelning", path: "/avdelning", nav: "navWard") { $0.mayWrite("Encounter") && $0.mayRead("Location") },
            MenuEntry(title: "Remisser", path: "/remisser", nav: "navReferrals") { $0.mayRead("Task") },
            // The cashier is a desk's work: shown to positions that name fees among what they write, not to every
            // position that may write anything (a ward doctor has no cash drawer). The page itself admits any writer.
            MenuEntry(title: "Kassa", path: "/kassa", nav: "navCashier") { $0.write.contains("ChargeItem") },
        ]
    }

    public var patientTabs: [PatientTab] { [PatientTab(key: "remiss", title: "Skriv remiss", suffix: "/remiss/ny")] }
    public var patientActions: [PatientAction] {
        [PatientAction(title: "Ställ på väntelista", path: "/patienter/{id}/vantelista/ny") { $0.mayWrite("Appointment") }]
    }
    public var adminSections: [AdminSectionEntry] { [AdminSectionEntry(path: "taxa", title: "Avgifter")] }

    public func register<Context: RequestContext>(on signed: RouterGroup<SignedInContext<Context>>, app: WebApp<Context>) {
        AdministrationPages(app: app, administration: administration).register(on: signed)
    }

    public func startSections<Context: RequestContext>(for user: WebUser, app: WebApp<Context>) async throws -> [StartSection] {
        try await AdministrationPages(app: app, administration: administration).startSections(user)
    }
}

/// Patient administration's page handlers, over the shell's gateway, layout and helpers.
struct AdministrationPages<Context: RequestContext>: ModulePages {
    let app: WebApp<Context>
    let administration: PatientAdministration

    /// Registration, patient search, the appointment book and waiting list, referrals, the ward, the cashier and the fee schedule.
    func register(on signed: RouterGroup<SignedInContext<Context>>) {
        signed.get("patienter") { request, context in try await context.page { user in try await patientSearch(request, user) } }
        signed.get("admin/taxa") { request, context in
            try await context.page { user in try await feesPage(user, notice: Self.query(request)["klar"]) }
        }
        signed.post("admin/taxa") { request, context in try await context.page { user in try await saveFees(user) } }
        signed.get("registrera") { request, context in try await context.page { user in registerPage(user) } }
        signed.post("registrera") { request, context in try await context.page { user in try await register(user) } }
        signed.post("registrera/reservnummer") { request, context in try await context.page { user in try await registerUnidentified(user) } }
        signed.get("tidbok") { request, context in try await context.page { user in try await appointmentBook(request, user) } }
        signed.post("tidbok/boka") { request, context in try await context.page { user in try await bookSlot(request, user) } }
        signed.post("tidbok/skapa-tider") { request, context in try await context.page { user in try await createSlots(request, user) } }
        signed.post("tidbok/blockera") { request, context in try await context.page { user in try await blockSlots(request, user) } }
        signed.post("tidbok/hav-blockering") { request, context in try await context.page { user in try await unblockSlots(request, user) } }
        signed.post("tidbok/:id/checka-in") { request, context in
            try await context.page { user in try await checkIn(appointmentID: try context.parameters.require("id"), request, user) }
        }
        signed.post("tidbok/:id/avboka") { request, context in
            try await context.page { user in try await cancelOrNoShow(appointmentID: try context.parameters.require("id"), noShow: false, request, user) }
        }
        signed.post("tidbok/:id/uteblev") { request, context in
            try await context.page { user in try await cancelOrNoShow(appointmentID: try context.parameters.require("id"), noShow: true, request, user) }
        }
        signed.get("tidbok/:id/flytta") { request, context in
            try await context.page { user in try await chooseTime(appointmentID: try context.parameters.require("id"), waiting: false, request, user) }
        }
        signed.post("tidbok/:id/flytta") { request, context in
            try await context.page { user in
                try await moveOrBookFromWaitingList(appointmentID: try context.parameters.require("id"), waiting: false, request, user)
            }
        }
        signed.get("vantelista") { request, context in try await context.page { user in try await waitingListPage(request, user) } }
        signed.get("vantelista/ny") { request, context in try await context.page { user in try await waitingListForm(patientID: nil, request: request, user) } }
        signed.post("vantelista") { request, context in try await context.page { user in try await addToWaitingList(patientID: nil, request: request, user) } }
        signed.get("patienter/:id/vantelista/ny") { request, context in
            try await context.page { user in try await waitingListForm(patientID: try context.parameters.require("id"), request: request, user) }
        }
        signed.post("patienter/:id/vantelista") { request, context in
            try await context.page { user in try await addToWaitingList(patientID: try context.parameters.require("id"), request: request, user) }
        }
        signed.get("vantelista/:id/boka") { request, context in
            try await context.page { user in try await chooseTime(appointmentID: try context.parameters.require("id"), waiting: true, request, user) }
        }
        signed.post("vantelista/:id/boka") { request, context in
            try await context.page { user in
                try await moveOrBookFromWaitingList(appointmentID: try context.parameters.require("id"), waiting: true, request, user)
            }
        }
        signed.get("patienter/:id/remiss/ny") { request, context in
            try await context.page { user in try await referralForm(patientID: try context.parameters.require("id"), user) }
        }
        signed.post("patienter/:id/remiss") { request, context in
            try await context.page { user in try await sendReferral(patientID: try context.parameters.require("id"), user) }
        }
        signed.get("remisser") { request, context in try await context.page { user in try await referralList(request, user) } }
        signed.get("remisser/:id") { request, context in
            try await context.page { user in try await referralPage(taskID: try context.parameters.require("id"), request, user) }
        }
        signed.post("remisser/:id/:step") { request, context in
            try await context.page { user in
                try await referralStep(taskID: try context.parameters.require("id"), step: try context.parameters.require("step"), request, user)
            }
        }
        signed.get("avdelning") { request, context in try await context.page { user in try await wardPage(request, user) } }
        signed.post("avdelning/inskrivning") { request, context in try await context.page { user in try await admitToBed(request, user) } }
        signed.post("avdelning/planera") { request, context in try await context.page { user in try await planAdmission(request, user) } }
        signed.post("avdelning/:id/:step") { request, context in
            try await context.page { user in
                try await wardStep(encounterID: try context.parameters.require("id"), step: try context.parameters.require("step"), request, user)
            }
        }
        signed.get("kassa") { request, context in try await context.page { user in try await cashierPage(request, user) } }
        signed.get("kassa/dagsrapport") { request, context in try await context.page { user in try await dailyReportPage(request, user) } }
        signed.get("kassa/kvitto/:id") { request, context in
            try await context.page { user in
                let done = ["makulerad": "Kvittot är makulerat. Besöket kan betalas igen.", "aterbetald": "Avgiften är återbetald: detta är kreditkvittot."]
                return try await receiptPage(invoiceID: try context.parameters.require("id"), user, notice: Self.query(request)["klar"].flatMap { done[$0] })
            }
        }
        signed.post("kassa/kvitto/:id/makulera") { request, context in
            try await context.page { user in try await correctReceipt(invoiceID: try context.parameters.require("id"), refund: false, user) }
        }
        signed.post("kassa/kvitto/:id/aterbetala") { request, context in
            try await context.page { user in try await correctReceipt(invoiceID: try context.parameters.require("id"), refund: true, user) }
        }
        signed.get("kassa/:id") { request, context in
            try await context.page { user in try await paymentPage(encounterID: try context.parameters.require("id"), user) }
        }
        signed.post("kassa/:id/betala") { request, context in
            try await context.page { user in try await takePayment(encounterID: try context.parameters.require("id"), user) }
        }
    }
}
