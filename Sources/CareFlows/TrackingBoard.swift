public import Access
public import FHIRCore
import Foundation
public import StoreModel

/// The tracking board (akuttavla): every open emergency visit of a unit with its room, colour, complaint, the
/// minutes since arrival and triage, the responsible doctor and nurse, orders and results since arrival and the
/// attention signals — not yet triaged first, then by colour, then by how long the patient has waited.
public struct TrackingBoard: Sendable {
    /// One open visit on the board.
    public struct Row: Sendable {
        public var encounterID: String
        public var patientID: String
        public var patientName: String
        /// Personnummer or reservnummer, as shown.
        public var identifier: String
        public var unidentified: Bool
        public var arrivalMode: String
        public var arrival: Int64
        public var triaged: Int64?
        public var doctorAt: Int64?
        public var decisionAt: Int64?
        public var colour: String?
        public var colourDisplay: String?
        public var complaint: String
        public var room: String?
        public var doctor: String?
        public var nurse: String?
        public var step: EmergencyStep
        /// Orders since arrival still waiting for their result.
        public var pendingOrders: Int
        /// Results reported since arrival.
        public var results: Int
        public var signals: [String]
        /// When each target is breached (milliseconds): triage, doctor, total stay — only while it still can be.
        public var triageDue: Int64?
        public var doctorDue: Int64?
        public var stayDue: Int64

        public func minutes(since time: Int64?, now: Int64) -> Int? { time.map { Int((now - $0) / 60_000) } }
    }

    let department: EmergencyDepartment
    /// How many open visits a board shows at most.
    public var maximumRows: Int

    public init(department: EmergencyDepartment, maximumRows: Int = 300) {
        self.department = department
        self.maximumRows = maximumRows
    }

    /// The unit's board now.
    public func rows(unitID: String, session: PatientDataSession) async throws -> [Row] {
        let records = Records(session: session)
        let visits = try await records.all("Encounter", [("service-provider", "Organization/\(unitID)"), ("status", "arrived,triaged,in-progress"),
                                                          ("class", "\(CareFlowCodes.actCode)|EMER")], maximum: maximumRows)
        guard !visits.isEmpty else { return [] }
        let patientIDs = Array(Set(visits.compactMap { $0.object.referenceID("subject", type: "Patient") }))
        let earliest = visits.compactMap { $0.object["period"]?.objectValue?["start"]?.stringValue }.min() ?? SwedishTime.format(department.clock())
        // The patients and what the rows show of them, read side by side (on PostgreSQL each is a round trip).
        async let patientsRead = session.read(keys: patientIDs.map { ResourceKey(type: "Patient", id: $0) })
        async let related = Self.related(patientIDs, since: earliest, session: session)
        let byID = Dictionary(try await patientsRead.map { ($0.id, $0.object) }, uniquingKeysWith: { a, _ in a })
        let (orders, reports, signals) = try await related
        let table = department.scoring.table, targets = department.targets
        var rows: [Row] = []
        for visit in visits {
            let encounter = visit.object
            guard let patientID = encounter.referenceID("subject", type: "Patient") else { continue }
            let times = EmergencyDepartment.stepTimes(encounter)
            let arrival = times[.arrival] ?? encounter["period"]?.objectValue?["start"]?.stringValue.flatMap(Instant.parse) ?? 0
            let arrivalText = SwedishTime.format(arrival)
            let patient = byID[patientID]
            let colour = encounter.code("priority", system: CareFlowCodes.triagePriority)
            let reasons = (encounter["reasonCode"]?.arrayValue ?? []).compactMap(\.objectValue)
            let step = EmergencyDepartment.steps(encounter).max() ?? .arrival
            let visitOrders = (orders[patientID] ?? []).filter { ($0["authoredOn"]?.stringValue ?? "") >= arrivalText }
            let visitReports = (reports[patientID] ?? []).filter { ($0["issued"]?.stringValue ?? "") >= arrivalText }
            let answered = Set(visitReports.flatMap { ($0["basedOn"]?.arrayValue ?? []).compactMap { $0.objectValue?["reference"]?.stringValue } })
            rows.append(Row(
                encounterID: visit.id, patientID: patientID,
                patientName: patient.map(Self.name) ?? patientID, identifier: patient.map(Self.identifier) ?? "",
                unidentified: patient.map(Self.isUnidentified) ?? false,
                arrivalMode: encounter.extensionValue(CareFlowCodes.arrivalMode)?.objectValue?["display"]?.stringValue ?? "",
                arrival: arrival, triaged: times[.triage], doctorAt: times[.doctor], decisionAt: times[.decision],
                colour: colour, colourDisplay: colour.map(table.display),
                complaint: reasons.first?["text"]?.stringValue ?? "",
                room: Self.room(encounter),
                doctor: Self.participantName(encounter, role: "lakare"), nurse: Self.participantName(encounter, role: "sjukskoterska"),
                step: step,
                pendingOrders: visitOrders.filter { ["active", "draft", "on-hold"].contains($0["status"]?.stringValue ?? "") && !answered.contains("ServiceRequest/" + ($0["id"]?.stringValue ?? "")) }.count,
                results: visitReports.count, signals: signals[patientID] ?? [],
                triageDue: times[.triage] == nil ? arrival + Int64(targets.triageMinutes) * 60_000 : nil,
                doctorDue: times[.doctor] == nil ? arrival + Int64(targets.doctorMinutes) * 60_000 : nil,
                stayDue: arrival + Int64(targets.stayMinutes) * 60_000))
        }
        return rows.sorted { a, b in
            let ra = a.colour.map(table.rank) ?? -1, rb = b.colour.map(table.rank) ?? -1
            return ra != rb ? ra < rb : (a.arrival != b.arrival ? a.arrival < b.arrival : a.encounterID < b.encounterID)
        }
    }

