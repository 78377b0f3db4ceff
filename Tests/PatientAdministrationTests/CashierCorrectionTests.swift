import Access
import FHIRCore
import Foundation
import KarnaTesting
import PatientAdministration
import StoreModel
import Testing

@Suite("The cash desk's corrections: voided receipts, refunds and the högkostnadsskydd history")
struct CashierCorrectionTests {
    /// A paid contact of the specialist clinic for the patient "real".
    func paidVisit(_ clinic: Clinic, method: Cashier.Method = .card) async throws -> (encounter: String, payment: Cashier.Payment) {
        let specdoc = try await clinic.session("specdoc", action: "register-contact")
        let contact = try await clinic.administration.contacts.registerContact(patientID: "real", visitType: .doctor, unitID: nil, started: true, session: specdoc)
        let cashier = try await clinic.session("cashier", action: "pay")
        return (contact.id, try await clinic.administration.cashier.pay(encounterID: contact.id, method: method, session: cashier))
    }

    @Test("a receipt voided on the day no longer counts: the period it opened is gone, the contact is paid again, the report leaves it out",
          arguments: backends)
    func voidOnTheDay(_ backend: StoreBackend) async throws {
        let clinic = try await Clinic.make(backend)
        let cashier = clinic.administration.cashier
        let desk = try await clinic.session("cashier", action: "void-receipt")
        let (encounter, first) = try await paidVisit(clinic)
        #expect(first.charged == 200 && first.status.paid == 200 && first.status.periodStart != nil)

        let noReason = await failure { _ = try await cashier.void(invoiceID: first.invoice.id, reason: "  ", session: desk) }
        #expect(noReason?.0 == .invalid, "a void names its reason")
        let voided = try await cashier.void(invoiceID: first.invoice.id, reason: "Fel besökstyp", session: desk)
        #expect(voided.state == .voided && voided.correction == "Fel besökstyp")
        let status = try await cashier.feeStatus(patientID: "real", session: desk)
        #expect(status.paid == 0 && status.periodStart == nil, "nothing paid: the högkostnadsskydd period starts with the next paid visit")
        let twice = await failure { _ = try await cashier.void(invoiceID: first.invoice.id, reason: "igen", session: desk) }
        #expect(twice?.0 == .conflict)

        // Paid again, now as a nurse's visit.
        let again = try await cashier.pay(encounterID: encounter, method: .cash, visitType: .nurse, session: desk)
        #expect(again.status.paid == again.charged && again.receiptNumber != first.receiptNumber)
        let report = try await cashier.dailyReport(unitID: nil, day: SwedishTime.today, session: desk)
        #expect(report.count == 1 && report.voided == 1 && report.total == again.charged)
        let receipt = try await cashier.receipt(invoiceID: first.invoice.id, session: desk)
        #expect(receipt.contains("MAKULERAT: Fel besökstyp"))
        let history = try await cashier.history(patientID: "real", session: desk)
        #expect(history.map(\.state) == [.paid, .voided], "newest first: the new receipt, then the voided one")

        // A receipt of an earlier day is paid back, not voided.
        var old = try #require(try await clinic.system.read(type: "Invoice", id: again.invoice.id)).object.forUpdate
        old["date"] = .string(SwedishTime.format(Instant.now() - 86_400_000))
        _ = try await clinic.system.commit([.update(old, type: "Invoice", id: again.invoice.id)])
        let late = await failure { _ = try await cashier.void(invoiceID: again.invoice.id, reason: "För sent", session: desk) }
        #expect(late?.0 == .conflict && late?.1.contains("refund") == true)
    }

    @Test("a refund writes a credit receipt, takes the fee off the högkostnadsskydd and withdraws a frikort below the ceiling",
          arguments: backends)
    func refundBelowTheCeiling(_ backend: StoreBackend) async throws {
        let clinic = try await Clinic.make(backend)
        let cashier = clinic.administration.cashier
        let desk = try await clinic.session("cashier", action: "refund")
        var payments: [Cashier.Payment] = []
        for _ in 1...8 { payments.append(try await paidVisit(clinic).payment) }
        #expect(payments.last?.frikortIssued == true && payments.last?.status.paid == 1_450)

        let credit = try await cashier.refund(invoiceID: payments[0].invoice.id, reason: "Frikort från annan region", method: .card, session: desk)
        #expect(credit.state == .credit && credit.amount == -200 && credit.receiptNumber != payments[0].receiptNumber)
        #expect(credit.correction?.contains("Återbetalning av kvitto \(payments[0].receiptNumber)") == true)
        let status = try await cashier.feeStatus(patientID: "real", session: desk)
        #expect(status.paid == 1_250 && !status.hasFrikort, "below the ceiling again: the frikort is withdrawn")
        let text = try await cashier.receipt(invoiceID: credit.invoiceID, session: desk)
        #expect(text.hasPrefix("KREDITKVITTO") && text.contains("-200 kr"))

        let again = await failure { _ = try await cashier.refund(invoiceID: payments[0].invoice.id, reason: "igen", method: .cash, session: desk) }
        #expect(again?.0 == .conflict, "a fee is paid back once")
        let ofCredit = await failure { _ = try await cashier.refund(invoiceID: credit.invoiceID, reason: "x", method: .cash, session: desk) }
        #expect(ofCredit?.0 == .conflict, "a credit receipt is not paid back")
        let history = try await cashier.history(patientID: "real", session: desk)
        #expect(history.filter { $0.state == .refunded }.map(\.invoiceID) == [payments[0].invoice.id])
        #expect(history.first?.state == .credit)

        let report = try await cashier.dailyReport(unitID: nil, day: SwedishTime.today, session: desk)
        #expect(report.count == 8 && report.refunds == 1 && report.refunded == 200 && report.total == 1_250)

        // The next visit pays towards the ceiling again.
        let next = try await paidVisit(clinic).payment
        #expect(next.charged == 200 && next.frikortIssued && next.status.paid == 1_450, "1,250 + 200 reaches the ceiling again")
        let audit = try await clinic.audit(patient: "real")
        #expect(audit.contains { $0.entry.action == "refund" })
    }
}
