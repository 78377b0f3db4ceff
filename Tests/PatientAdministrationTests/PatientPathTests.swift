import Access
import FHIRCore
import Foundation
import KarnaTesting
import PatientAdministration
import Store
import StoreModel
import Testing

@Suite("Patient administration through the gateway")
struct PatientPathTests {
    /// Registered with a reservnummer, admitted by direktinläggning, transferred, discharged, merged with
    /// the real personnummer, booked for a follow-up via a referral, checked in, paid until a frikort is issued.
    @Test("a patient's path end to end", arguments: backends)
    func patientPath(_ backend: StoreBackend) async throws {
        let clinic = try await Clinic.make(backend)
        let a = clinic.administration
        let nurse = try await clinic.session("nurse", action: "admit")

        // Emergency registration: no identity at all, one call.
        let unknown = try await a.registry.registerUnidentified(gender: "female", estimatedBirthYear: 1980, note: "Röd jacka", session: nurse)
        let reserve = try #require(unknown.object["identifier"]?.arrayValue?.first?.objectValue?["value"]?.stringValue)
        #expect(try Reservnummer(reserve).canonical == reserve)
        #expect(try await a.registry.find(try Reservnummer(reserve).formatted, limit: 5, session: nurse).map(\.id) == [unknown.id])

        // Direktinläggning to the ward, bed 1; the ward overview shows her there.
        let stay = try await a.contacts.admit(patientID: unknown.id, wardUnitID: nil, bedID: "bed-1", planned: false, admitSource: "direktinlaggning",
                                              expectedDischarge: SwedishTime.formatDay(SwedishTime.today + 3), reason: "Bröstsmärta", session: nurse)
        #expect(stay.status == "in-progress")
        var overview = try await a.contacts.wardOverview(wardUnitID: "ward", session: nurse)
        #expect(overview.beds.first { $0.bedID == "bed-1" }?.encounterID == stay.id)
        #expect(overview.beds.filter { $0.isFree }.map(\.bedID) == ["bed-2"])
        // Bed 1 is taken: a second admission there is refused.
        let taken = await failure { _ = try await a.contacts.admit(patientID: "real", wardUnitID: nil, bedID: "bed-1", planned: false, admitSource: "akuten",
                                                                   expectedDischarge: nil, reason: nil, session: nurse) }
        #expect(taken?.0 == .conflict)

        // Transfer to the other ward; bed 1 is free again and the stay's bed history has both beds.
        let moved = try await a.contacts.transition(encounterID: stay.id, event: .transfer, toWard: "ward2", toBed: "bed-3", session: nurse)
        let locations = (moved.object["location"]?.arrayValue ?? []).compactMap(\.objectValue)
        #expect(locations.map { $0["status"]?.stringValue } == ["completed", "active"])
        overview = try await a.contacts.wardOverview(wardUnitID: "ward", session: nurse)
        #expect(overview.beds.allSatisfy { $0.isFree })

        // Utskrivning by the doctor of the new ward.
        let doc2 = try await clinic.session("doc2", action: "discharge")
        let discharged = try await a.contacts.transition(encounterID: stay.id, event: .finish, dischargeDisposition: "hem", session: doc2)
        #expect(discharged.status == "finished")
        #expect(discharged.object["period"]?.objectValue?["end"] != nil)
        let refusedAgain = await failure { _ = try await a.contacts.transition(encounterID: stay.id, event: .leave, session: doc2) }
        #expect(refusedAgain?.0 == .conflict)

        // Identified: merge the reservnummer record into the real one; everything follows.
        let merge = try await a.registry.merge(sourceID: unknown.id, targetID: "real", reason: "Identifierad via körkort", session: doc2)
        #expect(Set(merge.moved) == ["Encounter/\(stay.id)", "EpisodeOfCare/\(try #require(moved.object["episodeOfCare"]?.arrayValue?.first?.objectValue?["reference"]?.stringValue).split(separator: "/")[1])"])
        let system = clinic.system
        #expect(try await system.read(type: "Encounter", id: stay.id)?.object.reference("subject") == "Patient/real")
        let source = try #require(try await system.read(type: "Patient", id: unknown.id))
        #expect(source.object["active"]?.boolValue == false)
        #expect(try await a.registry.find(Clinic.personnummer, limit: 5, session: doc2).map(\.id) == ["real"])
        let found = try await a.registry.find(reserve, limit: 5, session: doc2).map(\.id)
        #expect(Set(found) == [unknown.id, "real"], "the reservnummer stays findable, on the real record as an old identifier")

        // A referral for follow-up at the specialist clinic; it lands in their inbox.
        let sent = try await a.referrals.send(patientID: "real", toUnitID: "spec", question: "Uppföljning efter bröstsmärta, arbets-EKG?", priority: "urgent",
                                              reasonText: "Bröstsmärta", attachments: [], fromUnitID: nil, session: doc2)
        let specdoc = try await clinic.session("specdoc", action: "referral")
        let inbox = try await a.referrals.inbox(unitID: nil, sent: false, session: specdoc)
        #expect(inbox.map(\.task.id) == [sent.task.id])
        #expect(try await specdoc.read(type: "ServiceRequest", id: sent.serviceRequest.id) != nil, "the receiving unit reads the referral sent to it")
        _ = try await a.referrals.act(taskID: sent.task.id, event: .accept, text: "Arbets-EKG inom 4 veckor", session: specdoc)

        // Booked directly from the referral; the referral becomes planned.
        let schedule = try await clinic.scheduleWithSlots(unit: "spec", session: specdoc)
        let slot = try #require(try await clinic.freeSlots(schedule, session: specdoc).first)
        let booking = try await a.book.book(slotID: slot.id, patientID: "real", referralID: sent.serviceRequest.id, session: specdoc, cashier: a.cashier)
        try await a.referrals.planned(serviceRequestID: sent.serviceRequest.id, session: specdoc)
        #expect(booking.appointment.status == "booked")
        #expect(booking.feeStatus?.paid == 0)
        #expect(try await specdoc.read(type: "Task", id: sent.task.id)?.status == "in-progress")
        #expect(try await system.read(type: "Slot", id: slot.id)?.status == "busy")

        // Check-in starts the care contact; the cashier takes fees until the frikort is issued.
        let (arrived, visit) = try await a.book.checkIn(appointmentID: booking.appointment.id, session: specdoc, contacts: a.contacts)
        #expect(arrived.status == "arrived" && visit.status == "arrived")
        let cashier = try await clinic.session("cashier", action: "pay")
        var charged: [Int] = []
        var issued: [Bool] = []
        var payment = try await a.cashier.pay(encounterID: visit.id, method: .card, session: cashier)
        charged.append(payment.charged)
        issued.append(payment.frikortIssued)
        for _ in 1...8 {
            let contact = try await a.contacts.registerContact(patientID: "real", visitType: .doctor, unitID: nil, started: true, session: specdoc)
            payment = try await a.cashier.pay(encounterID: contact.id, method: .cash, session: cashier)
            charged.append(payment.charged)
            issued.append(payment.frikortIssued)
        }
        #expect(charged == [200, 200, 200, 200, 200, 200, 200, 50, 0], "7 × 200 + 50 reaches the 1,450 kr ceiling; the 9th visit is free")
        #expect(issued == [false, false, false, false, false, false, false, true, false])
        #expect(payment.status.hasFrikort && payment.status.paid == 1_450)
        #expect(payment.reason?.hasPrefix("frikort") == true)
        let again = await failure { _ = try await a.cashier.pay(encounterID: visit.id, method: .card, session: cashier) }
        #expect(again?.0 == .conflict, "a contact is paid once")
        let report = try await a.cashier.dailyReport(unitID: nil, day: SwedishTime.today, session: cashier)
        #expect(report.count == 9 && report.total == 1_450)
        let receipt = try await a.cashier.receipt(invoiceID: payment.invoice.id, session: cashier)
        #expect(receipt.contains("0 kr") && receipt.contains("frikort"))

        // The answer goes back to the sender, whose sent list shows it.
        _ = try await a.referrals.act(taskID: sent.task.id, event: .answer, text: "Normalt arbets-EKG.", session: specdoc)
        let outbox = try await a.referrals.inbox(unitID: nil, sent: true, session: doc2)
        #expect(outbox.first?.status == "completed" && outbox.first?.step == "besvarad")

        // Every step was audited under the patient, with who did it.
        let audit = try await clinic.audit(patient: "real")
        let actors = Set(audit.map(\.entry.actor))
        #expect(actors.isSuperset(of: ["Practitioner/doc2", "Practitioner/specdoc", "Practitioner/cashier"]))
        #expect(Set(audit.map(\.entry.action)).isSuperset(of: ["discharge", "referral", "pay"]))
    }

