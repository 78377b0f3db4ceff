import Access
import FHIRCore
import Foundation
import Hummingbird
import WebApp
import PatientAdministration
import StoreModel

/// Tidboken: the unit's day and week, per appointment book (a practitioner's or a room's schedule);
/// booking a free time by personnummer, moving, cancelling, checking in and no-shows; the waiting
/// list with the care guarantee's days left. Every action is the patient administration module's.
extension AdministrationPages {
    /// The day or week to show, and which schedule, from the query (`dag`, `vy`, `schema`).
    struct BookView {
        var day: Int
        var week: Bool
        var scheduleID: String?

        init(_ query: [String: String]) {
            day = query["dag"].flatMap(SwedishTime.parseDay) ?? SwedishTime.today
            week = query["vy"] == "vecka"
            scheduleID = query["schema"].flatMap { $0.isEmpty ? nil : $0 }
        }

        /// The same view's address, for links and redirects after an action.
        func href(day: Int? = nil, week: Bool? = nil, extra: String = "") -> String {
            var parts = ["dag=\(SwedishTime.formatDay(day ?? self.day))"]
            if week ?? self.week { parts.append("vy=vecka") }
            if let scheduleID { parts.append("schema=\(scheduleID.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? scheduleID)") }
            return "/tidbok?" + parts.joined(separator: "&") + extra
        }
    }

    /// A scheduling form (create times, block time) sent back with what was typed and what is wrong, field by field.
    struct ScheduleForm {
        var name: String
        var values: [String: String]
        var errors: [String: String]
    }

