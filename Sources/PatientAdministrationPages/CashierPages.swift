import Access
import FHIRCore
import Foundation
import Hummingbird
import WebApp
import PatientAdministration
import StoreModel

/// Kassan: today's care contacts at the unit with what is unpaid, taking the fee for one (the
/// högkostnadsskydd and frikort applied by the cashier module), the receipt, and the day's report.
extension AdministrationPages {
    func cashierPage(_ request: Request, _ user: User) async throws -> Response {
        guard let assignment = user.assignment else { throw FHIRError(.forbidden, code: .forbidden, "no assignment was chosen at login") }
        let session = user.data(gateway, action: "cashier")
        let records = Records(session: session)
        let today = SwedishTime.today
        let contacts = try await records.search("Encounter", [
            ("service-provider", "Organization/\(assignment.unitID)"),
            ("date", "ge" + Instant.format(milliseconds: SwedishTime.instant(day: today, minuteOfDay: 0))),
            ("date", "lt" + Instant.format(milliseconds: SwedishTime.instant(day: today + 1, minuteOfDay: 0))),
            ("status:not", "cancelled"), ("status:not", "entered-in-error"), ("status:not", "planned"), ("_sort", "-date"),
        ], limit: settings.maximumBookRows)
        // Which of them are paid, in one search.
        let charges = contacts.isEmpty ? [] : try await records.search("ChargeItem", [("context", contacts.map { "Encounter/\($0.id)" }.joined(separator: ","))],
                                                                         limit: contacts.count * 2)
        let paid = Set(charges.filter { Cashier.stands($0.object) }.compactMap { Display.id($0.object["context"], type: "Encounter") })
        let patients = Dictionary(try await session.read(keys: Set(contacts.compactMap { Display.id($0.object["subject"], type: "Patient") }).sorted()
            .map { ResourceKey(type: "Patient", id: $0) }).map { ($0.id, $0.object) }, uniquingKeysWith: { a, _ in a })
        var context = layout(user, title: "Kassa", nav: "navCashier")
        context["unitName"] = assignment.unitName
        context["today"] = Self.dayName(today)
        context["contacts"] = contacts.map { contact -> [String: Any] in
            let patient = Display.id(contact.object["subject"], type: "Patient").flatMap { patients[$0] }
            return ["id": contact.id, "time": Display.clock(contact.object["period"]?.objectValue?["start"]?.stringValue),
                    "patientName": patient.map(Display.name) ?? "Patient utan åtkomst", "identity": patient.flatMap(Display.identity)?.value ?? "",
                    "visit": Display.concept(contact.object["type"]?.arrayValue?.first), "paid": paid.contains(contact.id),
                    // A contact without a visit type is charged once the cashier names it on the payment page.
                    "noVisitType": contact.object.code("type", system: AdministrationCodes.visitType) == nil]
        }
        return pages.page("cashier", context)
    }

    /// The fee for one care contact: what the patient has paid in the period, exemptions, frikort.
    func paymentPage(encounterID: String, _ user: User, error: String? = nil, method: String? = nil, chosenVisit: String? = nil) async throws -> Response {
        let session = user.data(gateway, action: "cashier")
        let records = Records(session: session)
        let contact = try await records.require("Encounter", encounterID).object
        guard let patientID = Display.id(contact["subject"], type: "Patient") else {
            throw FHIRError(.invalid, code: .value, "Encounter/\(encounterID) has no patient")
        }
        let patient = try await records.require("Patient", patientID).object
        async let status = administration.cashier.feeStatus(patientID: patientID, session: session)
        async let schedule = administration.cashier.schedule(session: session)
        async let charges = records.search("ChargeItem", [("context", "Encounter/\(encounterID)")], limit: 50)
        async let receipts = administration.cashier.history(patientID: patientID, limit: settings.maximumBookRows, session: session)
        let (fees, feeSchedule, allCharges, history) = try await (status, schedule, charges, receipts)
        let paid = allCharges.filter { Cashier.stands($0.object) }
        let visit = contact.code("type", system: AdministrationCodes.visitType).flatMap(VisitType.init(rawValue:))
        var context = layout(user, title: "Ta betalt", nav: "navCashier")
        context["encounterID"] = encounterID
        context["patientName"] = Display.name(patient)
        context["identity"] = Display.identity(patient)?.value ?? ""
        context["visit"] = visit?.display ?? Display.concept(contact["type"]?.arrayValue?.first)
        context["fee"] = visit.flatMap { feeSchedule.fees[$0.rawValue] } ?? 0
        // No visit type on the contact: the cashier chooses it here, each with its fee, instead of meeting a refusal.
        context["chooseVisit"] = [[String: Any]]()
        if visit == nil {
            context["chooseVisit"] = VisitType.allCases.map {
                ["code": $0.rawValue, "name": $0.display, "fee": feeSchedule.fees[$0.rawValue] ?? 0, "checked": chosenVisit == $0.rawValue] as [String: Any]
            }
        }
        // Why a visit costs nothing, said before the payment rather than discovered on the receipt.
        if let visit, (feeSchedule.fees[visit.rawValue] ?? 0) == 0 { context["zeroReason"] = "Taxan har ingen avgift för \(visit.display.lowercased())." }
        context["paidInPeriod"] = fees.paid
        context["ceiling"] = fees.ceiling
        if let number = fees.frikortNumber { context["frikort"] = "\(number), giltigt till och med \(fees.frikortValidUntil ?? "")" }
        if let exemption = fees.exemption { context["exemption"] = exemption }
        if let period = fees.periodStart { context["period"] = "\(period) – \(fees.periodEnd ?? "")" }
        context["alreadyPaid"] = !paid.isEmpty
        if let charge = paid.first, let line = history.first(where: { $0.chargeID == charge.id }) { context["paidReceiptHref"] = "/kassa/kvitto/\(line.invoiceID)" }
        // The högkostnadsskydd history: every receipt with what it counted, so a 0 kr or a reduced fee explains itself.
        context["history"] = history.map(Self.historyRow)
        context["methods"] = [(Cashier.Method.card, "Kort"), (.cash, "Kontant"), (.swish, "Swish"), (.invoice, "Faktura")].map {
            ["value": $0.0.rawValue, "text": $0.1, "checked": (method ?? Cashier.Method.card.rawValue) == $0.0.rawValue] as [String: Any]
        }
        if let error { context["error"] = error }
        return pages.page("payment", context, status: error == nil ? .ok : .badRequest)
    }

