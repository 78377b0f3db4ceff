import Access
import FHIRCore
import Foundation
import StoreModel

/// What a chart opens with, in one request: demographics and identifiers, attention signals, active
/// problems, current medications, latest results, upcoming appointments, open referrals, the latest
/// notes and the current care contact. Every part is an index-backed search of the patient's records,
/// run together so the look is one audited access.
public struct PatientOverview: Sendable {
    /// The overview's parts; each list is newest or soonest first.
    public struct Chart: Sendable {
        public var patient: StoredResource
        public var attention: AttentionSignals.State
        public var problems: [StoredResource]
        public var medications: [StoredResource]
        public var results: [StoredResource]
        public var appointments: [StoredResource]
        public var referrals: [StoredResource]
        public var notes: [StoredResource]
        public var currentContacts: [StoredResource]
    }

    /// How many of each part the overview shows.
    public var resultCount = 10
    public var noteCount = 10
    public var appointmentCount = 10

    public func chart(patientID: String, session: PatientDataSession) async throws -> Chart {
        // Refusals first (audited as such); then every part in one look, audited once per patient.
        try await session.requireAccess(patientID: patientID)
        let subject = "Patient/\(patientID)"
        func query(_ type: String, _ parameters: [(name: String, value: String)]) throws(FHIRError) -> SearchQuery {
            try SearchQuery.parse(type: type, parameters: [("patient", subject)] + parameters, strict: true)
        }
        let now = Instant.format(milliseconds: Instant.now())
        var queries = try AttentionSignals.queries(patientID: patientID)
        queries += [
            (try SearchQuery.parse(type: "Patient", parameters: [("_id", patientID)], strict: true), 1),
            (try query("Condition", [("clinical-status", "active,recurrence,relapse")]), 200),
            (try query("MedicationRequest", [("status", "active,on-hold")]), 100),
            (try query("MedicationStatement", [("status", "active,intended")]), 100),
            (try query("Observation", [("_sort", "-date")]), resultCount),
            (try query("Appointment", [("date", "ge\(now)"), ("status", "booked,pending,arrived,checked-in,proposed"), ("_sort", "date")]), appointmentCount),
            (try query("ServiceRequest", [("status", "active,draft,on-hold")]), 50),
            (try SearchQuery.parse(type: "Composition", parameters: [("subject", subject), ("status:not", "entered-in-error"), ("_sort", "-date")], strict: true), noteCount),
            (try query("Encounter", [("status", "planned,arrived,triaged,in-progress,onleave")]), 10),
        ]
        let pages = try await session.search(together: queries)
        guard let patient = pages[2].first else { throw FHIRError(.notFound, code: .notFound, "Patient/\(patientID) does not exist") }
        return Chart(patient: patient, attention: AttentionSignals.state(allergies: pages[0], flags: pages[1]), problems: Diagnoses.problemList(pages[3]).active,
                     medications: pages[4] + pages[5], results: pages[6], appointments: pages[7], referrals: pages[8], notes: pages[9],
                     currentContacts: pages[10])
    }
}
