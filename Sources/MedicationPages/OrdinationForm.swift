import Access
import FHIRCore
import Foundation
import Hummingbird
import Medication
import StoreModel
import Terminology
import WebApp

/// The ordination form: a product from the drug catalogue (type-ahead), dose, route, times or vid behov,
/// start, planned end and ordinationsorsak. "Kontrollera" runs the order-select checks and shows their
/// cards; "Signera" runs order-sign, and when it raises a warning or critical card the cards are shown and
/// nothing is written until the doctor signs again with a reason for each critical one. The decisions go
/// to the cards' DetectedIssues (the CDS Hooks feedback), then the ordination is written.
struct OrdinationForm<Context: RequestContext>: ModulePages {
    let app: WebApp<Context>
    let medication: Medication
    let terminology: TerminologyService

    /// The dosage types an inpatient ordination may have: the MAR plans its doses, so never free text.
    static var dosageKinds: [DosageForm.Kind] { [.times, .frequency, .interval, .once] }

    func page(patientID: String, _ user: User) async throws -> Response {
        try await render(patientID: patientID, user, values: ["start": SwedishTime.formatDay(SwedishTime.today), "draftID": UUID().uuidString.lowercased()])
    }

    /// The form again, with what was entered, the field errors and the cards.
    func render(patientID: String, _ user: User, values: [String: String], errors: [String: String] = [:], cards: [DecisionCard] = [],
                signing: Bool = false, message: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        guard user.principal.permissions.prescribe else {
            throw FHIRError(.forbidden, code: .forbidden, "ordinations are made by a position with ordination rights")
        }
        let session = user.data(gateway, action: "ordination-form")
        let (shown, access) = try await header(patientID: patientID, session: session)
        guard let banner = shown else { return try await accessPage(patientID: patientID, status: access, user: user, form: [:], errors: [:]) }
        var context = layout(user, title: "Ny ordination – \(banner["name"] as? String ?? "")")
        context["banner"] = banner
        context["patientID"] = patientID
        context["patientTabs"] = patientTabs(current: "lakemedel")
        for key in ["product", "dose", "unit", "start", "end", "reason", "indication", "maxPerDay", "draftID", "fingerprint"] { context[key] = values[key] ?? "" }
        context.merge(DosageForm.context(values, kinds: Self.dosageKinds)) { _, new in new }
        for (field, text) in errors { context["error_\(field)"] = text }
        context["hasErrors"] = !errors.isEmpty
        context["message"] = message ?? ""
        let reasons = try medication.overrideReasons()
        context["cards"] = cards.map { card -> [String: Any] in
            ["uuid": card.uuid, "summary": card.summary, "detail": card.detail ?? "", "source": card.sourceLabel,
             "indicator": card.indicator.rawValue, "swedish": Self.indicatorText(card.indicator),
             "decide": signing && card.indicator != .info, "critical": card.indicator == .critical,
             "reasons": reasons.map { ["code": $0.code, "display": $0.display, "selected": values["reason-\(card.uuid)"] == $0.code] as [String: Any] },
             "comment": values["comment-\(card.uuid)"] ?? ""]
        }
        context["signing"] = signing
        // The cards decided at signing travel with the form, tied to this draft by its fingerprint.
        context["cards_ids"] = values["cards"] ?? cards.filter { $0.indicator != .info }.map(\.uuid).joined(separator: ",")
        return pages.page("ordination", context, status: status)
    }

    static func indicatorText(_ indicator: DecisionCard.Indicator) -> String {
        switch indicator {
        case .critical: "Allvarlig varning"
        case .warning: "Varning"
        case .info: "Information"
        }
    }

