import Access
import FHIRCore
import Foundation
import Hummingbird
import StoreModel

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
            // Narrowed to one user and to days, as a review of one unit's week or one colleague is done.
            let query = Self.query(request)
            let actor = query["anvandare"].flatMap { $0.isEmpty ? nil : $0 }
            let fromDay = query["fran"].flatMap(SwedishTime.parseDay), toDay = query["till"].flatMap(SwedishTime.parseDay)
            events = try await session.reviewQueue(flag: flag, actor: actor, from: fromDay.map { SwedishTime.instant(day: $0, minuteOfDay: 0) },
                                                   to: toDay.map { SwedishTime.instant(day: $0 + 1, minuteOfDay: 0) - 1 }, after: after ?? 0, limit: limit)
            context["heading"] = "Att granska"
            context["queue"] = true
            context["filterUser"] = actor ?? ""
            context["filterFrom"] = fromDay.map(SwedishTime.formatDay) ?? ""
            context["filterTo"] = toDay.map(SwedishTime.formatDay) ?? ""
            context["flags"] = [["code": "", "text": "Alla flaggor", "selected": flag == nil] as [String: Any]]
                + ReviewFlag.allCases.map { ["code": $0.rawValue, "text": $0.display, "selected": flag == $0.rawValue] as [String: Any] }
            address = ("/loggranskning", Self.reviewFilters(query).filter { $0.0 != "efter" }, "efter")
            laterPage = after != nil
        case .patient(let patientID, let before):
            events = try await session.auditEvents(AuditQuery(patientID: patientID, beforeSequence: before, limit: limit))
            let patient = try await session.read(type: "Patient", id: patientID)
            context["heading"] = "Logg för patienten " + (patient.map { Display.name($0.object) } ?? patientID)
            address = ("/loggranskning/patient/" + Self.encoded(patientID), [], "fore")
            laterPage = before != nil
        case .user(let actor, let before):
            events = try await session.auditEvents(AuditQuery(actor: actor, beforeSequence: before, limit: limit))
            context["heading"] = "Logg för användaren " + (events.first.map { Self.agentName(Self.agent($0)) } ?? Display.named(actor))
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
        // The rows are written here rather than in the template: a page lists up to hundreds, and
        // swift-mustache's per-name context look-ups and character-wise escaping were half its CPU.
        var rows = ""
        // The queue's rows carry a decision form; its address carries the page's flag, filters and cursor, so the
        // reviewer comes back to the same narrowed page after deciding (or sees the error on it).
        var decide: LogRow.DecisionForm?
        if case .queue = view {
            let filters = Self.reviewFilters(Self.query(request))
            decide = (user.session.formToken, filters.isEmpty ? "" : String(Self.link("", filters)))
        }
        var logRows: [LogRow] = []
        var instants: [Int64] = []
        for event in events {
            let agent = Self.agent(event)
            let sequence = event["id"]?.stringValue ?? ""
            let patientID = Self.patientID(event)
            let row = LogRow(
                sequence: sequence, time: Display.time(event["recorded"]?.stringValue), user: Self.agentName(agent),
                userRef: (agent["reference"]?.stringValue ?? "").addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "",
                unit: (Self.agentObject(event)?["location"]?.objectValue?["display"]?.stringValue) ?? "",
                patientID: patientID, patientName: patientID.map { id in patients[id].map(Display.name) ?? id } ?? "",
                action: Self.actionLabel(event["subtype"]?.arrayValue?.first?.objectValue?["code"]?.stringValue),
                denied: event["outcome"]?.stringValue == "4",
                flags: (event["meta"]?.objectValue?["tag"]?.arrayValue ?? []).compactMap { $0.objectValue?["display"]?.stringValue ?? $0.objectValue?["code"]?.stringValue },
                basis: Self.extensionValue(event, "access-basis").map(Self.basisLabel), reason: event["outcomeDesc"]?.stringValue,
                decision: Self.extensionValue(event, "review-decision").map(Self.decisionText), error: errors[sequence])
            logRows.append(row)
            instants.append(event["recorded"]?.stringValue.flatMap(Instant.parse) ?? 0)
        }
        if let decide {
            // One access session (one user, one patient, no long pause) is one decision, not a row per page they opened.
            for group in Self.accessSessions(logRows, instants: instants, gapMinutes: settings.logSessionMinutes) {
                if group.count == 1 {
                    logRows[group[0]].write(to: &rows, decide: decide)
                } else {
                    LogRow.writeSession(group.map { logRows[$0] }, to: &rows, decide: decide,
                                        error: group.lazy.compactMap { errors[logRows[$0].sequence] }.first)
                }
            }
        } else {
            for row in logRows { row.write(to: &rows, decide: nil) }
        }
        context["rows"] = rows
        context["decisionQuery"] = decide?.query ?? ""
        if let problem = errors["bulk"] { context["bulkError"] = problem }
        context["hasRows"] = !events.isEmpty
        if let notice = Self.query(request)["klar"] { context["notice"] = notice }
        return pages.page("log-review", context, status: status)
    }

    /// The queue's narrowing a decision keeps: flag, user, days and the page's cursor, as the query names them.
    static func reviewFilters(_ query: [String: String]) -> [(String, String)] {
        ["flagga", "anvandare", "fran", "till", "efter"].compactMap { name in query[name].flatMap { $0.isEmpty ? nil : (name, $0) } }
    }

    /// The rows' indices grouped into access sessions: one user's accesses to one patient, each within
    /// `gapMinutes` of the one before, in the order the sessions began. Rows without a patient stand alone.
    static func accessSessions(_ rows: [LogRow], instants: [Int64], gapMinutes: Int) -> [[Int]] {
        var groups: [[Int]] = []
        var open: [String: (group: Int, last: Int64)] = [:]
        for (index, row) in rows.enumerated() {
            guard let patientID = row.patientID, !patientID.isEmpty else {
                groups.append([index])
                continue
            }
            let key = row.userRef + "|" + patientID
            if let current = open[key], instants[index] - current.last <= Int64(gapMinutes) * 60_000 {
                groups[current.group].append(index)
                open[key] = (current.group, instants[index])
            } else {
                open[key] = (groups.count, instants[index])
                groups.append([index])
            }
        }
        return groups
    }

    /// One decision on every access the reviewer ticked, or on one access session (a user's reads of one patient).
    func decideOnAccesses(_ request: Request, _ user: User) async throws -> Response {
        let query = Self.query(request)
        let flag = query["flagga"].flatMap { $0.isEmpty ? nil : $0 }
        let after = Self.cursor(query["efter"])
        var sequences = user.form.keys.compactMap { $0.hasPrefix("valj-") ? Int64($0.dropFirst(5)) : nil }
        for key in user.form.keys where key.hasPrefix("grupp-") {
            sequences += (user.form[key] ?? "").split(separator: ",").compactMap { Int64($0) }
        }
        sequences = Array(Set(sequences)).sorted()
        // A session's own form shows its error on its row; the form under the table on itself.
        let errorKey = user.form["grupp"].flatMap { $0.isEmpty ? nil : $0 } ?? "bulk"
        let verdict = user.form["verdict"].flatMap(ReviewDecision.Verdict.init(rawValue:))
        let comment = (user.form["comment"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let problem: String? = sequences.isEmpty ? "Markera de händelser beslutet gäller."
            : verdict == nil ? "Välj ett beslut för de markerade händelserna."
            : verdict != .justified && comment.count < 2 ? "Skriv en kommentar: vad ska följas upp, och med vem?" : nil
        if let problem {
            return try await logReviewPage(.queue(flag: flag, after: after), request, user, errors: [errorKey: problem], status: .badRequest)
        }
        let session = user.data(gateway, action: "log-review")
        for sequence in sequences { _ = try await session.decide(sequence: sequence, verdict: verdict!, comment: comment) }
        return Self.redirect(Self.link("/loggranskning", Self.reviewFilters(query) + [("klar", "Beslutet är sparat för \(sequences.count) händelser")]))
    }

    /// A decision on one flagged access; unjustified or follow-up needs a comment saying why.
    /// The reviewer stays on the queue page (flag and cursor) the decision was made on.
    func decideOnAccess(sequence: String, _ request: Request, _ user: User) async throws -> Response {
        let query = Self.query(request)
        let flag = query["flagga"].flatMap { $0.isEmpty ? nil : $0 }
        let after = Self.cursor(query["efter"])
        guard let number = Int64(sequence), let verdict = user.form["verdict"].flatMap(ReviewDecision.Verdict.init(rawValue:)) else {
            return try await logReviewPage(.queue(flag: flag, after: after), request, user, errors: [sequence: "Välj ett beslut."], status: .badRequest)
        }
        let comment = (user.form["comment"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        if verdict != .justified, comment.count < 2 {
            return try await logReviewPage(.queue(flag: flag, after: after), request, user, errors: [sequence: "Skriv en kommentar: vad ska följas upp, och med vem?"],
                                           status: .badRequest)
        }
        _ = try await user.data(gateway, action: "log-review").decide(sequence: number, verdict: verdict, comment: comment)
        return Self.redirect(Self.link("/loggranskning", Self.reviewFilters(query) + [("klar", "Beslutet är sparat")]))
    }

    static func agentObject(_ event: JSONObject) -> JSONObject? { event["agent"]?.arrayValue?.first?.objectValue }
    /// A review decision as the log's extension holds it ("verdict by Practitioner/x: comment"), in Swedish with the reviewer's name.
    static func decisionText(_ value: String) -> String {
        guard let by = value.range(of: " by "), let colon = value.range(of: ": ", range: by.upperBound..<value.endIndex) else { return value }
        let verdict = ReviewDecision.Verdict(rawValue: String(value[..<by.lowerBound]))
        let label = switch verdict {
        case .justified?: "Befogad"
        case .unjustified?: "Obefogad"
        case .followUp?: "Följs upp"
        case nil: "Beslut"
        }
        let comment = value[colon.upperBound...]
        return "\(label), beslutat av \(Display.named(String(value[by.upperBound..<colon.lowerBound])))" + (comment.isEmpty ? "" : ": \(comment)")
    }

    /// Who acted, by name: the log writes the reference as the display when it knew no name.
    static func agentName(_ agent: JSONObject) -> String {
        let display = agent["display"]?.stringValue
        return display == nil || display == agent["reference"]?.stringValue ? Display.named(agent["reference"]?.stringValue ?? "") : display ?? ""
    }

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
        guard let action else { return "" }
        return AuditActions.labels[action] ?? "Annan åtgärd (\(action))"
    }
}

/// The names of audit actions in log review.
enum AuditActions {
    /// Every audit action the system writes, as a reviewer reads it (a test checks that none is missing).
    static let labels: [String: String] = [
        "read": "Läste", "vread": "Läste en tidigare version", "search": "Sökte", "s": "Sökte", "history": "Läste historiken",
        "everything": "Läste hela journalen ($everything)", "export": "Lämnade ut i bulkexport till regionens dataplattform ($export)", "omop-export": "Lämnade ut i OMOP-export för forskning och uppföljning", "par-export": "Rapporterade till patientregistret (Socialstyrelsen)", "transaction": "Skrev flera uppgifter i en transaktion",
        "create": "Skapade", "update": "Ändrade", "patch": "Ändrade", "delete": "Tog bort", "operation": "Körde en operation",
        "chart": "Öppnade översikten", "journal": "Läste journalen", "read-note": "Läste en anteckning", "note-form": "Öppnade anteckningsformuläret",
        "write-note": "Skrev en anteckning", "sign-note": "Signerade en anteckning", "emergency-access": "Nödåtkomst",
        "care-relationship": "Registrerade vårdrelation", "access-status": "Fick frågan om åtkomst", "national-read": "Läste Nationella läkemedelslistan", "nll-outbox": "Skickade recept till Nationella läkemedelslistan",
        "prescription-form": "Öppnade receptformuläret", "national-medication-list": "Öppnade Nationella läkemedelslistan",
        "results": "Läste provsvar", "open-result": "Öppnade ett provsvar", "sign-result": "Vidimerade ett provsvar", "order-form": "Öppnade beställningsformuläret",
        "order-lab": "Beställde prov", "result-inbox": "Öppnade provsvar att vidimera", "acknowledge-critical": "Kvitterade ett larmvärde", "match-result": "Kopplade ett omatchat provsvar till en beställning", "record-absence": "Registrerade frånvaro med ersättare",
        "unmatched-results": "Öppnade omatchade provsvar", "undelivered-orders": "Öppnade ej levererade beställningar", "send-order": "Skickade en beställning igen", "cancel-order": "Makulerade en beställning",
        "lab-outbox": "Skickade beställningar till labbet", "hl7-result": "Tog emot provsvar (HL7 v2)",
        "ed-board": "Läste akuttavlan", "ed-arrival-form": "Öppnade ankomstregistreringen", "ed-arrive": "Registrerade ankomst till akuten",
        "ed-visit": "Öppnade ett akutbesök", "ed-triage": "Triagerade", "ed-lakare": "Tog patienten som läkare", "ed-beslut": "Markerade klar för beslut",
        "ed-sjukskoterska": "Blev ansvarig sjuksköterska", "ed-rum": "Satte rum på akuten", "ed-avsluta": "Avslutade ett akutbesök", "ed-times": "Läste akutens ledtider",
        "vital-signs": "Läste vitalparametrar", "record-vital-signs": "Registrerade vitalparametrar", "ward-news2": "Läste avdelningens NEWS2",
        "demo-maternity": "Skrev demodata för mödravården", "demo-delivery": "Skrev demodata för förlossningen",
        "graviditetsregistret-extract": "Läste graviditeter till Graviditetsregistret",
        "downtime-list": "Läste till enhetens driftstoppslista", "back-entry-list": "Läste det efterregistrerade efter driftstopp",
        "antenatal-worklist": "Läste mödravårdens arbetslista", "pregnancy": "Öppnade graviditeten", "register-pregnancy": "Skrev in en graviditet",
        "antenatal-visit": "Öppnade besöksformuläret i mödravården", "record-antenatal-visit": "Registrerade ett besök i mödravården",
        "assess-pregnancy-risk": "Gjorde riskbedömning (MHV1)", "close-pregnancy": "Avslutade en graviditet", "sign-delivery-record": "Signerade förlossningsjournalen",
        "complete-maternity-task": "Markerade en mödravårdsuppgift som klar", "delivery-admission": "Skrev in på förlossningen", "partogram": "Öppnade partogrammet",
        "record-partogram": "Registrerade i partogrammet", "register-birth": "Registrerade en födelse", "mfr-sheets": "Öppnade journalbladen till födelseregistret",
        "day-surgery": "Öppnade dagkirurgin", "day-surgery-visit": "Öppnade ett dagkirurgiskt besök", "day-surgery-ankomst": "Registrerade ankomst till dagkirurgi",
        "day-surgery-preop": "Registrerade preoperativ kontroll", "day-surgery-utskrivning": "Registrerade utskrivningskriterier", "day-surgery-skriv-ut": "Skrev ut från dagkirurgi",
        "complete-follow-up": "Gjorde telefonuppföljning", "day-surgery-booking": "Öppnade bokning av dagkirurgi", "book-day-surgery": "Bokade dagkirurgi",
        "demo-emergency": "Skrev demodata för akuten",
        "imaging-study": "Öppnade en bildundersökning", "imaging-retrieve": "Hämtade bilder ur bildarkivet",
        "prescription-fornya": "Förnyade recept", "prescription-parallell": "Registrerade parallell förskrivning", "prescription-ersatt": "Ersatte recept", "prescription-avsluta": "Avslutade recept", "prescription-makulera": "Makulerade recept",
        "unsent-prescriptions": "Läste ej skickade recept", "reserve-prescription": "Skrev ut reservrecept", "send-prescription": "Skickade recept igen", "access-question": "Såg vem patienten är inför frågan om åtkomst",
        "consent": "Registrerade samtycke", "block": "Registrerade spärr", "unblock": "Hävde spärr", "patient-search": "Sökte patient",
        "register-patient": "Registrerade patient", "register-unidentified": "Registrerade patient med reservnummer",
        "attention-signals": "Läste uppmärksamhetssignaler", "record-allergy": "Registrerade allergi", "record-attention-signal": "Registrerade uppmärksamhetssignal",
        "end-attention-signal": "Avslutade uppmärksamhetssignal", "add-problem": "Lade till problem", "resolve-problem": "Avslutade problem",
        "register-diagnoses": "Registrerade diagnoser", "appointment-book": "Öppnade tidboken", "book-appointment": "Bokade tid", "check-in": "Checkade in",
        "create-slots": "Skapade tider", "block-time": "Blockerade tider", "unblock-time": "Hävde blockering", "waiting-list": "Läste väntelistan",
        "waiting-list-form": "Öppnade väntelisteformuläret", "waiting-list-add": "Ställde på väntelista", "referral": "Hanterade remiss",
        "referral-form": "Öppnade remissformuläret", "send-referral": "Skickade remiss", "referral-alarms": "Läste remissbevakningen",
        "cashier": "Kassa", "receipt": "Läste kvitto", "void-receipt": "Makulerade kvitto", "refund": "Betalade tillbaka avgift", "daily-report": "Läste dagsredovisningen", "ward-overview": "Öppnade avdelningsöversikten", "admit": "Skrev in",
        "plan-admission": "Planerade inskrivning", "start-page": "Öppnade startsidan", "draft": "Utkast", "draft-save": "Sparade utkast",
        "draft-read": "Läste sitt utkast", "draft-discard": "Slängde utkast", "log-review": "Loggranskning", "audit-read": "Läste loggen",
        "review-decision": "Beslut i loggranskning", "authenticate": "Inloggning nekades", "login": "Loggade in", "password-change": "Bytte lösenord",
        "create-account": "Skapade konto", "configure-position": "Ändrade befattning", "administration": "Administration", "notify": "Skickade meddelande",
        "decision-support": "Beslutsstöd (läkemedelskontroll)", "medication-list": "Läste läkemedelslistan", "ward-mar": "Öppnade avdelningens läkemedel", "sign-medication-story": "Signerade läkemedelsberättelse", "record-dose": "Dokumenterade läkemedelsdos", "medication-review": "Dokumenterade läkemedelsgenomgång", "ordination-form": "Ordinerade läkemedel", "import": "Importerade", "terminology-import": "Importerade kodverk", "bootstrap": "Första start", "demo-documentation": "Demojournal skrevs", "demo-medication": "Demoläkemedel skrevs",
    ]
}

/// One audit record as a row of the log-review table, every value HTML-escaped.
struct LogRow {
    let sequence: String, time: String, user: String, userRef: String, unit: String
    let patientID: String?, patientName: String, action: String, denied: Bool, flags: [String]
    let basis: String?, reason: String?, decision: String?, error: String?

    /// What the queue's decision form sends back besides the decision: the session's form token, and the page's
    /// query (`?flagga=…&efter=…`, or empty) in its address so the decision returns to the same narrowed page.
    typealias DecisionForm = (formToken: String, query: String)

    /// Appends the row; `decide` (the queue's) adds the decision form.
    func write(to html: inout String, decide: DecisionForm?) {
        let sequence = self.sequence.htmlEscaped
        html += "  <tr id=\"log-\(sequence)\">\n    <td>"
        // In the queue each row can be ticked for one decision on several (the bulk form below the table owns the box).
        if decide != nil {
            html += "<input type=\"checkbox\" form=\"bulk\" name=\"valj-\(sequence)\" id=\"valj-\(sequence)\" value=\"ja\">"
                + "<label for=\"valj-\(sequence)\" class=\"visually-hidden\">Markera händelse \(sequence)</label> "
        }
        html += "\(time.htmlEscaped)</td>\n"
        html += "    <td><a href=\"/loggranskning/anvandare?id=\(userRef.htmlEscaped)\">\(user.htmlEscaped)</a><br><span class=\"meta\">\(unit.htmlEscaped)</span></td>\n"
        html += "    <td>"
        if let patientID, !patientID.isEmpty {
            html += "<a href=\"/loggranskning/patient/\(patientID.htmlEscaped)\">\(patientName.htmlEscaped)</a>"
        }
        html += "</td>\n    <td>\(action.htmlEscaped)"
        if denied { html += " <span class=\"tag alarm\">nekad</span>" }
        if let basis { html += "<br><span class=\"meta\">Grund: \(basis.htmlEscaped)</span>" }
        for flag in flags { html += "<br><span class=\"tag warn\">\(flag.htmlEscaped)</span>" }
        if let reason { html += "<br><span class=\"meta\">Skäl: \(reason.htmlEscaped)</span>" }
        html += "</td>\n    <td>\n"
        if let decision { html += "      <span class=\"meta\">\(decision.htmlEscaped)</span>\n" }
        if let decide {
            html += """
                      <form method="post" action="/loggranskning/\(sequence)/beslut\(decide.query.htmlEscaped)">
                        <input type="hidden" name="formToken" value="\(decide.formToken.htmlEscaped)">

                """
            html += Self.decisionFields(key: sequence, legend: "Beslut för händelse \(sequence)", error: error)
            html += "        <button type=\"submit\">Spara beslut</button>\n      </form>\n"
        }
        html += "    </td>\n  </tr>\n"
    }

    /// One access session (one user's accesses to one patient without a long pause) as one row of the queue:
    /// its events listed under a disclosure, its flags once, and one decision for all of them.
    static func writeSession(_ rows: [LogRow], to html: inout String, decide: DecisionForm, error: String?) {
        guard let first = rows.first, let last = rows.last else { return }
        let key = first.sequence.htmlEscaped
        let sequences = rows.map(\.sequence)
        let lastClock = last.time.count > 11 ? String(last.time.dropFirst(11)) : last.time
        html += "  <tr id=\"log-\(key)\" class=\"session\">\n    <td>"
        html += "<input type=\"checkbox\" form=\"bulk\" name=\"grupp-\(key)\" id=\"grupp-\(key)\" value=\"\(sequences.joined(separator: ",").htmlEscaped)\">"
            + "<label for=\"grupp-\(key)\" class=\"visually-hidden\">Markera sessionen från händelse \(key)</label> "
        html += "\(first.time.htmlEscaped)–\(lastClock.htmlEscaped)</td>\n"
        html += "    <td><a href=\"/loggranskning/anvandare?id=\(first.userRef.htmlEscaped)\">\(first.user.htmlEscaped)</a><br><span class=\"meta\">\(first.unit.htmlEscaped)</span></td>\n"
        html += "    <td>"
        if let patientID = first.patientID { html += "<a href=\"/loggranskning/patient/\(patientID.htmlEscaped)\">\(first.patientName.htmlEscaped)</a>" }
        html += "</td>\n    <td>\(rows.count) händelser i en session"
        if rows.contains(where: \.denied) { html += " <span class=\"tag alarm\">nekad</span>" }
        html += "\n      <details><summary>Visa händelserna</summary><ul>"
        for row in rows {
            let clock = row.time.count > 11 ? String(row.time.dropFirst(11)) : row.time
            html += "<li>\(clock.htmlEscaped) \(row.action.htmlEscaped)\(row.denied ? " (nekad)" : "")</li>"
        }
        html += "</ul></details>"
        func once(_ values: [String]) -> [String] {
            var seen = Set<String>()
            return values.filter { seen.insert($0).inserted }
        }
        for basis in once(rows.compactMap(\.basis)) { html += "<br><span class=\"meta\">Grund: \(basis.htmlEscaped)</span>" }
        for flag in once(rows.flatMap(\.flags)) { html += "<br><span class=\"tag warn\">\(flag.htmlEscaped)</span>" }
        for reason in once(rows.compactMap(\.reason)) { html += "<br><span class=\"meta\">Skäl: \(reason.htmlEscaped)</span>" }
        html += """
            </td>
                <td>
                  <form method="post" action="/loggranskning/beslut\(decide.query.htmlEscaped)">
                    <input type="hidden" name="formToken" value="\(decide.formToken.htmlEscaped)">
                    <input type="hidden" name="grupp" value="\(key)">

            """
        for sequence in sequences { html += "        <input type=\"hidden\" name=\"valj-\(sequence.htmlEscaped)\" value=\"ja\">\n" }
        html += decisionFields(key: key, legend: "Beslut för sessionen från händelse \(key)", error: error)
        html += "        <button type=\"submit\">Spara beslut för sessionen (\(rows.count) händelser)</button>\n      </form>\n    </td>\n  </tr>\n"
    }

    /// A decision form's verdicts and comment, with the error said at the comment; `key` makes the ids unique.
    static func decisionFields(key: String, legend: String, error: String?) -> String {
        let invalid = error == nil ? "" : " aria-invalid=\"true\" aria-describedby=\"error-\(key)\""
        var html = """
                    <fieldset><legend class="visually-hidden">\(legend)</legend>
                      <label class="choice"><input type="radio" name="verdict" value="justified"> Befogad</label>
                      <label class="choice"><input type="radio" name="verdict" value="unjustified"> Obefogad</label>
                      <label class="choice"><input type="radio" name="verdict" value="follow-up"> Följ upp</label>
                    </fieldset>
                    <label for="comment-\(key)">Kommentar</label>
                    <input id="comment-\(key)" name="comment" type="text"\(invalid)>

            """
        if let error { html += "        <p class=\"field-error\" id=\"error-\(key)\">\(error.htmlEscaped)</p>\n" }
        return html
    }
}