    @Test("undoing a merge returns what moved, only by an administrative assignment", arguments: backends)
    func unmerge(_ backend: StoreBackend) async throws {
        let clinic = try await Clinic.make(backend)
        let a = clinic.administration
        let doc2 = try await clinic.session("doc2")
        let unknown = try await a.registry.registerUnidentified(gender: nil, estimatedBirthYear: nil, note: nil, session: doc2)
        let contact = try await a.contacts.registerContact(patientID: unknown.id, visitType: .emergency, unitID: nil, started: true, session: doc2)
        _ = try await a.registry.merge(sourceID: unknown.id, targetID: "real", reason: "Identifierad", session: doc2)
        let denied = await failure { _ = try await a.registry.unmerge(sourceID: unknown.id, reason: "Fel person", session: doc2) }
        #expect(denied?.0 == .forbidden)
        let patadmin = try await clinic.session("patadmin")
        let result = try await a.registry.unmerge(sourceID: unknown.id, reason: "Fel person identifierad", session: patadmin)
        #expect(result.moved == ["Encounter/\(contact.id)"])
        #expect(try await clinic.system.read(type: "Encounter", id: contact.id)?.object.reference("subject") == "Patient/\(unknown.id)")
        let real = try #require(try await clinic.system.read(type: "Patient", id: "real")).object
        #expect(real["link"] == nil && (real["identifier"]?.arrayValue?.count ?? 0) == 1)
        #expect(try await clinic.system.read(type: "Patient", id: unknown.id)?.object["active"]?.boolValue == true)
    }

