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
    /// Which log a page shows, and from where: the queue pages forward (oldest first), a patient's
    /// or user's log backward (newest first), each from the last sequence number of the page before.
    enum LogView {
        case queue(flag: String?, after: Int64?)
        case patient(String, before: Int64?)
        case user(String, before: Int64?)
    }

    func logReviewPage(_ view: LogView, _ request: Request, _ user: User, errors: [String: String] = [:], status: HTTPResponse.Status = .ok) async throws -> Response {
        let session = user.data(gateway, action: "log-review")
        let events: [JSONObject]
        var context = layout(user, title: "Logguppföljning", nav: "navLogReview")
        let limit = settings.maximumLogRows
        // Where this log's first page is, and the name of the cursor that pages on from it.
        let address: (path: String, query: [(String, String)], cursor: String)
        let laterPage: Bool
        switch view {
        case .queue(let flag, let after):
            events = try await session.reviewQueue(flag: flag, after: after ?? 0, limit: limit)
            context["heading"] = "Att granska"
            context["queue"] = true
            context["flags"] = [["code": "", "text": "Alla flaggor", "selected": flag == nil] as [String: Any]]
                + ReviewFlag.allCases.map { ["code": $0.rawValue, "text": $0.display, "selected": flag == $0.rawValue] as [String: Any] }
            address = ("/loggranskning", flag.map { [("flagga", $0)] } ?? [], "efter")
            laterPage = after != nil
            context["flag"] = flag ?? ""
            context["after"] = after.map(String.init) ?? ""
        case .patient(let patientID, let before):
            events = try await session.auditEvents(AuditQuery(patientID: patientID, beforeSequence: before, limit: limit))
            let patient = try await session.read(type: "Patient", id: patientID)
            context["heading"] = "Logg för patienten " + (patient.map { Display.name($0.object) } ?? patientID)
            address = ("/loggranskning/patient/" + Self.encoded(patientID), [], "fore")
            laterPage = before != nil
        case .user(let actor, let before):
            events = try await session.auditEvents(AuditQuery(actor: actor, beforeSequence: before, limit: limit))
            context["heading"] = "Logg för användaren " + (events.first.flatMap { Self.agent($0)["display"]?.stringValue } ?? actor)
            address = ("/loggranskning/anvandare", [("id", actor)], "fore")
            laterPage = before != nil
        }
        // A full page may have more behind it: the reviewer pages on rather than meeting a silent cut.
        if events.count == limit, let last = events.last?["id"]?.stringValue {
            context["nextPage"] = Self.link(address.path, address.query + [(address.cursor, last)])
        }
        if laterPage { context["firstPage"] = Self.link(address.path, address.query) }
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
    /// The reviewer stays on the queue page (flag and cursor) the decision was made on.
    func decideOnAccess(sequence: String, _ request: Request, _ user: User) async throws -> Response {
        let flag = user.form["flagga"].flatMap { $0.isEmpty ? nil : $0 }
        let after = Self.cursor(user.form["efter"])
        guard let number = Int64(sequence), let verdict = user.form["verdict"].flatMap(ReviewDecision.Verdict.init(rawValue:)) else {
            return try await logReviewPage(.queue(flag: flag, after: after), request, user, errors: [sequence: "Välj ett beslut."], status: .badRequest)
        }
        let comment = (user.form["comment"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        if verdict != .justified, comment.count < 2 {
            return try await logReviewPage(.queue(flag: flag, after: after), request, user, errors: [sequence: "Skriv en kommentar: vad ska följas upp, och med vem?"],
                                           status: .badRequest)
        }
        _ = try await user.data(gateway, action: "log-review").decide(sequence: number, verdict: verdict, comment: comment)
        let page = (flag.map { [("flagga", $0)] } ?? []) + (after.map { [("efter", String($0))] } ?? [])
        return Self.redirect(Self.link("/loggranskning", page + [("klar", "Beslutet är sparat")]))
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
