import Access
import FHIRCore
import Foundation
import StoreModel

/// Kassan: fees at check-in or afterwards, receipts, the högkostnadsskydd and frikort, the daily
/// report and the invoice export. A payment writes ChargeItem (the fee), Invoice (the receipt) and
/// the patient's högkostnadsskydd Account in one commit; the Account is changed with If-Match, so
/// two payments at once for the same patient are serialised and the ceiling is never passed.
public struct Cashier: Sendable {
    public let settings: AdministrationSettings
    /// The configuration key of the fee schedule.
    public static let configurationKey = "fee-schedule"

    public init(settings: AdministrationSettings) {
        self.settings = settings
    }

    /// The region's fee schedule, or the defaults when none is configured.
    public func schedule(session: PatientDataSession) async throws -> FeeSchedule {
        guard let bytes = try await session.configuration(Self.configurationKey) else { return .defaults }
        return try JSONDecoder().decode(FeeSchedule.self, from: Data(bytes))
    }

    /// Replaces the fee schedule (systemförvaltare), audited.
    public func configure(_ schedule: FeeSchedule, session: PatientDataSession) async throws {
        try schedule.validate()
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let bytes = [UInt8](try encoder.encode(schedule))
        try await session.configure(Self.configurationKey, json: bytes, summary: "fees \(schedule.fees.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")); ceilings \(schedule.ceilings.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","))")
    }

    /// Where a patient stands: paid in the period, the ceiling, the frikort.
    public struct FeeStatus: Sendable {
        public var patientID: String
        public var periodStart: String?
        public var periodEnd: String?
        public var paid: Int
        public var ceiling: Int
        public var frikortNumber: String?
        public var frikortValidUntil: String?
        public var hasFrikort: Bool { frikortNumber != nil }
        /// Why the patient pays nothing regardless (age), if so.
        public var exemption: String?
    }

    static func accountID(_ patientID: String) -> String { String("hks-\(patientID)".prefix(64)) }

    /// The högkostnadsskydd status on `day` (default today).
    public func feeStatus(patientID: String, day: Int? = nil, session: PatientDataSession) async throws -> FeeStatus {
        let records = Records(session: session)
        let patient = try await records.require("Patient", patientID, role: "patient").object
        let schedule = try await schedule(session: session)
        let day = day ?? SwedishTime.today
        let account = try await records.optional("Account", Self.accountID(patientID))?.object
        var status = FeeStatus(patientID: patientID, paid: 0, ceiling: schedule.ceiling(year: CivilCalendar.date(fromDaysSince1970: day).year))
        status.exemption = Self.exemption(patient: patient, day: day, schedule: schedule)
        if let account, let period = Self.period(account), period.end >= day {
            status.periodStart = SwedishTime.formatDay(period.start)
            status.periodEnd = SwedishTime.formatDay(period.end)
            status.paid = Int(account.extensionValue(AdministrationCodes.accumulated)?.objectValue?["value"]?.numberText ?? "0") ?? 0
            status.ceiling = schedule.ceiling(year: CivilCalendar.date(fromDaysSince1970: period.start).year)
            if let frikort = account.extensionValue(AdministrationCodes.frikort)?.stringValue {
                status.frikortNumber = frikort
                status.frikortValidUntil = status.periodEnd
            }
        }
        return status
    }

    static func period(_ account: JSONObject) -> (start: Int, end: Int)? {
        guard let period = account["servicePeriod"]?.objectValue, let start = period["start"]?.stringValue.flatMap(SwedishTime.parseDay),
              let end = period["end"]?.stringValue.flatMap(SwedishTime.parseDay) else { return nil }
        return (start, end)
    }

    /// Age on a day from the birth date, if known.
    static func age(_ patient: JSONObject, on day: Int) -> Int? {
        guard let birth = patient["birthDate"]?.stringValue, let date = FHIRDateTime.parse(birth, allowTime: false), date.precision >= .day else { return nil }
        let today = CivilCalendar.date(fromDaysSince1970: day)
        var age = today.year - date.year
        if (today.month, today.day) < (date.month, date.day) { age -= 1 }
        return age
    }

    static func exemption(patient: JSONObject, day: Int, schedule: FeeSchedule) -> String? {
        guard let age = age(patient, on: day) else { return nil }
        if age < schedule.freeBelowAge { return "under \(schedule.freeBelowAge) år" }
        if age >= schedule.freeFromAge { return "\(schedule.freeFromAge) år eller äldre" }
        return nil
    }

    /// How a fee is paid.
    public enum Method: String, Sendable, CaseIterable {
        case cash = "kontant", card = "kort", invoice = "faktura", swish
    }

    /// What a payment did.
    public struct Payment: Sendable {
        public var invoice: StoredResource
        public var receiptNumber: String
        public var fee: Int
        public var charged: Int
        public var reason: String?
        public var status: FeeStatus
        public var frikortIssued: Bool
    }

    /// Takes the fee for a care contact: looks up the fee, applies age exemption, frikort and the ceiling,
    /// and writes fee, receipt and the högkostnadsskydd in one commit. A contact is paid once.
    public func pay(encounterID: String, method: Method, visitType explicitType: VisitType? = nil, session: PatientDataSession) async throws -> Payment {
        try await retryingConflicts { try await payOnce(encounterID: encounterID, method: method, visitType: explicitType, session: session) }
    }

    private func payOnce(encounterID: String, method: Method, visitType explicitType: VisitType?, session: PatientDataSession) async throws -> Payment {
        let records = Records(session: session)
        let encounter = try await records.require("Encounter", encounterID, role: "encounter").object
        guard let patientID = encounter.referenceID("subject", type: "Patient") else { throw refused("Encounter/\(encounterID) has no patient", text: "Kontakten har ingen patient.") }
        guard !["cancelled", "entered-in-error", "planned"].contains(encounter["status"]?.stringValue ?? "") else {
            throw refused("Encounter/\(encounterID) is \(encounter["status"]?.stringValue ?? "") — only a contact that took place is paid for", text: "Bara en kontakt som har ägt rum kan betalas.")
        }
        // The account first: a payment of this contact committed after this read changes the account,
        // so the write below (if-match on this version) fails and the retry sees that payment's charge.
        // Read after the charge check, a payment committed in between went unseen and the contact was
        // paid twice (the concurrency test caught it now and then).
        let accountID = Self.accountID(patientID)
        let stored = try await records.optional("Account", accountID)
        // A voided or paid-back fee leaves the contact unpaid: it may be charged again, with the right visit type.
        let existing = try await records.search("ChargeItem", [("context", "Encounter/\(encounterID)")], limit: 50)
        if let paid = existing.first(where: { Self.stands($0.object) }) {
            throw refused("Encounter/\(encounterID) is already paid (ChargeItem/\(paid.id)); reprint the receipt instead", expression: ["encounter"], text: "Besöket är redan betalt. Skriv ut kvittot igen i stället.")
        }
        guard let visitType = explicitType ?? encounter.code("type", system: AdministrationCodes.visitType).flatMap(VisitType.init(rawValue:)) else {
            throw FHIRError(.invalid, code: .required, "the contact has no visit type; name one (visitType)", expression: ["visitType"], text: "Kontakten saknar besökstyp. Välj besökstyp för att räkna ut avgiften.")
        }
        let patient = try await records.require("Patient", patientID).object
        let schedule = try await schedule(session: session)
        let day = encounter["period"]?.objectValue?["start"]?.stringValue.flatMap(Instant.parse).map(SwedishTime.day(of:)) ?? SwedishTime.today
        let unit = encounter.referenceID("serviceProvider", type: "Organization") ?? session.principal.assignment?.unitID
        let fee = schedule.fees[visitType.rawValue] ?? 0

        var account = stored?.object.forUpdate ?? JSONObject([
            ("resourceType", .string("Account")), ("id", .string(accountID)), ("status", .string("active")),
            ("type", FHIR.concept(AdministrationCodes.accountType, "hogkostnadsskydd", "Högkostnadsskydd")),
            ("name", .string("Högkostnadsskydd")),
            ("subject", .array([FHIR.reference("Patient", patientID)])),
        ])
        var period = Self.period(account)
        var paidInPeriod = Int(account.extensionValue(AdministrationCodes.accumulated)?.objectValue?["value"]?.numberText ?? "0") ?? 0
        if let current = period, current.end < day || current.start > day {
            period = nil
            paidInPeriod = 0
        }
        let hasFrikort = period != nil && account.extensionValue(AdministrationCodes.frikort) != nil
        var charged = fee, reason: String?
        if let exemption = Self.exemption(patient: patient, day: day, schedule: schedule) {
            charged = 0
            reason = "avgiftsfri: \(exemption)"
        } else if hasFrikort {
            charged = 0
            reason = "frikort \(account.extensionValue(AdministrationCodes.frikort)?.stringValue ?? "")"
        }
        var frikortIssued = false
        if charged > 0 {
            if period == nil {
                let (year, month, date) = CivilCalendar.date(fromDaysSince1970: day)
                var endMonth = month + schedule.periodMonths, endYear = year
                while endMonth > 12 { endMonth -= 12; endYear += 1 }
                let end = CivilCalendar.daysSince1970(year: endYear, month: endMonth, day: min(date, FHIRDateTime.daysIn(month: endMonth, year: endYear))) - 1
                period = (day, end)
                account.setExtension(AdministrationCodes.frikort, "valueString", nil)
            }
            let ceiling = schedule.ceiling(year: CivilCalendar.date(fromDaysSince1970: period!.start).year)
            charged = min(charged, max(0, ceiling - paidInPeriod))
            if charged < fee { reason = "högkostnadsskyddets tak \(ceiling) kr" }
            paidInPeriod += charged
            if paidInPeriod >= ceiling {
                let number = try await session.nextNumber(series: "frikort-\(CivilCalendar.date(fromDaysSince1970: day).year)")
                account.setExtension(AdministrationCodes.frikort, "valueString", .string("FK-\(CivilCalendar.date(fromDaysSince1970: day).year)-\(number)"))
                frikortIssued = true
            }
        }
        if let period {
            account["servicePeriod"] = FHIR.object([("start", .string(SwedishTime.formatDay(period.start))), ("end", .string(SwedishTime.formatDay(period.end)))])
            account.setExtension(AdministrationCodes.accumulated, "valueMoney", FHIR.money(paidInPeriod))
        }
        let receiptNumber = "K\(try await session.nextNumber(series: "receipt"))"
        let chargeID = UUID().uuidString.lowercased(), invoiceID = UUID().uuidString.lowercased()
        let now = Instant.now()
        var charge = JSONObject([
            ("resourceType", .string("ChargeItem")), ("id", .string(chargeID)), ("status", .string("billed")),
            ("code", FHIR.concept(AdministrationCodes.visitType, visitType.rawValue, visitType.display)),
            ("subject", FHIR.reference("Patient", patientID)), ("context", FHIR.reference("Encounter", encounterID)),
            ("occurrenceDateTime", .string(SwedishTime.format(now))),
            ("enteredDate", .string(Instant.format(milliseconds: now))),
            ("priceOverride", FHIR.money(charged)),
            ("account", .array([FHIR.reference("Account", accountID)])),
        ])
        if let unit { charge["performingOrganization"] = FHIR.reference("Organization", unit) }
        if let reason { charge["overrideReason"] = .string(reason) }
        var invoice = JSONObject([
            ("resourceType", .string("Invoice")), ("id", .string(invoiceID)),
            ("identifier", .array([FHIR.object([("system", .string("https://karna.se/fhir/NamingSystem/kvittonummer")), ("value", .string(receiptNumber))])])),
            ("status", .string(method == .invoice && charged > 0 ? "issued" : "balanced")),
            ("type", FHIR.concept(AdministrationCodes.paymentMethod, method.rawValue, method.rawValue.capitalized)),
            ("subject", FHIR.reference("Patient", patientID)),
            ("date", .string(SwedishTime.format(now))),
            ("account", FHIR.reference("Account", accountID)),
            ("lineItem", .array([FHIR.object([("sequence", .number("1")), ("chargeItemReference", FHIR.reference("ChargeItem", chargeID)),
                                              ("priceComponent", .array([FHIR.object([("type", .string("base")), ("amount", FHIR.money(charged))])]))])])),
            ("totalNet", FHIR.money(charged)), ("totalGross", FHIR.money(charged)),
            ("paymentTerms", .string(method == .invoice ? "Faktura, 30 dagar" : "Betald vid besök")),
        ])
        if let unit { invoice["issuer"] = FHIR.reference("Organization", unit) }
        if let unit {
            session.tagForUnit(&charge, unit: unit)
            session.tagForUnit(&invoice, unit: unit)
            if stored == nil { session.tagForUnit(&account, unit: unit) }
        }
        let accountWrite: WriteOperation = stored.map { .update(account, type: "Account", id: accountID, ifMatch: $0.versionId) }
            ?? .create(account, type: "Account", id: accountID)
        _ = try await session.commit([accountWrite, .create(charge, type: "ChargeItem", id: chargeID), .create(invoice, type: "Invoice", id: invoiceID)])
        return Payment(invoice: try await records.require("Invoice", invoiceID), receiptNumber: receiptNumber, fee: fee, charged: charged, reason: reason,
                       status: try await feeStatus(patientID: patientID, day: day, session: session), frikortIssued: frikortIssued)
    }

    /// A receipt as text, for printing or the patient's e-mail.
    public func receipt(invoiceID: String, session: PatientDataSession) async throws -> String {
        let records = Records(session: session)
        let invoice = try await records.require("Invoice", invoiceID).object
        let number = invoice["identifier"]?.arrayValue?.first?.objectValue?["value"]?.stringValue ?? invoiceID
        let amount = invoice["totalGross"]?.objectValue?["value"]?.numberText ?? "0"
        let unitName = try await invoice.referenceID("issuer", type: "Organization").asyncMap { try await records.optional("Organization", $0)?.object["name"]?.stringValue } ?? nil
        var visit = "Besök", note: String?
        if let chargeID = invoice["lineItem"]?.arrayValue?.first?.objectValue?.referenceID("chargeItemReference", type: "ChargeItem"),
           let charge = try await records.optional("ChargeItem", chargeID)?.object {
            visit = charge["code"]?.objectValue?["coding"]?.arrayValue?.first?.objectValue?["display"]?.stringValue ?? visit
            note = charge["overrideReason"]?.stringValue
        }
        let patientID = invoice.referenceID("subject", type: "Patient") ?? ""
        let patient = try await records.optional("Patient", patientID)?.object
        let name = patient?["name"]?.arrayValue?.first?.objectValue
        let patientName = [((name?["given"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: " ")), name?["family"]?.stringValue ?? ""]
            .filter { !$0.isEmpty }.joined(separator: " ")
        let title = (Int(amount) ?? 0) < 0 ? "KREDITKVITTO" : "KVITTO"
        var lines = ["\(title) \(number)", unitName ?? "", "Datum: \((invoice["date"]?.stringValue ?? "").prefix(16).replacingOccurrences(of: "T", with: " "))",
                     "Patient: \(patientName)", "\(visit): \(amount) kr"]
        if let note { lines.append("(\(note))") }
        if let credit = invoice["note"]?.arrayValue?.first?.objectValue?["text"]?.stringValue { lines.append(credit) }
        if invoice["status"]?.stringValue == "cancelled" { lines.insert("MAKULERAT: \(invoice["cancelledReason"]?.stringValue ?? "")", at: 1) }
        lines.append("Betalsätt: \(invoice.code("type", system: AdministrationCodes.paymentMethod) ?? "")")
        let status = try await feeStatus(patientID: patientID, session: session)
        lines.append("Högkostnadsskydd: \(status.paid) av \(status.ceiling) kr" + (status.frikortNumber.map { ", frikort \($0) t.o.m. \(status.frikortValidUntil ?? "")" } ?? ""))
        return lines.filter { !$0.isEmpty }.joined(separator: "\n") + "\n"
    }

    /// Dagsredovisning: a unit's payments on one day, per method.
    public struct DailyReport: Sendable {
        public var unitID: String
        public var day: String
        public var count: Int
        public var total: Int
        public var byMethod: [String: (count: Int, amount: Int)]
        public var free: Int
        /// Credit receipts (återbetalningar): how many, and the kronor paid back (a positive number).
        public var refunds: Int
        public var refunded: Int
        /// Receipts voided on the day; they count towards nothing.
        public var voided: Int
        public var invoices: [StoredResource]
    }

    public func dailyReport(unitID: String?, day: Int, session: PatientDataSession) async throws -> DailyReport {
        let unit = try session.actingUnit(unitID)
        let from = SwedishTime.instant(day: day, minuteOfDay: 0), to = SwedishTime.instant(day: day + 1, minuteOfDay: 0)
        let invoices = try await Records(session: session).all("Invoice", [("issuer", "Organization/\(unit)"), ("date", "ge" + Instant.format(milliseconds: from)),
                                                                           ("date", "lt" + Instant.format(milliseconds: to))], maximum: 20_000)
            .sorted(by: Self.byDate)
        var report = DailyReport(unitID: unit, day: SwedishTime.formatDay(day), count: 0, total: 0, byMethod: [:], free: 0,
                                 refunds: 0, refunded: 0, voided: 0, invoices: invoices)
        for invoice in invoices {
            let object = invoice.object
            guard object["status"]?.stringValue != "cancelled" else {
                report.voided += 1
                continue
            }
            let amount = Int(object["totalGross"]?.objectValue?["value"]?.numberText ?? "0") ?? 0
            let method = object.code("type", system: AdministrationCodes.paymentMethod) ?? "okänt"
            report.total += amount
            if amount < 0 {
                report.refunds += 1
                report.refunded -= amount
            } else {
                report.count += 1
            }
            if amount == 0 { report.free += 1 }
            let current = report.byMethod[method] ?? (0, 0)
            report.byMethod[method] = (current.count + 1, current.amount + amount)
        }
        return report
    }

    /// Earliest invoice first; within one second (the receipt's precision) in the order the numbers were drawn.
    static func byDate(_ a: StoredResource, _ b: StoredResource) -> Bool {
        func key(_ invoice: StoredResource) -> (Int64, Int, String) {
            (invoice.object["date"]?.stringValue.flatMap(Instant.parse) ?? 0, Int(receiptNumber(invoice).dropFirst()) ?? 0, invoice.id)
        }
        return key(a) < key(b)
    }

    /// Invoices to send (betalsätt faktura) between two days, as CSV for the region's invoicing system.
    public func invoiceExport(fromDay: Int, toDay: Int, unitID: String?, session: PatientDataSession) async throws -> String {
        guard toDay >= fromDay, toDay - fromDay <= 366 else { throw FHIRError(.invalid, code: .value, "the export covers 0–366 days; to must be on or after from", expression: ["to"], text: "Perioden får vara högst 366 dagar, och sista dagen får inte vara före den första.") }
        var parameters: [(name: String, value: String)] = [("status", "issued"), ("type", "\(AdministrationCodes.paymentMethod)|\(Method.invoice.rawValue)"),
                                                           ("date", "ge" + Instant.format(milliseconds: SwedishTime.instant(day: fromDay, minuteOfDay: 0))),
                                                           ("date", "lt" + Instant.format(milliseconds: SwedishTime.instant(day: toDay + 1, minuteOfDay: 0)))]
        if let unitID { parameters.append(("issuer", "Organization/\(unitID)")) }
        let records = Records(session: session)
        let invoices = try await records.all("Invoice", parameters, maximum: 100_000).sorted(by: Self.byDate)
        let patients = Dictionary(try await session.read(keys: Set(invoices.compactMap { $0.object.referenceID("subject", type: "Patient") }).map { ResourceKey(type: "Patient", id: $0) })
            .map { ($0.id, $0.object) }, uniquingKeysWith: { a, _ in a })
        func field(_ text: String) -> String { text.contains(where: { ";\"\n".contains($0) }) ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text }
        var lines = ["kvittonummer;datum;personnummer;namn;adress;postnummer;ort;belopp;enhet"]
        for invoice in invoices {
            let object = invoice.object
            let patient = object.referenceID("subject", type: "Patient").flatMap { patients[$0] }
            let identity = (patient?["identifier"]?.arrayValue ?? []).compactMap(\.objectValue).first { $0["system"]?.stringValue == SwedishPersonalIdentity.personnummerSystem }?["value"]?.stringValue ?? ""
            let name = patient?["name"]?.arrayValue?.first?.objectValue
            let address = patient?["address"]?.arrayValue?.first?.objectValue
            lines.append([
                object["identifier"]?.arrayValue?.first?.objectValue?["value"]?.stringValue ?? invoice.id,
                String((object["date"]?.stringValue ?? "").prefix(10)), identity,
                [((name?["given"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: " ")), name?["family"]?.stringValue ?? ""].joined(separator: " "),
                (address?["line"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: ", "),
                address?["postalCode"]?.stringValue ?? "", address?["city"]?.stringValue ?? "",
                object["totalGross"]?.objectValue?["value"]?.numberText ?? "0",
                object.referenceID("issuer", type: "Organization") ?? "",
            ].map(field).joined(separator: ";"))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
