import Access
import FHIRCore
import Foundation
import Hummingbird
import Store

/// Logguppföljning for the logggranskare: the queue of flagged accesses (nödåtkomst, access
/// without a care relationship, same surname or address, protected identity, refusals), one
/// patient's or one user's log, and a decision on each flagged access. Reading the log is itself
/// logged by the access module; only an assignment with the audit-review permission gets in.
extension WebApp {
    enum LogView {
        case queue(flag: String?)
        case patient(String)
        case user(String)
    }

    func logReviewPage(_ view: LogView, _ request: Request, _ user: User, errors: [String: String] = [:], status: HTTPResponse.Status = .ok) async throws -> Response {
        let session = user.data(gateway, action: "log-review")
        let events: [JSONObject]
        var context = layout(user, title: "Logguppföljning", nav: "navLogReview")
        switch view {
        case .queue(let flag):
            events = try await session.reviewQueue(flag: flag, limit: settings.maximumLogRows)
            context["heading"] = "Att granska"
            context["queue"] = true
            context["flags"] = [["code": "", "text": "Alla flaggor", "selected": flag == nil] as [String: Any]]
                + ReviewFlag.allCases.map { ["code": $0.rawValue, "text": $0.display, "selected": flag == $0.rawValue] as [String: Any] }
        case .patient(let patientID):
            events = try await session.auditEvents(AuditQuery(patientID: patientID, limit: settings.maximumLogRows))
            let patient = try await session.read(type: "Patient", id: patientID)
            context["heading"] = "Logg för patienten " + (patient.map { Display.name($0.object) } ?? patientID)
        case .user(let actor):
            events = try await session.auditEvents(AuditQuery(actor: actor, limit: settings.maximumLogRows))
            context["heading"] = "Logg för användaren " + (events.first.flatMap { Self.agent($0)["display"]?.stringValue } ?? actor)
        }
        let patientIDs = Set(events.compactMap(Self.patientID))
        let patients = Dictionary(try await session.read(keys: patientIDs.sorted().map { ResourceKey(type: "Patient", id: $0) }).map { ($0.id, $0.object) },
                                  uniquingKeysWith: { a, _ in a })
        context["rows"] = events.map { event -> [String: Any] in
            let agent = Self.agent(event)
            let sequence = event["id"]?.stringValue ?? ""
            let patientID = Self.patientID(event)
            var row: [String: Any] = [
                "sequence": sequence, "time": Display.time(event["recorded"]?.stringValue),
                "user": agent["display"]?.stringValue ?? "", "userRef": (agent["reference"]?.stringValue ?? "").addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "",
                "unit": (Self.agentObject(event)?["location"]?.objectValue?["display"]?.stringValue) ?? "",
                "patientID": patientID ?? "", "patientName": patientID.map { id in patients[id].map(Display.name) ?? id } ?? "",
                "action": Self.actionLabel(event["subtype"]?.arrayValue?.first?.objectValue?["code"]?.stringValue),
                "denied": event["outcome"]?.stringValue == "4",
                "flags": (event["meta"]?.objectValue?["tag"]?.arrayValue ?? []).compactMap { $0.objectValue?["display"]?.stringValue ?? $0.objectValue?["code"]?.stringValue }
                    .map { ["text": $0] },
            ]
            if let basis = Self.extensionValue(event, "access-basis") { row["basis"] = Self.basisLabel(basis) }
            if let reason = event["outcomeDesc"]?.stringValue { row["reason"] = reason }
            if let decision = Self.extensionValue(event, "review-decision") { row["decision"] = decision }
            if case .queue = view { row["decide"] = true }
            if let error = errors[sequence] { row["error"] = error }
            return row
        }
        if let notice = Self.query(request)["klar"] { context["notice"] = notice }
        return pages.page("log-review", context, status: status)
    }

    /// A decision on one flagged access; unjustified or follow-up needs a comment saying why.
    func decideOnAccess(sequence: String, _ request: Request, _ user: User) async throws -> Response {
        guard let number = Int64(sequence), let verdict = user.form["verdict"].flatMap(ReviewDecision.Verdict.init(rawValue:)) else {
            return try await logReviewPage(.queue(flag: nil), request, user, errors: [sequence: "Välj ett beslut."], status: .badRequest)
        }
        let comment = (user.form["comment"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        if verdict != .justified, comment.count < 2 {
            return try await logReviewPage(.queue(flag: nil), request, user, errors: [sequence: "Skriv en kommentar: vad ska följas upp, och med vem?"],
                                           status: .badRequest)
        }
        _ = try await user.data(gateway, action: "log-review").decide(sequence: number, verdict: verdict, comment: comment)
        return Self.redirect("/loggranskning?klar=Beslutet%20%C3%A4r%20sparat")
    }

    static func agentObject(_ event: JSONObject) -> JSONObject? { event["agent"]?.arrayValue?.first?.objectValue }
    static func agent(_ event: JSONObject) -> JSONObject { agentObject(event)?["who"]?.objectValue ?? JSONObject() }

    static func patientID(_ event: JSONObject) -> String? {
        for entity in event["entity"]?.arrayValue ?? [] {
            if let reference = entity.objectValue?["what"]?.objectValue?["reference"]?.stringValue, reference.hasPrefix("Patient/") {
                return String(reference.dropFirst("Patient/".count))
            }
        }
        return nil
    }

    static func extensionValue(_ event: JSONObject, _ name: String) -> String? {
        (event["extension"]?.arrayValue ?? []).compactMap(\.objectValue).first { $0["url"]?.stringValue?.hasSuffix("/" + name) == true }
            .flatMap { $0["valueCode"]?.stringValue ?? $0["valueString"]?.stringValue }
    }

    static func basisLabel(_ basis: String) -> String {
        switch basis {
        case "care-relationship": "Vårdrelation"
        case "consent": "Samtycke (sammanhållen journalföring)"
        case "emergency-access": "Nödåtkomst"
        case "own-record": "Egen journal"
        case "system": "Systemintegration"
        case "directory": "Sökning i patientregistret"
        case "referral": "Remiss till enheten"
        default: basis
        }
    }

    static func actionLabel(_ action: String?) -> String {
        switch action {
        case "read", "vread": "Läste"
        case "search", "s": "Sökte"
        case "create": "Skapade"
        case "update": "Ändrade"
        case "delete": "Tog bort"
        case "chart": "Öppnade översikten"
        case "journal": "Läste journalen"
        case "emergency-access": "Nödåtkomst"
        case "care-relationship": "Registrerade vårdrelation"
        default: action ?? ""
        }
    }
}
