public import Access
public import FHIRCore
import Foundation
public import StoreModel

/// Vital signs on the chart and the ward: a set saved as Observations (LOINC), with its NEWS2 and clinical
/// response level as one more Observation derived from them; the latest score and the series for the trend.
public struct VitalSignRecords: Sendable {
    public let warning: EarlyWarningScoring
    let clock: @Sendable () -> Int64

    public init(table: EarlyWarningTable, clock: @escaping @Sendable () -> Int64 = { Instant.now() }) {
        warning = EarlyWarningScoring(table: table)
        self.clock = clock
    }

    /// SNOMED CT's concept for the NEWS2 total score.
    public static let news2Code = "1104051000000101"

    /// What saving a set gave: the Observations and, from a complete set, the NEWS2.
    public struct Saved: Sendable {
        public var observations: [StoredResource]
        public var score: EarlyWarningScoring.Score?
        /// The parameters a NEWS2 still needs (empty when scored).
        public var missing: [String]
    }

    /// Saves a set of vital signs for the patient (with the current stay or visit when given).
    public func record(patientID: String, encounterID: String?, signs: VitalSigns, session: PatientDataSession) async throws -> Saved {
        let records = Records(session: session)
        _ = try await records.require("Patient", patientID, role: "patient")
        if let encounterID {
            let encounter = try await records.require("Encounter", encounterID, role: "encounter")
            guard encounter.object.referenceID("subject", type: "Patient") == patientID else {
                throw FHIRError(.invalid, code: .value, "encounter: Encounter/\(encounterID) is another patient's", expression: ["encounter"])
            }
        }
        let now = clock(), performer = session.principal.assignment?.id
        let observations = signs.observations(patientID: patientID, encounterID: encounterID, at: now, performer: performer)
        var operations: [WriteOperation] = observations.map { .create($0.resource, type: "Observation", id: $0.id) }
        let score = warning.score(signs)
        if let score {
            let id = UUID().uuidString.lowercased()
            var news = JSONObject([
                ("resourceType", .string("Observation")), ("id", .string(id)), ("status", .string("final")),
                ("category", .array([FHIR.concept(CareFlowCodes.observationCategory, "survey", "Survey")])),
                ("code", FHIR.concept(CareFlowCodes.snomed, Self.news2Code, "Royal College of Physicians NEWS2 (National Early Warning Score 2) total score", text: "NEWS2")),
                ("subject", FHIR.reference("Patient", patientID)), ("effectiveDateTime", .string(SwedishTime.format(now))),
                ("valueInteger", .number(String(score.total))),
                ("interpretation", .array([FHIR.concept(CareFlowCodes.careFlow, "news2-" + score.response.code, "Responsnivå: " + score.response.display)])),
                ("method", FHIR.concept(CareFlowCodes.careFlow, warning.table.id, warning.table.name)),
                ("component", .array(score.parts.map { part in
                    FHIR.object([("code", FHIR.concept(CareFlowCodes.careFlow, "news2-" + part.parameter)), ("valueInteger", .number(String(part.score)))])
                } + [FHIR.object([("code", FHIR.concept(CareFlowCodes.careFlow, "news2-spo2-skala", "SpO₂-skala")), ("valueInteger", .number(score.scale2 ? "2" : "1"))])])),
                ("derivedFrom", .array(observations.map { FHIR.reference("Observation", $0.id) })),
                ("note", .array([FHIR.text(score.response.action)])),
            ])
            if let encounterID { news["encounter"] = FHIR.reference("Encounter", encounterID) }
            if let performer { news["performer"] = .array([FHIR.reference("PractitionerRole", performer)]) }
            operations.append(.create(news, type: "Observation", id: id))
        }
        let written = try await session.commit(operations)
        return Saved(observations: written.compactMap(\.resource), score: score, missing: warning.missing(signs))
    }

    /// One NEWS2 as recorded.
    public struct News2Entry: Sendable {
        public var time: String
        public var total: Int
        public var response: String
        public var responseCode: String
        public var observation: JSONObject
    }

    static func entry(_ observation: JSONObject) -> News2Entry? {
        guard let total = observation["valueInteger"]?.numberText.flatMap(Int.init) else { return nil }
        let interpretation = observation["interpretation"]?.arrayValue?.first?.objectValue?["coding"]?.arrayValue?.first?.objectValue
        return News2Entry(time: observation["effectiveDateTime"]?.stringValue ?? "", total: total,
                          response: (interpretation?["display"]?.stringValue ?? "").replacingOccurrences(of: "Responsnivå: ", with: ""),
                          responseCode: String((interpretation?["code"]?.stringValue ?? "").dropFirst("news2-".count)), observation: observation)
    }

    /// The patient's NEWS2 scores, newest first.
    public func news2(patientID: String, limit: Int, session: PatientDataSession) async throws -> [News2Entry] {
        try await Records(session: session).search("Observation", [("subject", "Patient/\(patientID)"), ("code", "\(CareFlowCodes.snomed)|\(Self.news2Code)"),
                                                                     ("_sort", "-date")], limit: limit).compactMap { Self.entry($0.object) }
    }

    /// The latest NEWS2 of each of several patients, in one look.
    public func latestNews2(patientIDs: [String], session: PatientDataSession) async throws -> [String: News2Entry] {
        var latest: [String: News2Entry] = [:]
        for chunk in TrackingBoard.chunks(patientIDs) {
            let found = try await Records(session: session).search("Observation", [("subject", chunk.map { "Patient/\($0)" }.joined(separator: ",")),
                                                                                   ("code", "\(CareFlowCodes.snomed)|\(Self.news2Code)"), ("_sort", "-date")], limit: 2_000)
            for stored in found {
                guard let patient = stored.object.referenceID("subject", type: "Patient"), latest[patient] == nil, let entry = Self.entry(stored.object) else { continue }
                latest[patient] = entry
            }
        }
        return latest
    }

    /// The patient's vital-sign Observations, newest first (for the table and the trend).
    public func series(patientID: String, limit: Int, session: PatientDataSession) async throws -> [JSONObject] {
        try await Records(session: session).search("Observation", [("subject", "Patient/\(patientID)"), ("category", "vital-signs"), ("_sort", "-date")],
                                                   limit: limit).map(\.object)
    }
}
