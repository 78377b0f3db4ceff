import Access
import FHIRCore
import Foundation
import StoreModel

/// Tidbok och schema: slots generated from templates, blocked time, and bookings that can never
/// collide — a booking changes its Slot with If-Match on the version it read, in the same commit
/// as the Appointment, so of two clerks booking the same slot at once exactly one succeeds.
public struct AppointmentBook: Sendable {
    public let settings: AdministrationSettings

    public init(settings: AdministrationSettings) {
        self.settings = settings
    }

    /// A weekly pattern (mall): on these weekdays, from `start` to `end` (minutes after midnight,
    /// Swedish time), slots of `minutes` for one visit type, between two dates.
    public struct SlotTemplate: Sendable {
        public var fromDay: Int
        public var toDay: Int
        /// 1 = Monday … 7 = Sunday.
        public var weekdays: Set<Int>
        public var startMinute: Int
        public var endMinute: Int
        public var minutes: Int
        public var visitType: VisitType

        public init(fromDay: Int, toDay: Int, weekdays: Set<Int>, startMinute: Int, endMinute: Int, minutes: Int, visitType: VisitType) {
            self.fromDay = fromDay
            self.toDay = toDay
            self.weekdays = weekdays
            self.startMinute = startMinute
            self.endMinute = endMinute
            self.minutes = minutes
            self.visitType = visitType
        }

        /// "mon,tue" or "1,2" → weekdays; "08:00" → minutes.
        public static func parse(from: String, to: String, weekdays: String, start: String, end: String, minutes: String, visitType: String) throws(FHIRError) -> SlotTemplate {
            guard let fromDay = SwedishTime.parseDay(from) else { throw FHIRError(.invalid, code: .value, "from must be a date like 2026-11-23; got '\(from)'", expression: ["from"], text: "Första dagen ska vara ett datum, till exempel 2026-11-23.") }
            guard let toDay = SwedishTime.parseDay(to), toDay >= fromDay else { throw FHIRError(.invalid, code: .value, "to must be a date on or after from; got '\(to)'", expression: ["to"], text: "Sista dagen ska vara ett datum samma dag som den första eller senare.") }
            let names = ["mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7, "man": 1, "tis": 2, "ons": 3, "tor": 4, "fre": 5, "lor": 6, "son": 7]
            var days = Set<Int>()
            for part in weekdays.lowercased().split(separator: ",") {
                let text = part.trimmingCharacters(in: .whitespaces)
                guard let day = names[String(text.prefix(3))] ?? Int(text).flatMap({ (1...7).contains($0) ? $0 : nil }) else {
                    throw FHIRError(.invalid, code: .value, "weekdays: '\(text)' is not a weekday (mon…sun or 1–7)", expression: ["weekdays"], text: "Välj veckodagar i listan.")
                }
                days.insert(day)
            }
            guard !days.isEmpty else { throw FHIRError(.invalid, code: .required, "weekdays: name at least one weekday", expression: ["weekdays"], text: "Välj minst en veckodag.") }
            func clock(_ text: String, _ name: String) throws(FHIRError) -> Int {
                let parts = text.split(separator: ":").map { Int($0) }
                guard parts.count == 2, let hour = parts[0], let minute = parts[1], (0...24).contains(hour), (0..<60).contains(minute), hour * 60 + minute <= 1_440 else {
                    throw FHIRError(.invalid, code: .value, "\(name) must be a time like 08:00; got '\(text)'", expression: [name], text: "Skriv en tid som 08:00; ”\(text)” är ingen tid.")
                }
                return hour * 60 + minute
            }
            let startMinute = try clock(start, "start"), endMinute = try clock(end, "end")
            guard endMinute > startMinute else { throw FHIRError(.invalid, code: .value, "end must be after start", expression: ["end"]) }
            guard let length = Int(minutes), (5...480).contains(length) else {
                throw FHIRError(.invalid, code: .value, "minutes must be a whole number from 5 to 480; got '\(minutes)'", expression: ["minutes"], text: "Minuter per tid ska vara ett heltal från 5 till 480.")
            }
            guard let type = VisitType(rawValue: visitType) else {
                throw FHIRError(.invalid, code: .value, "visitType must be one of \(VisitType.allCases.map(\.rawValue).joined(separator: ", ")); got '\(visitType)'", expression: ["visitType"], text: "Välj besökstyp i listan.")
            }
            return SlotTemplate(fromDay: fromDay, toDay: toDay, weekdays: days, startMinute: startMinute, endMinute: endMinute, minutes: length, visitType: type)
        }

        /// The (start, end) instants of every slot the template describes.
        public var slots: [(start: Int64, end: Int64)] {
            var out: [(Int64, Int64)] = []
            for day in fromDay...toDay where weekdays.contains(SwedishTime.weekday(day)) {
                var minute = startMinute
                while minute + minutes <= endMinute {
                    out.append((SwedishTime.instant(day: day, minuteOfDay: minute), SwedishTime.instant(day: day, minuteOfDay: minute + minutes)))
                    minute += minutes
                }
            }
            return out
        }
    }

