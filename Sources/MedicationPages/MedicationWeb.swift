import Access
import FHIRCore
public import Foundation
public import Hummingbird
public import Medication
import StoreModel
public import WebApp
public import Terminology

/// The medication module's pages as the web app takes them: the patient's Läkemedel tab (the
/// läkemedelslista and today's MAR), the ward's MAR for nurses, and on an ordinator's start page the
/// verbal orders waiting for confirmation, overdue ones first in alarm.
public struct MedicationWeb: WebModule {
    let medication: Medication
    /// The drug catalogue (NPL) the ordination form picks products from.
    let terminology: TerminologyService

    public init(_ medication: Medication, terminology: TerminologyService) {
        self.medication = medication
        self.terminology = terminology
    }

    public var name: String { "MedicationPages" }
    public var templates: URL? { Bundle.module.resourceURL?.appendingPathComponent("Templates") }

    public var menu: [MenuEntry] {
        [MenuEntry(title: "Läkemedel på avdelningen", path: "/lakemedel/avdelning", nav: "navMAR") { $0.mayWrite("MedicationAdministration") },
         MenuEntry(title: "Ej skickade recept", path: "/recept/ej-skickade", nav: "navUnsent") { $0.prescribe }]
    }

    public var patientTabs: [PatientTab] { [PatientTab(key: "lakemedel", title: "Läkemedel", suffix: "/lakemedel")] }

    public func register<Context: RequestContext>(on signed: RouterGroup<SignedInContext<Context>>, app: WebApp<Context>) {
        let pages = MedicationPages(app: app, medication: medication)
        let form = OrdinationForm(app: app, medication: medication, terminology: terminology)
        signed.get("patienter/:id/ordination/ny") { _, context in
            try await context.page { user in try await form.page(patientID: try context.parameters.require("id"), user) }
        }
        signed.post("patienter/:id/ordination") { _, context in
            try await context.page { user in try await form.submit(patientID: try context.parameters.require("id"), user) }
        }
        signed.get("patienter/:id/lakemedel") { request, context in
            try await context.page { user in
                try await pages.patientPage(patientID: try context.parameters.require("id"), user, notice: MedicationPages<Context>.query(request)["klar"])
            }
        }
        signed.post("patienter/:id/lakemedelsberattelse") { _, context in
            try await context.page { user in try await pages.signStory(patientID: try context.parameters.require("id"), user) }
        }
        signed.post("patienter/:id/doser") { _, context in
            try await context.page { user in try await pages.recordDose(patientID: try context.parameters.require("id"), user) }
        }
        signed.post("patienter/:id/lakemedelsgenomgang") { _, context in
            try await context.page { user in try await pages.recordReview(patientID: try context.parameters.require("id"), user) }
        }
        let prescriptions = PrescriptionPages(app: app, medication: medication, terminology: terminology)
        signed.get("patienter/:id/recept/ny") { _, context in
            try await context.page { user in try await prescriptions.form(patientID: try context.parameters.require("id"), user) }
        }
        signed.post("patienter/:id/recept") { _, context in
            try await context.page { user in try await prescriptions.submit(patientID: try context.parameters.require("id"), user) }
        }
        signed.post("patienter/:id/recept/text") { _, context in
            try await context.page { user in try prescriptions.liveText(user) }
        }
        signed.get("patienter/:id/nll") { request, context in
            try await context.page { user in
                try await prescriptions.nationalList(patientID: try context.parameters.require("id"), user, query: PrescriptionPages<Context>.query(request))
            }
        }
        for action in ["fornya", "parallell", "ersatt", "avsluta", "makulera"] {
            signed.post("recept/:id/\(action)") { _, context in
                try await context.page { user in try await prescriptions.change(try context.parameters.require("id"), user, action: action) }
            }
        }
        signed.get("recept/ej-skickade") { request, context in
            try await context.page { user in try await prescriptions.unsent(user, notice: PrescriptionPages<Context>.query(request)["klar"]) }
        }
        signed.get("recept/:id/reservrecept") { _, context in
            try await context.page { user in try await prescriptions.reserve(try context.parameters.require("id"), user) }
        }
        signed.post("recept/:id/skicka") { _, context in
            try await context.page { user in try await prescriptions.resend(try context.parameters.require("id"), user) }
        }
        signed.get("lakemedel/avdelning") { _, context in
            try await context.page { user in try await pages.wardPage(user) }
        }
    }

