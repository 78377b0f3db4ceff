import Access
import FHIRCore
public import Foundation
public import Hummingbird
import HTTPTypes
import NIOCore
public import Results
import StoreModel
public import WebApp

/// The results module's pages: the patient's Provsvar tab (the cumulative table and a trend), one result
/// (opened and signed there), the lab order form, and the lists no result may get lost in — results to sign,
/// critical values to acknowledge, results that matched no order, orders that did not reach their lab.
public struct ResultsWeb: WebModule {
    let results: Results

    public init(_ results: Results) {
        self.results = results
    }

    public var name: String { "ResultsPages" }
    public var templates: URL? { Bundle.module.resourceURL?.appendingPathComponent("Templates") }

    public var menu: [MenuEntry] {
        [MenuEntry(title: "Provsvar att vidimera", path: "/provsvar", nav: "navResults") { $0.prescribe },
         MenuEntry(title: "Omatchade provsvar", path: "/provsvar/omatchade", nav: "navUnmatched") { $0.mayWrite("ServiceRequest") },
         MenuEntry(title: "Ej levererade beställningar", path: "/bestallningar/ej-levererade", nav: "navUndelivered") { $0.mayWrite("ServiceRequest") }]
    }

    public var patientTabs: [PatientTab] { [PatientTab(key: "provsvar", title: "Provsvar", suffix: "/provsvar")] }

    /// On the chart from the first moment, a patient on reservnummer included: lab, blood and imaging orders.
    public var patientActions: [PatientAction] {
        [PatientAction(title: "Beställ prov eller röntgen", path: "/patienter/{id}/bestall") { $0.mayWrite("ServiceRequest") }]
    }

    public func register<Context: RequestContext>(on signed: RouterGroup<SignedInContext<Context>>, app: WebApp<Context>) {
        let pages = ResultPages(app: app, results: results)
        signed.get("patienter/:id/provsvar") { request, context in
            try await context.page { user in
                try await pages.patientPage(patientID: try context.parameters.require("id"), user, query: ResultPages<Context>.query(request))
            }
        }
        signed.get("patienter/:id/bestall") { _, context in
            try await context.page { user in try await pages.orderForm(patientID: try context.parameters.require("id"), user) }
        }
        signed.post("patienter/:id/bestall") { _, context in
            try await context.page { user in try await pages.placeOrder(patientID: try context.parameters.require("id"), user) }
        }
        signed.get("provsvar") { request, context in
            try await context.page { user in try await pages.inbox(user, query: ResultPages<Context>.query(request)) }
        }
        signed.post("provsvar/franvaro") { _, context in
            try await context.page { user in try await pages.recordAbsence(user) }
        }
        signed.get("provsvar/omatchade") { request, context in
            try await context.page { user in try await pages.unmatched(user, notice: ResultPages<Context>.query(request)["klar"]) }
        }
        signed.post("provsvar/omatchade/:id/matcha") { _, context in
            try await context.page { user in try await pages.match(try context.parameters.require("id"), user) }
        }
        signed.get("provsvar/:id") { request, context in
            try await context.page { user in try await pages.report(try context.parameters.require("id"), user, notice: ResultPages<Context>.query(request)["klar"]) }
        }
        signed.post("provsvar/:id/vidimera") { _, context in
            try await context.page { user in try await pages.sign(try context.parameters.require("id"), user) }
        }
        signed.post("larm/:id/kvittera") { _, context in
            try await context.page { user in try await pages.acknowledge(try context.parameters.require("id"), user) }
        }
        signed.get("bilder/:id") { _, context in
            try await context.page { user in try await pages.study(try context.parameters.require("id"), user) }
        }
        signed.get("bilder/:id/hamta") { _, context in
            try await context.page { user in try await pages.retrieveStudy(try context.parameters.require("id"), user) }
        }
        signed.get("bestallningar/ej-levererade") { request, context in
            try await context.page { user in try await pages.undelivered(user, notice: ResultPages<Context>.query(request)["klar"]) }
        }
        signed.post("bestallningar/:id/skicka") { _, context in
            try await context.page { user in try await pages.resend(try context.parameters.require("id"), user) }
        }
        signed.post("bestallningar/:id/makulera") { _, context in
            try await context.page { user in try await pages.cancelOrder(try context.parameters.require("id"), user) }
        }
    }

    public func startSections<Context: RequestContext>(for user: WebUser, app: WebApp<Context>) async throws -> [StartSection] {
        try await ResultPages(app: app, results: results).startSections(user)
    }
}

/// The results pages' handlers, over the shell's gateway, layout and helpers.
struct ResultPages<Context: RequestContext>: ModulePages {
    let app: WebApp<Context>
    let results: Results

