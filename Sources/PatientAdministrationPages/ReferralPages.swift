import Access
import FHIRCore
import Foundation
import Hummingbird
import WebApp
import PatientAdministration
import StoreModel

/// Remisser: writing one from the chart, the unit's inbox and sent list, and each referral's page
/// with the steps its side may take (receive, accept, reject, forward, ask for more, answer;
/// the sender supplements or withdraws). The workflow and its rules are the referral module's.
extension AdministrationPages {
    func referralForm(patientID: String, _ user: User, values: [String: String] = [:], errors: [String: String] = [:],
                      status: HTTPResponse.Status = .ok) async throws -> Response {
        let session = user.data(gateway, action: "referral-form")
        let accessStatus = try await session.accessStatus(patientID: patientID)
        guard accessStatus["access"]?.stringValue != "none" else {
            return try await accessPage(patientID: patientID, status: accessStatus, user: user, form: [:], errors: [:])
        }
        guard let patient = try await session.read(type: "Patient", id: patientID) else {
            throw FHIRError(.notFound, code: .notFound, "Patient/\(patientID) does not exist", text: "Patienten finns inte i Kärna.")
        }
        var context = layout(user, title: "Ny remiss")
        context["patientID"] = patientID
        context["patientName"] = Display.name(patient.object)
        context["identity"] = Display.identity(patient.object)?.value ?? ""
        context["units"] = try await gateway.directory.careUnits().filter { $0.id != user.assignment?.unitID }.map {
            ["id": $0.id, "name": $0.name, "selected": values["unit"] == $0.id] as [String: Any]
        }
        context["priorities"] = [("routine", "Normal"), ("urgent", "Brådskande"), ("asap", "Akut")].map {
            ["value": $0.0, "text": $0.1, "checked": (values["priority"] ?? "routine") == $0.0] as [String: Any]
        }
        context["question"] = values["question"] ?? ""
        context["reason"] = values["reason"] ?? ""
        for (field, message) in errors { context["\(field)Error"] = message }
        if !errors.isEmpty { context["error"] = "Remissen skickades inte. Rätta det som är markerat." }
        return pages.page("referral-form", context, status: status)
    }