    /// Orders and results since `since`, and attention signals, of the board's patients: one look per chunk of patients.
    static func related(_ patientIDs: [String], since: String, session: PatientDataSession) async throws
        -> (orders: [String: [JSONObject]], reports: [String: [JSONObject]], signals: [String: [String]]) {
        var orders: [String: [JSONObject]] = [:], reports: [String: [JSONObject]] = [:], signals: [String: [String]] = [:]
        for chunk in chunks(patientIDs) {
            let subjects = chunk.map { "Patient/\($0)" }.joined(separator: ",")
            let pages = try await session.search(together: [
                (try SearchQuery.parse(type: "ServiceRequest", parameters: [("subject", subjects), ("authored", "ge" + since)], strict: true), 500),
                (try SearchQuery.parse(type: "DiagnosticReport", parameters: [("subject", subjects), ("issued", "ge" + since)], strict: true), 500),
                (try SearchQuery.parse(type: "AllergyIntolerance", parameters: [("patient", subjects), ("clinical-status", "active")], strict: true), 500),
                (try SearchQuery.parse(type: "Flag", parameters: [("patient", subjects)], strict: true), 500),
            ])
            for order in pages[0] { if let id = order.object.referenceID("subject", type: "Patient") { orders[id, default: []].append(order.object) } }
            for report in pages[1] { if let id = report.object.referenceID("subject", type: "Patient") { reports[id, default: []].append(report.object) } }
            signals.merge(Self.signals(allergies: pages[2], flags: pages[3])) { a, _ in a }
        }
        return (orders, reports, signals)
    }

    static let flagWords = ["smitta": "Smitta", "behandling": "Behandling", "vardbegransning": "Vårdbegränsning"]

    /// Patients in groups short enough for one search's list of references each.
    public static func chunks(_ ids: [String], of size: Int = 100) -> [[String]] {
        stride(from: 0, to: ids.count, by: size).map { Array(ids[$0..<min($0 + size, ids.count)]) }
    }

    /// The attention signals' words per patient (Allergi, Smitta, …) from their active allergies and flags.
    public static func signals(allergies: [StoredResource], flags: [StoredResource]) -> [String: [String]] {
        var signals: [String: [String]] = [:]
        for allergy in allergies {
            guard let id = allergy.object.referenceID("patient", type: "Patient") else { continue }
            if !(signals[id] ?? []).contains("Allergi") { signals[id, default: []].append("Allergi") }
        }
        for flag in flags where flag.object["status"]?.stringValue == "active" {
            guard let id = flag.object.referenceID("subject", type: "Patient") else { continue }
            let word = flagWords[flag.object["category"]?.arrayValue?.first?.objectValue?["coding"]?.arrayValue?.first?.objectValue?["code"]?.stringValue ?? ""] ?? "Signal"
            if !(signals[id] ?? []).contains(word) { signals[id, default: []].append(word) }
        }
        return signals
    }

    /// The visit's current room (the last active location), as the board and the visit page show it.
    public static func room(_ encounter: JSONObject) -> String? {
        (encounter["location"]?.arrayValue ?? []).compactMap(\.objectValue).last { $0["status"]?.stringValue == "active" }?["location"]?.objectValue?["display"]?.stringValue
    }

    /// The name of the visit's current doctor or nurse (`lakare`, `sjukskoterska`): an ended participation is no longer theirs.
    public static func participantName(_ encounter: JSONObject, role: String) -> String? {
        EmergencyDepartment.currentParticipation(encounter, role: role).map { $0["individual"]?.objectValue?["display"]?.stringValue ?? "Tilldelad" }
    }

    static func name(_ patient: JSONObject) -> String { Display.name(patient) }

    static func identifier(_ patient: JSONObject) -> String { Display.identity(patient)?.value ?? "" }

    static func isUnidentified(_ patient: JSONObject) -> Bool {
        (patient["identifier"]?.arrayValue ?? []).contains { $0.objectValue?["system"]?.stringValue == Reservnummer.system }
    }
}