    static var flagWords: [String: String] {
        ["H": "Högt", "L": "Lågt", "HH": "Kritiskt högt", "LL": "Kritiskt lågt", "A": "Avvikande", "AA": "Kritiskt avvikande", "HU": "Mycket högt",
         "LU": "Mycket lågt", "<": "Under mätområdet", ">": "Över mätområdet"]
    }

    static func flagged(_ flag: String?) -> [String: Any]? {
        guard let flag else { return nil }
        return ["words": flagWords[flag] ?? flag, "critical": ["HH", "LL", "AA"].contains(flag)]
    }

    // MARK: The patient's results

    /// The cumulative table (analyses × sampling times, newest first) and, for the chosen analysis, its trend.
    func patientPage(patientID: String, _ user: User, query: [String: String], error: (orderID: String, text: String)? = nil,
                     status: HTTPResponse.Status = .ok) async throws -> Response {
        let session = user.data(gateway, action: "results")
        let (shown, access) = try await header(patientID: patientID, session: session)
        guard let banner = shown else {
            return try await accessPage(patientID: patientID, status: access, user: user, form: [:], errors: [:])
        }
        let table = try await ResultTable.read(patientID: patientID, session: session)
        let columns = Array(table.times.prefix(results.tableColumns))
        var context = layout(user, title: "Provsvar – \(banner["name"] as? String ?? "")")
        context["patientID"] = patientID
        context["patientTabs"] = patientTabs(current: "provsvar")
        context["banner"] = banner
        if let notice = query["klar"] { context["notice"] = notice }
        if user.principal.permissions.mayWrite("ServiceRequest") { context["orderLink"] = "/patienter/\(Self.encoded(patientID))/bestall" }
        context["columns"] = columns.map { ["time": Display.time($0)] }
        if table.times.count > columns.count { context["older"] = table.times.count - columns.count }
        context["rows"] = table.analyses.map { analysis -> [String: Any] in
            let cells = columns.map { time -> [String: Any] in
                guard let value = table.value(analysis.key, at: time) else { return ["empty": true] }
                var cell: [String: Any] = ["text": value.text, "corrected": value.corrected]
                if let flag = Self.flagged(value.flag) { cell["flag"] = flag }
                if let report = value.reportID { cell["report"] = report }
                return cell
            }
            return ["name": analysis.name, "key": analysis.key, "unit": analysis.unit, "range": analysis.range ?? "", "noRange": analysis.range == nil,
                    "cells": cells, "trendLink": Self.link("/patienter/\(patientID)/provsvar", [("analys", analysis.key)]) + "#trend"]
        }
        if let chosen = query["analys"], let analysis = table.analyses.first(where: { $0.key == chosen }) {
            let values = table.values[chosen] ?? []
            context["trend"] = [
                "name": analysis.name, "unit": analysis.unit, "range": analysis.range ?? "", "noRange": analysis.range == nil,
                "svg": TrendChart.svg(analysis, values, titleID: "trend-title"),
                "values": values.reversed().map { value -> [String: Any] in
                    var row: [String: Any] = ["time": Display.time(value.time), "text": value.text, "corrected": value.corrected]
                    if let flag = Self.flagged(value.flag) { row["flag"] = flag }
                    return row
                },
            ] as [String: Any]
        }
        context["orders"] = try await orderRows(patientID: patientID, user, session: session, error: error)
        // Imaging studies the patient's orders expect or the PACS holds.
        let studies = try await Records(session: session).search("ImagingStudy", [("patient", patientID)], limit: 50)
        context["studies"] = studies.map { study -> [String: Any] in
            ["id": study.id, "accession": Imaging.accession(study.object) ?? "", "available": study.object["status"]?.stringValue == "available",
             "description": study.object["description"]?.stringValue ?? "", "started": Display.time(study.object["started"]?.stringValue)]
        }
        // The reports themselves (lab comments, radiology text), newest first.
        let reports = try await Records(session: session).search("DiagnosticReport", [("patient", patientID), ("_sort", "-issued")], limit: 50)
        context["reports"] = reports.map { report -> [String: Any] in
            ["id": report.id, "name": Display.concept(report.object["code"]), "issued": Display.time(report.object["issued"]?.stringValue),
             "status": Self.statusWords[report.object["status"]?.stringValue ?? ""] ?? report.object["status"]?.stringValue ?? "",
             "corrected": report.object["status"]?.stringValue == "corrected"]
        }
        return pages.page("provsvar", context, status: status)
    }

