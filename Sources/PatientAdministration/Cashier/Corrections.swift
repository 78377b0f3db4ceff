import Access
import FHIRCore
import Foundation
import StoreModel

/// Corrections at the cash desk: a receipt voided on the day it was issued (makulering) and a fee paid
/// back later (återbetalning, a credit receipt), and the patient's history of fees towards the
/// högkostnadsskydd. Both corrections take the amount off the högkostnadsskydd in the same commit as
/// the receipt, so the ceiling and the frikort follow what the patient has really paid.
extension Cashier {
    /// A receipt's state as the desk sees it.
    public enum ReceiptState: String, Sendable {
        /// Paid and standing.
        case paid = "betald"
        /// Voided on the day: it never counted.
        case voided = "makulerad"
        /// Paid back with a credit receipt.
        case refunded = "återbetald"
        /// The credit receipt of a refund.
        case credit = "kreditkvitto"
    }

    /// One receipt in a patient's fee history.
    public struct HistoryLine: Sendable {
        public var invoiceID: String
        public var patientID: String
        public var receiptNumber: String
        public var instant: String
        public var unitID: String?
        public var visit: String
        public var amount: Int
        public var reason: String?
        public var method: String
        public var state: ReceiptState
        /// Why it was voided or refunded, or which receipt a credit pays back.
        public var correction: String?
        public var chargeID: String?
        /// May be voided: issued today, standing, not a credit.
        public var mayVoid: Bool
        /// May be paid back: a standing receipt of more than 0 kr.
        public var mayRefund: Bool
    }

    /// The patient's receipts, newest first: every payment towards the högkostnadsskydd with its corrections.
    public func history(patientID: String, limit: Int = 200, session: PatientDataSession) async throws -> [HistoryLine] {
        let records = Records(session: session)
        let invoices = try await records.search("Invoice", [("account", "Account/\(Self.accountID(patientID))"), ("_sort", "-date")], limit: limit)
            .sorted { Self.byDate($1, $0) }
        let charges = Dictionary(try await session.read(keys: Set(invoices.compactMap { Self.chargeID($0.object) }).sorted().map { ResourceKey(type: "ChargeItem", id: $0) })
            .map { ($0.id, $0.object) }, uniquingKeysWith: { a, _ in a })
        return invoices.map { line($0, charge: Self.chargeID($0.object).flatMap { charges[$0] }) }
    }

    /// One receipt as a history line.
    public func line(_ invoice: StoredResource, charge: JSONObject?) -> HistoryLine {
        let object = invoice.object
        let amount = Int(object["totalGross"]?.objectValue?["value"]?.numberText ?? "0") ?? 0
        let state: ReceiptState
        if object["status"]?.stringValue == "cancelled" { state = .voided }
        else if amount < 0 { state = .credit }
        else if charge?["status"]?.stringValue == "not-billable" { state = .refunded }
        else { state = .paid }
        let issuedToday = object["date"]?.stringValue.flatMap(Instant.parse).map(SwedishTime.day(of:)) == SwedishTime.today
        return HistoryLine(
            invoiceID: invoice.id, patientID: object.referenceID("subject", type: "Patient") ?? "", receiptNumber: Self.receiptNumber(invoice),
            instant: object["date"]?.stringValue ?? "", unitID: object.referenceID("issuer", type: "Organization"),
            visit: charge?["code"]?.objectValue?["coding"]?.arrayValue?.first?.objectValue?["display"]?.stringValue ?? "Besök",
            amount: amount, reason: charge?["overrideReason"]?.stringValue,
            method: object.code("type", system: AdministrationCodes.paymentMethod) ?? "",
            state: state,
            correction: object["cancelledReason"]?.stringValue ?? object["note"]?.arrayValue?.first?.objectValue?["text"]?.stringValue,
            chargeID: Self.chargeID(object),
            mayVoid: state == .paid && issuedToday, mayRefund: state == .paid && amount > 0)
    }