    public func startSections<Context: RequestContext>(for user: WebUser, app: WebApp<Context>) async throws -> [StartSection] {
        try await MedicationPages(app: app, medication: medication).startSections(user)
    }
}

/// The medication pages' handlers, over the shell's gateway, layout and helpers.
struct MedicationPages<Context: RequestContext>: ModulePages {
    let app: WebApp<Context>
    let medication: Medication

    /// The patient's läkemedelslista and today's doses.
    func patientPage(patientID: String, _ user: User, notice: String? = nil, storyError: String? = nil, storyText: String? = nil,
                     doseError: String? = nil, reviewError: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        let session = user.data(gateway, action: "medication-list")
        let (shown, access) = try await header(patientID: patientID, session: session)
        guard let banner = shown else {
            return try await accessPage(patientID: patientID, status: access, user: user, form: [:], errors: [:])
        }
        let rules = try medication.administrationRules()
        let today = SwedishTime.instant(day: SwedishTime.today, minuteOfDay: 0)
        async let list = MedicationList.read(patientID: patientID, session: session, reviewValidDays: rules.medicationReviewValidDays)
        async let doses = DoseSchedule.read(patientIDs: [patientID], from: today, to: today + 86_400_000, session: session, rules: rules)
        let (medicines, day) = try await (list, doses)
        var context = layout(user, title: "Läkemedel – \(banner["name"] as? String ?? "")")
        context["patientID"] = patientID
        context["patientTabs"] = patientTabs(current: "lakemedel")
        context["banner"] = banner
        context["review"] = medicines.reviewIndicated
        if user.principal.permissions.prescribe { context["newOrder"] = "/patienter/\(Self.encoded(patientID))/ordination/ny" }
        if medicines.reviewIndicated, user.principal.permissions.prescribe {
            context["reviewForm"] = ["patientID": patientID, "formToken": user.formToken, "error": reviewError ?? ""] as [String: Any]
        }
        if let last = medicines.lastReview {
            context["lastReview"] = ["kind": last.kind, "at": Display.time(last.at), "by": last.performer ?? ""] as [String: Any]
        }
        let roleNames = try await personNames(medicines.rows.flatMap(\.sources).compactMap(\.ordinatorReference), session: session)
        // Each source a closed row of its own, carrying its drug's name (a row sees only its own values).
        context["rows"] = medicines.rows.flatMap { row in
            row.sources.enumerated().map { index, source -> [String: Any] in
                ["name": index == 0 ? row.name : "", "atc": index == 0 ? row.atc ?? "" : "", "label": source.label, "dosage": source.dosage,
                 "reason": source.reason ?? "", "ordinator": source.ordinatorReference.flatMap { roleNames[$0] } ?? source.ordinator ?? "",
                 "start": Display.time(source.start), "end": Display.time(source.plannedEnd)]
            }
        }
        // Each dose row carries what the nurse may do with it (a row sees only its own values).
        let mayRecord = user.principal.kind == .practitioner && user.principal.permissions.mayWrite("MedicationAdministration")
        context["doses"] = day.map { dose -> [String: Any] in
            var row = Self.dose(dose)
            guard mayRecord, dose.state != .held else { return row }
            let open = dose.administration == nil && [.planned, .due, .late, .missed].contains(dose.state)
            let prepared = dose.state == .prepared
            row["actions"] = ["patientID": patientID, "formToken": user.formToken, "order": dose.order, "time": String(dose.time),
                              "prepare": open && dose.highRisk, "verify": prepared && dose.highRisk, "give": (open && !dose.highRisk) || prepared,
                              "notGiven": open || prepared, "key": "\(dose.order)-\(dose.time)"] as [String: Any]
            return row
        }
        context["doseError"] = doseError ?? ""
        if let notice { context["notice"] = notice }
        // During a stay the doctor writes the läkemedelsberättelse here before discharge.
        if user.principal.permissions.prescribe, let stay = try await InpatientStay.current(patientID: patientID, session: session) {
            if try await MedicationStory.isSigned(stayID: stay.id, session: session) {
                context["storySigned"] = true
            } else {
                var text = storyText ?? ""
                if storyText == nil { text = try await MedicationStory.read(stay: stay, session: session).text }
                context["story"] = ["stayID": stay.id, "text": text, "error": storyError ?? "", "patientID": patientID, "formToken": user.formToken] as [String: Any]
            }
        }
        return pages.page("medication", context, status: status)
    }