    func appointmentBook(_ request: Request, _ user: User, view: BookView? = nil, notice: String? = nil, problem: (slotID: String, text: String, value: String)? = nil,
                         scheduling: ScheduleForm? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        guard let assignment = user.assignment else { throw FHIRError(.forbidden, code: .forbidden, "no assignment was chosen at login") }
        let query = Self.query(request)
        let view = view ?? BookView(query)
        let session = user.data(gateway, action: "appointment-book")
        let records = Records(session: session)
        let unitTag = ("_tag", "\(RecordTags.careUnit)|\(assignment.unitID)")
        // The week starts on Monday; the day view is one day of it.
        let monday = view.day - (SwedishTime.weekday(view.day) - 1)
        let (from, to) = view.week ? (monday, monday + 7) : (view.day, view.day + 1)
        let range = [("start", "ge" + Instant.format(milliseconds: SwedishTime.instant(day: from, minuteOfDay: 0))),
                     ("start", "lt" + Instant.format(milliseconds: SwedishTime.instant(day: to, minuteOfDay: 0)))]
        var slotFilters: [(name: String, value: String)] = [unitTag, ("_sort", "start")] + range
        if let scheduleID = view.scheduleID { slotFilters.append(("schedule", "Schedule/\(scheduleID)")) }
        async let schedules = records.search("Schedule", [unitTag, ("active", "true")], limit: 50)
        async let slots = records.search("Slot", slotFilters, limit: settings.maximumBookRows)
        async let appointments = records.search("Appointment", [unitTag, ("date", range[0].1), ("date", range[1].1),
                                                                ("status:not", "waitlist")], limit: settings.maximumBookRows)
        let (books, times, found) = try await (schedules, slots, appointments)
        // `object` parses the stored JSON: each time and booking once, not once per use.
        let bookings = found.map { (id: $0.id, object: $0.object) }
        let slotObjects = Dictionary(times.map { ($0.id, $0.object) }, uniquingKeysWith: { a, _ in a })
        let bySlot = Dictionary(bookings.compactMap { booking in
            booking.object["slot"]?.arrayValue?.first.flatMap { Display.id($0, type: "Slot") }.map { ($0, booking) }
        }.filter { $0.1.object["status"]?.stringValue != "cancelled" }, uniquingKeysWith: { a, _ in a })
        let patientIDs = Set(bookings.flatMap { Display.participants($0.object, type: "Patient") })
        let patients = Dictionary(try await session.read(keys: patientIDs.sorted().map { ResourceKey(type: "Patient", id: $0) }).map { ($0.id, $0.object) },
                                  uniquingKeysWith: { a, _ in a })
        let bookNames = Dictionary(books.map { ($0.id, $0.object["comment"]?.stringValue ?? $0.id) }, uniquingKeysWith: { a, _ in a })

        var context = layout(user, title: view.week ? "Tidbok, vecka" : "Tidbok \(SwedishTime.formatDay(view.day))", nav: "navBook")
        context["unitName"] = assignment.unitName
        context["dayText"] = Self.dayName(view.day)
        context["day"] = SwedishTime.formatDay(view.day)
        context["week"] = view.week
        context["previousHref"] = view.href(day: view.day - (view.week ? 7 : 1))
        context["nextHref"] = view.href(day: view.day + (view.week ? 7 : 1))
        context["todayHref"] = view.href(day: SwedishTime.today)
        context["dayHref"] = view.href(week: false)
        context["weekHref"] = view.href(week: true)
        context["schedules"] = [["id": "", "name": "Alla tidböcker", "selected": view.scheduleID == nil] as [String: Any]]
            + books.map { ["id": $0.id, "name": bookNames[$0.id] ?? $0.id, "selected": $0.id == view.scheduleID] as [String: Any] }
        if let notice = notice ?? query["klar"] { context["notice"] = notice }
        if let encounterID = query["kontakt"], !encounterID.isEmpty { context["cashierHref"] = "/kassa/\(encounterID)" }
        context["returnTo"] = view.href()

        func row(_ slot: StoredResource) -> [String: Any] {
            let object = slotObjects[slot.id] ?? slot.object
            var item: [String: Any] = ["slotID": slot.id, "time": Display.clock(object["start"]?.stringValue) + "–" + Display.clock(object["end"]?.stringValue),
                                       "book": Display.id(object["schedule"], type: "Schedule").flatMap { bookNames[$0] } ?? "",
                                       "visit": Display.concept(object["serviceType"]?.arrayValue?.first)]
            let slotStatus = object["status"]?.stringValue ?? ""
            let started = (object["start"]?.stringValue).flatMap(Instant.parse) ?? 0
            if let booking = bySlot[slot.id] {
                let patientID = Display.participants(booking.object, type: "Patient").first
                let patient = patientID.flatMap { patients[$0] }
                let bookingStatus = booking.object["status"]?.stringValue ?? ""
                item["booked"] = true
                item["appointmentID"] = booking.id
                item["patientID"] = patientID ?? ""
                item["patientName"] = patient.map(Display.name) ?? "Patient utan åtkomst"
                item["identity"] = patient.flatMap(Display.identity)?.value ?? ""
                item["status"] = Labels.appointmentStatus(bookingStatus)
                item["canCheckIn"] = bookingStatus == "booked"
                item["canChange"] = bookingStatus == "booked"
                if let comment = booking.object["comment"]?.stringValue, !comment.isEmpty { item["comment"] = comment }
            } else if slotStatus == "free" {
                item["free"] = started > Instant.now()
                item["passed"] = started <= Instant.now()
            } else {
                item["blocked"] = true
                item["status"] = slotStatus == "busy-unavailable" ? "Spärrad tid" : "Upptagen"
            }
            // What went wrong is said at the time it concerns, with what the clerk typed.
            if let problem, problem.slotID == slot.id {
                item["error"] = problem.text
                item["value"] = problem.value
            }
            return item
        }
        // Creating and blocking times on the day shown, with the values typed when a form comes back.
        let typed = scheduling?.values ?? [:]
        let chosenBook = typed["schedule"] ?? view.scheduleID
        context["scheduleChoices"] = books.map { ["id": $0.id, "name": bookNames[$0.id] ?? $0.id, "selected": $0.id == chosenBook] as [String: Any] }
        context["visitChoices"] = VisitType.allCases.map { ["code": $0.rawValue, "name": $0.display, "selected": $0.rawValue == (typed["visitType"] ?? "lakarbesok")] as [String: Any] }
        for (field, fallback) in [("from", "08:00"), ("to", "12:00"), ("minutes", "20"), ("reason", "")] { context["s_\(field)"] = typed[field] ?? fallback }
        context["s_lastDay"] = typed["lastDay"] ?? SwedishTime.formatDay(view.day)
        // Monday to Friday unless the form came back with the user's own choice.
        let returnedCreate = scheduling?.name == "create"
        context["weekdayChoices"] = Self.weekdayNames.enumerated().map { index, name -> [String: Any] in
            ["field": "day\(index + 1)", "name": name, "checked": returnedCreate ? typed["day\(index + 1)"] != nil : index < 5]
        }
        if let scheduling {
            context[["create": "createOpen", "block": "blockOpen", "unblock": "unblockOpen"][scheduling.name] ?? "createOpen"] = true
            for (field, message) in scheduling.errors { context["\(scheduling.name)_e_\(field)"] = message }
        }
        if view.week {
            context["days"] = (0..<7).map { offset -> [String: Any] in
                let day = monday + offset
                let rows = times.filter { (slotObjects[$0.id]?["start"]?.stringValue).flatMap(Instant.parse).map(SwedishTime.day(of:)) == day }
                let items = rows.map(row)
                // Free means bookable: a free time already passed is not counted.
                return ["name": Self.dayName(day), "href": view.href(day: day, week: false), "rows": items,
                        "free": items.filter { $0["free"] as? Bool == true }.count, "booked": items.filter { $0["booked"] as? Bool == true }.count]
            }
        } else {
            context["rows"] = times.map(row)
        }
        return pages.page("book", context, status: status)
    }

