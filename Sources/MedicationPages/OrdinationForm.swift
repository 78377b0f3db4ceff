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

    /// Routes a nurse or doctor picks from, as the form offers them.
    static var routes: [String] { ["Oralt", "Intravenöst", "Subkutant", "Intramuskulärt", "Rektalt", "Inhalation", "Kutant"] }
    /// The ward's named times a dose may be given at (FHIR `when`), in the day's order.
    static var times: [(code: String, label: String)] { [("MORN", "Morgon"), ("NOON", "Middag"), ("EVE", "Kväll"), ("NIGHT", "Natt")] }

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
        context["asNeeded"] = values["vidbehov"] == "ja"
        context["routes"] = Self.routes.map { ["name": $0, "selected": values["route"] == $0] as [String: Any] }
        context["times"] = Self.times.map { ["code": $0.code, "label": $0.label, "checked": values["when_\($0.code)"] == "ja"] as [String: Any] }
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
                      session: PatientDataSession) async throws -> (JSONObject?, [String: String]) {
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
        let (dosage, dosageErrors) = Self.dosage(values)
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

    /// The structured Dosage from the form's dose, unit, route, times or vid behov, start and planned end, or
    /// what is missing per field (the ordination form, the e-recept form and its live patient text share it).
    static func dosage(_ values: [String: String]) -> ([JSONObject]?, [String: String]) {
        var errors: [String: String] = [:]
        func text(_ key: String) -> String { (values[key] ?? "").trimmingCharacters(in: .whitespaces) }
        let dose = Double(text("dose").replacingOccurrences(of: ",", with: "."))
        if dose == nil || (dose ?? 0) <= 0 { errors["dose"] = "Ange dosen som ett tal större än noll." }
        if text("unit").isEmpty { errors["unit"] = "Ange dosens enhet (till exempel tablett, mg, ml)." }
        let route = text("route")
        if !routes.contains(route) { errors["route"] = "Välj administrationssätt." }
        let asNeeded = values["vidbehov"] == "ja"
        let when = times.map(\.code).filter { values["when_\($0)"] == "ja" }
        if asNeeded {
            if text("indication").isEmpty { errors["indication"] = "Ange indikation för vid behov." }
            if Int(text("maxPerDay")).map({ $0 > 0 }) != true { errors["maxPerDay"] = "Ange högsta antal doser per dygn." }
        } else if when.isEmpty {
            errors["times"] = "Välj minst en tid, eller vid behov."
        }
        let start = text("start")
        if start.count != 10 || Instant.parse(start) == nil { errors["start"] = "Ange startdatum (ÅÅÅÅ-MM-DD)." }
        let end = text("end")
        if !end.isEmpty, end.count != 10 || Instant.parse(end) == nil || end < start { errors["end"] = "Planerat slut är ett datum efter start (ÅÅÅÅ-MM-DD)." }
        guard errors.isEmpty, let dose else { return (nil, errors) }
        let quantity = FHIR.object([("value", .number(dose == dose.rounded() ? String(Int64(dose)) : String(dose))), ("unit", .string(text("unit")))])
        var bounds = JSONObject([("start", .string(start))])
        if !end.isEmpty { bounds["end"] = .string(end) }
        var repeating = JSONObject([("boundsPeriod", .object(bounds))])
        var dosage = JSONObject([("route", FHIR.object([("text", .string(route))]))])
        if asNeeded {
            dosage["asNeededCodeableConcept"] = FHIR.object([("text", .string(text("indication")))])
            dosage["maxDosePerPeriod"] = FHIR.object([
                ("numerator", FHIR.object([("value", .number(text("maxPerDay"))), ("unit", .string("dos"))])),
                ("denominator", FHIR.object([("value", .number("1")), ("unit", .string("dygn")), ("system", .string("http://unitsofmeasure.org")), ("code", .string("d"))]))])
        } else {
            repeating["when"] = .array(when.map(JSONValue.string))
        }
        // Parallel: a time given its own dose ("1 tablett morgon och 2 tabletter kväll") is its own dosage of the same step.
        let ownDoses = asNeeded ? [:] : Dictionary(uniqueKeysWithValues: when.compactMap { code -> (String, Double)? in
            guard let own = Double(text("dose_\(code)").replacingOccurrences(of: ",", with: ".")), own > 0, own != dose else { return nil }
            return (code, own)
        })
        // Steps: the first step lasts `thenDays` days, then `thenDose` at the `then_` times (a step needs its duration, not a period).
        let thenDays = Int(text("thenDays"))
        if !text("thenDays").isEmpty, (thenDays ?? 0) <= 0 { errors["thenDays"] = "Ange antal dagar för första steget." }
        let thenDose = Double(text("thenDose").replacingOccurrences(of: ",", with: "."))
        let thenWhen = times.map(\.code).filter { values["then_\($0)"] == "ja" }
        if thenDays != nil, thenDose == nil || (thenDose ?? 0) <= 0 { errors["thenDose"] = "Ange dosen efter första steget." }
        if thenDays != nil, thenWhen.isEmpty { errors["thenTimes"] = "Välj tider för steget därefter." }
        guard errors.isEmpty else { return (nil, errors) }
        func amount(_ value: Double) -> JSONValue {
            FHIR.object([("value", .number(value == value.rounded() ? String(Int64(value)) : String(value))), ("unit", .string(text("unit")))])
        }
        func step(_ dose: Double, at codes: [String], sequence: Int, bounds: (String, JSONValue)?) -> JSONObject {
            var copy = dosage
            var repeating = repeating
            repeating["boundsPeriod"] = nil
            if let bounds { repeating[bounds.0] = bounds.1 }
            if !asNeeded { repeating["when"] = .array(codes.map(JSONValue.string)) }
            copy["sequence"] = .number(String(sequence))
            copy["timing"] = FHIR.object([("repeat", .object(repeating))])
            copy["doseAndRate"] = .array([FHIR.object([("doseQuantity", amount(dose))])])
            return copy
        }
        guard !ownDoses.isEmpty || thenDays != nil else {
            dosage["timing"] = FHIR.object([("repeat", .object(repeating))])
            dosage["doseAndRate"] = .array([FHIR.object([("doseQuantity", quantity)])])
            return ([dosage], [:])
        }
        let firstBounds: (String, JSONValue) = thenDays.map { ("boundsDuration", FHIR.object([("value", .number(String($0))), ("unit", .string("d")),
                                                                                                ("system", .string("http://unitsofmeasure.org")), ("code", .string("d"))])) }
            ?? ("boundsPeriod", .object(bounds))
        var steps: [JSONObject] = []
        let plain = when.filter { ownDoses[$0] == nil }
        if !plain.isEmpty || asNeeded { steps.append(step(dose, at: plain, sequence: 1, bounds: firstBounds)) }
        for code in when where ownDoses[code] != nil { steps.append(step(ownDoses[code]!, at: [code], sequence: 1, bounds: firstBounds)) }
        if let thenDose, thenDays != nil { steps.append(step(thenDose, at: thenWhen, sequence: 2, bounds: nil)) }
        return (steps, [:])
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
