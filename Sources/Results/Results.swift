public import Access
public import FHIRCore
import Foundation
import StoreModel
public import Terminology

/// The results module (provsvar): today the chart's latest results and the codes results must carry.
/// Lab results over HL7 v2, critical values and imaging grow here.
public struct Results: ClinicalModule {
    /// How many results the overview lists.
    public var overviewCount: Int
    /// Results received over HL7 v2, per the channels the region configured.
    public let ingest: ResultIngest

    /// Orders, their routes to the labs and the expected result times.
    public let orders: LabOrders

    /// How many sampling times the cumulative table shows (older ones are in the trend).
    public var tableColumns: Int
    /// The analyses the order form offers: the NPU codes the labs' channels know, by name.
    public let orderableAnalyses: [(code: String, name: String)]

    public init(overviewCount: Int = 10, channels: LabChannels = LabChannels([]), delivery: OrderDelivery? = nil,
                critical: CriticalValues = CriticalValues(lists: []), imaging: Imaging = Imaging(), terminology: TerminologyService? = nil,
                tableColumns: Int = 12, signOff: SignOff = SignOff()) {
        self.overviewCount = overviewCount
        self.signOff = signOff
        self.tableColumns = tableColumns
        let codes = Set(channels.channels.filter { $0.orders?.kind == "lab" }.flatMap { $0.codes.values })
        orderableAnalyses = codes.map { code in
            (code, (try? terminology?.lookup(system: ResultsVocabulary.npuSystem, code: code).concept.display) ?? code)
        }.sorted { $0.name.localizedCompare($1.name) == .orderedAscending }
        ingest = ResultIngest(channels: channels, critical: critical)
        orders = LabOrders(delivery: delivery ?? OrderDelivery(channels: channels), imaging: imaging)
    }

    public var name: String { "Results" }

    public var rules: [any WriteRule] { [OrderRule(), ReportRule()] }

    /// Vidimering and the lists of results waiting for a person.
    public let signOff: SignOff

    public var chart: [ChartPart] {
        [
            .list("result", title: "Senaste provsvar", emptyText: "Inga provsvar.", rank: 30,
                  search: { [overviewCount] patientID throws(FHIRError) in
                      try ChartSearch("Observation", patientID: patientID, [("_sort", "-date")], limit: overviewCount)
                  },
                  line: { observation in
                      let date = Display.time(observation["effectiveDateTime"]?.stringValue ?? observation["issued"]?.stringValue)
                      return ChartLine(Display.concept(observation["code"]),
                                       detail: [Display.observationValue(observation), date].filter { !$0.isEmpty }.joined(separator: " · "))
                  }),
        ]
    }

    /// A laboratory analysis is coded in NPU (Kärna's analysis value set).
    public var codes: CodeBindings {
        CodeBindings(checkedTypes: ["Observation", "DiagnosticReport"],
                     bindings: [.init("Observation", "code", valueSet: KarnaValueSets.laboratoryAnalyses)])
    }

