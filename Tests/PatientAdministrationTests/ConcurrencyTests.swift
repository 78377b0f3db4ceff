import Access
import FHIRCore
import Foundation
import KarnaTesting
import PatientAdministration
import Store
import StoreModel
import Testing

@Suite("Patient administration under concurrent requests")
struct ConcurrencyTests {
    @Test("no double booking: of eight clerks booking one slot at once, exactly one succeeds", arguments: backends)
    func doubleBooking(_ backend: StoreBackend) async throws {
        let clinic = try await Clinic.make(backend)
        let specdoc = try await clinic.session("specdoc")
        let schedule = try await clinic.scheduleWithSlots(unit: "spec", session: specdoc)
        let slot = try #require(try await clinic.freeSlots(schedule, session: specdoc).first)
        let book = clinic.administration.book
        let outcomes = try await withThrowingTaskGroup(of: FHIRError.Category?.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    let session = try await clinic.session("specdoc", action: "book")
                    return await failure { _ = try await book.book(slotID: slot.id, patientID: "real", session: session) }?.0
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 == nil }.count == 1)
        #expect(outcomes.compactMap { $0 }.allSatisfy { $0 == .conflict })
        let booked = try await clinic.store.search(try SearchQuery.parse(type: "Appointment", parameters: [("slot", "Slot/\(slot.id)")], strict: true), limit: 10)
        #expect(booked.count == 1)
    }

    @Test("simultaneous payments: the ceiling is never passed, one frikort, a contact is paid once", arguments: backends)
    func simultaneousPayments(_ backend: StoreBackend) async throws {
        let clinic = try await Clinic.make(backend)
        let a = clinic.administration
        let specdoc = try await clinic.session("specdoc")
        let cashier = try await clinic.session("cashier", action: "pay")
        for _ in 0..<6 {
            let contact = try await a.contacts.registerContact(patientID: "real", visitType: .doctor, unitID: nil, started: true, session: specdoc)
            _ = try await a.cashier.pay(encounterID: contact.id, method: .card, session: cashier)
        }
        let first = try await a.contacts.registerContact(patientID: "real", visitType: .doctor, unitID: nil, started: true, session: specdoc)
        let second = try await a.contacts.registerContact(patientID: "real", visitType: .doctor, unitID: nil, started: true, session: specdoc)
        let cashierModule = a.cashier
        let results = try await withThrowingTaskGroup(of: (Int, Bool)?.self) { group in
            for encounter in [first.id, second.id, first.id] {
                group.addTask {
                    let session = try await clinic.session("cashier", action: "pay")
                    do {
                        let payment = try await cashierModule.pay(encounterID: encounter, method: .card, session: session)
                        return (payment.charged, payment.frikortIssued)
                    } catch let error as FHIRError where error.category == .conflict {
                        return nil
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let paid = results.compactMap { $0 }
        #expect(paid.count == 2, "the same contact paid twice at once: one payment is refused")
        #expect(paid.map(\.0).sorted() == [50, 200])
        #expect(paid.filter { $0.1 }.count == 1)
        let status = try await a.cashier.feeStatus(patientID: "real", session: cashier)
        #expect(status.paid == 1_450 && status.hasFrikort)
        let charges = try await clinic.store.search(try SearchQuery.parse(type: "ChargeItem", parameters: [("patient", "Patient/real")], strict: true), limit: 100)
        #expect(charges.count == 8)
    }
}