    func takePayment(encounterID: String, _ user: User) async throws -> Response {
        let chosenVisit = user.form["visitType"].flatMap { $0.isEmpty ? nil : $0 }
        guard let method = user.form["method"].flatMap(Cashier.Method.init(rawValue:)) else {
            return try await paymentPage(encounterID: encounterID, user, error: "Välj betalsätt.", chosenVisit: chosenVisit)
        }
        let session = user.data(gateway, action: "cashier")
        let payment: Cashier.Payment
        do {
            payment = try await administration.cashier.pay(encounterID: encounterID, method: method, visitType: chosenVisit.flatMap(VisitType.init(rawValue:)),
                                                           session: session)
        } catch let error as FHIRError where error.category == .conflict || error.category == .invalid {
            return try await paymentPage(encounterID: encounterID, user, error: Self.said(error), method: method.rawValue, chosenVisit: chosenVisit)
        }
        var context = layout(user, title: "Kvitto \(payment.receiptNumber)", nav: "navCashier")
        context["receiptNumber"] = payment.receiptNumber
        context["fee"] = payment.fee
        context["charged"] = payment.charged
        if let reason = payment.reason { context["reason"] = reason }
        context["paidInPeriod"] = payment.status.paid
        context["ceiling"] = payment.status.ceiling
        context["frikortIssued"] = payment.frikortIssued
        if let number = payment.status.frikortNumber { context["frikort"] = "\(number), giltigt till och med \(payment.status.frikortValidUntil ?? "")" }
        context["receipt"] = try await administration.cashier.receipt(invoiceID: payment.invoice.id, session: session)
        context["receiptHref"] = "/kassa/kvitto/\(payment.invoice.id)"
        return pages.page("receipt", context)
    }

    /// A receipt of a history line, as the desk's tables show it.
    static func historyRow(_ line: Cashier.HistoryLine) -> [String: Any] {
        let states: [Cashier.ReceiptState: String] = [.paid: "Betald", .voided: "Makulerad", .refunded: "Återbetald", .credit: "Kreditkvitto"]
        return ["href": "/kassa/kvitto/\(line.invoiceID)", "number": line.receiptNumber, "time": Display.time(line.instant),
                "unit": line.unitID.map { Display.named("Organization/\($0)") } ?? "", "visit": line.visit, "amount": line.amount,
                "reason": line.reason ?? "", "state": states[line.state] ?? "", "corrected": line.state != .paid,
                "correction": line.correction ?? "", "method": line.method.capitalized]
    }