    /// Generates a template's slots on a schedule. Ids derive from the schedule and start time, so
    /// generating again skips slots that exist: returns (created, already there).
    public func generateSlots(scheduleID: String, template: SlotTemplate, session: PatientDataSession) async throws -> (created: Int, existing: Int) {
        let records = Records(session: session)
        let schedule = try await records.require("Schedule", scheduleID)
        let slots = template.slots
        guard slots.count <= settings.maximumSlotsPerGeneration else {
            throw FHIRError(.tooLarge, code: .tooCostly, "the template makes \(slots.count) slots; at most \(settings.maximumSlotsPerGeneration) per call (KARNA_MAX_SLOTS_PER_GENERATION)", text: "Det blir \(slots.count) tider; högst \(settings.maximumSlotsPerGeneration) skapas åt gången. Välj en kortare period.")
        }
        let unit = RecordTags.unit(of: schedule.object)
        var created = 0, existing = 0
        for chunk in stride(from: 0, to: slots.count, by: 500) {
            let part = slots[chunk..<min(chunk + 500, slots.count)]
            let ids = part.map { Self.slotID(scheduleID: scheduleID, start: $0.start) }
            let present = Set(try await session.read(keys: ids.map { ResourceKey(type: "Slot", id: $0) }).map(\.id))
            var operations: [WriteOperation] = []
            for (slot, id) in zip(part, ids) where !present.contains(id) {
                var object = JSONObject([
                    ("resourceType", .string("Slot")), ("id", .string(id)),
                    ("serviceType", .array([FHIR.concept(AdministrationCodes.visitType, template.visitType.rawValue, template.visitType.display)])),
                    ("schedule", FHIR.reference("Schedule", scheduleID)), ("status", .string("free")),
                    ("start", .string(SwedishTime.format(slot.start))), ("end", .string(SwedishTime.format(slot.end))),
                ])
                if let unit { session.tagForUnit(&object, unit: unit) }
                operations.append(.create(object, type: "Slot", id: id))
            }
            existing += present.count
            created += operations.count
            if !operations.isEmpty { _ = try await session.commit(operations) }
        }
        return (created, existing)
    }

    static func slotID(scheduleID: String, start: Int64) -> String {
        let text = Instant.format(milliseconds: start)
        let digits = text.prefix(16).filter(\.isNumber)
        return String("\(scheduleID.prefix(48))-\(digits)")
    }

