import Access
import FHIRCore
import Foundation
import Hummingbird
import Medication
import NLLClient
import StoreModel
import Terminology
import WebApp

/// E-recept in the web app: the prescription form (product as you type, the dosage, what NLL requires,
/// the patient text and the cards shown before signing), NLL's list of the patient behind the åtkomsttyp
/// dialogue with förnya, avsluta and makulera on the journal's own prescriptions, and the prescriber's
/// "ej skickade recept" with the reservrecept.
struct PrescriptionPages<Context: RequestContext>: ModulePages {
    let app: WebApp<Context>
    let medication: Medication
    let terminology: TerminologyService

    var prescribing: Prescribing { medication.prescribing }

    // MARK: The prescription form

    func form(patientID: String, _ user: User) async throws -> Response {
        let today = SwedishTime.formatDay(SwedishTime.today)
        let year = SwedishTime.formatDay(SwedishTime.today + 364)
        return try await render(patientID: patientID, user, values: ["start": today, "validUntil": year, "repeats": "1", "draftID": UUID().uuidString.lowercased()])
    }

    func render(patientID: String, _ user: User, values: [String: String], errors: [String: String] = [:], cards: [DecisionCard] = [],
                preview: String? = nil, warnings: [String] = [], message: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        guard user.principal.permissions.prescribe else {
            throw FHIRError(.forbidden, code: .forbidden, "prescriptions are written by a position with ordination rights")
        }
        let session = user.data(gateway, action: "prescription-form")
        let (shown, access) = try await header(patientID: patientID, session: session)
        guard let banner = shown else { return try await accessPage(patientID: patientID, status: access, user: user, form: [:], errors: [:]) }
        var context = layout(user, title: "Nytt e-recept – \(banner["name"] as? String ?? "")")
        context["banner"] = banner
        context["patientID"] = patientID
        context["patientTabs"] = patientTabs(current: "lakemedel")
        for key in ["product", "dose", "unit", "start", "reason", "indication", "maxPerDay", "draftID", "purpose", "repeats", "quantity",
                    "quantityUnit", "validUntil", "followUp", "pharmacy", "other", "overrideReason", "thenDays", "thenDose"] { context[key] = values[key] ?? "" }
        context["ownDoses"] = DosageForm.times.map { ["code": $0.code, "label": $0.label, "value": values["dose_\($0.code)"] ?? ""] as [String: Any] }
        context["thenTimes"] = DosageForm.times.map { ["code": $0.code, "label": $0.label, "checked": values["then_\($0.code)"] == "ja"] as [String: Any] }
        context["nllAccessTypes"] = NLLAccess.allCases.map { ["code": $0.rawValue, "name": $0.swedish, "selected": values["nllAccess"] == $0.rawValue] as [String: Any] }
        context.merge(DosageForm.context(values, kinds: DosageForm.Kind.allCases)) { _, new in new }
        for (field, text) in errors { context["error_\(field)"] = text }
        context["hasErrors"] = !errors.isEmpty
        context["message"] = message ?? ""
        context["preview"] = preview.map { $0.split(separator: "\n").map { ["line": String($0)] } } ?? []
        context["warnings"] = warnings.map { ["text": $0] }
        context["cards"] = cards.map { card -> [String: Any] in
            ["summary": card.summary, "detail": card.detail ?? "", "source": card.sourceLabel, "indicator": card.indicator.rawValue,
             "swedish": OrdinationForm<Context>.indicatorText(card.indicator), "critical": card.indicator == .critical]
        }
        context["critical"] = cards.contains { $0.indicator == .critical }
        return pages.page("recept", context, status: status)
    }