    /// The fee (ChargeItem) a receipt is for.
    public static func chargeID(_ invoice: JSONObject) -> String? {
        invoice["lineItem"]?.arrayValue?.first?.objectValue?.referenceID("chargeItemReference", type: "ChargeItem")
    }

    static func receiptNumber(_ invoice: StoredResource) -> String {
        invoice.object["identifier"]?.arrayValue?.first?.objectValue?["value"]?.stringValue ?? invoice.id
    }

    /// A charge that stands: not voided, not paid back. Only such a charge makes a contact paid.
    public static func stands(_ charge: JSONObject) -> Bool { charge["status"]?.stringValue == "billed" }

    /// Voids a receipt on the day it was issued (makulering): the receipt is cancelled, its fee no longer
    /// counts towards the högkostnadsskydd, and the contact may be paid again (with the right visit type).
    public func void(invoiceID: String, reason: String, session: PatientDataSession) async throws -> HistoryLine {
        try await retryingConflicts { try await correct(invoiceID: invoiceID, reason: reason, refundMethod: nil, session: session) }
    }

    /// Pays a fee back (återbetalning): a credit receipt of the negative amount, the fee taken off the
    /// högkostnadsskydd; the original receipt stands, marked as paid back. Returns the credit receipt.
    public func refund(invoiceID: String, reason: String, method: Method? = nil, session: PatientDataSession) async throws -> HistoryLine {
        try await retryingConflicts { try await correct(invoiceID: invoiceID, reason: reason, refundMethod: method, session: session) }
    }

    private func correct(invoiceID: String, reason rawReason: String, refundMethod: Method?, session: PatientDataSession) async throws -> HistoryLine {
        let reason = rawReason.trimmingCharacters(in: .whitespacesAndNewlines)
        let isRefund = refundMethod != nil
        guard !reason.isEmpty else {
            throw FHIRError(.invalid, code: .required, "a reason is required", expression: ["reason"],
                            text: isRefund ? "Ange varför avgiften betalas tillbaka." : "Ange varför kvittot makuleras.")
        }
        let records = Records(session: session)
        let stored = try await records.require("Invoice", invoiceID, role: "receipt")
        guard let chargeID = Self.chargeID(stored.object), let charge = try await records.optional("ChargeItem", chargeID) else {
            throw refused("Invoice/\(invoiceID) names no fee (ChargeItem)", text: "Kvittot saknar avgift och kan inte rättas.")
        }
        let current = line(stored, charge: charge.object)
        let number = current.receiptNumber
        switch current.state {
        case .voided: throw refused("Invoice/\(invoiceID) is already voided", text: "Kvitto \(number) är redan makulerat.")
        case .refunded: throw refused("Invoice/\(invoiceID) is already paid back", text: "Kvitto \(number) är redan återbetalt.")
        case .credit: throw refused("Invoice/\(invoiceID) is a credit receipt", text: "Kvitto \(number) är ett kreditkvitto och kan inte rättas.")
        case .paid: break
        }
        if !isRefund && !current.mayVoid {
            throw refused("Invoice/\(invoiceID) was issued before today; pay it back (refund) instead", text: "Kvitto \(number) är från en tidigare dag och kan inte makuleras. Betala tillbaka avgiften i stället.")
        }
        if isRefund && current.amount <= 0 {
            throw refused("Invoice/\(invoiceID) is 0 kr; there is nothing to pay back", text: "Kvitto \(number) är på 0 kr; det finns inget att betala tillbaka.")
        }

        var writes: [WriteOperation] = []
        var chargeObject = charge.object.forUpdate
        chargeObject["status"] = .string(isRefund ? "not-billable" : "entered-in-error")
        writes.append(.update(chargeObject, type: "ChargeItem", id: chargeID, ifMatch: charge.versionId))
        if let accountWrite = try await takenOff(current.amount, chargedOn: charge.object, records: records, session: session) { writes.append(accountWrite) }

        var creditID: String?
        if let method = refundMethod {
            let id = UUID().uuidString.lowercased()
            creditID = id
            let receipt = "K\(try await session.nextNumber(series: "receipt"))"
            let now = Instant.now()
            var credit = JSONObject([
                ("resourceType", .string("Invoice")), ("id", .string(id)),
                ("identifier", .array([FHIR.object([("system", .string("https://karna.se/fhir/NamingSystem/kvittonummer")), ("value", .string(receipt))])])),
                ("status", .string(method == .invoice ? "issued" : "balanced")),
                ("type", FHIR.concept(AdministrationCodes.paymentMethod, method.rawValue, method.rawValue.capitalized)),
                ("subject", FHIR.reference("Patient", current.patientID)),
                ("date", .string(SwedishTime.format(now))),
                ("account", FHIR.reference("Account", Self.accountID(current.patientID))),
                ("lineItem", .array([FHIR.object([("sequence", .number("1")), ("chargeItemReference", FHIR.reference("ChargeItem", chargeID)),
                                                  ("priceComponent", .array([FHIR.object([("type", .string("deduction")), ("amount", FHIR.money(-current.amount))])]))])])),
                ("totalNet", FHIR.money(-current.amount)), ("totalGross", FHIR.money(-current.amount)),
                ("paymentTerms", .string("Återbetalning")),
                ("note", .array([FHIR.object([("text", .string("Återbetalning av kvitto \(number): \(reason)"))])])),
            ])
            if let issuer = stored.object["issuer"] { credit["issuer"] = issuer }
            if let meta = stored.object["meta"]?.objectValue?["security"] { credit["meta"] = FHIR.object([("security", meta)]) }
            writes.append(.create(credit, type: "Invoice", id: id))
        } else {
            var invoice = stored.object.forUpdate
            invoice["status"] = .string("cancelled")
            invoice["cancelledReason"] = .string(reason)
            writes.append(.update(invoice, type: "Invoice", id: invoiceID, ifMatch: stored.versionId))
        }
        _ = try await session.commit(writes)
        let answer = try await records.require("Invoice", creditID ?? invoiceID)
        return line(answer, charge: try await records.optional("ChargeItem", chargeID)?.object)
    }