    /// The patient's orders still waiting for an answer, each with its delivery and a form to cancel it, and
    /// the cancelled ones whose lab has not yet confirmed the cancellation.
    func orderRows(patientID: String, _ user: User, session: PatientDataSession, error: (orderID: String, text: String)?) async throws -> [[String: Any]] {
        let orders = try await Records(session: session).search("ServiceRequest", [("patient", patientID), ("status", "active,revoked"),
                                                                                  ("category", "\(ResultsVocabulary.orderKindSystem)|"), ("_sort", "-authored")], limit: 50)
        let mayCancel = user.principal.permissions.mayWrite("ServiceRequest")
        let now = Date()
        return orders.compactMap { order -> [String: Any]? in
            let object = order.object
            let revoked = object["status"]?.stringValue == "revoked"
            // A cancellation the lab has confirmed, or one it never needed to hear of, is done: off the list.
            if revoked, !["att-skicka", "ej-levererad"].contains(OrderDelivery.cancellationState(object) ?? "") { return nil }
            let placer = (object["identifier"]?.arrayValue ?? []).first?.objectValue?["value"]?.stringValue ?? ""
            let expected = object.extensionValue(LabOrders.expectedExtension)?.stringValue
            var row: [String: Any] = [
                "id": order.id, "name": Display.concept(object["code"]), "placer": placer, "ordered": Display.time(object["authoredOn"]?.stringValue),
                "priority": ["routine": "Rutin", "urgent": "Akut", "asap": "Snarast", "stat": "Omedelbart"][object["priority"]?.stringValue ?? ""] ?? "",
                "expected": Display.time(expected),
                "overdue": !revoked && (expected.flatMap { ISO8601DateFormatter().date(from: $0) }.map { $0 < now } ?? false),
                "problem": object.extensionValue(OrderDelivery.problemExtension)?.stringValue ?? "",
                "specimen": LabOrders.specimenText(object) ?? "", "preparation": object["patientInstruction"]?.stringValue ?? "",
            ]
            if revoked {
                let cancellation = LabOrders.cancellation(object)
                row["cancelled"] = ["reason": cancellation?.reason ?? "", "time": Display.time(cancellation?.time),
                                    "refused": OrderDelivery.cancellationState(object) == "ej-levererad"] as [String: Any]
                row["state"] = OrderDelivery.cancellationState(object) == "ej-levererad" ? "Makuleringen är inte levererad till labbet" : "Makuleringen skickas till labbet"
            } else {
                row["state"] = ["ej-skickad": "Ej skickad", "skickad": "Skickad till labbet", "ej-levererad": "Ej levererad"][OrderDelivery.state(object) ?? ""] ?? ""
                if mayCancel {
                    var form: [String: Any] = ["formToken": user.formToken, "reasons": ResultsVocabulary.cancelReasons.map { ["code": $0.code, "display": $0.display] }]
                    if let error, error.orderID == order.id { form["error"] = error.text; row["open"] = true }
                    row["cancelForm"] = form
                }
            }
            return row
        }
    }

    /// Cancels an order from the patient's Provsvar tab; a refusal is said at the order's form.
    func cancelOrder(_ id: String, _ user: User) async throws -> Response {
        let session = user.data(gateway, action: "cancel-order")
        let order = try await Records(session: session).require("ServiceRequest", id)
        guard let patientID = order.object.referenceID("subject", type: "Patient") else {
            return message(user: user, heading: "Beställningen saknar patient", text: "Beställningen är inte kopplad till någon patient.", status: .notFound)
        }
        do {
            let cancelled = try await results.orders.cancel(orderID: id, reason: user.form["reason"] ?? "", note: user.form["note"], session: session)
            let placer = (cancelled.object["identifier"]?.arrayValue ?? []).first?.objectValue?["value"]?.stringValue ?? ""
            let told = OrderDelivery.cancellationState(cancelled.object) == "att-skicka"
                ? " Labbet har beställningen och meddelas; går det inte syns det under Ej levererade beställningar."
                : " Den hade inte nått labbet."
            return Self.redirect("/patienter/\(Self.encoded(patientID))/provsvar?klar="
                                 + Self.encoded("Beställningen \(Display.concept(cancelled.object["code"])) (\(placer)) är makulerad." + told))
        } catch let error as FHIRError where error.category != .forbidden {
            return try await patientPage(patientID: patientID, user, query: [:], error: (id, Self.said(error)), status: .badRequest)
        }
    }

    static var statusWords: [String: String] { ["registered": "Registrerat", "partial": "Delsvar", "preliminary": "Preliminärt", "final": "Slutligt",
                              "corrected": "Korrigerat svar", "amended": "Ändrat", "cancelled": "Makulerat", "entered-in-error": "Felregistrerat"] }

    // MARK: One result

