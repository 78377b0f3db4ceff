import Access
import FHIRCore
import Foundation
import StoreModel

/// Remisshantering: a referral is a ServiceRequest (the question) and a Task (the workflow, owned
/// by the receiving unit's inbox at every moment). Every step is a transition of `ReferralWorkflow`,
/// recorded as a new Task version with a note saying who did what.
public struct Referrals: Sendable {
    public let settings: AdministrationSettings
    /// Task.code of a referral's workflow task.
    public static let taskCode = "remiss"
    /// ServiceRequest.category of a referral: SNOMED CT 3457005 Patient referral.
    public static let referralCategory = "3457005"

    public init(settings: AdministrationSettings) {
        self.settings = settings
    }

    /// Urgency as FHIR request priority, with the Swedish words clinicians use.
    public static let priorities = ["routine": "Normal", "urgent": "Brådskande", "asap": "Akut", "stat": "Omedelbart"]

    /// Sends a referral from the user's unit to another unit: the question, urgency and attachments.
    /// It lands in the receiving unit's inbox at once (Task status requested, owner the unit).
    public func send(patientID: String, toUnitID: String, question: String, priority: String, reasonText: String?, attachments: [String],
                     fromUnitID: String?, session: PatientDataSession) async throws -> (serviceRequest: StoredResource, task: StoredResource) {
        let records = Records(session: session)
        _ = try await records.require("Patient", patientID, role: "patient")
        let from = try session.actingUnit(fromUnitID)
        let receiver = try await records.require("Organization", toUnitID, role: "unit")
        guard toUnitID != from else { throw FHIRError(.invalid, code: .value, "a referral goes to another unit than the sender's", expression: ["unit"], text: "En remiss går till en annan enhet än den som skickar.") }
        guard question.trimmingCharacters(in: .whitespacesAndNewlines).count >= 5 else {
            throw FHIRError(.invalid, code: .required, "the question (frågeställning) is required, at least 5 characters", expression: ["question"], text: "Skriv frågeställningen, minst 5 tecken.")
        }
        guard Self.priorities[priority] != nil else {
            throw FHIRError(.invalid, code: .value, "priority must be one of \(Self.priorities.keys.sorted().joined(separator: ", ")); got '\(priority)'", expression: ["priority"], text: "Välj prioritet i listan.")
        }
        var supporting: [JSONValue] = []
        for attachment in attachments {
            guard let key = ResourceKey(reference: attachment) else {
                throw FHIRError(.invalid, code: .value, "attachment '\(attachment)' must be a reference like DocumentReference/123", expression: ["attachment"], text: "Bilagan är inte ett dokument i journalen.")
            }
            _ = try await records.require(key.type, key.id, role: "attachment")
            supporting.append(FHIR.reference(key.type, key.id))
        }
        let now = Instant.now(), stamp = SwedishTime.format(now)
        let requestID = UUID().uuidString.lowercased(), taskID = UUID().uuidString.lowercased()
        var request = JSONObject([
            ("resourceType", .string("ServiceRequest")), ("id", .string(requestID)), ("status", .string("active")), ("intent", .string("order")),
            ("category", .array([FHIR.concept("http://snomed.info/sct", Self.referralCategory, "Patient referral", text: "Remiss")])),
            ("priority", .string(priority)),
            ("code", FHIR.text("Remiss till \(receiver.object["name"]?.stringValue ?? toUnitID)")),
            ("subject", FHIR.reference("Patient", patientID)),
            ("authoredOn", .string(stamp)),
            ("requester", session.principal.authorReference),
            ("performer", .array([FHIR.reference("Organization", toUnitID, display: receiver.object["name"]?.stringValue)])),
            ("note", .array([FHIR.object([("text", .string(question))])])),
        ])
        if let reasonText, !reasonText.isEmpty { request["reasonCode"] = .array([FHIR.text(reasonText)]) }
        if !supporting.isEmpty { request["supportingInfo"] = .array(supporting) }
        var task = JSONObject([
            ("resourceType", .string("Task")), ("id", .string(taskID)), ("status", .string("requested")),
            ("businessStatus", FHIR.concept(AdministrationCodes.referralStatus, "skickad", "Skickad")),
            ("intent", .string("order")), ("priority", .string(priority)),
            ("code", FHIR.concept(AdministrationCodes.taskCode, Self.taskCode, "Remiss")),
            ("focus", FHIR.reference("ServiceRequest", requestID)),
            ("for", FHIR.reference("Patient", patientID)),
            ("authoredOn", .string(stamp)), ("lastModified", .string(stamp)),
            ("requester", FHIR.reference("Organization", from)),
            ("owner", FHIR.reference("Organization", toUnitID, display: receiver.object["name"]?.stringValue)),
            ("note", .array([FHIR.annotation("skickad till \(receiver.object["name"]?.stringValue ?? toUnitID)", author: session.principal, at: now)])),
        ])
        session.tagForUnit(&request, unit: from)
        session.tagForUnit(&task, unit: from)
        _ = try await session.commit([.create(request, type: "ServiceRequest", id: requestID), .create(task, type: "Task", id: taskID)])
        return (try await records.require("ServiceRequest", requestID), try await records.require("Task", taskID))
    }