    /// Blocks time (meeting, leave): free slots in the period become busy-unavailable with the reason;
    /// booked slots are left alone and returned, so the clinic can rebook those patients.
    public func blockTime(scheduleID: String, start: Int64, end: Int64, reason: String, session: PatientDataSession) async throws -> (blocked: Int, booked: [String]) {
        guard end > start else { throw FHIRError(.invalid, code: .value, "end must be after start", expression: ["end"]) }
        guard reason.trimmingCharacters(in: .whitespaces).count >= 2 else { throw FHIRError(.invalid, code: .required, "a reason is required", expression: ["reason"], text: "Skriv en orsak.") }
        let records = Records(session: session)
        _ = try await records.require("Schedule", scheduleID)
        let slots = try await records.all("Slot", [("schedule", "Schedule/\(scheduleID)"), ("start", "lt" + Instant.format(milliseconds: end)),
                                                    ("start", "ge" + Instant.format(milliseconds: start - 8 * 3_600_000))], maximum: 5_000)
        var operations: [WriteOperation] = []
        var booked: [String] = []
        for slot in slots {
            let object = slot.object
            guard let slotStart = object["start"]?.stringValue.flatMap(Instant.parse), let slotEnd = object["end"]?.stringValue.flatMap(Instant.parse),
                  slotEnd > start, slotStart < end else { continue }
            switch object["status"]?.stringValue {
            case "free":
                var updated = object.forUpdate
                updated["status"] = .string("busy-unavailable")
                updated["comment"] = .string(reason)
                operations.append(.update(updated, type: "Slot", id: slot.id, ifMatch: slot.versionId))
            case "busy":
                booked.append(slot.id)
            default:
                break
            }
        }
        if !operations.isEmpty { _ = try await session.commit(operations) }
        return (operations.count, booked)
    }

    /// Lifts a block: the slots in the period that were blocked (busy-unavailable) become free again,
    /// without the block's reason; booked and free slots are left as they are. Returns how many.
    public func unblockTime(scheduleID: String, start: Int64, end: Int64, session: PatientDataSession) async throws -> Int {
        guard end > start else { throw FHIRError(.invalid, code: .value, "end must be after start", expression: ["end"]) }
        let records = Records(session: session)
        _ = try await records.require("Schedule", scheduleID)
        let slots = try await records.all("Slot", [("schedule", "Schedule/\(scheduleID)"), ("status", "busy-unavailable"),
                                                    ("start", "lt" + Instant.format(milliseconds: end)),
                                                    ("start", "ge" + Instant.format(milliseconds: start - 8 * 3_600_000))], maximum: 5_000)
        var operations: [WriteOperation] = []
        for slot in slots {
            let object = slot.object
            guard let slotStart = object["start"]?.stringValue.flatMap(Instant.parse), let slotEnd = object["end"]?.stringValue.flatMap(Instant.parse),
                  slotEnd > start, slotStart < end, object["status"]?.stringValue == "busy-unavailable" else { continue }
            var updated = object.forUpdate
            updated["status"] = .string("free")
            updated["comment"] = nil
            operations.append(.update(updated, type: "Slot", id: slot.id, ifMatch: slot.versionId))
        }
        if !operations.isEmpty { _ = try await session.commit(operations) }
        return operations.count
    }

    /// Free slots for a visit type, at a unit or on one schedule, from a time on, earliest first.
    public func findFreeSlots(scheduleID: String?, unitID: String?, visitType: VisitType?, from: Int64, to: Int64?, limit: Int,
                              session: PatientDataSession) async throws -> [StoredResource] {
        var parameters: [(name: String, value: String)] = [("status", "free"), ("start", "ge" + Instant.format(milliseconds: max(from, Instant.now()))),
                                                            ("_sort", "start")]
        if let to { parameters.append(("start", "lt" + Instant.format(milliseconds: to))) }
        if let scheduleID { parameters.append(("schedule", "Schedule/\(scheduleID)")) }
        if let unitID { parameters.append(("_tag", "\(RecordTags.careUnit)|\(unitID)")) }
        if let visitType { parameters.append(("service-type", "\(AdministrationCodes.visitType)|\(visitType.rawValue)")) }
        guard scheduleID != nil || unitID != nil else {
            throw FHIRError(.invalid, code: .required, "name a schedule or a unit to find free slots in", expression: ["schedule", "unit"], text: "Välj en tidbok eller en enhet att söka lediga tider i.")
        }
        return try await Records(session: session).search("Slot", parameters, limit: limit)
    }

    /// What a booking answers: the appointment, and the patient's fee status for the clerk.
    public struct Booking: Sendable {
        public var appointment: StoredResource
        public var feeStatus: Cashier.FeeStatus?
    }