    /// "måndag 23 november 2026".
    static func dayName(_ day: Int) -> String {
        let names = ["måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag"]
        let months = ["januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september", "oktober", "november", "december"]
        let date = CivilCalendar.date(fromDaysSince1970: day)
        return "\(names[SwedishTime.weekday(day) - 1]) \(date.day) \(months[date.month - 1]) \(date.year)"
    }

    /// The view a form came from, so an action returns to it.
    func returning(_ user: User) -> BookView {
        let target = user.form["returnTo"] ?? ""
        return BookView(Dictionary((target.split(separator: "?", maxSplits: 1).dropFirst().first.map(String.init) ?? "").queryPairs.map { ($0.name, $0.value) },
                                   uniquingKeysWith: { _, b in b }))
    }

    static var weekdayNames: [String] { ["måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag"] }

    /// Creates bookable times on one of the unit's books, from the day shown to a last day, on the
    /// chosen days of the week, between two clock times, of one visit type (the times already there stay).
    func createSlots(_ request: Request, _ user: User) async throws -> Response {
        let view = returning(user)
        let form = user.form.mapValues { $0.trimmingCharacters(in: .whitespaces) }
        func refused(_ errors: [String: String]) async throws -> Response {
            try await appointmentBook(request, user, view: view, scheduling: ScheduleForm(name: "create", values: form, errors: errors), status: .badRequest)
        }
        let scheduleID = form["schedule"] ?? ""
        guard !scheduleID.isEmpty else { return try await refused(["schedule": "Välj en tidbok."]) }
        let weekdays = (1...7).filter { form["day\($0)"] != nil }.map(String.init).joined(separator: ",")
        guard !weekdays.isEmpty else { return try await refused(["weekdays": "Välj minst en veckodag."]) }
        let template: AppointmentBook.SlotTemplate
        do {
            template = try AppointmentBook.SlotTemplate.parse(from: SwedishTime.formatDay(view.day), to: form["lastDay"] ?? "", weekdays: weekdays,
                                                              start: form["from"] ?? "", end: form["to"] ?? "", minutes: form["minutes"] ?? "",
                                                              visitType: form["visitType"] ?? "")
        } catch {
            let fields = ["to": "lastDay", "start": "from", "end": "to"]
            let field = error.issues.first?.expression.first.map { fields[$0] ?? $0 } ?? "from"
            return try await refused([field: Self.said(error)])
        }
        let made: (created: Int, existing: Int)
        do {
            made = try await administration.book.generateSlots(scheduleID: scheduleID, template: template, session: user.data(gateway, action: "create-slots"))
        } catch let error as FHIRError where error.category == .invalid || error.category == .notFound {
            return try await refused(["schedule": Self.said(error)])
        }
        let text = "\(made.created) nya tider" + (made.existing > 0 ? ", \(made.existing) fanns redan" : "")
        return Self.redirect(view.href(extra: "&klar=" + Self.encoded(text)))
    }