    /// One step of the workflow. Receiver-side steps need an assignment at the owning unit,
    /// sender-side ones at the requesting unit; `toUnitID` is for forward, `text` the reason,
    /// question, supplement or answer.
    public func act(taskID: String, event: ReferralWorkflow.Event, text: String?, toUnitID: String? = nil, priority: String? = nil,
                    session: PatientDataSession) async throws -> StoredResource {
        let records = Records(session: session)
        let stored = try await records.require("Task", taskID)
        var task = stored.object.forUpdate
        guard task.code("code", system: AdministrationCodes.taskCode) == Self.taskCode else { throw refused("Task/\(taskID) is not a referral", text: "Uppgiften är ingen remiss.") }
        let owner = task.referenceID("owner", type: "Organization"), requester = task.referenceID("requester", type: "Organization")
        if session.principal.kind != .system {
            let unit = session.principal.assignment?.unitID
            switch ReferralWorkflow.side(of: event) {
            case .receiver where unit != owner:
                throw FHIRError(.forbidden, code: .forbidden, "only the receiving unit (Organization/\(owner ?? "?")) can \(event.rawValue) this referral", text: "Bara den mottagande enheten kan göra det med remissen.")
            case .sender where unit != requester:
                throw FHIRError(.forbidden, code: .forbidden, "only the sending unit (Organization/\(requester ?? "?")) can \(event.rawValue) this referral", text: "Bara den remitterande enheten kan göra det med remissen.")
            default: break
            }
        }
        let (status, step): (String, String)
        do { (status, step) = try ReferralWorkflow.next(task["status"]?.stringValue ?? "", event) } catch { throw error.error }
        let text = text?.trimmingCharacters(in: .whitespacesAndNewlines)
        if [.reject, .requestCompletion, .complete, .answer, .forward].contains(event), (text ?? "").count < 2 {
            let what = ["reject": "the reason for rejecting", "request-completion": "what is missing", "complete": "the supplement",
                        "answer": "the answer (remissvar)", "forward": "why it is forwarded"][event.rawValue] ?? "a text"
            throw FHIRError(.invalid, code: .required, "\(what) is required", expression: ["text"], text: "Skriv en motivering.")
        }
        let now = Instant.now(), stamp = SwedishTime.format(now)
        let requestID = task.referenceID("focus", type: "ServiceRequest")
        let request = try await requestID.asyncMap { try await records.require("ServiceRequest", $0) }
        var requestObject = request?.object.forUpdate
        var note = step
        switch event {
        case .forward:
            guard let toUnitID, toUnitID != owner else {
                throw FHIRError(.invalid, code: .required, "forward needs the new receiving unit (unit), other than the current one", expression: ["unit"], text: "Välj den nya mottagande enheten (en annan än den nuvarande).")
            }
            let unit = try await records.require("Organization", toUnitID, role: "unit")
            let name = unit.object["name"]?.stringValue
            task["owner"] = FHIR.reference("Organization", toUnitID, display: name)
            requestObject?["performer"] = .array([FHIR.reference("Organization", toUnitID, display: name)])
            note = "vidarebefordrad till \(name ?? toUnitID)"
        case .accept:
            if let priority {
                guard Self.priorities[priority] != nil else { throw FHIRError(.invalid, code: .value, "priority must be one of \(Self.priorities.keys.sorted().joined(separator: ", "))", expression: ["priority"]) }
                task["priority"] = .string(priority)
            }
        case .reject:
            task["statusReason"] = FHIR.text(text ?? "")
            requestObject?["status"] = .string("revoked")
        case .cancel:
            requestObject?["status"] = .string("revoked")
        case .answer:
            task["output"] = .array([FHIR.object([("type", FHIR.text("Remissvar")), ("valueString", .string(text ?? ""))])])
            requestObject?["status"] = .string("completed")
        default:
            break
        }
        if let text, !text.isEmpty { note += ": \(text)" }
        task["status"] = .string(status)
        task["businessStatus"] = FHIR.concept(AdministrationCodes.referralStatus, step, step.capitalized)
        task["lastModified"] = .string(stamp)
        task.append("note", FHIR.annotation(note, author: session.principal, at: now))
        var operations: [WriteOperation] = [.update(task, type: "Task", id: taskID, ifMatch: stored.versionId)]
        if let request, let requestObject, requestObject != request.object.forUpdate {
            operations.append(.update(requestObject, type: "ServiceRequest", id: request.id, ifMatch: request.versionId))
        }
        do {
            _ = try await session.commit(operations)
        } catch where isConcurrencyConflict(error) {
            throw refused("the referral changed a moment ago (someone else acted on it); reload it and try again", text: "Remissen ändrades alldeles nyss av någon annan. Ladda om och försök igen.")
        }
        return try await records.require("Task", taskID)
    }