    /// One result: its analyses with ranges and flags, its text exactly as written, and its sign-off. Opening it
    /// here is what signing requires.
    func report(_ id: String, _ user: User, notice: String? = nil, error: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        let session = user.data(gateway, action: "open-result")
        let opened = try await results.signOff.open(reportID: id, session: session)
        let report = opened.report.object
        guard let patientID = report.referenceID("subject", type: "Patient") else {
            return message(user: user, heading: "Svaret saknar patient", text: "Svaret är inte kopplat till någon patient.", status: .notFound)
        }
        let (shown, access) = try await header(patientID: patientID, session: session)
        guard let banner = shown else { return try await accessPage(patientID: patientID, status: access, user: user, form: [:], errors: [:]) }
        var context = layout(user, title: "Provsvar – \(Display.concept(report["code"]))")
        context["patientID"] = patientID
        context["patientTabs"] = patientTabs(current: "provsvar")
        context["banner"] = banner
        context["reportID"] = id
        context["name"] = Display.concept(report["code"])
        context["status"] = Self.statusWords[report["status"]?.stringValue ?? ""] ?? ""
        context["corrected"] = report["status"]?.stringValue == "corrected"
        context["issued"] = Display.time(report["issued"]?.stringValue)
        context["performer"] = report["performer"]?.arrayValue?.first?.objectValue?["display"]?.stringValue ?? ""
        if let conclusion = report["conclusion"]?.stringValue { context["conclusion"] = conclusion }
        if let study = report.referenceID("imagingStudy", type: "ImagingStudy") ?? report["imagingStudy"]?.arrayValue?.first?.objectValue?["reference"]?.stringValue
            .flatMap(ResourceKey.init(reference:))?.id {
            context["studyLink"] = "/bilder/\(Self.encoded(study))"
        }
        if let notice { context["notice"] = notice }
        if let error { context["error"] = error }
        context["analyses"] = opened.analyses.map { stored -> [String: Any] in
            let observation = stored.object
            let quantity = observation["valueQuantity"]?.objectValue
            let number = ResultTable.quantityText(observation)
            let range = observation["referenceRange"]?.arrayValue?.first?.objectValue
            let rangeText = range.map { $0["text"]?.stringValue ?? "" }
            var row: [String: Any] = [
                "name": Display.concept(observation["code"]), "value": number ?? "", "unit": quantity?["unit"]?.stringValue ?? "",
                "text": ResultTable.text(observation),
                "range": rangeText ?? "", "noRange": rangeText == nil && number != nil,
                "corrected": observation["status"]?.stringValue == "corrected",
                "notes": (observation["note"]?.arrayValue ?? []).compactMap { $0.objectValue?["text"]?.stringValue }.map { ["text": $0] },
            ]
            if let flag = Self.flagged(ResultTable.flag(observation)) { row["flag"] = flag }
            return row
        }
        if let task = opened.task?.object {
            let state = task["status"]?.stringValue ?? ""
            var signOff: [String: Any] = ["state": task["businessStatus"]?.objectValue?["text"]?.stringValue ?? "",
                                          "owner": Display.reference(task["owner"])]
            if state == "completed" {
                signOff["signedBy"] = Display.reference(task["output"]?.arrayValue?.first?.objectValue?["valueReference"])
                signOff["signedAt"] = Display.time(task["executionPeriod"]?.objectValue?["end"]?.stringValue)
            } else if user.principal.permissions.prescribe {
                signOff["form"] = ["reportID": id, "formToken": user.formToken] as [String: Any]
            }
            context["signOff"] = signOff
        }
        return pages.page("provsvar-svar", context, status: status)
    }

    /// Signs the result; a refusal is said on the result's page.
    func sign(_ id: String, _ user: User) async throws -> Response {
        let session = user.data(gateway, action: "sign-result")
        do {
            _ = try await results.signOff.sign(reportID: id, session: session)
        } catch let error as FHIRError where error.category != .forbidden {
            return try await report(id, user, error: Self.said(error), status: .badRequest)
        }
        return Self.redirect("/provsvar/\(Self.encoded(id))?klar=" + Self.encoded("Svaret är vidimerat."))
    }

    // MARK: Ordering

    /// The lab order form: the analyses the region's labs take, the priority and a note.
    func orderForm(patientID: String, _ user: User, values: [String: String] = [:], error: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        let session = user.data(gateway, action: "order-form")
        let (shown, access) = try await header(patientID: patientID, session: session)
        guard let banner = shown else { return try await accessPage(patientID: patientID, status: access, user: user, form: [:], errors: [:]) }
        var context = layout(user, title: "Beställ prov – \(banner["name"] as? String ?? "")")
        context["patientID"] = patientID
        context["patientTabs"] = patientTabs(current: "provsvar")
        context["banner"] = banner
        context["formToken"] = user.formToken
        if let error { context["error"] = error }
        let chosen = values["code"] ?? ""
        context["analyses"] = results.orderableAnalyses.map { analysis -> [String: Any] in
            var option: [String: Any] = ["code": analysis.code, "name": analysis.name, "selected": analysis.code == chosen]
            if let need = results.orders.delivery.channels.route(kind: "lab", code: analysis.code)?.specimens?[analysis.code] {
                option["specimen"] = LabOrders.specimenText(need)
            }
            return option
        }
        let priority = values["priority"] ?? "routine"
        context["priorities"] = [("routine", "Rutin"), ("urgent", "Akut"), ("stat", "Omedelbart")].map {
            ["value": $0.0, "label": $0.1, "checked": $0.0 == priority] as [String: Any]
        }
        context["note"] = values["note"] ?? ""
        return pages.page("bestall", context, status: status)
    }