    public var operations: [OperationDescriptor] {
        [.instance("Patient", "order-lab", post: true, "kind:code", "code:code", "system:uri", "display:string", "priority:code", "expectedHours:integer", "note:string", module: name,
                   "Order an analysis (kind lab, an NPU code) or an examination (kind bild, the region's examination code, or KVÅ with `system`) for the patient: a ServiceRequest with the caller as requester, the caller's unit as owner, a placer number and the expected result time"),
         .type("ServiceRequest", "undelivered-orders", post: false, module: name,
               "The caller's orders not delivered to a lab (ej levererad): refused, without a route, or waiting past the limit, each with why"),
         .instance("ServiceRequest", "send-order", post: true, module: name,
                   "Send an order to its lab now (again, after the route or the lab was put right)"),
         .instance("ServiceRequest", "cancel-order", post: true, "reason:code", "note:string", module: name,
                   "Cancel (makulera) an order not yet answered, with a reason (fel-patient, fel-analys, dubblett, ej-indicerad, patienten-avbojer, annan with a note): the order is revoked, an imaging order's expected study cancelled, and a lab that has the order is sent ORC-1 CA; a cancellation the lab does not take is on the requester's ej levererad list"),
         .type("ServiceRequest", "overdue-orders", post: false, module: name,
               "The caller's unit's orders whose expected result time has passed without a final result"),
         .instance("DiagnosticReport", "open-result", post: true, module: name,
                   "Open a result: the report with its analyses, and the sign-off Task marked opened by the caller (signing needs it)"),
         .instance("DiagnosticReport", "sign-result", post: true, module: name,
                   "Vidimera: sign a final result the caller has opened; records who and when"),
         .type("Task", "sign-off-inbox", post: false, "scope:code", module: name,
               "Results waiting for sign-off: scope mine (default, the caller's assignment) or unit (the caller's unit)"),
         .instance("PractitionerRole", "absence", post: true, "start:string", "end:string", "substitute:string", "reason:string", module: name,
                   "Record an absence (frånvaro) of the assignment with the substitute (ersättare, a PractitionerRole id) who takes its results meanwhile: new results go to the substitute, open sign-offs move to them; by the assignment's holder or a systemförvaltare"),
         .type("DiagnosticReport", "submit-report", post: true, "report:Resource", module: name,
               "Receive a report (a radiology report, say) as a FHIR DiagnosticReport based on an order: stored with the order's patient and unit, and a final one signed like a lab result"),
         .instance("ImagingStudy", "refresh", post: true, module: name,
                   "Ask the PACS for the study by its accession number (QIDO-RS) and record its UID, series and instances"),
         .type("Task", "critical-values", post: false, "scope:code", module: name,
               "Unacknowledged critical values (larmvärden): scope mine (default) or unit"),
         .instance("Task", "acknowledge-critical", post: true, "method:code", "readBack:string", module: name,
                   "Acknowledge a critical value: method telefon (with readBack, the value as read back) or elektroniskt; records who and when"),
         .type("Task", "unmatched-results", post: false, module: name,
               "Results that matched no order (omatchade svar), each with its message and the reason"),
         .instance("Task", "suggest-orders", post: false, module: name,
                   "Orders an unmatched result may belong to: the open orders, on the result's channel, of the patient its PID names, the same analysis first; a suggestion for the person matching it"),
         .instance("Task", "match-result", post: true, "order:string", "placer:string", module: name,
                   "File an unmatched result under the order found for it (order: a ServiceRequest id, or placer: its beställningsnummer, exactly): the kept message is read again and the list entry closed, in one commit; a result whose patient is not the order's is refused")]
    }