    @Test("one active record per personnummer, in any form, through any interface", arguments: backends)
    func uniqueIdentity(_ backend: StoreBackend) async throws {
        let clinic = try await Clinic.make(backend)
        let secretary = try await clinic.session("secretary")
        let duplicate = JSONObject([
            ("resourceType", .string("Patient")), ("id", .string("dup")),
            ("identifier", .array([.object(JSONObject([("system", .string(SwedishPersonalIdentity.personnummerSystem)), ("value", .string("800214-2381"))]))])),
        ])
        let refused = await failure { _ = try await secretary.commit(.create(duplicate, type: "Patient", id: "dup")) }
        #expect(refused?.0 == .conflict && refused?.1.contains("Patient/real") == true, "\(String(describing: refused))")
        #expect(try await clinic.store.read(type: "Patient", id: "dup") == nil)
    }

    @Test("referral rules: an owner always, the right side acts, texts required", arguments: backends)
    func referralRules(_ backend: StoreBackend) async throws {
        let clinic = try await Clinic.make(backend)
        let a = clinic.administration
        let doc = try await clinic.session("doc")
        _ = try await a.contacts.registerContact(patientID: "real", visitType: .doctor, unitID: nil, started: true, session: doc)
        let sent = try await a.referrals.send(patientID: "real", toUnitID: "spec", question: "Bedömning av blåsljud", priority: "routine", reasonText: nil,
                                              attachments: [], fromUnitID: nil, session: doc)
        // The sender cannot accept its own referral; the receiver cannot withdraw it.
        #expect(await failure { _ = try await a.referrals.act(taskID: sent.task.id, event: .accept, text: nil, session: doc) }?.0 == .forbidden)
        let specdoc = try await clinic.session("specdoc")
        #expect(await failure { _ = try await a.referrals.act(taskID: sent.task.id, event: .cancel, text: nil, session: specdoc) }?.0 == .forbidden)
        #expect(await failure { _ = try await a.referrals.act(taskID: sent.task.id, event: .reject, text: nil, session: specdoc) }?.0 == .invalid)
        // Asking for completion puts it on hold at the receiver; the sender completes it; forwarding moves the owner.
        _ = try await a.referrals.act(taskID: sent.task.id, event: .requestCompletion, text: "Bifoga EKG", session: specdoc)
        #expect(try await a.referrals.inbox(unitID: nil, sent: true, session: doc).first?.step == "kompletteras")
        _ = try await a.referrals.act(taskID: sent.task.id, event: .complete, text: "EKG bifogat i journalen", session: doc)
        let forwarded = try await a.referrals.act(taskID: sent.task.id, event: .forward, text: "Hör till avdelning 2", toUnitID: "ward2", session: specdoc)
        #expect(forwarded.object.reference("owner") == "Organization/ward2" && forwarded.status == "requested")
        #expect(try await a.referrals.inbox(unitID: nil, sent: false, session: specdoc).isEmpty)
        let doc2 = try await clinic.session("doc2")
        #expect(try await a.referrals.inbox(unitID: nil, sent: false, session: doc2).map(\.task.id) == [sent.task.id])
        // An accepted referral cannot be forwarded; a completed one cannot be answered twice.
        _ = try await a.referrals.act(taskID: sent.task.id, event: .accept, text: nil, session: doc2)
        #expect(await failure { _ = try await a.referrals.act(taskID: sent.task.id, event: .forward, text: "x y", toUnitID: "spec", session: doc2) }?.0 == .conflict)
        // Writing a referral Task without an owner is refused whichever way it comes.
        var task = try #require(try await clinic.system.read(type: "Task", id: sent.task.id)).object.withoutServerMeta
        task["owner"] = nil
        let ownerless = await failure { _ = try await clinic.system.commit(.update(task, type: "Task", id: sent.task.id)) }
        #expect(ownerless?.0 == .invalid && ownerless?.1.contains("owner") == true)
        // The history keeps each step with who took it.
        let notes = try #require(try await clinic.system.read(type: "Task", id: sent.task.id)).object["note"]?.arrayValue ?? []
        #expect(notes.count == 5)
    }