    /// The högkostnadsskydd write that takes `amount` off, if the fee was charged in the account's current
    /// period. Below the ceiling again, the frikort is withdrawn; with nothing paid, the period ends, for
    /// the period starts at the first visit that was paid for.
    private func takenOff(_ amount: Int, chargedOn charge: JSONObject, records: Records, session: PatientDataSession) async throws -> WriteOperation? {
        guard amount > 0, let accountID = charge.referenceID("subject", type: "Patient").map(Self.accountID),
              let stored = try await records.optional("Account", accountID) else { return nil }
        var account = stored.object.forUpdate
        guard let period = Self.period(account),
              let day = charge["occurrenceDateTime"]?.stringValue.flatMap(Instant.parse).map(SwedishTime.day(of:)),
              period.start <= day, day <= period.end else { return nil }
        let paid = max(0, (Int(account.extensionValue(AdministrationCodes.accumulated)?.objectValue?["value"]?.numberText ?? "0") ?? 0) - amount)
        let schedule = try await schedule(session: session)
        if paid < schedule.ceiling(year: CivilCalendar.date(fromDaysSince1970: period.start).year) {
            account.setExtension(AdministrationCodes.frikort, "valueString", nil)
        }
        if paid == 0 {
            account["servicePeriod"] = nil
            account.setExtension(AdministrationCodes.accumulated, "valueMoney", nil)
        } else {
            account.setExtension(AdministrationCodes.accumulated, "valueMoney", FHIR.money(paid))
        }
        return .update(account, type: "Account", id: accountID, ifMatch: stored.versionId)
    }
}