    func placeOrder(patientID: String, _ user: User) async throws -> Response {
        let session = user.data(gateway, action: "order-lab")
        if user.form["kind"] == "bild" { return try await placeImagingOrder(patientID: patientID, user, session: session) }
        let code = user.form["code"] ?? ""
        guard let analysis = results.orderableAnalyses.first(where: { $0.code == code }) else {
            return try await orderForm(patientID: patientID, user, values: user.form, error: "Välj en analys.", status: .badRequest)
        }
        do {
            let order = try await results.orders.order(patientID: patientID, kind: "lab", code: code, display: analysis.name, priority: user.form["priority"] ?? "routine",
                                                       expectedHours: nil, note: user.form["note"], session: session)
            let placer = (order.object["identifier"]?.arrayValue ?? []).first?.objectValue?["value"]?.stringValue ?? ""
            var notice = "Beställningen av \(analysis.name) är registrerad med beställningsnummer \(placer)."
            if OrderDelivery.state(order.object) == "ej-levererad" {
                notice += " Den kan inte skickas: " + (order.object.extensionValue(OrderDelivery.problemExtension)?.stringValue ?? "")
            }
            return Self.redirect("/patienter/\(Self.encoded(patientID))/provsvar?klar=" + Self.encoded(notice))
        } catch let error as FHIRError where error.category != .forbidden {
            return try await orderForm(patientID: patientID, user, values: user.form, error: Self.said(error), status: .badRequest)
        }
    }

    /// An imaging order: the region's examination code and its name; the study it expects is created with it.
    func placeImagingOrder(patientID: String, _ user: User, session: PatientDataSession) async throws -> Response {
        let code = (user.form["examination"] ?? "").trimmingCharacters(in: .whitespaces)
        let name = (user.form["examinationName"] ?? "").trimmingCharacters(in: .whitespaces)
        guard !code.isEmpty, !name.isEmpty else {
            return try await orderForm(patientID: patientID, user, values: user.form, error: "Ange undersökningens kod och benämning.", status: .badRequest)
        }
        do {
            let order = try await results.orders.order(patientID: patientID, kind: "bild", code: code, display: name, priority: user.form["priority"] ?? "routine",
                                                       expectedHours: nil, note: user.form["note"], session: session)
            let placer = (order.object["identifier"]?.arrayValue ?? []).first?.objectValue?["value"]?.stringValue ?? ""
            var notice = "Beställningen av \(name) är registrerad med beställnings- och accessionsnummer \(placer)."
            if OrderDelivery.state(order.object) == "ej-levererad" {
                notice += " Den kan inte skickas: " + (order.object.extensionValue(OrderDelivery.problemExtension)?.stringValue ?? "")
            }
            return Self.redirect("/patienter/\(Self.encoded(patientID))/provsvar?klar=" + Self.encoded(notice))
        } catch let error as FHIRError where error.category != .forbidden {
            return try await orderForm(patientID: patientID, user, values: user.form, error: Self.said(error), status: .badRequest)
        }
    }

    // MARK: Imaging

    /// One imaging study: its accession number, what the PACS holds (series by WADO-RS metadata), and the study to fetch.
    func study(_ id: String, _ user: User, error: String? = nil) async throws -> Response {
        let session = user.data(gateway, action: "imaging-study")
        var study = try await Records(session: session).require("ImagingStudy", id)
        if study.object["status"]?.stringValue == "registered", results.orders.imaging.pacs != nil {
            // Asked for now, not only by the job: the radiographer may just have sent the images.
            study = (try? await results.orders.imaging.refresh(studyID: id, session: session)) ?? study
        }
        guard let patientID = study.object.referenceID("subject", type: "Patient") else {
            return message(user: user, heading: "Studien saknar patient", text: "Bildstudien är inte kopplad till någon patient.", status: .notFound)
        }
        let (shown, access) = try await header(patientID: patientID, session: session)
        guard let banner = shown else { return try await accessPage(patientID: patientID, status: access, user: user, form: [:], errors: [:]) }
        var context = layout(user, title: "Bilder – \(study.object["description"]?.stringValue ?? Imaging.accession(study.object) ?? "")")
        context["patientID"] = patientID
        context["patientTabs"] = patientTabs(current: "provsvar")
        context["banner"] = banner
        context["id"] = id
        context["accession"] = Imaging.accession(study.object) ?? ""
        context["available"] = study.object["status"]?.stringValue == "available"
        context["description"] = study.object["description"]?.stringValue ?? ""
        context["started"] = Display.time(study.object["started"]?.stringValue)
        context["uid"] = Imaging.studyInstanceUID(study.object) ?? ""
        context["series"] = (study.object["series"]?.arrayValue ?? []).compactMap { $0.objectValue }.map { series -> [String: Any] in
            ["number": series["number"]?.numberText ?? "", "modality": series["modality"]?.objectValue?["code"]?.stringValue ?? "",
             "description": series["description"]?.stringValue ?? "", "instances": series["numberOfInstances"]?.numberText ?? "0"]
        }
        if let error { context["error"] = error }
        return pages.page("bilder", context)
    }