    /// Books a free slot for a patient — or a waiting-list entry into a slot — in one commit with the
    /// slot's change and the confirmation message. A slot someone else took first is a 409.
    public func book(slotID: String, patientID: String, waitingListEntryID: String? = nil, referralID: String? = nil, comment: String? = nil,
                     session: PatientDataSession, cashier: Cashier? = nil) async throws -> Booking {
        let records = Records(session: session)
        _ = try await records.require("Patient", patientID, role: "patient")
        let slot = try await records.require("Slot", slotID, role: "slot")
        var slotObject = slot.object.forUpdate
        guard slotObject["status"]?.stringValue == "free" else {
            throw refused("slot: Slot/\(slotID) is not free (\(slotObject["status"]?.stringValue ?? "unknown")); choose another time", expression: ["slot"], text: "Tiden är inte ledig längre. Välj en annan tid.")
        }
        guard let start = slotObject["start"]?.stringValue, let end = slotObject["end"]?.stringValue,
              let endMillis = Instant.parse(end), endMillis > Instant.now() else {
            throw refused("slot: Slot/\(slotID) has already passed", expression: ["slot"], text: "Tiden har redan passerat. Välj en senare tid.")
        }
        guard let scheduleID = slotObject.referenceID("schedule", type: "Schedule") else { throw refused("Slot/\(slotID) belongs to no schedule", text: "Tiden hör inte till någon tidbok.") }
        let schedule = try await records.require("Schedule", scheduleID)
        slotObject["status"] = .string("busy")
        var operations: [WriteOperation] = [.update(slotObject, type: "Slot", id: slotID, ifMatch: slot.versionId)]
        let id: String
        var appointment: JSONObject
        if let waitingListEntryID {
            let entry = try await records.require("Appointment", waitingListEntryID, role: "waitingListEntry")
            appointment = entry.object.forUpdate
            guard appointment.referenceIDs("participant", actorType: "Patient").contains(patientID) else {
                throw FHIRError(.invalid, code: .value, "the waiting-list entry Appointment/\(waitingListEntryID) is for another patient", expression: ["waitingListEntry"], text: "Väntelisteposten gäller en annan patient.")
            }
            do { appointment["status"] = .string(try AppointmentWorkflow.next(appointment["status"]?.stringValue ?? "", .book)) } catch { throw error.error }
            id = waitingListEntryID
            appointment["start"] = .string(start)
            appointment["end"] = .string(end)
            appointment["slot"] = .array([FHIR.reference("Slot", slotID)])
            appointment["participant"] = .array([Self.participant("Patient", patientID)] + Self.actors(schedule.object))
            operations.append(.update(appointment, type: "Appointment", id: id, ifMatch: entry.versionId))
        } else {
            id = UUID().uuidString.lowercased()
            appointment = JSONObject([
                ("resourceType", .string("Appointment")), ("id", .string(id)), ("status", .string("booked")),
                ("serviceType", slotObject["serviceType"] ?? .array([])),
                ("start", .string(start)), ("end", .string(end)),
                ("slot", .array([FHIR.reference("Slot", slotID)])),
                ("created", .string(SwedishTime.formatDay(SwedishTime.today))),
                ("participant", .array([Self.participant("Patient", patientID)] + Self.actors(schedule.object))),
            ])
            if let referralID { appointment["basedOn"] = .array([FHIR.reference("ServiceRequest", referralID)]) }
            if let comment, !comment.isEmpty { appointment["comment"] = .string(comment) }
            if let unit = RecordTags.unit(of: slot.object) { session.tagForUnit(&appointment, unit: unit) }
            operations.append(.create(appointment, type: "Appointment", id: id))
        }
        let visit = slotObject.code("serviceType", system: AdministrationCodes.visitType).flatMap(VisitType.init(rawValue:))
        operations.append(Outbox.message(.booking, patientID: patientID, appointmentID: id,
                                         text: "Bokningsbekräftelse: \(visit?.display ?? "Besök") \(Outbox.when(Instant.parse(start) ?? 0)). Avboka senast 24 timmar före."))
        do {
            _ = try await session.commit(operations)
        } catch where isConcurrencyConflict(error) {
            throw refused("slot: Slot/\(slotID) was booked by someone else a moment ago; choose another time", expression: ["slot"], text: "Någon annan bokade tiden alldeles nyss. Välj en annan tid.")
        }
        let stored = try await records.require("Appointment", id)
        let status = try await cashier?.feeStatus(patientID: patientID, session: session)
        return Booking(appointment: stored, feeStatus: status)
    }