    /// People named by reference without a display, by name: an assignment by its practitioner, a practitioner by
    /// their name (the page would otherwise show "uppdrag doc-role").
    func personNames(_ references: [String], session: PatientDataSession) async throws -> [String: String] {
        let keys = Set(references.compactMap { ResourceKey(reference: $0) }.filter { $0.type == "PractitionerRole" || $0.type == "Practitioner" })
        guard !keys.isEmpty else { return [:] }
        return Dictionary(try await session.read(keys: Array(keys)).map { person -> (String, String) in
            let name = person.type == "PractitionerRole"
                ? person.object["practitioner"]?.objectValue?["display"]?.stringValue ?? Display.reference(person.object["practitioner"])
                : Display.name(person.object)
            return ("\(person.type)/\(person.id)", name)
        }, uniquingKeysWith: { a, _ in a })
    }

    /// Signs the edited story, or the reason none is needed; a refusal is said at the form, the text kept.
    func signStory(patientID: String, _ user: User) async throws -> Response {
        let session = user.data(gateway, action: "sign-medication-story")
        guard let stay = try await InpatientStay.current(patientID: patientID, session: session) else {
            return try await patientPage(patientID: patientID, user, notice: "Patienten har ingen pågående vårdtid.")
        }
        let text = user.form["text"] ?? ""
        let reason = (user.form["reason"] ?? "").trimmingCharacters(in: .whitespaces)
        do {
            _ = try await MedicationStory.sign(stay: stay, text: text, noneNeededBecause: user.form["none"] == "ja" ? reason : nil, session: session)
        } catch let error as FHIRError where error.category != .forbidden {
            return try await patientPage(patientID: patientID, user, storyError: Self.said(error), storyText: text, status: .badRequest)
        }
        return Self.redirect("/patienter/\(Self.encoded(patientID))/lakemedel?klar=" + Self.encoded("Läkemedelsberättelsen är signerad."))
    }

    /// Prepares, double-checks, gives or records not given a planned dose; a refusal is said above the doses.
    func recordDose(patientID: String, _ user: User) async throws -> Response {
        let session = user.data(gateway, action: "record-dose")
        guard let action = DoseRecording.Action(rawValue: user.form["action"] ?? ""), let order = user.form["order"], !order.isEmpty,
              let time = (user.form["time"]).flatMap(Int64.init) else {
            return try await patientPage(patientID: patientID, user, doseError: "Välj en dos och vad som ska göras med den.", status: .badRequest)
        }
        do {
            _ = try await DoseRecording.record(action, orderID: order, plannedTime: time, reason: user.form["reason"], session: session,
                                               rules: try medication.administrationRules())
        } catch let error as FHIRError where error.category != .forbidden && error.category != .notFound {
            return try await patientPage(patientID: patientID, user, doseError: Self.said(error), status: .badRequest)
        }
        let done = switch action {
        case .prepare: "Dosen är iordningställd."
        case .verify: "Dubbelkontrollen är signerad."
        case .give: "Dosen är dokumenterad som given."
        case .notGiven: "Dosen är dokumenterad som ej given."
        }
        return Self.redirect("/patienter/\(Self.encoded(patientID))/lakemedel?klar=" + Self.encoded(done))
    }