    @Test("appointment book: block time, cancel frees the slot, reschedule moves it, waiting list counts vårdgaranti days", arguments: backends)
    func appointmentBook(_ backend: StoreBackend) async throws {
        let clinic = try await Clinic.make(backend)
        let a = clinic.administration
        let specdoc = try await clinic.session("specdoc", action: "book")
        let schedule = try await clinic.scheduleWithSlots(unit: "spec", session: specdoc)
        let slots = try await clinic.freeSlots(schedule, session: specdoc)
        #expect(slots.count == 28, "7 days × 4 half-hours")
        let again = try await a.book.generateSlots(scheduleID: schedule, template: try AppointmentBook.SlotTemplate.parse(
            from: SwedishTime.formatDay(SwedishTime.today + 1), to: SwedishTime.formatDay(SwedishTime.today + 7), weekdays: "1,2,3,4,5,6,7",
            start: "08:00", end: "10:00", minutes: "30", visitType: "lakarbesok"), session: specdoc)
        #expect(again.created == 0 && again.existing == 28, "generating again creates nothing")

        let booking = try await a.book.book(slotID: slots[0].id, patientID: "real", session: specdoc)
        let notice = await failure { _ = try await a.book.book(slotID: slots[0].id, patientID: "real", session: specdoc) }
        #expect(notice?.0 == .conflict)
        // Blocking the first day leaves the booked slot and reports it.
        let dayStart = Instant.parse(try #require(slots[0].object["start"]?.stringValue))!
        let blocked = try await a.book.blockTime(scheduleID: schedule, start: dayStart, end: dayStart + 2 * 3_600_000, reason: "APT-möte", session: specdoc)
        #expect(blocked.blocked == 3 && blocked.booked == [slots[0].id])
        // Lifting the block frees the same three, without the reason; the booked slot stays booked. Blocked again for the rest.
        #expect(try await a.book.unblockTime(scheduleID: schedule, start: dayStart, end: dayStart + 2 * 3_600_000, session: specdoc) == 3)
        let freed = try #require(try await clinic.system.read(type: "Slot", id: slots[1].id))
        #expect(freed.status == "free" && freed.object["comment"] == nil)
        #expect(try await clinic.system.read(type: "Slot", id: slots[0].id)?.status == "busy")
        #expect(try await a.book.unblockTime(scheduleID: schedule, start: dayStart, end: dayStart + 2 * 3_600_000, session: specdoc) == 0)
        #expect(try await a.book.blockTime(scheduleID: schedule, start: dayStart, end: dayStart + 2 * 3_600_000, reason: "APT-möte", session: specdoc).blocked == 3)
        // Reschedule to the next day; the old slot is free again; then cancel frees the new one.
        let moved = try await a.book.reschedule(appointmentID: booking.appointment.id, slotID: slots[4].id, session: specdoc)
        #expect(moved.object["start"] == slots[4].object["start"])
        #expect(try await clinic.system.read(type: "Slot", id: slots[0].id)?.status == "free")
        let cancelled = try await a.book.cancel(appointmentID: booking.appointment.id, by: .patient, reason: "Förhindrad", session: specdoc)
        #expect(cancelled.status == "cancelled")
        #expect(try await clinic.system.read(type: "Slot", id: slots[4].id)?.status == "free")
        #expect(await failure { _ = try await a.book.noShow(appointmentID: booking.appointment.id, session: specdoc) }?.0 == .conflict)
        // Three notifications are waiting in the outbox: booking, change, cancellation.
        let outbox = try await clinic.store.search(try SearchQuery.parse(type: "Communication", parameters: [("status", "preparation")], strict: true), limit: 10)
        #expect(outbox.count == 3)

        // Waiting list: one overdue (started 100 days ago, 90-day guarantee), one with 90 days left.
        let late = try await a.waitingList.add(patientID: "real", unitID: nil, visitType: .doctor, priority: 3, stage: .specialistVisit,
                                               startDay: SwedishTime.today - 100, referralID: nil, comment: nil, session: specdoc)
        _ = try await a.waitingList.add(patientID: "real", unitID: nil, visitType: .nurse, priority: 1, stage: .treatment, startDay: nil, referralID: nil,
                                        comment: nil, session: specdoc)
        let entries = try await a.waitingList.entries(unitID: nil, session: specdoc)
        #expect(entries.map(\.daysLeft) == [-10, 90])
        #expect(entries.first?.appointment.id == late.id && entries.first?.isOverdue == true)
        // Booking from the waiting list turns the entry into the booking.
        let fromList = try await a.book.book(slotID: slots[5].id, patientID: "real", waitingListEntryID: late.id, session: specdoc)
        #expect(fromList.appointment.id == late.id && fromList.appointment.status == "booked")
        #expect(try await a.waitingList.entries(unitID: nil, session: specdoc).count == 1)
    }
}

extension JSONObject {
    func reference(_ member: String) -> String? { self[member]?.objectValue?["reference"]?.stringValue }
}
