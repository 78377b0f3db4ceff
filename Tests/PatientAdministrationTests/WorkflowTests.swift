import FHIRCore
import PatientAdministration
import Testing

/// Every (status, event) pair of each state machine against a table written out here:
/// a transition outside the table must be refused, one inside must give the table's status.
@Suite("Workflow state machines: every allowed and every refused transition")
struct WorkflowTests {
    @Test("Encounter: vårdkontakt and vårdtillfälle")
    func encounter() {
        let statuses = ["planned", "arrived", "triaged", "in-progress", "onleave", "finished", "cancelled", "entered-in-error", "unknown"]
        let allowed: [String: String] = [
            "planned arrive": "arrived", "planned start": "in-progress", "arrived start": "in-progress", "triaged start": "in-progress",
            "in-progress leave IMP": "onleave", "onleave return IMP": "in-progress", "in-progress transfer IMP": "in-progress",
            "arrived finish": "finished", "triaged finish": "finished", "in-progress finish": "finished", "onleave finish IMP": "finished",
            "planned cancel": "cancelled", "arrived cancel": "cancelled",
        ]
        for inpatient in [false, true] {
            for status in statuses {
                for event in EncounterWorkflow.Event.allCases {
                    let expected: String?
                    if event == .enteredInError {
                        expected = status == "entered-in-error" ? nil : "entered-in-error"
                    } else {
                        expected = allowed["\(status) \(event.rawValue)"] ?? (inpatient ? allowed["\(status) \(event.rawValue) IMP"] : nil)
                    }
                    let actual = try? EncounterWorkflow.next(status, event, inpatient: inpatient)
                    #expect(actual == expected, "\(status) --\(event.rawValue)--> inpatient \(inpatient)")
                }
            }
        }
    }

    @Test("Appointment: tidbok and väntelista")
    func appointment() {
        let statuses = ["proposed", "pending", "booked", "arrived", "fulfilled", "cancelled", "noshow", "entered-in-error", "checked-in", "waitlist"]
        let allowed: [String: String] = [
            "waitlist book": "booked", "proposed book": "booked", "pending book": "booked", "booked reschedule": "booked",
            "waitlist cancel": "cancelled", "proposed cancel": "cancelled", "pending cancel": "cancelled", "booked cancel": "cancelled",
            "booked no-show": "noshow", "booked check-in": "arrived", "arrived fulfil": "fulfilled", "checked-in fulfil": "fulfilled",
        ]
        for status in statuses {
            for event in AppointmentWorkflow.Event.allCases {
                let expected = event == .enteredInError ? (status == "entered-in-error" ? nil : "entered-in-error") : allowed["\(status) \(event.rawValue)"]
                #expect((try? AppointmentWorkflow.next(status, event)) == expected, "\(status) --\(event.rawValue)-->")
            }
        }
    }

    @Test("Referral Task: remisshantering with its Swedish steps")
    func referral() {
        let statuses = ["draft", "requested", "received", "accepted", "rejected", "ready", "cancelled", "in-progress", "on-hold", "failed", "completed", "entered-in-error"]
        let allowed: [String: (String, String)] = [
            "requested receive": ("received", "mottagen"),
            "requested accept": ("accepted", "accepterad"), "received accept": ("accepted", "accepterad"),
            "requested reject": ("rejected", "avvisad"), "received reject": ("rejected", "avvisad"), "on-hold reject": ("rejected", "avvisad"),
            "requested forward": ("requested", "vidarebefordrad"), "received forward": ("requested", "vidarebefordrad"),
            "requested request-completion": ("on-hold", "kompletteras"), "received request-completion": ("on-hold", "kompletteras"),
            "on-hold complete": ("received", "kompletterad"),
            "accepted plan": ("in-progress", "planerad"), "in-progress plan": ("in-progress", "planerad"),
            "accepted answer": ("completed", "besvarad"), "in-progress answer": ("completed", "besvarad"),
            "requested cancel": ("cancelled", "aterkallad"), "received cancel": ("cancelled", "aterkallad"), "on-hold cancel": ("cancelled", "aterkallad"),
        ]
        for status in statuses {
            for event in ReferralWorkflow.Event.allCases {
                let actual = try? ReferralWorkflow.next(status, event)
                let expected = allowed["\(status) \(event.rawValue)"]
                #expect(actual?.status == expected?.0 && actual?.step == expected?.1, "\(status) --\(event.rawValue)-->")
            }
        }
        #expect(ReferralWorkflow.side(of: .cancel) == .sender && ReferralWorkflow.side(of: .complete) == .sender && ReferralWorkflow.side(of: .accept) == .receiver)
    }

    @Test("reservnummer: format, date, check digit, serial range; searchable in any written form")
    func reservnummer() throws {
        let made = try Reservnummer(year: 2026, month: 11, day: 22, serial: 17)
        #expect(made.canonical.hasPrefix("99261122017"))
        #expect(try Reservnummer(made.formatted) == made)
        #expect(made.formatted == "99261122-" + made.canonical.suffix(4))
        var wrongCheck = Array(made.canonical)
        wrongCheck[11] = wrongCheck[11] == "0" ? "1" : "0"
        #expect(throws: Reservnummer.ParseError.self) { try Reservnummer(String(wrongCheck)) }
        #expect(throws: Reservnummer.ParseError.self) { try Reservnummer("19261122" + made.canonical.suffix(4)) }
        #expect(throws: Reservnummer.ParseError.self) { try Reservnummer(year: 2026, month: 2, day: 30, serial: 1) }
        #expect(throws: Reservnummer.ParseError.self) { try Reservnummer(year: 2026, month: 1, day: 1, serial: 1_000) }
        #expect(SearchIndexer.canonicalPersonalIdentity(system: Reservnummer.system, value: made.formatted) == made.canonical)
    }

    @Test("Swedish time: slots keep wall-clock times across the change to and from summer time")
    func swedishTime() throws {
        let winter = SwedishTime.instant(day: SwedishTime.parseDay("2026-01-15")!, minuteOfDay: 8 * 60)
        let summer = SwedishTime.instant(day: SwedishTime.parseDay("2026-07-15")!, minuteOfDay: 8 * 60)
        #expect(SwedishTime.format(winter) == "2026-01-15T08:00:00+01:00")
        #expect(SwedishTime.format(summer) == "2026-07-15T08:00:00+02:00")
        #expect(SwedishTime.format(SwedishTime.instant(day: SwedishTime.parseDay("2026-03-29")!, minuteOfDay: 9 * 60)) == "2026-03-29T09:00:00+02:00")
        #expect(SwedishTime.format(SwedishTime.instant(day: SwedishTime.parseDay("2026-10-25")!, minuteOfDay: 9 * 60)) == "2026-10-25T09:00:00+01:00")
        #expect(SwedishTime.weekday(SwedishTime.parseDay("2026-11-23")!) == 1)
    }
}