    /// Records a läkemedelsgenomgång with its assessment; an empty one is said at the form.
    func recordReview(patientID: String, _ user: User) async throws -> Response {
        let session = user.data(gateway, action: "medication-review")
        do {
            _ = try await MedicationReview.record(patientID: patientID, thorough: user.form["fordjupad"] == "ja", assessment: user.form["assessment"] ?? "",
                                                  session: session)
        } catch let error as FHIRError where error.category != .forbidden && error.category != .notFound {
            return try await patientPage(patientID: patientID, user, reviewError: Self.said(error), status: .badRequest)
        }
        return Self.redirect("/patienter/\(Self.encoded(patientID))/lakemedel?klar=" + Self.encoded("Läkemedelsgenomgången är dokumenterad."))
    }

    /// The ward's MAR: every inpatient's doses from four hours back to eight ahead, in time order.
    func wardPage(_ user: User) async throws -> Response {
        guard let assignment = user.assignment else { throw FHIRError(.forbidden, code: .forbidden, "no assignment was chosen at login") }
        let session = user.data(gateway, action: "ward-mar")
        let now = Instant.now()
        let (patientIDs, doses) = try await DoseSchedule.readWard(unitID: assignment.unitID, from: now - 4 * 3_600_000, to: now + 8 * 3_600_000,
                                                                  session: session, rules: try medication.administrationRules())
        let names = Dictionary(try await session.read(keys: patientIDs.map { ResourceKey(type: "Patient", id: $0) }).map { ($0.id, Display.name($0.object)) },
                               uniquingKeysWith: { a, _ in a })
        var context = layout(user, title: "Läkemedel på avdelningen", nav: "navMAR")
        context["unitName"] = assignment.unitName
        context["doses"] = doses.map { dose -> [String: Any] in
            var row = Self.dose(dose)
            row["patientID"] = dose.patientID
            row["patientName"] = names[dose.patientID] ?? dose.patientID
            return row
        }
        context["open"] = doses.filter { [.due, .late, .missed].contains($0.state) }.count
        context["missed"] = doses.filter { $0.state == .missed }.count
        return pages.page("ward-mar", context)
    }

    /// A dose as a row: time, drug, dose, state, and whether it needs dubbelkontroll.
    static func dose(_ dose: DueDose) -> [String: Any] {
        ["time": Display.clock(SwedishTime.format(dose.time)), "drug": dose.drug, "dose": dose.dose, "state": dose.state.swedish,
         "alarm": dose.state == .missed, "warn": dose.state == .late || dose.state == .due, "done": dose.state == .given, "highRisk": dose.highRisk]
    }

    /// An ordinator's verbal orders to confirm, on the start page.
    func startSections(_ user: User) async throws -> [StartSection] {
        guard user.principal.permissions.prescribe, let assignment = user.assignment else { return [] }
        let session = user.data(gateway, action: "start-page")
        let orders = try await VerbalOrders.read(roleID: assignment.id, session: session, rules: try medication.administrationRules())
        guard !orders.items.isEmpty else { return [] }
        let recorders = try await personNames(orders.items.compactMap(\.recorderReference), session: session)
        let rows = orders.items.map { item -> [String: Any] in
            ["patientID": item.patientID ?? "", "drug": item.drug, "kind": item.kind == "telefon" ? "Telefonordination" : "Muntlig ordination",
             "recordedBy": item.recorderReference.flatMap { recorders[$0] } ?? item.recordedBy ?? "", "at": Display.time(SwedishTime.format(item.recordedAt)), "overdue": item.overdue]
        }
        return [StartSection(rank: 15, html: pages.render("start-verbal", ["orders": rows, "overdue": orders.overdueCount]))]
    }
}