    func sendReferral(patientID: String, _ user: User) async throws -> Response {
        let form = user.form.mapValues { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        var errors: [String: String] = [:]
        if (form["unit"] ?? "").isEmpty { errors["unit"] = "Välj mottagare." }
        if (form["question"] ?? "").count < 5 { errors["question"] = "Skriv frågeställningen (minst fem tecken)." }
        guard errors.isEmpty else { return try await referralForm(patientID: patientID, user, values: form, errors: errors, status: .badRequest) }
        let sent: (serviceRequest: StoredResource, task: StoredResource)
        do {
            sent = try await administration.referrals.send(patientID: patientID, toUnitID: form["unit"] ?? "", question: form["question"] ?? "",
                                                           priority: form["priority"] ?? "routine", reasonText: form["reason"], attachments: [],
                                                           fromUnitID: nil, session: user.data(gateway, action: "send-referral"))
        } catch let error as FHIRError where error.category == .invalid {
            let field = error.issues.first?.expression.first.flatMap { ["unit": "unit", "question": "question", "priority": "priority"][$0] } ?? "question"
            return try await referralForm(patientID: patientID, user, values: form, errors: [field: Self.said(error)],
                                          status: .badRequest)
        }
        return Self.redirect("/remisser/\(sent.task.id)?klar=Remissen%20%C3%A4r%20skickad")
    }

    /// The unit's referrals: received (the inbox, oldest unassessed first) or sent (with answers).
    func referralList(_ request: Request, _ user: User) async throws -> Response {
        guard let assignment = user.assignment else { throw FHIRError(.forbidden, code: .forbidden, "no assignment was chosen at login") }
        let sent = Self.query(request)["visa"] == "skickade"
        let session = user.data(gateway, action: sent ? "referrals-sent" : "referral-inbox")
        let items = try await administration.referrals.inbox(unitID: assignment.unitID, sent: sent, session: session)
        let requestIDs = items.compactMap { Display.id($0.task.object["focus"], type: "ServiceRequest") }
        let read = try await session.read(keys: Set(items.compactMap(\.patientID)).sorted().map { ResourceKey(type: "Patient", id: $0) }
                                               + requestIDs.map { ResourceKey(type: "ServiceRequest", id: $0) })
        let patients = Dictionary(read.filter { $0.type == "Patient" }.map { ($0.id, $0.object) }, uniquingKeysWith: { a, _ in a })
        let requests = Dictionary(read.filter { $0.type == "ServiceRequest" }.map { ($0.id, $0.object) }, uniquingKeysWith: { a, _ in a })
        var context = layout(user, title: sent ? "Skickade remisser" : "Remissinkorg", nav: "navReferrals")
        context["unitName"] = assignment.unitName
        context["sent"] = sent
        var names: [String: String] = [:]
        for item in items {
            for member in ["owner", "requester"] { if let id = Display.id(item.task.object[member], type: "Organization") { names[id] = try await unitName(item.task.object[member]) } }
        }
        context["items"] = items.map { item -> [String: Any] in
            let object = item.task.object
            let request = Display.id(object["focus"], type: "ServiceRequest").flatMap { requests[$0] }
            let other = sent ? object["owner"] : object["requester"]
            return ["id": item.task.id, "patientName": item.patientID.flatMap { patients[$0] }.map(Display.name) ?? "Patient utan åtkomst",
                    "identity": item.patientID.flatMap { patients[$0] }.flatMap(Display.identity)?.value ?? "",
                    "question": request.map(Display.referralQuestion) ?? "Remiss", "status": Labels.taskStatus(item.status),
                    "priority": Referrals.priorities[object["priority"]?.stringValue ?? "routine"] ?? "Normal",
                    "other": Display.id(other, type: "Organization").flatMap { names[$0] } ?? Display.reference(other), "days": item.daysSinceSent, "overdue": item.isOverdue || item.isAlarm]
        }
        return pages.page("referrals", context)
    }

    /// One referral: the question, its history and the steps this user's side may take now.
    func referralPage(taskID: String, _ request: Request, _ user: User, errors: [String: String] = [:], values: [String: String] = [:],
                      status: HTTPResponse.Status = .ok) async throws -> Response {
        let session = user.data(gateway, action: "referral")
        let records = Records(session: session)
        let task = try await records.require("Task", taskID).object
        var serviceRequest: JSONObject?
        if let requestID = Display.id(task["focus"], type: "ServiceRequest") { serviceRequest = try await records.require("ServiceRequest", requestID).object }
        let patientID = Display.id(task["for"], type: "Patient")
        var patient: StoredResource?
        if let patientID { patient = try await session.read(type: "Patient", id: patientID) }
        let state = task["status"]?.stringValue ?? ""
        let unit = user.assignment?.unitID
        let receiver = unit != nil && unit == Display.id(task["owner"], type: "Organization")
        let sender = unit != nil && unit == Display.id(task["requester"], type: "Organization")
        var context = layout(user, title: "Remiss", nav: "navReferrals")
        context["taskID"] = taskID
        context["patientID"] = patientID ?? ""
        context["patientName"] = patient.map { Display.name($0.object) } ?? "Patient utan åtkomst"
        context["identity"] = patient.flatMap { Display.identity($0.object)?.value } ?? ""
        context["question"] = serviceRequest.map(Display.referralQuestion) ?? ""
        if let reason = serviceRequest?["reasonCode"]?.arrayValue?.first.map({ Display.concept($0) }), !reason.isEmpty { context["reason"] = reason }
        context["from"] = try await unitName(task["requester"])
        context["to"] = try await unitName(task["owner"])
        context["priority"] = Referrals.priorities[task["priority"]?.stringValue ?? "routine"] ?? "Normal"
        context["status"] = Labels.taskStatus(state)
        context["sent"] = Display.time(task["authoredOn"]?.stringValue)
        if let answer = task["output"]?.arrayValue?.first?.objectValue?["valueString"]?.stringValue { context["answer"] = answer }
        context["history"] = (task["note"]?.arrayValue ?? []).compactMap(\.objectValue).map { note -> [String: Any] in
            ["text": note["text"]?.stringValue ?? "", "who": Display.reference(note["authorReference"]), "when": Display.time(note["time"]?.stringValue)]
        }
        if let notice = Self.query(request)["klar"] { context["notice"] = notice }
        // The steps this side may take from this status (the module refuses any other).
        func allowed(_ event: ReferralWorkflow.Event) -> Bool { (try? ReferralWorkflow.next(state, event)) != nil }
        if receiver {
            // An accepted referral is where a patient is put on the waiting list, the guarantee counted from its arrival.
            if state == "accepted", let patientID, let requestID = Display.id(task["focus"], type: "ServiceRequest") {
                context["waitingHref"] = Self.link("/patienter/\(patientID)/vantelista/ny", [("remiss", requestID), ("tillbaka", "/remisser/\(taskID)")])
            }
            context["canReceive"] = allowed(.receive)
            context["canAccept"] = allowed(.accept)
            context["canReject"] = allowed(.reject)
            context["canForward"] = allowed(.forward)
            context["canAsk"] = allowed(.requestCompletion)
            context["canAnswer"] = allowed(.answer)
            if allowed(.forward) {
                context["units"] = try await gateway.directory.careUnits().filter { $0.id != unit }.map {
                    ["id": $0.id, "name": $0.name, "selected": values["unit"] == $0.id] as [String: Any]
                }
            }
        }
        if sender {
            context["canComplete"] = allowed(.complete)
            context["canCancel"] = allowed(.cancel)
        }
        // Template keys without hyphens: "begar-komplettering" → "begarkompletteringError".
        for (field, message) in errors { context[field.replacingOccurrences(of: "-", with: "") + "Error"] = message }
        for (field, value) in values { context[field.replacingOccurrences(of: "-", with: "") + "Value"] = value }
        if !errors.isEmpty { context["error"] = "Åtgärden kunde inte utföras. Se det markerade fältet." }
        return pages.page("referral", context, status: status)
    }

    /// A unit's name from the organisation directory (references often carry only the id).
    func unitName(_ reference: JSONValue?) async throws -> String {
        guard let id = Display.id(reference, type: "Organization") else { return Display.reference(reference) }
        return try await gateway.directory.unit(id)?.name ?? Display.reference(reference)
    }

    /// One workflow step from the referral's page; a missing text is said next to the step's field.
    func referralStep(taskID: String, step: String, _ request: Request, _ user: User) async throws -> Response {
        let events: [String: ReferralWorkflow.Event] = ["ta-emot": .receive, "acceptera": .accept, "avvisa": .reject, "vidarebefordra": .forward,
                                                        "begar-komplettering": .requestCompletion, "komplettera": .complete, "besvara": .answer,
                                                        "aterkalla": .cancel]
        guard let event = events[step] else { throw HTTPError(.notFound) }
        let text = user.form["text"]?.trimmingCharacters(in: .whitespacesAndNewlines)
        do {
            _ = try await administration.referrals.act(taskID: taskID, event: event, text: text, toUnitID: user.form["unit"].flatMap { $0.isEmpty ? nil : $0 },
                                                       priority: user.form["priority"].flatMap { $0.isEmpty ? nil : $0 },
                                                       session: user.data(gateway, action: "referral-\(event.rawValue)"))
        } catch let error as FHIRError where error.category == .invalid {
            let field = error.issues.first?.expression.first == "unit" ? "\(step)-unit" : step
            return try await referralPage(taskID: taskID, request, user, errors: [field: Self.said(error)],
                                          values: [step: text ?? "", "unit": user.form["unit"] ?? ""], status: .badRequest)
        }
        let done = ["ta-emot": "Remissen är mottagen", "acceptera": "Remissen är accepterad", "avvisa": "Remissen är avvisad",
                    "vidarebefordra": "Remissen är vidarebefordrad", "begar-komplettering": "Komplettering är begärd", "komplettera": "Remissen är kompletterad",
                    "besvara": "Remissvaret är skickat", "aterkalla": "Remissen är återkallad"][step] ?? "Klart"
        return Self.redirect("/remisser/\(taskID)?klar=" + (done.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""))
    }
}