    public func answer(_ call: OperationCall) async throws -> OperationAnswer {
        switch (call.resourceType, call.id, call.name) {
        case ("Patient", let patientID?, "order-lab"):
            try call.requirePost()
            let order = try await orders.order(patientID: patientID, kind: call.input["kind"] ?? "lab", code: try call.input.required("code"),
                                               system: call.input["system"], display: call.input["display"], priority: call.input["priority"] ?? "routine",
                                               expectedHours: try call.input.int("expectedHours"), note: call.input["note"], session: call.session)
            return .resource(order, status: 201)
        case ("ServiceRequest", nil, "undelivered-orders"):
            guard let role = call.session.principal.assignment?.id else {
                throw FHIRError(.invalid, code: .required, "the ej levererad list is a requester's: call with a medarbetaruppdrag")
            }
            return .resources(try await orders.delivery.undelivered(requesterRole: role, session: call.session))
        case ("ServiceRequest", let id?, "send-order"):
            try call.requirePost()
            let order = try await Records(session: call.session).require("ServiceRequest", id)
            _ = try await orders.delivery.send(order, session: call.session)
            return .resource(try await Records(session: call.session).require("ServiceRequest", id))
        case ("ServiceRequest", let id?, "cancel-order"):
            try call.requirePost()
            // The outbox tells the lab, as it sends orders: the caller is not held waiting for a lab that may be down.
            return .resource(try await orders.cancel(orderID: id, reason: try call.input.required("reason"), note: call.input["note"], session: call.session))
        case ("ServiceRequest", nil, "overdue-orders"):
            guard let unit = call.session.principal.assignment?.unitID else {
                throw FHIRError(.invalid, code: .required, "the overdue list is a unit's: call with a medarbetaruppdrag")
            }
            return .resources(try await orders.overdue(unitID: unit, session: call.session))
        case ("DiagnosticReport", let id?, "open-result"):
            try call.requirePost()
            let opened = try await signOff.open(reportID: id, session: call.session)
            return .resources([opened.report] + opened.analyses + (opened.task.map { [$0] } ?? []))
        case ("DiagnosticReport", let id?, "sign-result"):
            try call.requirePost()
            return .resource(try await signOff.sign(reportID: id, session: call.session))
        case ("Task", nil, "sign-off-inbox"):
            let assignment = call.session.principal.assignment
            switch call.input["scope"] ?? "mine" {
            case "mine":
                guard let role = assignment?.id else { throw FHIRError(.invalid, code: .required, "scope mine needs a caller with a medarbetaruppdrag", expression: ["scope"]) }
                return .resources(try await signOff.inbox(ownerRole: role, unitID: nil, session: call.session))
            case "unit":
                guard let unit = assignment?.unitID else { throw FHIRError(.invalid, code: .required, "scope unit needs a caller with a medarbetaruppdrag", expression: ["scope"]) }
                return .resources(try await signOff.inbox(ownerRole: nil, unitID: unit, session: call.session))
            case let other:
                throw FHIRError(.invalid, code: .value, "scope must be mine or unit; got '\(other)'", expression: ["scope"])
            }
        case ("Task", let id?, "suggest-orders"):
            return .resources(try await ingest.suggestions(taskID: id, session: call.session))
        case ("Task", let id?, "match-result"):
            try call.requirePost()
            let orderID: String
            if let given = call.input["order"] {
                orderID = given
            } else if let placer = call.input["placer"] {
                orderID = try await orders.order(placer: placer, session: call.session).id
            } else {
                throw FHIRError(.invalid, code: .required, "order (a ServiceRequest id) or placer (its beställningsnummer) is required", expression: ["order"])
            }
            return .resources(try await ingest.match(taskID: id, orderID: orderID, session: call.session))
        case ("PractitionerRole", let id?, "absence"):
            try call.requirePost()
            return .resource(try await Absence.record(role: id, start: try call.input.required("start"), end: try call.input.required("end"),
                                                      substitute: try call.input.required("substitute"), reason: call.input["reason"], session: call.session))
        case ("DiagnosticReport", nil, "submit-report"):
            try call.requirePost()
            guard let report = call.input.all.first(where: { $0.name == "report" })?.value.objectValue?["resource"]?.objectValue
                    ?? call.input.all.first(where: { $0.name == "report" })?.value.objectValue else {
                throw FHIRError(.invalid, code: .required, "report (a DiagnosticReport) is required", expression: ["report"])
            }
            return .resource(try await ReportSubmission.submit(report, session: call.session), status: 201)
        case ("ImagingStudy", let id?, "refresh"):
            try call.requirePost()
            return .resource(try await orders.imaging.refresh(studyID: id, session: call.session))
        case ("Task", nil, "critical-values"):
            let assignment = call.session.principal.assignment
            let scope = call.input["scope"] ?? "mine"
            guard ["mine", "unit"].contains(scope) else { throw FHIRError(.invalid, code: .value, "scope must be mine or unit; got '\(scope)'", expression: ["scope"]) }
            guard let assignment else { throw FHIRError(.invalid, code: .required, "the critical value list needs a caller with a medarbetaruppdrag") }
            return .resources(try await ingest.critical.open(ownerRole: scope == "mine" ? assignment.id : nil, unitID: scope == "unit" ? assignment.unitID : nil,
                                                             session: call.session))
        case ("Task", let id?, "acknowledge-critical"):
            try call.requirePost()
            return .resource(try await ingest.critical.acknowledge(taskID: id, method: try call.input.required("method"), readBack: call.input["readBack"],
                                                                   session: call.session))
        case ("Task", nil, "unmatched-results"):
            return .resources(try await signOff.unmatched(session: call.session))
        default:
            throw call.unsupported()
        }
    }
}
