import Access
import FHIRCore
import Foundation
import StoreModel

extension PatientAdministration {
    /// Answers this module's FHIR operations (docs/patient-administration.md has each one's parameters);
    /// `operations` declares them, and the API routes only those here.
    public func answer(_ call: OperationCall) async throws -> OperationAnswer {
        let input = call.input
        let p = input.values
        let a = self
        let data = call.session
        let operation = call.name
        func required(_ name: String) throws(FHIRError) -> String { try input.required(name) }
        func idParameter(_ name: String) throws(FHIRError) -> String? { try input.id(name) }
        func requiredID(_ name: String) throws(FHIRError) -> String { try input.requiredID(name) }
        func int(_ name: String) throws(FHIRError) -> Int? { try input.int(name) }
        func bool(_ name: String, default fallback: Bool) throws(FHIRError) -> Bool { try input.bool(name, default: fallback) }
        func day(_ name: String) throws(FHIRError) -> Int? {
            guard let text = p[name] else { return nil }
            guard let day = SwedishTime.parseDay(String(text.prefix(10))) else {
                throw FHIRError(.invalid, code: .value, "\(name) must be a date like 2026-11-23; got '\(text)'", expression: [name])
            }
            return day
        }
        func instant(_ name: String) throws(FHIRError) -> Int64 {
            let text = try required(name)
            if let value = Instant.parse(text), text.count > 10 { return value }
            throw FHIRError(.invalid, code: .value, "\(name) must be a date and time with zone, like 2026-11-23T08:00:00+01:00; got '\(text)'", expression: [name])
        }
        func visitType(_ name: String) throws(FHIRError) -> VisitType? {
            guard let text = p[name] else { return nil }
            guard let type = VisitType(rawValue: text) else {
                throw FHIRError(.invalid, code: .value, "\(name) must be one of \(VisitType.allCases.map(\.rawValue).joined(separator: ", ")); got '\(text)'", expression: [name])
            }
            return type
        }
        func post() throws(FHIRError) { try call.requirePost() }
        func resource(_ stored: StoredResource, status: Int = 200) -> OperationAnswer { .resource(stored, status: status) }
        func bundle(_ resources: [StoredResource]) -> OperationAnswer { .resources(resources) }

        switch (call.resourceType, call.id, operation) {
        // Registration
        case ("Patient", nil, "find"):
            return bundle(try await a.registry.find(try required("q"), limit: call.pageSize, session: data))
        case ("Patient", nil, "register-unidentified"):
            try post()
            let patient = try await a.registry.registerUnidentified(gender: p["gender"], estimatedBirthYear: try int("estimatedBirthYear"), note: p["note"], session: data)
            return resource(patient, status: 201)
        case ("Patient", let patientID?, "merge"):
            try post()
            let result = try await a.registry.merge(sourceID: patientID, targetID: try requiredID("target"), reason: try required("reason"), session: data)
            return mergeResponse(result)
        case ("Patient", let patientID?, "unmerge"):
            try post()
            return mergeResponse(try await a.registry.unmerge(sourceID: patientID, reason: try required("reason"), session: data))
        case ("Patient", let patientID?, "list"):
            try post()
            return resource(try await a.registry.list(patientID: patientID, unitID: try requiredID("unit"), session: data))
        case ("Patient", let patientID?, "listing-history"):
            var out = ParametersBuilder()
            for period in try await a.registry.listingHistory(patientID: patientID, session: data) {
                var part = ParametersBuilder()
                part.add("unit", reference: "Organization/\(period.unit)")
                part.add("name", period.name)
                part.add("from", period.from)
                part.add("until", period.until)
                out.add("listing", part: part)
            }
            return .parameters(out)
        case ("Patient", let patientID?, "fee-status"):
            return feeStatusResponse(try await a.cashier.feeStatus(patientID: patientID, session: data))

        // Care contacts and stays
        case ("Encounter", nil, "register-contact"):
            try post()
            guard let visit = try visitType("visitType") else { throw FHIRError(.invalid, code: .required, "visitType is required", expression: ["visitType"]) }
            return resource(try await a.contacts.registerContact(patientID: try requiredID("patient"), visitType: visit, unitID: try idParameter("unit"),
                                                                 started: try bool("started", default: false), session: data), status: 201)
        case ("Encounter", nil, "admit"):
            try post()
            let plannedDay = try p["plannedDate"].map { text throws(FHIRError) in
                guard let day = SwedishTime.parseDay(text) else {
                    throw FHIRError(.invalid, code: .value, "plannedDate must be a date like 2026-12-10; got '\(text)'", expression: ["plannedDate"])
                }
                return day
            }
            return resource(try await a.contacts.admit(patientID: try requiredID("patient"), wardUnitID: try idParameter("ward"), bedID: try idParameter("bed"),
                                                       planned: try bool("planned", default: false), plannedDay: plannedDay,
                                                       admitSource: p["admitSource"] ?? "direktinlaggning",
                                                       expectedDischarge: p["expectedDischarge"], reason: p["reason"], session: data), status: 201)
        case ("Encounter", let encounterID?, "pay"):
            try post()
            guard let method = Cashier.Method(rawValue: try required("method")) else {
                throw FHIRError(.invalid, code: .value, "method must be one of \(Cashier.Method.allCases.map(\.rawValue).joined(separator: ", "))", expression: ["method"])
            }
            let payment = try await a.cashier.pay(encounterID: encounterID, method: method, visitType: try visitType("visitType"), session: data)
            var out = ParametersBuilder()
            out.add("invoice", resource: payment.invoice)
            out.add("receiptNumber", payment.receiptNumber)
            out.add("fee", int: payment.fee)
            out.add("charged", int: payment.charged)
            out.add("reason", payment.reason)
            out.add("frikortIssued", bool: payment.frikortIssued)
            out.add("feeStatus", part: feeStatusParameters(payment.status))
            return .parameters(out)
        case ("Encounter", let encounterID?, let name):
            try post()
            let events: [String: EncounterWorkflow.Event] = ["arrive": .arrive, "start": .start, "leave": .leave, "return": .return, "finish": .finish,
                                                             "discharge": .finish, "cancel": .cancel, "transfer": .transfer, "entered-in-error": .enteredInError]
            guard let event = events[name] else { throw call.unsupported() }
            if name == "discharge", try await data.read(type: "Encounter", id: encounterID)?.object["class"]?.objectValue?["code"]?.stringValue != "IMP" {
                throw FHIRError(.invalid, code: .businessRule, "$discharge is for inpatient stays; finish a visit with $finish")
            }
            return resource(try await a.contacts.transition(encounterID: encounterID, event: event, toWard: try idParameter("ward"), toBed: try idParameter("bed"),
                                                            dischargeDisposition: p["destination"], reason: p["reason"], session: data))
        case ("Organization", let unitID?, "ward-overview"):
            let overview = try await a.contacts.wardOverview(wardUnitID: unitID, session: data)
            var out = ParametersBuilder()
            out.add("beds", int: overview.beds.count)
            out.add("free", int: overview.beds.filter(\.isFree).count)
            out.add("occupied", int: overview.beds.filter { !$0.isFree }.count)
            for bed in overview.beds {
                var part = ParametersBuilder()
                part.add("bed", reference: "Location/\(bed.bedID)")
                part.add("name", bed.name)
                part.add("room", bed.room)
                part.add("status", bed.isFree ? "free" : (bed.onLeave ? "on-leave" : "occupied"))
                part.add("encounter", reference: bed.encounterID.map { "Encounter/\($0)" })
                part.add("patient", reference: bed.patientID.map { "Patient/\($0)" })
                part.add("patientName", bed.patientName)
                part.add("admitted", bed.admitted)
                part.add("expectedDischarge", bed.expectedDischarge)
                out.add("bed", part: part)
            }
            for encounterID in overview.withoutBed { out.add("withoutBed", reference: "Encounter/\(encounterID)") }
            return .parameters(out)
        case ("Organization", let unitID?, "daily-report"):
            let report = try await a.cashier.dailyReport(unitID: unitID, day: try day("date") ?? SwedishTime.today, session: data)
            var out = ParametersBuilder()
            out.add("unit", reference: "Organization/\(report.unitID)")
            out.add("date", report.day)
            out.add("payments", int: report.count)
            out.add("total", int: report.total)
            out.add("freeVisits", int: report.free)
            out.add("refunds", int: report.refunds)
            out.add("refunded", int: report.refunded)
            out.add("voided", int: report.voided)
            for (method, sum) in report.byMethod.sorted(by: { $0.key < $1.key }) {
                var part = ParametersBuilder()
                part.add("method", method)
                part.add("count", int: sum.count)
                part.add("amount", int: sum.amount)
                out.add("byMethod", part: part)
            }
            for invoice in report.invoices { out.add("invoice", reference: "Invoice/\(invoice.id)") }
            return .parameters(out)

        // Appointment books
        case ("Schedule", let scheduleID?, "generate-slots"):
            try post()
            let template = try AppointmentBook.SlotTemplate.parse(from: try required("from"), to: try required("to"), weekdays: try required("weekdays"),
                                                                  start: try required("start"), end: try required("end"), minutes: try required("minutes"),
                                                                  visitType: try required("visitType"))
            let result = try await a.book.generateSlots(scheduleID: scheduleID, template: template, session: data)
            var out = ParametersBuilder()
            out.add("created", int: result.created)
            out.add("existing", int: result.existing)
            return .parameters(out)
        case ("Schedule", let scheduleID?, "block-time"):
            try post()
            let result = try await a.book.blockTime(scheduleID: scheduleID, start: try instant("start"), end: try instant("end"), reason: try required("reason"), session: data)
            var out = ParametersBuilder()
            out.add("blocked", int: result.blocked)
            for slot in result.booked { out.add("bookedSlot", reference: "Slot/\(slot)") }
            return .parameters(out)
        case ("Schedule", let scheduleID?, "unblock-time"):
            try post()
            var out = ParametersBuilder()
            out.add("unblocked", int: try await a.book.unblockTime(scheduleID: scheduleID, start: try instant("start"), end: try instant("end"), session: data))
            return .parameters(out)
        case ("Slot", nil, "find"):
            let from = p["from"].flatMap { Instant.parse($0) ?? SwedishTime.parseDay($0).map { SwedishTime.instant(day: $0, minuteOfDay: 0) } } ?? Instant.now()
            let to = p["to"].flatMap { Instant.parse($0) ?? SwedishTime.parseDay($0).map { SwedishTime.instant(day: $0 + 1, minuteOfDay: 0) } }
            return bundle(try await a.book.findFreeSlots(scheduleID: try idParameter("schedule"), unitID: try idParameter("unit"), visitType: try visitType("visitType"),
                                                         from: from, to: to, limit: call.pageSize, session: data))
        case ("Appointment", nil, "book"):
            try post()
            let referral = try idParameter("referral")
            let booking = try await a.book.book(slotID: try requiredID("slot"), patientID: try requiredID("patient"), waitingListEntryID: try idParameter("waitingListEntry"),
                                                referralID: referral, comment: p["comment"], session: data, cashier: a.cashier)
            if let referral { try await a.referrals.planned(serviceRequestID: referral, session: data) }
            var out = ParametersBuilder()
            out.add("appointment", resource: booking.appointment)
            if let status = booking.feeStatus { out.add("feeStatus", part: feeStatusParameters(status)) }
            return .parameters(out, status: 201, location: "Appointment/\(booking.appointment.id)/_history/\(booking.appointment.versionId)")
        case ("Appointment", nil, "add-to-waiting-list"):
            try post()
            guard let stage = CareGuarantee.Stage(rawValue: p["stage"] ?? "besok") else {
                throw FHIRError(.invalid, code: .value, "stage must be one of \(CareGuarantee.Stage.allCases.map(\.rawValue).joined(separator: ", "))", expression: ["stage"])
            }
            let referral = try idParameter("referral")
            let entry = try await a.waitingList.add(patientID: try requiredID("patient"), unitID: try idParameter("unit"), visitType: try visitType("visitType") ?? .doctor,
                                                    priority: try int("priority") ?? 5, stage: stage, startDay: try day("start"), referralID: referral,
                                                    comment: p["comment"], session: data)
            if let referral { try await a.referrals.planned(serviceRequestID: referral, session: data) }
            return resource(entry, status: 201)
        case ("Appointment", nil, "waiting-list"):
            var out = ParametersBuilder()
            for entry in try await a.waitingList.entries(unitID: try idParameter("unit"), overdueOnly: try bool("overdue", default: false), session: data) {
                var part = ParametersBuilder()
                part.add("appointment", reference: "Appointment/\(entry.appointment.id)")
                part.add("patient", reference: entry.patientID.map { "Patient/\($0)" })
                part.add("visitType", entry.visitType)
                part.add("priority", int: entry.priority)
                part.add("stage", entry.stage?.rawValue)
                part.add("start", SwedishTime.formatDay(entry.startDay))
                part.add("due", SwedishTime.formatDay(entry.dueDay))
                part.add("daysLeft", int: entry.daysLeft)
                part.add("overdue", bool: entry.isOverdue)
                out.add("entry", part: part)
            }
            return .parameters(out)
        case ("Appointment", let appointmentID?, "reschedule"):
            try post()
            return resource(try await a.book.reschedule(appointmentID: appointmentID, slotID: try requiredID("slot"), session: data))
        case ("Appointment", let appointmentID?, "cancel"):
            try post()
            guard let by = AppointmentBook.CancelledBy(rawValue: p["by"] ?? "clinic") else {
                throw FHIRError(.invalid, code: .value, "by must be patient or clinic", expression: ["by"])
            }
            return resource(try await a.book.cancel(appointmentID: appointmentID, by: by, reason: try required("reason"), session: data))
        case ("Appointment", let appointmentID?, "no-show"):
            try post()
            return resource(try await a.book.noShow(appointmentID: appointmentID, session: data))
        case ("Appointment", let appointmentID?, "check-in"):
            try post()
            let result = try await a.book.checkIn(appointmentID: appointmentID, session: data, contacts: a.contacts)
            var out = ParametersBuilder()
            out.add("appointment", resource: result.appointment)
            out.add("encounter", resource: result.encounter)
            return .parameters(out)

        // Referrals
        case ("ServiceRequest", nil, "refer"):
            try post()
            let attachments = (p["attachment"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            let sent = try await a.referrals.send(patientID: try requiredID("patient"), toUnitID: try requiredID("unit"), question: try required("question"),
                                                  priority: p["priority"] ?? "routine", reasonText: p["reason"], attachments: attachments,
                                                  fromUnitID: try idParameter("fromUnit"), session: data)
            var out = ParametersBuilder()
            out.add("serviceRequest", resource: sent.serviceRequest)
            out.add("task", resource: sent.task)
            return .parameters(out, status: 201)
        case ("Task", nil, "referral-inbox"):
            return inboxResponse(try await a.referrals.inbox(unitID: try idParameter("unit"), sent: try bool("sent", default: false), session: data))
        case ("Task", nil, "referral-alarms"):
            return inboxResponse(try await a.referrals.alarms(session: data))
        case ("Task", let taskID?, let name):
            try post()
            guard let event = ReferralWorkflow.Event(rawValue: name), event != .plan else { throw call.unsupported() }
            return resource(try await a.referrals.act(taskID: taskID, event: event, text: p["text"], toUnitID: try idParameter("unit"), priority: p["priority"], session: data))

        // Cashier
        case ("Invoice", let invoiceID?, "receipt"):
            return .text(try await a.cashier.receipt(invoiceID: invoiceID, session: data), contentType: "text/plain; charset=utf-8")
        case ("Invoice", let invoiceID?, "void"):
            try post()
            let voided = try await a.cashier.void(invoiceID: invoiceID, reason: try required("reason"), session: data)
            return resource(try await Records(session: data).require("Invoice", voided.invoiceID))
        case ("Invoice", let invoiceID?, "refund"):
            try post()
            let method = try p["method"].map { text -> Cashier.Method in
                guard let method = Cashier.Method(rawValue: text) else {
                    throw FHIRError(.invalid, code: .value, "method must be one of \(Cashier.Method.allCases.map(\.rawValue).joined(separator: ", "))", expression: ["method"])
                }
                return method
            }
            let credit = try await a.cashier.refund(invoiceID: invoiceID, reason: try required("reason"), method: method ?? .cash, session: data)
            return resource(try await Records(session: data).require("Invoice", credit.invoiceID), status: 201)
        case ("Patient", let patientID?, "fee-history"):
            var out = ParametersBuilder()
            for line in try await a.cashier.history(patientID: patientID, session: data) {
                var part = ParametersBuilder()
                part.add("invoice", reference: "Invoice/\(line.invoiceID)")
                part.add("receiptNumber", line.receiptNumber)
                part.add("date", line.instant)
                part.add("visit", line.visit)
                part.add("amount", int: line.amount)
                part.add("state", line.state.rawValue)
                part.add("reason", line.reason)
                part.add("correction", line.correction)
                out.add("receipt", part: part)
            }
            return .parameters(out)
        case (nil, nil, "fee-schedule"):
            let schedule = try await a.cashier.schedule(session: data)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            var out = ParametersBuilder()
            out.add("schedule", String(decoding: try encoder.encode(schedule), as: UTF8.self))
            out.add("source", schedule.source)
            return .parameters(out)
        case (nil, nil, "configure-fee-schedule"):
            try post()
            let text = try required("schedule")
            let schedule: FeeSchedule
            do {
                schedule = try JSONDecoder().decode(FeeSchedule.self, from: Data(text.utf8))
            } catch {
                throw FHIRError(.invalid, code: .structure, "schedule must be a fee schedule as JSON (as $fee-schedule returns): \(error)", expression: ["schedule"])
            }
            try await a.cashier.configure(schedule, session: data)
            return .information("the fee schedule was replaced")
        case (nil, nil, "invoice-export"):
            guard let from = try day("from"), let to = try day("to") else {
                throw FHIRError(.invalid, code: .required, "from and to (dates) are required", expression: ["from", "to"])
            }
            return .text(try await a.cashier.invoiceExport(fromDay: from, toDay: to, unitID: try idParameter("unit"), session: data), contentType: "text/csv; charset=utf-8")
        default:
            throw call.unsupported()
        }
    }

    private func mergeResponse(_ result: PatientRegistry.MergeResult) -> OperationAnswer {
        var out = ParametersBuilder()
        out.add("source", reference: "Patient/\(result.source)")
        out.add("target", reference: "Patient/\(result.target)")
        out.add("moved", int: result.moved.count)
        out.add("provenance", reference: "Provenance/\(result.provenanceID)")
        return .parameters(out)
    }

    private func feeStatusParameters(_ status: Cashier.FeeStatus) -> ParametersBuilder {
        var out = ParametersBuilder()
        out.add("patient", reference: "Patient/\(status.patientID)")
        out.add("paid", int: status.paid)
        out.add("ceiling", int: status.ceiling)
        out.add("periodStart", status.periodStart)
        out.add("periodEnd", status.periodEnd)
        out.add("frikort", status.frikortNumber)
        out.add("frikortValidUntil", status.frikortValidUntil)
        out.add("exemption", status.exemption)
        return out
    }

    private func feeStatusResponse(_ status: Cashier.FeeStatus) -> OperationAnswer { .parameters(feeStatusParameters(status)) }

    private func inboxResponse(_ items: [Referrals.InboxItem]) -> OperationAnswer {
        var out = ParametersBuilder()
        for item in items {
            var part = ParametersBuilder()
            part.add("task", reference: "Task/\(item.task.id)")
            part.add("patient", reference: item.patientID.map { "Patient/\($0)" })
            part.add("status", item.status)
            part.add("step", item.step)
            part.add("owner", reference: item.task.object["owner"]?.objectValue?["reference"]?.stringValue)
            part.add("requester", reference: item.task.object["requester"]?.objectValue?["reference"]?.stringValue)
            part.add("daysSinceSent", int: item.daysSinceSent)
            part.add("overdue", bool: item.isOverdue)
            part.add("alarm", bool: item.isAlarm)
            out.add("referral", part: part)
        }
        return .parameters(out)
    }
}
