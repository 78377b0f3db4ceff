import FHIRCore
import StoreModel

/// One part of a patient's chart that a module contributes: a panel of the overview (översikt) the
/// chart opens with, or a line of the patient banner every patient page opens with. The platform runs
/// every part's searches together, as one audited look, and shows the lines each part makes of its
/// records; no module reads another's records to draw the chart.
public struct ChartPart: Sendable {
    /// Where the part is shown.
    public enum Place: Sendable, Equatable {
        /// In the banner (attention signals, the current care contact).
        case banner
        /// A panel of the overview.
        case overview
        /// A short summary on a worklist's row (the ward overview), read for many patients at once.
        case row
    }

    /// The part's name (also the `$overview` output parameter of its records, unless an entry names its own).
    public var name: String
    /// The panel's heading, or the banner line's label.
    public var title: String
    /// What the part says when it has nothing; nil hides an empty part.
    public var emptyText: String?
    public var place: Place
    /// Where the part stands among the others (lower first; equal ranks keep the modules' order).
    public var rank: Int
    /// The searches the part needs for one patient (given the patient's id).
    public var searches: @Sendable (_ patientID: String) throws(FHIRError) -> [ChartSearch]
    /// The part's entries from what its searches found (one array per search, in order).
    public var entries: @Sendable (_ found: [[StoredResource]]) -> [ChartEntry]

    public init(_ name: String, title: String, emptyText: String?, place: Place = .overview, rank: Int = 100,
                searches: @escaping @Sendable (_ patientID: String) throws(FHIRError) -> [ChartSearch],
                entries: @escaping @Sendable (_ found: [[StoredResource]]) -> [ChartEntry]) {
        self.name = name
        self.title = title
        self.emptyText = emptyText
        self.place = place
        self.rank = rank
        self.searches = searches
        self.entries = entries
    }

    /// A part whose one search's records each make one line.
    public static func list(_ name: String, title: String, emptyText: String?, place: Place = .overview, rank: Int = 100,
                            search: @escaping @Sendable (_ patientID: String) throws(FHIRError) -> ChartSearch,
                            line: @escaping @Sendable (JSONObject) -> ChartLine) -> ChartPart {
        ChartPart(name, title: title, emptyText: emptyText, place: place, rank: rank, searches: { patientID throws(FHIRError) in [try search(patientID)] }) { found in
            (found.first ?? []).map { ChartEntry(name, record: $0, line: line($0.object)) }
        }
    }
}

/// One search of a chart part, with the most records it shows.
public struct ChartSearch: Sendable {
    public var query: SearchQuery
    public var limit: Int

    /// A search of the patient's records of a type (`patient=Patient/[id]` added), strict about its parameters.
    public init(_ type: String, patientID: String, _ parameters: [(name: String, value: String)], limit: Int) throws(FHIRError) {
        self.query = try SearchQuery.parse(type: type, parameters: [("patient", "Patient/\(patientID)")] + parameters, strict: true)
        self.limit = limit
    }

    public init(query: SearchQuery, limit: Int) {
        self.query = query
        self.limit = limit
    }
}

/// One record of a chart part and how it reads.
public struct ChartEntry: Sendable {
    /// The `$overview` output parameter the record is listed under.
    public var name: String
    public var record: StoredResource
    public var line: ChartLine

    public init(_ name: String, record: StoredResource, line: ChartLine) {
        self.name = name
        self.record = record
        self.line = line
    }
}

/// How one record reads in the chart: its text, then what a clinician glances at beside it.
public struct ChartLine: Sendable {
    /// A short label before the text (the banner's "Allergi").
    public var label: String?
    public var text: String
    /// Details after the text (a code, a dose, "sedan 2026-01-04").
    public var detail: String
    /// Small markers after the text ("osignerad").
    public var marks: [Mark]
    /// Shown as a warning (an allergy in the banner).
    public var alarm: Bool

    /// A small marker after a line's text; a warning one stands out.
    public struct Mark: Sendable {
        public var text: String
        public var warn: Bool

        public init(_ text: String, warn: Bool = false) {
            self.text = text
            self.warn = warn
        }
    }