    /// The draft prescription from the form, or what is wrong per field.
    func draft(_ values: [String: String], patientID: String, user: User, session: PatientDataSession) async throws -> (JSONObject?, [String: String]) {
        var (order, errors) = try await OrdinationForm<Context>.draft(values, patientID: patientID, user: user, terminology: terminology, session: session,
                                                                   kinds: DosageForm.Kind.allCases)
        // Before 2028-09-01 an e-recept may lack its ordinationsorsak (with a warning); the rule decides after.
        errors["reason"] = nil
        func text(_ key: String) -> String { (values[key] ?? "").trimmingCharacters(in: .whitespaces) }
        if text("purpose").isEmpty { errors["purpose"] = "Ange behandlingsändamål med ord patienten förstår." }
        let repeats = Int(text("repeats"))
        if repeats == nil || repeats! < 1 { errors["repeats"] = "Ange antal uttag (minst 1)." }
        let quantity = Double(text("quantity").replacingOccurrences(of: ",", with: "."))
        if quantity == nil || quantity! <= 0 { errors["quantity"] = "Ange mängd per uttag som ett tal större än noll." }
        if text("quantityUnit").isEmpty { errors["quantityUnit"] = "Ange enhet för mängden (till exempel tablett, ml)." }
        let validUntil = text("validUntil")
        if validUntil.count != 10 || Instant.parse(validUntil) == nil { errors["validUntil"] = "Ange sista giltighetsdag (ÅÅÅÅ-MM-DD)." }
        let followUp = text("followUp")
        if !followUp.isEmpty, followUp.count != 10 || Instant.parse(followUp) == nil { errors["followUp"] = "Ange datum för uppföljning som ÅÅÅÅ-MM-DD." }
        guard errors.isEmpty, var request = order, let repeats, let quantity else { return (nil, errors) }
        if text("reason").isEmpty { request["reasonCode"] = nil }
        request["dispenseRequest"] = FHIR.object([
            ("numberOfRepeatsAllowed", .number(String(repeats - 1))),
            ("quantity", FHIR.object([("value", .number(quantity == quantity.rounded() ? String(Int64(quantity)) : String(quantity))), ("unit", .string(text("quantityUnit")))])),
            ("validityPeriod", FHIR.object([("start", .string(text("start"))), ("end", .string(validUntil))])),
        ])
        request.setExtension(Prescription.purposeExtension, "valueString", .string(text("purpose")))
        if !followUp.isEmpty { request.setExtension(Prescription.followUpExtension, "valueDate", .string(followUp)) }
        if !text("pharmacy").isEmpty { request.setExtension(Prescription.receivingPharmacyExtension, "valueString", .string(text("pharmacy"))) }
        if !text("other").isEmpty { request.setExtension(Prescription.otherInstructionExtension, "valueString", .string(text("other"))) }
        request["category"] = nil
        request["encounter"] = nil
        request["status"] = .string("active")
        return (request, [:])
    }

    func submit(patientID: String, _ user: User) async throws -> Response {
        let values = user.form
        let session = user.data(gateway, action: "prescription-form")
        let (draft, errors) = try await draft(values, patientID: patientID, user: user, session: session)
        guard let draft else {
            return try await render(patientID: patientID, user, values: values, errors: errors,
                                    message: "Receptet är inte komplett: rätta fälten som är markerade.", status: .badRequest)
        }
        // The checks count NLL's prescriptions too when the doctor names an åtkomsttyp for reading them.
        var nllDrugs: [NLLRow] = []
        var warnings: [String] = []
        if let access = values["nllAccess"].flatMap(NLLAccess.init(rawValue:)) {
            do {
                nllDrugs = try await prescribing.nationalList(patientID: patientID, access: access, session: session).rows
            } catch let error as FHIRError where error.category != .forbidden || error.description.contains("nödåtkomst") {
                warnings.append("Nationella läkemedelslistan kunde inte läsas: kontrollen gäller bara journalens läkemedel. \(Self.said(error))")
            }
        }
        if values["action"] != "signera" {
            // The patient text as it will be sent, and the cards when the product is chosen.
            let cards = try await prescribing.check("order-select", draft, patientID: patientID, nllDrugs: nllDrugs, decisionSupport: medication.decisionSupport, session: session)
            return try await render(patientID: patientID, user, values: values, cards: cards, preview: Prescription.patientText(draft), warnings: warnings,
                                    message: cards.isEmpty ? "Inga varningar för det valda läkemedlet." : nil)
        }
        do {
            let override = (values["overrideReason"] ?? "").trimmingCharacters(in: .whitespaces)
            let outcome = try await prescribing.prescribe(draft, patientID: patientID, overrideReason: override.isEmpty ? nil : override, nllDrugs: nllDrugs,
                                                          decisionSupport: medication.decisionSupport, session: session)
            let state = outcome.sent ? "Receptet är skickat till Nationella läkemedelslistan." : "Receptet är sparat men EJ SKICKAT till Nationella läkemedelslistan. Det skickas igen automatiskt; se Ej skickade recept."
            let notice = ([state] + outcome.warnings.filter { !$0.contains("ej skickat") }).joined(separator: " ")
            return Self.redirect("/patienter/\(Self.encoded(patientID))/nll?klar=" + Self.encoded(notice))
        } catch let error as FHIRError where error.category != .forbidden {
            var cards: [DecisionCard] = []
            if error.has(.businessRule), error.description.contains("läkemedelskontroll") {
                cards = try await prescribing.check("order-sign", draft, patientID: patientID, nllDrugs: nllDrugs, decisionSupport: medication.decisionSupport, session: session)
            }
            return try await render(patientID: patientID, user, values: values, cards: cards, preview: Prescription.patientText(draft), warnings: warnings,
                                    message: Self.said(error), status: .badRequest)
        }
    }

