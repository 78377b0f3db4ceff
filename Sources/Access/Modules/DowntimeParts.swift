import FHIRCore
import StoreModel

/// What a module puts on a unit's downtime list (driftstoppsutskrift): the list each unit prints, or finds in a
/// folder, so that it still knows its patients, their warnings, their next doses and appointments when Kärna and
/// its database are down. A part may name the unit's patients (a ward's inpatients, a clinic's booked visits) and
/// may give each listed patient lines of its own (the doses due in the window); the chart's banner and overview
/// parts are printed for every listed patient as well.
public struct DowntimePart: Sendable {
    public var name: String
    /// The heading over its lines on each patient.
    public var title: String
    /// Where its lines stand among the others (lower first).
    public var rank: Int
    /// The unit's patients this part knows of, each with why they are on the list ("Sal 2 säng 1", "Besök 09:30").
    public var patients: (@Sendable (_ unitID: String, _ window: DowntimeWindow, _ session: PatientDataSession) async throws -> [String: [String]])?
    /// Lines for listed patients (one call for the whole unit), by patient id.
    public var lines: (@Sendable (_ patientIDs: [String], _ window: DowntimeWindow, _ session: PatientDataSession) async throws -> [String: [ChartLine]])?

    public init(_ name: String, title: String, rank: Int = 100,
                patients: (@Sendable (_ unitID: String, _ window: DowntimeWindow, _ session: PatientDataSession) async throws -> [String: [String]])? = nil,
                lines: (@Sendable (_ patientIDs: [String], _ window: DowntimeWindow, _ session: PatientDataSession) async throws -> [String: [ChartLine]])? = nil) {
        self.name = name
        self.title = title
        self.rank = rank
        self.patients = patients
        self.lines = lines
    }
}

/// The time a downtime list covers: from when it was made to the hours ahead it plans for.
public struct DowntimeWindow: Sendable {
    public var from: Int64
    public var to: Int64

    public init(from: Int64, to: Int64) {
        self.from = from
        self.to = to
    }
}

/// One unit's downtime list, as printed.
public struct UnitDowntimeList: Sendable {
    public var unitID: String
    public var unitName: String
    public var window: DowntimeWindow
    public var patients: [Patient]

    /// One patient on the list: who, why they are on it, and every part's lines.
    public struct Patient: Sendable {
        public var id: String
        public var name: String
        public var identity: String
        public var birthDate: String
        public var reasons: [String]
        public var sections: [(title: String, lines: [ChartLine], emptyText: String?)]
    }

    /// Builds the list of one unit through the gateway: the parts name the patients; the chart's banner and
    /// overview parts and the parts' own lines are read for all of them at once, each read audited.
    public static func build(unitID: String, unitName: String, window: DowntimeWindow, parts: [DowntimePart], overview: ChartOverview,
                             session: PatientDataSession) async throws -> UnitDowntimeList {
        var reasons: [String: [String]] = [:]
        for part in parts {
            guard let listed = part.patients else { continue }
            for (patientID, why) in try await listed(unitID, window, session) { reasons[patientID, default: []] += why }
        }
        let patientIDs = reasons.keys.sorted()
        guard !patientIDs.isEmpty else { return UnitDowntimeList(unitID: unitID, unitName: unitName, window: window, patients: []) }
        let records = try await session.read(keys: patientIDs.map { ResourceKey(type: "Patient", id: $0) })
        let byID = Dictionary(records.map { ($0.id, $0.object) }, uniquingKeysWith: { first, _ in first })
        let chart = try await overview.rows(patientIDs: patientIDs, session: session, places: [.banner, .overview])
        var own: [(part: DowntimePart, lines: [String: [ChartLine]])] = []
        for part in parts.sorted(by: { $0.rank < $1.rank }) {
            guard let lines = part.lines else { continue }
            own.append((part, try await lines(patientIDs, window, session)))
        }
        var patients: [Patient] = []
        for patientID in patientIDs {
            guard let record = byID[patientID] else { continue }
            var sections: [(title: String, lines: [ChartLine], emptyText: String?)] = []
            // The banner's parts first (attention signals, allergies), then the parts' own (the doses due), then the
            // overview: the order a list is read in when the screen is dark.
            let drawn = chart[patientID] ?? []
            for (part, entries) in drawn where part.place == .banner && (!entries.isEmpty || part.emptyText != nil) {
                sections.append((part.title, entries.map(\.line), part.emptyText))
            }
            for (part, lines) in own { sections.append((part.title, lines[patientID] ?? [], "Inga.")) }
            for (part, entries) in drawn where part.place != .banner && (!entries.isEmpty || part.emptyText != nil) {
                sections.append((part.title, entries.map(\.line), part.emptyText))
            }
            let identity = Display.identity(record)
            patients.append(Patient(id: patientID, name: Display.name(record), identity: identity.map { "\($0.label) \($0.value)" } ?? "Utan identitet",
                                    birthDate: record["birthDate"]?.stringValue ?? "", reasons: reasons[patientID] ?? [], sections: sections))
        }
        // In the order the unit works in: by what put them on the list (bed, then time), then by name.
        patients.sort { ($0.reasons.first ?? "", $0.name) < ($1.reasons.first ?? "", $1.name) }
        return UnitDowntimeList(unitID: unitID, unitName: unitName, window: window, patients: patients)
    }
}