    public init(label: String? = nil, _ text: String, detail: String = "", marks: [Mark] = [], alarm: Bool = false) {
        self.label = label
        self.text = text
        self.detail = detail
        self.marks = marks
        self.alarm = alarm
    }
}

/// The chart overview and banner drawn from every module's parts.
public struct ChartOverview: Sendable {
    /// The parts in the composition root's module order.
    public let parts: [ChartPart]

    public init(parts: [ChartPart]) {
        precondition(Set(parts.map(\.name)).count == parts.count, "two chart parts share a name: \(parts.map(\.name))")
        // A stable sort: equal ranks keep the composition root's order.
        self.parts = parts.enumerated().sorted { ($0.element.rank, $0.offset) < ($1.element.rank, $1.offset) }.map(\.element)
    }

    /// One patient's chart: the Patient and each part's entries.
    public struct Chart: Sendable {
        public var patient: StoredResource
        public var parts: [(part: ChartPart, entries: [ChartEntry])]

        /// The records listed under one name (a part's, or an entry's own such as `allergy`), in the part's order.
        public func records(_ name: String) -> [StoredResource] { parts.flatMap(\.entries).filter { $0.name == name }.map(\.record) }

        /// The parts shown in one place, in order.
        public func parts(in place: ChartPart.Place) -> [(part: ChartPart, entries: [ChartEntry])] { parts.filter { $0.part.place == place } }
    }

    /// The chart of one patient in one look: refusals first (audited as such), then every part's
    /// searches in one store call, audited once per patient. `places` limits which parts are read.
    public func chart(patientID: String, session: PatientDataSession, places: Set<ChartPart.Place> = [.banner, .overview]) async throws -> Chart {
        try await session.requireAccess(patientID: patientID)
        let chosen = parts.filter { places.contains($0.place) }
        var queries: [(query: SearchQuery, limit: Int)] = [(try SearchQuery.parse(type: "Patient", parameters: [("_id", patientID)], strict: true), 1)]
        var counts: [Int] = []
        for part in chosen {
            let searches = try part.searches(patientID)
            counts.append(searches.count)
            queries += searches.map { ($0.query, $0.limit) }
        }
        let pages = try await session.search(together: queries)
        guard let patient = pages[0].first else { throw FHIRError(.notFound, code: .notFound, "Patient/\(patientID) does not exist", text: "Patienten finns inte i Kärna.") }
        var next = 1
        var drawn: [(part: ChartPart, entries: [ChartEntry])] = []
        for (part, count) in zip(chosen, counts) {
            drawn.append((part, part.entries(Array(pages[next..<next + count]))))
            next += count
        }
        return Chart(patient: patient, parts: drawn)
    }

    /// Several patients' parts in one store call, for a worklist's rows (the ward overview): only patients the
    /// session may already read (the list's own records said so), each audited as the searches are. A part
    /// named in `excluding` is left out (the ward does not repeat the care contact it is listing).
    public func rows(patientIDs: [String], session: PatientDataSession, places: Set<ChartPart.Place>,
                     excluding: Set<String> = []) async throws -> [String: [(part: ChartPart, entries: [ChartEntry])]] {
        let chosen = parts.filter { places.contains($0.place) && !excluding.contains($0.name) }
        guard !patientIDs.isEmpty, !chosen.isEmpty else { return [:] }
        var queries: [(query: SearchQuery, limit: Int)] = []
        var counts: [[Int]] = []
        for patientID in patientIDs {
            var perPart: [Int] = []
            for part in chosen {
                let searches = try part.searches(patientID)
                perPart.append(searches.count)
                queries += searches.map { ($0.query, $0.limit) }
            }
            counts.append(perPart)
        }
        let pages = try await session.search(together: queries)
        var next = 0
        var rows: [String: [(part: ChartPart, entries: [ChartEntry])]] = [:]
        for (patientID, perPart) in zip(patientIDs, counts) {
            var drawn: [(part: ChartPart, entries: [ChartEntry])] = []
            for (part, count) in zip(chosen, perPart) {
                drawn.append((part, part.entries(Array(pages[next..<next + count]))))
                next += count
            }
            rows[patientID] = drawn
        }
        return rows
    }
}