    /// The patient text as the form stands, for the page's script to show while the doctor types:
    /// `{"lines": [...]}`, or what is still missing for a dosage to say.
    func liveText(_ user: User) throws -> Response {
        let values = user.form
        let (dosage, errors) = DosageForm.dosage(values)
        var lines: [String]
        if let dosage {
            var request = JSONObject([("dosageInstruction", .array(dosage.map(JSONValue.object)))])
            for (field, url) in [("purpose", Prescription.purposeExtension), ("other", Prescription.otherInstructionExtension)] {
                let text = (values[field] ?? "").trimmingCharacters(in: .whitespaces)
                if !text.isEmpty { request.setExtension(url, "valueString", .string(text)) }
            }
            lines = Prescription.patientText(request).split(separator: "\n").map(String.init)
        } else {
            lines = ["Texten visas när dos, enhet, administrationssätt och tider är ifyllda."]
            if errors.count == 1, let only = errors.values.first { lines.append(only) }
        }
        let body = JSONValue.object(JSONObject([("lines", .array(lines.map(JSONValue.string)))]))
        return Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: JSONWriter.bytes(body))))
    }

    // MARK: NLL's list, behind the åtkomsttyp dialogue

    func nationalList(patientID: String, _ user: User, query: [String: String]) async throws -> Response {
        let session = user.data(gateway, action: "national-medication-list")
        let (shown, access) = try await header(patientID: patientID, session: session)
        guard let banner = shown else { return try await accessPage(patientID: patientID, status: access, user: user, form: [:], errors: [:]) }
        var context = layout(user, title: "Nationella läkemedelslistan – \(banner["name"] as? String ?? "")")
        context["banner"] = banner
        context["patientID"] = patientID
        context["patientTabs"] = patientTabs(current: "lakemedel")
        context["formToken"] = user.formToken
        if user.principal.permissions.prescribe { context["newPrescription"] = "/patienter/\(Self.encoded(patientID))/recept/ny" }
        if let notice = query["klar"] { context["notice"] = notice }
        let chosen = query["atkomst"].flatMap(NLLAccess.init(rawValue:))
        context["accessTypes"] = NLLAccess.allCases.map { ["code": $0.rawValue, "name": $0.swedish, "selected": $0 == chosen] as [String: Any] }
        // Only the user's own prescriptions until an åtkomsttyp is chosen.
        let accessType = chosen ?? .own
        context["accessName"] = accessType.swedish
        // NLL's rows, when NLL can be read on this åtkomsttyp; the journal's list is shown either way.
        var national: NationalList?
        do {
            national = try await prescribing.nationalList(patientID: patientID, access: accessType, session: session)
        } catch let error as FHIRError where error.category != .forbidden || error.description.contains("nödåtkomst") {
            context["listError"] = Self.said(error)
        }
        let journal = try await MedicationList.read(patientID: patientID, session: session,
                                                    reviewValidDays: try medication.administrationRules().medicationReviewValidDays)
        var fromJournal = Dictionary((national?.rows ?? []).compactMap { row in row.journal.map { ($0, row) } }, uniquingKeysWith: { a, _ in a })
        let reasons = try PrescriptionReasons.shipped()
        var rows: [[String: Any]] = []
        // The journal's list first, each source with what NLL holds of it (a prescription Kärna sent) …
        for row in journal.rows {
            for (index, source) in row.sources.enumerated() {
                let stored = source.reference.hasPrefix("MedicationRequest/")
                    ? try await session.read(type: "MedicationRequest", id: String(source.reference.dropFirst("MedicationRequest/".count))) : nil
                let sent = fromJournal.removeValue(forKey: source.reference)
                var shown = Self.row(drug: index == 0 ? row.name : "", dosage: source.dosage, source: source.label, nll: sent)
                if let stored, Prescription.isPrescription(stored.object), sent == nil {
                    shown["nllStatus"] = Prescription.sendState(stored.object) == "ej-skickad" ? "Ej skickad" : "Visas inte med vald åtkomst"
                }
                if let stored, Prescription.isPrescription(stored.object), stored.object["status"]?.stringValue == "active", user.principal.permissions.prescribe {
                    shown["journal"] = ["id": stored.id, "formToken": user.formToken, "patientID": patientID,
                                        "stopReasons": reasons.stopReasons.map { ["code": $0.code, "display": $0.display] },
                                        "cancelReasons": reasons.cancelReasons.map { ["code": $0.code, "display": $0.display] }] as [String: Any]
                }
                rows.append(shown)
            }
        }
        // … then what only NLL holds: other prescribers', and Kärna's that the journal has ended.
        for row in national?.rows ?? [] where row.journal == nil || fromJournal[row.journal!] != nil {
            rows.append(Self.row(drug: row.product, dosage: row.dosage, source: row.journal == nil ? "Annan förskrivare (NLL)" : "Förskrivning, avslutad i journalen", nll: row))
        }
        context["rows"] = rows
        context["locked"] = national?.lockedExists ?? false
        if let special = national?.specialDrugsLast24Months { context["special"] = special ? "Ja" : "Nej" }
        return pages.page("nll", context)
    }

    /// One line of the joined list: the drug, its dosage, where it comes from and what NLL holds of it.
    static func row(drug: String, dosage: String, source: String, nll: NLLRow?) -> [String: Any] {
        var shown: [String: Any] = ["drug": drug, "dosage": dosage, "source": source, "nllStatus": "–", "prescriber": "", "dispensed": ""]
        if let nll {
            shown["nllStatus"] = statusText(nll.status)
            shown["prescriber"] = nll.prescriber
            shown["dispensed"] = "\(DosageNumber.text(nll.dispensed)) \(nll.unit)"
        }
        return shown
    }

    static func statusText(_ status: String) -> String {
        ["active": "Aktiv", "stopped": "Avslutad", "cancelled": "Makulerad", "completed": "Slutexpedierad", "on-hold": "Pausad"][status] ?? status
    }

    /// Förnya, avsluta or makulera a journal prescription, from NLL's list.
    func change(_ id: String, _ user: User, action: String) async throws -> Response {
        let values = user.form
        let session = user.data(gateway, action: "prescription-\(action)")
        let patientID = values["patientID"] ?? ""
        let notice: String
        do {
            switch action {
            case "ersatt":
                let code = String((values["product"] ?? "").trimmingCharacters(in: .whitespaces).prefix { $0 != " " })
                guard let product = terminology.codeSystem(NPLCatalogue.system)?.concepts[code], !product.inactive else {
                    return Self.redirect("/patienter/\(Self.encoded(patientID))/nll?klar=" + Self.encoded("Välj ersättande läkemedel ur läkemedelskatalogen."))
                }
                var codings: [JSONValue] = [FHIR.coding(NPLCatalogue.system, product.code, product.display)]
                if let atc = product.property("atc") { codings.append(FHIR.coding(KnownSystems.atc, atc)) }
                let draft = JSONObject([("medicationCodeableConcept", FHIR.object([("coding", .array(codings)), ("text", .string(product.display))]))])
                let outcome = try await prescribing.continue(id, as: .replace, draft: draft, overrideReason: nil, decisionSupport: medication.decisionSupport, session: session)
                notice = outcome.sent ? "Receptet är ersatt och skickat." : "Receptet är ersatt men EJ SKICKAT till Nationella läkemedelslistan."
            case "parallell":
                let outcome = try await prescribing.continue(id, as: .parallel, draft: nil, overrideReason: nil, decisionSupport: medication.decisionSupport, session: session)
                notice = outcome.sent ? "Parallell förskrivning är registrerad och skickad." : "Parallell förskrivning är registrerad men EJ SKICKAD till Nationella läkemedelslistan."
            case "fornya":
                let outcome = try await prescribing.continue(id, as: .renew, draft: nil, overrideReason: nil, decisionSupport: medication.decisionSupport, session: session)
                notice = outcome.sent ? "Receptet är förnyat och skickat." : "Receptet är förnyat men EJ SKICKAT till Nationella läkemedelslistan."
            default:
                let (_, sent) = try await prescribing.end(id, cancel: action == "makulera", reason: values["reason"] ?? "", session: session)
                let done = action == "makulera" ? "makulerat" : "avslutat"
                notice = sent ? "Receptet är \(done) i Nationella läkemedelslistan." : "Receptet är \(done) i journalen men ändringen är EJ SKICKAD till Nationella läkemedelslistan."
            }
        } catch let error as FHIRError where error.category != .forbidden {
            return Self.redirect("/patienter/\(Self.encoded(patientID))/nll?klar=" + Self.encoded(Self.said(error)))
        }
        return Self.redirect("/patienter/\(Self.encoded(patientID))/nll?klar=" + Self.encoded(notice))
    }

    // MARK: Ej skickade recept

    func unsent(_ user: User, notice: String? = nil) async throws -> Response {
        guard let roleID = user.assignment?.id else { throw FHIRError(.forbidden, code: .forbidden, "the ej skickad list is a prescriber's own") }
        let session = user.data(gateway, action: "unsent-prescriptions")
        let items = try await prescribing.unsent(roleID: roleID, session: session)
        var context = layout(user, title: "Ej skickade recept", nav: "navUnsent")
        context["notice"] = notice ?? ""
        var names: [String: String] = [:]
        for patientID in Set(items.map(\.patient)) {
            names[patientID] = try await session.read(type: "Patient", id: patientID).map { Display.name($0.object) } ?? "Okänd patient"
        }
        context["items"] = items.map { item -> [String: Any] in
            ["id": item.prescription.id, "drug": item.product, "patientID": item.patient, "patientName": names[item.patient] ?? "",
             "waiting": "\(item.waitingMinutes) min",
             "overdue": item.overdue, "retrying": item.retrying, "error": item.lastError ?? "", "attempts": item.attempts, "formToken": user.formToken]
        }
        context["overdueCount"] = items.filter(\.overdue).count
        return pages.page("ej-skickade", context)
    }

    func reserve(_ id: String, _ user: User) async throws -> Response {
        let session = user.data(gateway, action: "reserve-prescription")
        let text = try await prescribing.reservePrescription(id, session: session)
        var context = layout(user, title: "Reservrecept", nav: "navUnsent")
        context["lines"] = text.split(separator: "\n", omittingEmptySubsequences: false).map { ["line": String($0)] }
        return pages.page("reservrecept", context)
    }

    func resend(_ id: String, _ user: User) async throws -> Response {
        let session = user.data(gateway, action: "send-prescription")
        let stored = try await Records(session: session).require("MedicationRequest", id)
        let notice: String
        do {
            notice = try await prescribing.send(stored, session: session) != nil ? "Receptet är skickat." : "Nationella läkemedelslistan svarar inte. Receptet ligger kvar som ej skickat."
        } catch let error as FHIRError where error.category != .forbidden {
            notice = Self.said(error)
        }
        return Self.redirect("/recept/ej-skickade?klar=" + Self.encoded(notice))
    }
}

/// "100", "2,5": a dispensed amount as a Swede writes it.
enum DosageNumber {
    static func text(_ value: Double) -> String {
        value == value.rounded() ? String(Int64(value)) : String(value).replacingOccurrences(of: ".", with: ",")
    }
}