    func submit(patientID: String, _ user: User) async throws -> Response {
        let values = user.form
        let session = user.data(gateway, action: "ordination-form")
        let (draft, errors) = try await Self.draft(values, patientID: patientID, user: user, terminology: terminology, session: session)
        guard let draft, errors.isEmpty else {
            return try await render(patientID: patientID, user, values: values, errors: errors,
                                    message: "Ordinationen är inte komplett: rätta fälten som är markerade.", status: .badRequest)
        }
        let fingerprint = Self.fingerprint(draft)
        var shown = values
        shown["fingerprint"] = fingerprint
        if values["action"] != "signera" {
            let cards = try await check("order-select", draft: draft, patientID: patientID, session: session)
            return try await render(patientID: patientID, user, values: shown, cards: cards,
                                    message: cards.isEmpty ? "Inga varningar för det valda läkemedlet." : nil)
        }
        // Cards already shown for exactly this draft are decided now; any change runs the checks again.
        let decided = values["fingerprint"] == fingerprint ? (values["cards"] ?? "").split(separator: ",").map(String.init) : []
        if decided.isEmpty {
            let cards = try await check("order-sign", draft: draft, patientID: patientID, session: session)
            if cards.contains(where: { $0.indicator != .info }) {
                shown["cards"] = cards.filter { $0.indicator != .info }.map(\.uuid).joined(separator: ",")
                return try await render(patientID: patientID, user, values: shown, cards: cards, signing: true,
                                        message: "Läkemedelskontrollen har varningar. Ta ställning till dem och signera igen, eller ändra ordinationen.",
                                        status: .ok)
            }
        } else {
            let reasons = try medication.overrideReasons()
            var feedback: [HookFeedback] = []
            var cards: [DecisionCard] = []
            var missingReason = false
            let now = Instant.format(milliseconds: Instant.now())
            for uuid in decided {
                guard let issue = try await session.read(type: "DetectedIssue", id: uuid)?.object else { continue }
                cards.append(Self.card(uuid, issue))
                let reason = reasons.first { $0.code == values["reason-\(uuid)"] }
                let comment = (values["comment-\(uuid)"] ?? "").trimmingCharacters(in: .whitespaces)
                if issue["severity"]?.stringValue == "high", reason == nil, comment.isEmpty { missingReason = true }
                feedback.append(HookFeedback(card: uuid, outcome: .overridden, overrideReason: reason.map { ($0.system, $0.code, $0.display) },
                                             userComment: comment.isEmpty ? nil : comment, outcomeTimestamp: now))
            }
            if missingReason {
                return try await render(patientID: patientID, user, values: shown, cards: cards, signing: true,
                                        message: "Ange orsak för varje allvarlig varning innan du signerar.", status: .badRequest)
            }
            if let service = medication.decisionSupport.first(where: { $0.descriptor.hook == "order-sign" }) {
                try await service.feedback(feedback, session: session)
            }
        }
        var order = draft
        order["status"] = .string("active")
        do {
            _ = try await session.commit(.create(order, type: "MedicationRequest", id: values["draftID"].flatMap { $0.isEmpty ? nil : $0 } ?? UUID().uuidString.lowercased()))
        } catch let error as FHIRError where error.category != .forbidden {
            return try await render(patientID: patientID, user, values: shown, message: Self.said(error), status: .badRequest)
        }
        return Self.redirect("/patienter/\(Self.encoded(patientID))/lakemedel?klar=" + Self.encoded("Ordinationen är signerad."))
    }

    /// A card as its stored DetectedIssue says it (for showing it again).
    static func card(_ uuid: String, _ issue: JSONObject) -> DecisionCard {
        let lines = (issue["detail"]?.stringValue ?? "").split(separator: "\n", maxSplits: 1).map(String.init)
        return DecisionCard(uuid: uuid, summary: lines.first ?? "", detail: lines.count > 1 ? lines[1] : nil,
                            indicator: issue["severity"]?.stringValue == "high" ? .critical : .warning,
                            sourceLabel: issue.extensionValue("https://karna.se/fhir/StructureDefinition/beslutsstod-kalla")?.stringValue ?? "")
    }