    static func participant(_ type: String, _ id: String) -> JSONValue {
        FHIR.object([("actor", FHIR.reference(type, id)), ("required", .string("required")), ("status", .string("accepted"))])
    }

    /// The schedule's actors (practitioner, room) as participants of its appointments.
    static func actors(_ schedule: JSONObject) -> [JSONValue] {
        (schedule["actor"]?.arrayValue ?? []).compactMap { actor in
            actor.objectValue.map { FHIR.object([("actor", .object($0)), ("required", .string("required")), ("status", .string("accepted"))]) }
        }
    }

    /// Moves a booking to another free slot: the old slot is freed, the new one taken, the patient told.
    public func reschedule(appointmentID: String, slotID: String, session: PatientDataSession) async throws -> StoredResource {
        let records = Records(session: session)
        let stored = try await records.require("Appointment", appointmentID)
        var appointment = stored.object.forUpdate
        do { _ = try AppointmentWorkflow.next(appointment["status"]?.stringValue ?? "", .reschedule) } catch { throw error.error }
        let newSlot = try await records.require("Slot", slotID, role: "slot")
        var newSlotObject = newSlot.object.forUpdate
        guard newSlotObject["status"]?.stringValue == "free" else { throw refused("slot: Slot/\(slotID) is not free; choose another time", expression: ["slot"], text: "Tiden är inte ledig längre. Välj en annan tid.") }
        newSlotObject["status"] = .string("busy")
        var operations: [WriteOperation] = [.update(newSlotObject, type: "Slot", id: slotID, ifMatch: newSlot.versionId)]
        operations += try await freeSlots(of: appointment, records: records)
        appointment["start"] = newSlotObject["start"]
        appointment["end"] = newSlotObject["end"]
        appointment["slot"] = .array([FHIR.reference("Slot", slotID)])
        if let schedule = newSlotObject.referenceID("schedule", type: "Schedule"), let scheduleObject = try await records.optional("Schedule", schedule)?.object {
            appointment["participant"] = .array(appointment.participants(ofType: "Patient") + Self.actors(scheduleObject))
        }
        operations.append(.update(appointment, type: "Appointment", id: appointmentID, ifMatch: stored.versionId))
        if let patientID = appointment.referenceIDs("participant", actorType: "Patient").first {
            operations.append(Outbox.message(.change, patientID: patientID, appointmentID: appointmentID,
                                             text: "Din tid är flyttad till \(Outbox.when(newSlotObject["start"]?.stringValue.flatMap(Instant.parse) ?? 0))."))
        }
        do {
            _ = try await session.commit(operations)
        } catch where isConcurrencyConflict(error) {
            throw refused("the booking or the new slot changed a moment ago; reload and try again", expression: ["slot"], text: "Bokningen eller den nya tiden ändrades alldeles nyss. Ladda om sidan och försök igen.")
        }
        return try await records.require("Appointment", appointmentID)
    }

    private func freeSlots(of appointment: JSONObject, records: Records) async throws -> [WriteOperation] {
        var operations: [WriteOperation] = []
        for reference in appointment["slot"]?.arrayValue ?? [] {
            guard let key = ResourceKey(reference: reference.objectValue?["reference"]?.stringValue ?? ""), let slot = try await records.optional("Slot", key.id) else { continue }
            var object = slot.object.forUpdate
            object["status"] = .string("free")
            operations.append(.update(object, type: "Slot", id: key.id, ifMatch: slot.versionId))
        }
        return operations
    }

    /// Who cancelled: the patient or the clinic.
    public enum CancelledBy: String, Sendable {
        case patient, clinic
    }