    /// One receipt: reprint, and the corrections the desk may make (void today, pay back later).
    func receiptPage(invoiceID: String, _ user: User, error: String? = nil, notice: String? = nil, reason: String? = nil, refundMethod: String? = nil) async throws -> Response {
        let session = user.data(gateway, action: "receipt")
        let records = Records(session: session)
        let invoice = try await records.require("Invoice", invoiceID)
        var charge: JSONObject?
        if let chargeID = Cashier.chargeID(invoice.object) { charge = try await records.optional("ChargeItem", chargeID)?.object }
        let line = administration.cashier.line(invoice, charge: charge)
        var context = layout(user, title: "Kvitto \(line.receiptNumber)", nav: "navCashier")
        context["line"] = Self.historyRow(line)
        context["invoiceID"] = invoiceID
        context["receipt"] = try await administration.cashier.receipt(invoiceID: invoiceID, session: session)
        context["mayVoid"] = line.mayVoid
        context["mayRefund"] = line.mayRefund
        context["reason"] = reason ?? ""
        context["refundMethods"] = [(Cashier.Method.cash, "Kontant"), (.card, "Kort"), (.swish, "Swish"), (.invoice, "Kreditfaktura")].map {
            ["value": $0.0.rawValue, "text": $0.1, "checked": (refundMethod ?? line.method) == $0.0.rawValue] as [String: Any]
        }
        if let patient = try await records.optional("Patient", line.patientID)?.object {
            context["patientName"] = Display.name(patient)
            context["identity"] = Display.identity(patient)?.value ?? ""
        }
        if let error { context["error"] = error }
        if let notice { context["notice"] = notice }
        return pages.page("receipt-detail", context, status: error == nil ? .ok : .badRequest)
    }

    /// Makulera or återbetala, then back to the receipt (the credit receipt after a refund).
    func correctReceipt(invoiceID: String, refund: Bool, _ user: User) async throws -> Response {
        let reason = user.form["reason"] ?? ""
        let method = user.form["method"].flatMap(Cashier.Method.init(rawValue:))
        if refund && method == nil {
            return try await receiptPage(invoiceID: invoiceID, user, error: "Välj hur avgiften betalas tillbaka.", reason: reason)
        }
        let session = user.data(gateway, action: refund ? "refund" : "void-receipt")
        let line: Cashier.HistoryLine
        do {
            line = refund ? try await administration.cashier.refund(invoiceID: invoiceID, reason: reason, method: method, session: session)
                : try await administration.cashier.void(invoiceID: invoiceID, reason: reason, session: session)
        } catch let error as FHIRError where error.category == .conflict || error.category == .invalid {
            return try await receiptPage(invoiceID: invoiceID, user, error: Self.said(error), reason: reason, refundMethod: method?.rawValue)
        }
        return Self.redirect("/kassa/kvitto/\(line.invoiceID)?klar=\(refund ? "aterbetald" : "makulerad")")
    }

    /// Dagsredovisning: the unit's payments on a day, per method.
    func dailyReportPage(_ request: Request, _ user: User) async throws -> Response {
        guard let assignment = user.assignment else { throw FHIRError(.forbidden, code: .forbidden, "no assignment was chosen at login") }
        let day = Self.query(request)["dag"].flatMap(SwedishTime.parseDay) ?? SwedishTime.today
        let report = try await administration.cashier.dailyReport(unitID: assignment.unitID, day: day, session: user.data(gateway, action: "daily-report"))
        var context = layout(user, title: "Dagsredovisning \(report.day)", nav: "navCashier")
        context["unitName"] = assignment.unitName
        context["dayText"] = Self.dayName(day)
        context["count"] = report.count
        context["total"] = report.total
        context["free"] = report.free
        context["paymentsText"] = report.count == 1 ? "1 betalning" : "\(report.count) betalningar"
        if report.refunds > 0 {
            context["refundsText"] = report.refunds == 1 ? "1 återbetalning på \(report.refunded) kr är dragen."
                : "\(report.refunds) återbetalningar på sammanlagt \(report.refunded) kr är dragna."
        }
        if report.voided > 0 { context["voidedText"] = report.voided == 1 ? "1 makulerat kvitto räknas inte." : "\(report.voided) makulerade kvitton räknas inte." }
        context["methods"] = report.byMethod.sorted { $0.key < $1.key }.map { ["method": $0.key.capitalized, "count": $0.value.count, "amount": $0.value.amount] as [String: Any] }
        let charges = Dictionary(try await user.data(gateway, action: "daily-report").read(keys: Set(report.invoices.compactMap { Cashier.chargeID($0.object) }).sorted()
            .map { ResourceKey(type: "ChargeItem", id: $0) }).map { ($0.id, $0.object) }, uniquingKeysWith: { a, _ in a })
        context["receipts"] = report.invoices.map { invoice -> [String: Any] in
            var row = Self.historyRow(administration.cashier.line(invoice, charge: Cashier.chargeID(invoice.object).flatMap { charges[$0] }))
            row["time"] = Display.clock(invoice.object["date"]?.stringValue)
            return row
        }
        context["previousHref"] = "/kassa/dagsrapport?dag=\(SwedishTime.formatDay(day - 1))"
        context["nextHref"] = "/kassa/dagsrapport?dag=\(SwedishTime.formatDay(day + 1))"
        return pages.page("daily-report", context)
    }
}
