import Access
import FHIRCore

/// A transition a workflow refused: the state, the event and why, for a 409.
public struct RefusedTransition: Error, Sendable, Equatable, CustomStringConvertible {
    public let from: String
    public let event: String
    public var description: String { "cannot \(event) when the status is '\(from)'" }

    var error: FHIRError { refused(description, expression: ["status"]) }
}

/// Vårdkontakt and vårdtillfälle: the Encounter.status state machine.
public enum EncounterWorkflow {
    public enum Event: String, Sendable, CaseIterable {
        case arrive, start, leave, `return`, finish, cancel, transfer, enteredInError = "entered-in-error"
    }

    /// The status after `event`, or the refusal. Leave, return and transfer are for inpatient stays only.
    public static func next(_ status: String, _ event: Event, inpatient: Bool) throws(RefusedTransition) -> String {
        let refusal = RefusedTransition(from: status, event: event.rawValue)
        switch (event, status) {
        case (.arrive, "planned"): return "arrived"
        case (.start, "planned"), (.start, "arrived"), (.start, "triaged"): return "in-progress"
        case (.leave, "in-progress") where inpatient: return "onleave"
        case (.return, "onleave") where inpatient: return "in-progress"
        case (.transfer, "in-progress") where inpatient: return "in-progress"
        case (.finish, "arrived"), (.finish, "triaged"), (.finish, "in-progress"): return "finished"
        case (.finish, "onleave") where inpatient: return "finished"
        case (.cancel, "planned"), (.cancel, "arrived"): return "cancelled"
        case (.enteredInError, let current) where current != "entered-in-error": return "entered-in-error"
        default: throw refusal
        }
    }
}

/// Tidbok: the Appointment.status state machine, waiting list included.
public enum AppointmentWorkflow {
    public enum Event: String, Sendable, CaseIterable {
        case book, reschedule, cancel, noShow = "no-show", checkIn = "check-in", fulfil, enteredInError = "entered-in-error"
    }

    public static func next(_ status: String, _ event: Event) throws(RefusedTransition) -> String {
        switch (event, status) {
        case (.book, "waitlist"), (.book, "proposed"), (.book, "pending"): return "booked"
        case (.reschedule, "booked"): return "booked"
        case (.cancel, "waitlist"), (.cancel, "proposed"), (.cancel, "pending"), (.cancel, "booked"): return "cancelled"
        case (.noShow, "booked"): return "noshow"
        case (.checkIn, "booked"): return "arrived"
        case (.fulfil, "arrived"), (.fulfil, "checked-in"): return "fulfilled"
        case (.enteredInError, let current) where current != "entered-in-error": return "entered-in-error"
        default: throw RefusedTransition(from: status, event: event.rawValue)
        }
    }
}

/// Remisshantering: the referral Task's state machine (FHIR workflow, Task.status),
/// with the Swedish step each status is shown as (Task.businessStatus).
public enum ReferralWorkflow {
    public enum Event: String, Sendable, CaseIterable {
        /// The receiving unit registers the referral (mottagen).
        case receive
        /// Assessed and accepted (bedömd, accepterad).
        case accept
        /// Assessed and rejected, with a reason back to the sender (avvisad).
        case reject
        /// Sent on to another unit, which becomes the owner (vidarebefordrad).
        case forward
        /// The receiver asks the sender for more information (kompletteras).
        case requestCompletion = "request-completion"
        /// The sender supplies it (kompletterad).
        case complete
        /// Booked or put on the waiting list (planerad).
        case plan
        /// The answer (remissvar) goes back to the sender (besvarad).
        case answer
        /// The sender withdraws the referral (återkallad).
        case cancel
    }

    /// Which side of the referral may trigger an event.
    public enum Side: Sendable { case receiver, sender }

    public static func side(of event: Event) -> Side {
        switch event {
        case .complete, .cancel: .sender
        default: .receiver
        }
    }

    public static func next(_ status: String, _ event: Event) throws(RefusedTransition) -> (status: String, step: String) {
        switch (event, status) {
        case (.receive, "requested"): return ("received", "mottagen")
        case (.accept, "requested"), (.accept, "received"): return ("accepted", "accepterad")
        case (.reject, "requested"), (.reject, "received"), (.reject, "on-hold"): return ("rejected", "avvisad")
        case (.forward, "requested"), (.forward, "received"): return ("requested", "vidarebefordrad")
        case (.requestCompletion, "requested"), (.requestCompletion, "received"): return ("on-hold", "kompletteras")
        case (.complete, "on-hold"): return ("received", "kompletterad")
        case (.plan, "accepted"), (.plan, "in-progress"): return ("in-progress", "planerad")
        case (.answer, "accepted"), (.answer, "in-progress"): return ("completed", "besvarad")
        case (.cancel, "requested"), (.cancel, "received"), (.cancel, "on-hold"): return ("cancelled", "aterkallad")
        default: throw RefusedTransition(from: status, event: event.rawValue)
        }
    }

    /// Statuses in which the referral waits for the receiver.
    public static let open: Set<String> = ["requested", "received", "accepted", "on-hold", "in-progress"]
    /// Statuses in which the referral is not yet assessed.
    public static let unassessed: Set<String> = ["requested", "received"]
}