    /// Cancels a booking or a waiting-list entry with a reason; the slot is freed and the patient told.
    public func cancel(appointmentID: String, by: CancelledBy, reason: String, session: PatientDataSession) async throws -> StoredResource {
        guard reason.trimmingCharacters(in: .whitespaces).count >= 2 else { throw FHIRError(.invalid, code: .required, "a reason is required", expression: ["reason"], text: "Skriv en orsak.") }
        let records = Records(session: session)
        let stored = try await records.require("Appointment", appointmentID)
        var appointment = stored.object.forUpdate
        let wasBooked = appointment["status"]?.stringValue == "booked"
        do { appointment["status"] = .string(try AppointmentWorkflow.next(appointment["status"]?.stringValue ?? "", .cancel)) } catch { throw error.error }
        appointment["cancelationReason"] = FHIR.concept("http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason", by == .patient ? "pat" : "prov",
                                                        by == .patient ? "Patient" : "Provider", text: reason)
        var operations = wasBooked ? try await freeSlots(of: appointment, records: records) : []
        operations.append(.update(appointment, type: "Appointment", id: appointmentID, ifMatch: stored.versionId))
        if wasBooked, let patientID = appointment.referenceIDs("participant", actorType: "Patient").first {
            operations.append(Outbox.message(.cancellation, patientID: patientID, appointmentID: appointmentID,
                                             text: "Din tid \(Outbox.when(appointment["start"]?.stringValue.flatMap(Instant.parse) ?? 0)) är avbokad."))
        }
        _ = try await session.commit(operations)
        return try await records.require("Appointment", appointmentID)
    }

    /// The patient did not come (uteblivet besök).
    public func noShow(appointmentID: String, session: PatientDataSession) async throws -> StoredResource {
        try await simpleTransition(appointmentID, .noShow, session: session)
    }

    private func simpleTransition(_ appointmentID: String, _ event: AppointmentWorkflow.Event, session: PatientDataSession) async throws -> StoredResource {
        let records = Records(session: session)
        let stored = try await records.require("Appointment", appointmentID)
        var appointment = stored.object.forUpdate
        do { appointment["status"] = .string(try AppointmentWorkflow.next(appointment["status"]?.stringValue ?? "", event)) } catch { throw error.error }
        _ = try await session.commit(.update(appointment, type: "Appointment", id: appointmentID, ifMatch: stored.versionId))
        return try await records.require("Appointment", appointmentID)
    }

    /// Checks the patient in (ankomstregistrering): the appointment becomes arrived and a care contact
    /// (Encounter, status arrived) starts at the slot's unit — the care relationship of the visit.
    public func checkIn(appointmentID: String, session: PatientDataSession, contacts: CareContacts) async throws -> (appointment: StoredResource, encounter: StoredResource) {
        let records = Records(session: session)
        let stored = try await records.require("Appointment", appointmentID)
        var appointment = stored.object.forUpdate
        do { appointment["status"] = .string(try AppointmentWorkflow.next(appointment["status"]?.stringValue ?? "", .checkIn)) } catch { throw error.error }
        guard let patientID = appointment.referenceIDs("participant", actorType: "Patient").first else { throw refused("Appointment/\(appointmentID) has no patient", text: "Bokningen har ingen patient.") }
        let visit = appointment.code("serviceType", system: AdministrationCodes.visitType).flatMap(VisitType.init(rawValue:)) ?? .doctor
        let unit = RecordTags.unit(of: stored.object)
        let referral = (appointment["basedOn"]?.arrayValue?.first?.objectValue).flatMap { ResourceKey(reference: $0["reference"]?.stringValue ?? "")?.id }
        let (encounterID, contact) = try await contacts.contactOperation(patientID: patientID, visitType: visit, unitID: unit, started: false,
                                                                         appointmentID: appointmentID, referralID: referral, session: session)
        _ = try await session.commit([.update(appointment, type: "Appointment", id: appointmentID, ifMatch: stored.versionId), contact])
        return (try await records.require("Appointment", appointmentID), try await records.require("Encounter", encounterID))
    }
}

extension JSONObject {
    /// Ids of participants' actors of a type (Appointment.participant.actor).
    func referenceIDs(_ member: String, actorType: String) -> [String] {
        (self[member]?.arrayValue ?? []).compactMap { $0.objectValue?.referenceID("actor", type: actorType) }
    }

    func participants(ofType type: String) -> [JSONValue] {
        (self["participant"]?.arrayValue ?? []).filter { $0.objectValue?.referenceID("actor", type: type) != nil }
    }
}