    /// Blocks time on one book on the day shown (a meeting, leave): its free times become unavailable
    /// with the reason; booked ones stay, and the notice says how many to move or cancel.
    func blockSlots(_ request: Request, _ user: User) async throws -> Response {
        let view = returning(user)
        let form = user.form.mapValues { $0.trimmingCharacters(in: .whitespaces) }
        var errors: [String: String] = [:]
        let period = Self.bookPeriod(form, day: view.day, errors: &errors)
        let reason = form["reason"] ?? ""
        if reason.count < 2 { errors["reason"] = "Skriv varför tiden blockeras (till exempel APT-möte)." }
        guard errors.isEmpty, let period else {
            return try await appointmentBook(request, user, view: view, scheduling: ScheduleForm(name: "block", values: form, errors: errors), status: .badRequest)
        }
        let result: (blocked: Int, booked: [String])
        do {
            result = try await administration.book.blockTime(scheduleID: period.scheduleID, start: period.start, end: period.end, reason: reason,
                                                            session: user.data(gateway, action: "block-time"))
        } catch let error as FHIRError where error.category == .invalid || error.category == .notFound {
            return try await appointmentBook(request, user, view: view, scheduling: ScheduleForm(name: "block", values: form, errors: ["schedule": Self.said(error)]),
                                             status: .badRequest)
        }
        var text = "\(result.blocked) tider blockerade"
        if !result.booked.isEmpty { text += ". \(result.booked.count) bokade tider ligger kvar i perioden – flytta eller avboka dem" }
        return Self.redirect(view.href(extra: "&klar=" + Self.encoded(text)))
    }

    /// Lifts blocks on one book on the day shown: its blocked times in the period become free again.
    func unblockSlots(_ request: Request, _ user: User) async throws -> Response {
        let view = returning(user)
        let form = user.form.mapValues { $0.trimmingCharacters(in: .whitespaces) }
        var errors: [String: String] = [:]
        func refused(_ errors: [String: String]) async throws -> Response {
            try await appointmentBook(request, user, view: view, scheduling: ScheduleForm(name: "unblock", values: form, errors: errors), status: .badRequest)
        }
        guard let period = Self.bookPeriod(form, day: view.day, errors: &errors) else { return try await refused(errors) }
        let freed: Int
        do {
            freed = try await administration.book.unblockTime(scheduleID: period.scheduleID, start: period.start, end: period.end,
                                                             session: user.data(gateway, action: "unblock-time"))
        } catch let error as FHIRError where error.category == .invalid || error.category == .notFound {
            return try await refused(["schedule": Self.said(error)])
        }
        return Self.redirect(view.href(extra: "&klar=" + Self.encoded(freed == 0 ? "Inga spärrade tider i perioden" : "\(freed) tider är lediga igen")))
    }

    /// The book and the period on the day shown that a block or unblock form names; nil with what is
    /// wrong at its field.
    static func bookPeriod(_ form: [String: String], day: Int, errors: inout [String: String]) -> (scheduleID: String, start: Int64, end: Int64)? {
        let scheduleID = form["schedule"] ?? ""
        if scheduleID.isEmpty { errors["schedule"] = "Välj en tidbok." }
        let from = minuteOfDay(form["from"], field: "from", errors: &errors), to = minuteOfDay(form["to"], field: "to", errors: &errors)
        if let from, let to, to <= from { errors["to"] = "Sluttiden måste vara efter starttiden." }
        guard !scheduleID.isEmpty, let from, let to, to > from else { return nil }
        return (scheduleID, SwedishTime.instant(day: day, minuteOfDay: from), SwedishTime.instant(day: day, minuteOfDay: to))
    }

    /// A clock time typed as hh:mm, as minutes after midnight; nil with the error at its field.
    static func minuteOfDay(_ text: String?, field: String, errors: inout [String: String]) -> Int? {
        let parts = (text ?? "").split(separator: ":").map { Int($0) }
        guard parts.count == 2, let hour = parts[0], let minute = parts[1], (0...23).contains(hour), (0..<60).contains(minute) else {
            errors[field] = "Skriv tiden som tt:mm, till exempel 13:00."
            return nil
        }
        return hour * 60 + minute
    }

