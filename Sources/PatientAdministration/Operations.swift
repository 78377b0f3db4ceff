import FHIRCore

extension PatientAdministration {
    /// The FHIR operations this module answers (docs/patient-administration.md has each one in full).
    /// The API routes by this list and the CapabilityStatement is made from it.
    public static let operations: [OperationDescriptor] = {
        let m = "PatientAdministration"
        var all: [OperationDescriptor] = [
            // Registration
            .type("Patient", "find", post: false, "q:string!", module: m, "Find patients by personnummer, reservnummer or name"),
            .type("Patient", "register-unidentified", post: true, "gender:code", "estimatedBirthYear:integer", "note:string", module: m,
                  "Register an unidentified patient under a new reservnummer"),
            .instance("Patient", "merge", post: true, "target:id!", "reason:string!", module: m,
                      "Merge this (duplicate) patient into the target: records move, the duplicate is marked replaced"),
            .instance("Patient", "unmerge", post: true, "reason:string!", module: m, "Undo a merge: the records that moved go back"),
            .instance("Patient", "list", post: true, "unit:id!", module: m, "List the patient at a primary-care unit (listning)"),
            .instance("Patient", "listing-history", post: false, module: m, "The patient's listing periods"),
            .instance("Patient", "fee-status", post: false, module: m, "Patient fees paid towards the high-cost ceiling, and any frikort"),
            // Care contacts and stays
            .type("Encounter", "register-contact", post: true, "patient:id!", "visitType:code!", "unit:id", "started:boolean", module: m,
                  "Register a care contact (vårdkontakt) at a unit"),
            .type("Encounter", "admit", post: true, "patient:id!", "ward:id", "bed:id", "planned:boolean", "plannedDate:date", "admitSource:code",
                  "expectedDischarge:date", "reason:string", module: m, "Admit a patient to a ward (inskrivning), now or planned"),
            .instance("Encounter", "pay", post: true, "method:code!", "visitType:code", module: m, "Take the patient fee for a visit and issue a receipt"),
            .instance("Organization", "ward-overview", post: false, module: m, "A ward's beds, who lies where, and planned admissions"),
            .instance("Organization", "daily-report", post: false, "date:date", module: m, "A unit's cashier report for one day (dagsrapport)"),
            // Appointment books and waiting lists
            .instance("Schedule", "generate-slots", post: true, "from:date!", "to:date!", "weekdays:string!", "start:string!", "end:string!",
                      "minutes:integer!", "visitType:code!", module: m, "Create bookable times in an appointment book from a weekly template"),
            .instance("Schedule", "block-time", post: true, "start:dateTime!", "end:dateTime!", "reason:string!", module: m,
                      "Block a period of an appointment book"),
            .instance("Schedule", "unblock-time", post: true, "start:dateTime!", "end:dateTime!", module: m, "Lift a block"),
            .type("Slot", "find", post: false, "from:dateTime", "to:dateTime", "schedule:id", "unit:id", "visitType:code", module: m, "Free times"),
            .type("Appointment", "book", post: true, "slot:id!", "patient:id!", "referral:id", "waitingListEntry:id", "comment:string", module: m,
                  "Book a patient on a free time"),
            .type("Appointment", "add-to-waiting-list", post: true, "patient:id!", "unit:id", "visitType:code", "stage:code", "referral:id",
                  "priority:integer", "start:date", "comment:string", module: m, "Put a patient on a unit's waiting list (vårdgaranti clock)"),
            .type("Appointment", "waiting-list", post: false, "unit:id", "overdue:boolean", module: m, "A unit's waiting list, with care-guarantee days"),
            .instance("Appointment", "reschedule", post: true, "slot:id!", module: m, "Move a booking to another free time"),
            .instance("Appointment", "cancel", post: true, "reason:string!", "by:code", module: m, "Cancel a booking (by patient or clinic)"),
            .instance("Appointment", "no-show", post: true, module: m, "Record that the patient did not come (uteblivet besök)"),
            .instance("Appointment", "check-in", post: true, module: m, "The patient arrived: opens the care contact"),
            // Referrals
            .type("ServiceRequest", "refer", post: true, "patient:id!", "unit:id!", "question:string!", "priority:code", "reason:string",
                  "attachment:string", "fromUnit:id", module: m, "Send a referral (remiss) to a unit"),
            .type("Task", "referral-inbox", post: false, "unit:id", "sent:boolean", module: m, "A unit's received (or sent) referrals"),
            .type("Task", "referral-alarms", post: false, module: m, "Referrals past their deadlines at the user's unit"),
            // Cashier
            .instance("Invoice", "receipt", post: false, module: m, "The receipt of a payment, as text"),
            .instance("Invoice", "void", post: true, "reason:string!", module: m,
                      "Void a receipt on the day it was issued (makulering): the fee no longer counts, the contact may be paid again"),
            .instance("Invoice", "refund", post: true, "reason:string!", "method:code", module: m,
                      "Pay a fee back (återbetalning): a credit receipt, the fee taken off the high-cost protection"),
            .instance("Patient", "fee-history", post: false, module: m, "The patient's receipts towards the high-cost protection, with corrections"),
            .system("fee-schedule", post: false, module: m, "The region's patient-fee schedule"),
            .system("configure-fee-schedule", post: true, "schedule:string!", module: m, "Replace the fee schedule"),
            .system("invoice-export", post: false, "from:date!", "to:date!", "unit:id", module: m, "Payments of a period as CSV, for the ledger"),
        ]
        // Care-contact steps: one operation per workflow event ($discharge is $finish for a stay).
        for event in EncounterWorkflow.Event.allCases {
            all.append(.instance("Encounter", event.rawValue, post: true, "ward:id", "bed:id", "destination:code", "reason:string", module: m,
                                 "Move a care contact on: \(event.rawValue)"))
        }
        all.append(.instance("Encounter", "discharge", post: true, "destination:code", "reason:string", module: m, "Discharge an inpatient stay (utskrivning)"))
        for event in ReferralWorkflow.Event.allCases where event != .plan {
            all.append(.instance("Task", event.rawValue, post: true, "text:string", "unit:id", "priority:code", module: m, "Move a referral on: \(event.rawValue)"))
        }
        return all
    }()
}