    /// One line of an inbox.
    public struct InboxItem: Sendable {
        public var task: StoredResource
        public var patientID: String?
        public var status: String
        public var step: String?
        public var daysSinceSent: Int
        public var daysSinceAction: Int
        /// Not assessed within the configured days.
        public var isOverdue: Bool
        /// Nobody has acted for the alarm period.
        public var isAlarm: Bool
    }

    /// The unit's inbox: referrals it owns that are still open, and (`sent`) referrals it sent,
    /// with the step each is at, the answers and rejections included.
    public func inbox(unitID: String?, sent: Bool, session: PatientDataSession) async throws -> [InboxItem] {
        let unit = try session.actingUnit(unitID)
        var parameters: [(name: String, value: String)] = [(sent ? "requester" : "owner", "Organization/\(unit)"), ("code", "\(AdministrationCodes.taskCode)|\(Self.taskCode)")]
        parameters.append(("status", sent ? "requested,received,accepted,on-hold,in-progress,completed,rejected" : ReferralWorkflow.open.sorted().joined(separator: ",")))
        let tasks = try await Records(session: session).all("Task", parameters, maximum: 5_000)
        // Newest first.
        return tasks.map { item($0) }.sorted { ($0.task.object["authoredOn"]?.stringValue.flatMap(Instant.parse) ?? 0) > ($1.task.object["authoredOn"]?.stringValue.flatMap(Instant.parse) ?? 0) }
    }

    func item(_ stored: StoredResource) -> InboxItem {
        let object = stored.object
        let now = Instant.now()
        let authored = object["authoredOn"]?.stringValue.flatMap(Instant.parse) ?? now
        let modified = object["lastModified"]?.stringValue.flatMap(Instant.parse) ?? authored
        let status = object["status"]?.stringValue ?? "unknown"
        let sinceSent = Int((now - authored) / 86_400_000), sinceAction = Int((now - modified) / 86_400_000)
        return InboxItem(task: stored, patientID: object.referenceID("for", type: "Patient"), status: status,
                         step: object.code("businessStatus", system: AdministrationCodes.referralStatus), daysSinceSent: sinceSent, daysSinceAction: sinceAction,
                         isOverdue: ReferralWorkflow.unassessed.contains(status) && sinceSent >= settings.referralAssessmentDays,
                         isAlarm: ["requested", "received", "on-hold"].contains(status) && sinceAction >= settings.referralAlarmDays)
    }

    /// Referrals nobody has acted on for the alarm period, in every unit the caller may see
    /// (the server's alarm job runs this as a system client and logs each).
    public func alarms(session: PatientDataSession) async throws -> [InboxItem] {
        let cutoff = Instant.now() - Int64(settings.referralAlarmDays) * 86_400_000
        let tasks = try await Records(session: session).all("Task", [("code", "\(AdministrationCodes.taskCode)|\(Self.taskCode)"),
                                                                     ("status", "requested,received,on-hold"),
                                                                     ("modified", "le" + Instant.format(milliseconds: cutoff))], maximum: 10_000)
        return tasks.map { item($0) }
    }
}

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let self else { return nil }
        return try await transform(self)
    }
}

extension Referrals {
    /// Marks the referral behind a booking or waiting-list entry as planned (in-progress).
    public func planned(serviceRequestID: String, session: PatientDataSession) async throws {
        let tasks = try await Records(session: session).search("Task", [("focus", "ServiceRequest/\(serviceRequestID)"), ("status", "accepted")], limit: 5)
        for task in tasks { _ = try await act(taskID: task.id, event: .plan, text: nil, session: session) }
    }
}