    /// Books a free time for the patient whose personnummer (or reservnummer) the clerk typed.
    func bookSlot(_ request: Request, _ user: User) async throws -> Response {
        let view = returning(user)
        let slotID = user.form["slot"] ?? ""
        let typed = (user.form["patient"] ?? "").trimmingCharacters(in: .whitespaces)
        let session = user.data(gateway, action: "book-appointment")
        func problem(_ text: String) async throws -> Response {
            try await appointmentBook(request, user, view: view, problem: (slotID, text, typed), status: .badRequest)
        }
        guard !typed.isEmpty else { return try await problem("Ange patientens personnummer.") }
        let found: [StoredResource]
        do {
            found = try await administration.registry.find(typed, limit: 2, session: session)
        } catch let error as FHIRError where error.category == .invalid {
            return try await problem("Numret är inte giltigt: " + Self.said(error))
        }
        guard found.count == 1, Display.identity(found[0].object) != nil else {
            return try await problem(found.isEmpty ? "Ingen patient med det numret. Registrera patienten först." : "Ange ett personnummer, inte ett namn.")
        }
        do {
            let booking = try await administration.book.book(slotID: slotID, patientID: found[0].id, comment: user.form["comment"], session: session,
                                                          cashier: administration.cashier)
            let when = Display.clock(booking.appointment.object["start"]?.stringValue)
            return Self.redirect(view.href(extra: "&klar=" + (("Bokad: \(Display.name(found[0].object)) kl. \(when)").addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")))
        } catch let error as FHIRError where error.category == .conflict || error.category == .invalid {
            return try await problem(Self.said(error))
        }
    }

    /// Checks a booked patient in (ankomstregistrering): the visit's care contact starts, and the cashier can take the fee.
    func checkIn(appointmentID: String, _ request: Request, _ user: User) async throws -> Response {
        let session = user.data(gateway, action: "check-in")
        let (appointment, encounter) = try await administration.book.checkIn(appointmentID: appointmentID, session: session, contacts: administration.contacts)
        let text = "Incheckad: \(try await patientName(of: appointment, session: session)) kl. \(Display.clock(appointment.object["start"]?.stringValue))"
        return Self.redirect(returning(user).href(extra: "&klar=" + (text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "") + "&kontakt=\(encounter.id)"))
    }

    /// Cancels a booking with a reason, or marks a no-show; a missing reason is said on the day's page.
    func cancelOrNoShow(appointmentID: String, noShow: Bool, _ request: Request, _ user: User) async throws -> Response {
        let session = user.data(gateway, action: noShow ? "no-show" : "cancel-appointment")
        let view = returning(user)
        if noShow {
            _ = try await administration.book.noShow(appointmentID: appointmentID, session: session)
            return Self.redirect(view.href(extra: "&klar=Uteblivet%20bes%C3%B6k%20registrerat"))
        }
        let reason = (user.form["reason"] ?? "").trimmingCharacters(in: .whitespaces)
        guard reason.count >= 2 else {
            return try await appointmentBook(request, user, view: view, notice: nil,
                                             problem: (Self.slotOf(appointmentID, in: user.form), "Ange varför tiden avbokas.", ""), status: .badRequest)
        }
        _ = try await administration.book.cancel(appointmentID: appointmentID, by: user.form["by"] == "patient" ? .patient : .clinic, reason: reason, session: session)
        return Self.redirect(view.href(extra: "&klar=Tiden%20%C3%A4r%20avbokad"))
    }

    func patientName(of appointment: StoredResource, session: PatientDataSession) async throws -> String {
        guard let patientID = Display.participants(appointment.object, type: "Patient").first,
              let patient = try await session.read(type: "Patient", id: patientID) else { return "patienten" }
        return Display.name(patient.object)
    }

    static func slotOf(_ appointmentID: String, in form: [String: String]) -> String { form["slot"] ?? appointmentID }

    /// Free times to move a booking to (or to book a waiting-list entry into), the next weeks at the unit.
    func chooseTime(appointmentID: String, waiting: Bool, _ request: Request, _ user: User, error: String? = nil) async throws -> Response {
        guard let assignment = user.assignment else { throw FHIRError(.forbidden, code: .forbidden, "no assignment was chosen at login") }
        let session = user.data(gateway, action: waiting ? "book-from-waiting-list" : "move-appointment")
        guard let appointment = try await session.read(type: "Appointment", id: appointmentID) else {
            throw FHIRError(.notFound, code: .notFound, "Appointment/\(appointmentID) does not exist", text: "Bokningen finns inte.")
        }
        let visit = appointment.object.code("serviceType", system: AdministrationCodes.visitType).flatMap(VisitType.init(rawValue:))
        let free = try await administration.book.findFreeSlots(scheduleID: nil, unitID: assignment.unitID, visitType: visit, from: Instant.now(),
                                                                to: Instant.now() + 28 * 86_400_000, limit: 60, session: session)
        var patient: StoredResource?
        if let patientID = Display.participants(appointment.object, type: "Patient").first { patient = try await session.read(type: "Patient", id: patientID) }
        var context = layout(user, title: waiting ? "Boka från väntelistan" : "Flytta besök", nav: waiting ? "navWaiting" : "navBook")
        context["heading"] = waiting ? "Boka tid från väntelistan" : "Flytta besöket"
        context["patientName"] = patient.map { Display.name($0.object) } ?? ""
        context["identity"] = patient.flatMap { Display.identity($0.object)?.value } ?? ""
        if !waiting { context["current"] = Display.time(appointment.object["start"]?.stringValue) }
        context["action"] = waiting ? "/vantelista/\(appointmentID)/boka" : "/tidbok/\(appointmentID)/flytta"
        context["returnTo"] = user.form["returnTo"] ?? Self.query(request)["tillbaka"] ?? "/tidbok"
        context["slots"] = free.map { ["id": $0.id, "text": Self.dayName(SwedishTime.day(of: Instant.parse($0.object["start"]?.stringValue ?? "") ?? 0)) + " kl. "
                                       + Display.clock($0.object["start"]?.stringValue), "visit": Display.concept($0.object["serviceType"]?.arrayValue?.first)] }
        if let error { context["error"] = error }
        return pages.page("choose-time", context, status: error == nil ? .ok : .badRequest)
    }

    func moveOrBookFromWaitingList(appointmentID: String, waiting: Bool, _ request: Request, _ user: User) async throws -> Response {
        guard let slotID = user.form["slot"], !slotID.isEmpty else {
            return try await chooseTime(appointmentID: appointmentID, waiting: waiting, request, user, error: "Välj en tid.")
        }
        let session = user.data(gateway, action: waiting ? "book-from-waiting-list" : "move-appointment")
        do {
            if waiting {
                guard let entry = try await session.read(type: "Appointment", id: appointmentID),
                      let patientID = Display.participants(entry.object, type: "Patient").first else {
                    throw FHIRError(.notFound, code: .notFound, "Appointment/\(appointmentID) does not exist")
                }
                _ = try await administration.book.book(slotID: slotID, patientID: patientID, waitingListEntryID: appointmentID, session: session)
                return Self.redirect("/vantelista?klar=Tiden%20%C3%A4r%20bokad")
            }
            let moved = try await administration.book.reschedule(appointmentID: appointmentID, slotID: slotID, session: session)
            let day = (moved.object["start"]?.stringValue).flatMap(Instant.parse).map(SwedishTime.day(of:)) ?? SwedishTime.today
            return Self.redirect("/tidbok?dag=\(SwedishTime.formatDay(day))&klar=Bes%C3%B6ket%20%C3%A4r%20flyttat")
        } catch let error as FHIRError where error.category == .conflict || error.category == .invalid {
            return try await chooseTime(appointmentID: appointmentID, waiting: waiting, request, user, error: Self.said(error))
        }
    }

    /// The unit's waiting list, most pressing first, with the care guarantee's days left.
    func waitingListPage(_ request: Request, _ user: User) async throws -> Response {
        guard let assignment = user.assignment else { throw FHIRError(.forbidden, code: .forbidden, "no assignment was chosen at login") }
        let session = user.data(gateway, action: "waiting-list")
        let entries = try await administration.waitingList.entries(unitID: assignment.unitID, session: session)
        let patients = Dictionary(try await session.read(keys: Set(entries.compactMap(\.patientID)).sorted().map { ResourceKey(type: "Patient", id: $0) })
            .map { ($0.id, $0.object) }, uniquingKeysWith: { a, _ in a })
        var context = layout(user, title: "Väntelista", nav: "navWaiting")
        context["unitName"] = assignment.unitName
        if let notice = Self.query(request)["klar"] { context["notice"] = notice }
        context["entries"] = entries.map { entry -> [String: Any] in
            let patient = entry.patientID.flatMap { patients[$0] }
            var item: [String: Any] = ["id": entry.appointment.id, "patientID": entry.patientID ?? "", "patientName": patient.map(Display.name) ?? "Patient utan åtkomst",
                    "identity": patient.flatMap(Display.identity)?.value ?? "",
                    "visit": entry.visitType.flatMap(VisitType.init(rawValue:))?.display ?? "Besök", "priority": entry.priority,
                    "since": SwedishTime.formatDay(entry.startDay), "due": SwedishTime.formatDay(entry.dueDay),
                    "daysLeft": entry.daysLeft, "overdue": entry.isOverdue, "overdueDays": -entry.daysLeft]
            if let comment = entry.appointment.object["comment"]?.stringValue, !comment.isEmpty { item["comment"] = comment }
            return item
        }
        return pages.page("waiting", context)
    }
}