    /// The study's images from the PACS (WADO-RS), through Kärna so the access is decided and logged.
    func retrieveStudy(_ id: String, _ user: User) async throws -> Response {
        let session = user.data(gateway, action: "imaging-retrieve")
        do {
            let (data, contentType) = try await results.orders.imaging.retrieve(studyID: id, session: session)
            var headers = HTTPFields()
            headers[.contentType] = contentType
            headers[.contentDisposition] = "attachment; filename=\"studie-\(id).multipart\""
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
        } catch let error as FHIRError where error.category != .forbidden {
            return try await study(id, user, error: Self.said(error))
        } catch {
            return try await study(id, user, error: "Bildarkivet kunde inte nås: \(error)")
        }
    }

    // MARK: Lists

    /// Results to sign (mine or my unit's), critical values to acknowledge, and the unit's overdue orders.
    func inbox(_ user: User, query: [String: String], error: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        let session = user.data(gateway, action: "result-inbox")
        let unitView = query["vy"] == "enhet"
        var context = layout(user, title: "Provsvar att vidimera", nav: "navResults")
        context["unitView"] = unitView
        if let error { context["error"] = error }
        guard let assignment = user.assignment else { return pages.page("provsvar-inkorg", context, status: status) }
        let tasks = try await results.signOff.inbox(ownerRole: unitView ? nil : assignment.id, unitID: unitView ? assignment.unitID : nil, session: session)
        let alarms = try await results.ingest.critical.open(ownerRole: unitView ? nil : assignment.id, unitID: unitView ? assignment.unitID : nil, session: session)
        let overdue = try await results.orders.overdue(unitID: assignment.unitID, session: session)
        let names = try await patientNames((tasks + alarms + overdue).compactMap { $0.object.referenceID("for", type: "Patient") ?? $0.object.referenceID("subject", type: "Patient") },
                                           session: session)
        let reports = Dictionary(try await session.read(keys: tasks.compactMap { task in
            task.object["focus"]?.objectValue?["reference"]?.stringValue.flatMap(ResourceKey.init(reference:))
        }).map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        // Escalated ones first (waited past the unit's limit), then the oldest.
        let ordered = tasks.sorted { (SignOff.escalated($0.object) == nil ? 1 : 0, $0.object["authoredOn"]?.stringValue ?? "")
                                   < (SignOff.escalated($1.object) == nil ? 1 : 0, $1.object["authoredOn"]?.stringValue ?? "") }
        context["items"] = ordered.map { task -> [String: Any] in
            let reportID = task.object.referenceID("focus", type: "DiagnosticReport") ?? ""
            let patientID = task.object.referenceID("for", type: "Patient") ?? ""
            return ["reportID": reportID, "patientID": patientID, "patient": names[patientID] ?? "",
                    "analysis": reports[reportID].map { Display.concept($0.object["code"]) } ?? "",
                    "state": task.object["businessStatus"]?.objectValue?["text"]?.stringValue ?? "",
                    "corrected": task.object["businessStatus"]?.objectValue?["text"]?.stringValue?.hasPrefix("Korrigerat") == true,
                    "received": Display.time(task.object["authoredOn"]?.stringValue), "owner": Display.reference(task.object["owner"]),
                    "escalated": SignOff.escalated(task.object) != nil, "standingInFor": SignOff.standingInFor(task.object).map(Display.reference) ?? ""]
        }
        context["alarms"] = alarms.map { alarm -> [String: Any] in
            let patientID = alarm.object.referenceID("for", type: "Patient") ?? ""
            return ["id": alarm.id, "patientID": patientID, "patient": names[patientID] ?? "", "text": alarm.object["description"]?.stringValue ?? "",
                    "since": Display.time(alarm.object["authoredOn"]?.stringValue), "formToken": user.formToken,
                    "escalated": alarm.object["businessStatus"]?.objectValue?["text"]?.stringValue == "Eskalerat till jour"]
        }
        if !unitView {
            // The doctor's own absences still to come or going on, and the colleagues of the unit to name as substitute.
            let records = Records(session: session)
            let own = try await records.optional("PractitionerRole", assignment.id)?.object
            let today = SwedishTime.formatDay(SwedishTime.today)
            context["absences"] = (own?["notAvailable"]?.arrayValue ?? []).compactMap(\.objectValue).filter {
                ($0["during"]?.objectValue?["end"]?.stringValue ?? "9999").prefix(10) >= today
            }.map { period -> [String: Any] in
                let during = period["during"]?.objectValue
                return ["from": String((during?["start"]?.stringValue ?? "").prefix(10)), "to": String((during?["end"]?.stringValue ?? "").prefix(10)),
                        "substitute": Display.reference(period.extensionValue(Absence.substituteExtension)), "reason": period["description"]?.stringValue ?? ""]
            }
            context["colleagues"] = try await records.search("PractitionerRole", [("organization", "Organization/\(assignment.unitID)"), ("active", "true")], limit: 200)
                .filter { $0.id != assignment.id }
                .map { ["id": $0.id, "name": [Display.reference($0.object["practitioner"]), Display.concept($0.object["code"]?.arrayValue?.first)].filter { !$0.isEmpty }.joined(separator: ", ")] as [String: Any] }
            context["formToken"] = user.formToken
            context["today"] = today
        }
        context["overdue"] = overdue.map { order -> [String: Any] in
            let patientID = order.object.referenceID("subject", type: "Patient") ?? ""
            return ["patientID": patientID, "patient": names[patientID] ?? "", "analysis": Display.concept(order.object["code"]),
                    "expected": Display.time(order.object.extensionValue(LabOrders.expectedExtension)?.stringValue),
                    "placer": (order.object["identifier"]?.arrayValue ?? []).first?.objectValue?["value"]?.stringValue ?? ""]
        }
        return pages.page("provsvar-inkorg", context, status: status)
    }

    /// Records the doctor's own absence with a substitute; what is wrong is said on the list.
    func recordAbsence(_ user: User) async throws -> Response {
        let session = user.data(gateway, action: "record-absence")
        let form = user.form
        guard let role = user.assignment?.id else { return try await inbox(user, query: [:], error: "Frånvaro kräver ett medarbetaruppdrag.", status: .badRequest) }
        do {
            _ = try await Absence.record(role: role, start: form["start"] ?? "", end: form["end"] ?? "", substitute: form["substitute"] ?? "",
                                         reason: form["reason"], session: session)
        } catch let error as FHIRError where error.category != .forbidden {
            return try await inbox(user, query: [:], error: Self.said(error), status: .badRequest)
        }
        return Self.redirect("/provsvar")
    }

    /// Acknowledges a critical value; a refusal (no read-back for a telephone report) is said on the list.
    func acknowledge(_ id: String, _ user: User) async throws -> Response {
        let session = user.data(gateway, action: "acknowledge-critical")
        do {
            _ = try await results.ingest.critical.acknowledge(taskID: id, method: user.form["method"] ?? "", readBack: user.form["readBack"], session: session)
        } catch let error as FHIRError where error.category != .forbidden {
            return try await inbox(user, query: [:], error: Self.said(error), status: .badRequest)
        }
        return Self.redirect("/provsvar")
    }

    /// Results that matched no order, with the message and why, for the role that owns them.
    func unmatched(_ user: User, notice: String? = nil, error: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        let session = user.data(gateway, action: "unmatched-results")
        let tasks = try await results.signOff.unmatched(session: session)
        var context = layout(user, title: "Omatchade provsvar", nav: "navUnmatched")
        if let notice { context["notice"] = notice }
        if let error { context["error"] = error }
        // Orders it may belong to, for the oldest entries: each is two searches per patient named, and the list is
        // worked from the top.
        var suggested: [String: [[String: Any]]] = [:]
        for task in tasks.prefix(Self.suggestedEntries) {
            let orders = (try? await results.ingest.suggestions(taskID: task.id, session: session)) ?? []
            let names = try await patientNames(orders.compactMap { $0.object.referenceID("subject", type: "Patient") }, session: session)
            suggested[task.id] = orders.map { order in
                ["placer": (order.object["identifier"]?.arrayValue ?? []).first?.objectValue?["value"]?.stringValue ?? "",
                 "analysis": Display.concept(order.object["code"]), "ordered": Display.time(order.object["authoredOn"]?.stringValue),
                 "patient": names[order.object.referenceID("subject", type: "Patient") ?? ""] ?? "", "formToken": user.formToken, "taskID": task.id]
            }
        }
        context["items"] = tasks.map { task -> [String: Any] in
            ["id": task.id, "formToken": user.formToken, "description": task.object["description"]?.stringValue ?? "", "reason": task.object["statusReason"]?.objectValue?["text"]?.stringValue ?? "",
             "suggestions": suggested[task.id] ?? [],
             "owner": Display.reference(task.object["owner"]), "role": task.object["performerType"]?.arrayValue?.first?.objectValue?["text"]?.stringValue ?? "",
             "received": Display.time(task.object["authoredOn"]?.stringValue),
             "message": task.object["input"]?.arrayValue?.first?.objectValue?["valueString"]?.stringValue?.replacingOccurrences(of: "\r", with: "\n") ?? ""]
        }
        return pages.page("omatchade", context, status: status)
    }

    /// How many of the unmatched list's entries get suggested orders.
    static var suggestedEntries: Int { 25 }

    /// Files an unmatched result under the order with the beställningsnummer typed; what is wrong is said on the list.
    func match(_ id: String, _ user: User) async throws -> Response {
        let session = user.data(gateway, action: "match-result")
        let placer = (user.form["placer"] ?? "").trimmingCharacters(in: .whitespaces)
        do {
            let order = try await results.orders.order(placer: placer, session: session)
            _ = try await results.ingest.match(taskID: id, orderID: order.id, session: session)
        } catch let error as FHIRError where error.category != .forbidden {
            return try await unmatched(user, error: Self.said(error), status: .badRequest)
        }
        return Self.redirect("/provsvar/omatchade?klar=" + Self.encoded("Svaret är kopplat till beställning \(placer)."))
    }

    /// The caller's orders that did not reach their lab, each with why, and a way to send again.
    func undelivered(_ user: User, notice: String? = nil) async throws -> Response {
        let session = user.data(gateway, action: "undelivered-orders")
        var context = layout(user, title: "Ej levererade beställningar", nav: "navUndelivered")
        if let notice { context["notice"] = notice }
        guard let assignment = user.assignment else { return pages.page("ej-levererade", context) }
        let orders = try await results.orders.delivery.undelivered(requesterRole: assignment.id, session: session)
        let names = try await patientNames(orders.compactMap { $0.object.referenceID("subject", type: "Patient") }, session: session)
        context["items"] = orders.map { order -> [String: Any] in
            let patientID = order.object.referenceID("subject", type: "Patient") ?? ""
            return ["id": order.id, "patientID": patientID, "patient": names[patientID] ?? "", "analysis": Display.concept(order.object["code"]),
                    "cancellation": order.object["status"]?.stringValue == "revoked",
                    "ordered": Display.time(order.object["authoredOn"]?.stringValue),
                    "problem": order.object.extensionValue(OrderDelivery.problemExtension)?.stringValue ?? "Väntar på att skickas.",
                    "placer": (order.object["identifier"]?.arrayValue ?? []).first?.objectValue?["value"]?.stringValue ?? "", "formToken": user.formToken]
        }
        return pages.page("ej-levererade", context)
    }

    func resend(_ id: String, _ user: User) async throws -> Response {
        let session = user.data(gateway, action: "send-order")
        let order = try await Records(session: session).require("ServiceRequest", id)
        let cancelling = order.object["status"]?.stringValue == "revoked"
        let words: String
        do {
            switch try await results.orders.delivery.send(order, session: session) {
            case .sent: words = cancelling ? "Makuleringen är skickad till labbet." : "Beställningen är skickad till labbet."
            case .undelivered(let why), .retrying(let why): words = (cancelling ? "Makuleringen" : "Beställningen") + " kunde inte skickas: \(why)"
            }
        } catch let error as FHIRError where error.category != .forbidden {
            words = Self.said(error)
        }
        return Self.redirect("/bestallningar/ej-levererade?klar=" + Self.encoded(words))
    }

    /// Names of the patients a list names, read together (audited as any read).
    func patientNames(_ ids: [String], session: PatientDataSession) async throws -> [String: String] {
        let keys = Array(Set(ids)).map { ResourceKey(type: "Patient", id: $0) }
        guard !keys.isEmpty else { return [:] }
        return Dictionary(try await session.read(keys: keys).map { ($0.id, Display.name($0.object)) }, uniquingKeysWith: { a, _ in a })
    }

    /// On a doctor's start page: results to sign, and critical values to acknowledge first, in alarm.
    func startSections(_ user: User) async throws -> [StartSection] {
        guard user.principal.permissions.prescribe, let assignment = user.assignment else { return [] }
        let session = user.data(gateway, action: "start-page")
        let tasks = try await results.signOff.inbox(ownerRole: assignment.id, unitID: nil, session: session)
        let alarms = try await results.ingest.critical.open(ownerRole: assignment.id, unitID: nil, session: session)
        guard !tasks.isEmpty || !alarms.isEmpty else { return [] }
        return [StartSection(rank: 12, html: pages.render("start-provsvar", ["signCount": tasks.count, "alarmCount": alarms.count]))]
    }
}