    /// Runs one of the medication module's hooks on the draft, as the user.
    func check(_ hook: String, draft: JSONObject, patientID: String, session: PatientDataSession) async throws -> [DecisionCard] {
        guard let service = medication.decisionSupport.first(where: { $0.descriptor.hook == hook }) else { return [] }
        var context = JSONObject([("patientId", .string(patientID)), ("userId", .string(session.principal.reference))])
        context["draftOrders"] = FHIR.object([("resourceType", .string("Bundle")), ("type", .string("collection")),
                                              ("entry", .array([FHIR.object([("resource", .object(draft))])]))])
        if hook == "order-select" { context["selections"] = .array([.string("MedicationRequest/\(draft["id"]?.stringValue ?? "")")]) }
        return try await service.call(HookCall(hook: hook, hookInstance: UUID().uuidString.lowercased(), context: context), session: session)
    }

    /// The draft MedicationRequest from the form, or what is missing or wrong per field.
    static func draft(_ values: [String: String], patientID: String, user: User, terminology: TerminologyService,
                      session: PatientDataSession, kinds: [DosageForm.Kind] = dosageKinds) async throws -> (JSONObject?, [String: String]) {
        var errors: [String: String] = [:]
        func text(_ key: String) -> String { (values[key] ?? "").trimmingCharacters(in: .whitespaces) }
        let catalogue = terminology.codeSystem(NPLCatalogue.system)
        let productCode = String(text("product").prefix { $0 != " " })
        let product = catalogue?.concepts[productCode]
        if text("product").isEmpty {
            errors["product"] = "Välj ett läkemedel."
        } else if product == nil {
            errors["product"] = "Läkemedlet finns inte i läkemedelskatalogen. Välj ett av förslagen."
        } else if product?.inactive == true {
            errors["product"] = "\(product?.display ?? "Läkemedlet") är avregistrerat eller har utgått och kan inte ordineras."
        }
        let (dosage, dosageErrors) = DosageForm.dosage(values, kinds: kinds)
        errors.merge(dosageErrors) { a, _ in a }
        if text("reason").isEmpty { errors["reason"] = "Ange ordinationsorsak." }
        guard errors.isEmpty, let product, let dosage, let roleID = user.assignment?.id else { return (nil, errors) }

        var codings: [JSONValue] = [FHIR.object([("system", .string(NPLCatalogue.system)), ("code", .string(product.code)), ("display", .string(product.display))])]
        if let atc = product.property("atc") { codings.append(FHIR.object([("system", .string(KnownSystems.atc)), ("code", .string(atc))])) }
        let stay = try await InpatientStay.current(patientID: patientID, session: session)
        var order = JSONObject([("resourceType", .string("MedicationRequest"))])
        order["id"] = .string(values["draftID"].flatMap { $0.isEmpty ? nil : $0 } ?? UUID().uuidString.lowercased())
        order["status"] = .string("draft")
        order["intent"] = .string("order")
        order["category"] = .array([FHIR.concept("http://terminology.hl7.org/CodeSystem/medicationrequest-category", stay == nil ? "outpatient" : "inpatient")])
        order["medicationCodeableConcept"] = FHIR.object([("coding", .array(codings)), ("text", .string(product.display))])
        order["subject"] = FHIR.object([("reference", .string("Patient/\(patientID)"))])
        if let stay { order["encounter"] = FHIR.object([("reference", .string("Encounter/\(stay.id)"))]) }
        order["authoredOn"] = .string(Instant.format(milliseconds: Instant.now()))
        order["requester"] = FHIR.object([("reference", .string("PractitionerRole/\(roleID)")), ("display", .string(user.principal.displayName))])
        order["reasonCode"] = .array([FHIR.object([("text", .string(text("reason")))])])
        order["dosageInstruction"] = .array(dosage.map(JSONValue.object))
        return (order, [:])
    }

    /// A stable fingerprint of what the draft orders (FNV-1a over its JSON, id, time and status aside), so
    /// cards shown for one draft are not taken as decided for another.
    static func fingerprint(_ draft: JSONObject) -> String {
        var content = draft
        for key in ["id", "status", "authoredOn"] { content[key] = nil }
        var hash: UInt64 = 0xcbf29ce484222325
        for byte in JSONWriter.bytes(.object(content)) {
            hash ^= UInt64(byte)
            hash = hash &* 0x100000001b3
        }
        return String(hash, radix: 16)
    }
}
