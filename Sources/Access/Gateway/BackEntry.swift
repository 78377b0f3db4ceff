import FHIRCore
import Foundation
import Store
import StoreModel

/// Efterregistrering: what happened during a downtime is recorded on paper and entered into Kärna afterwards. A
/// record created after a downtime ended whose clinical time lies inside that downtime is tagged as back-entered
/// (`efterregistrerad`), so the chart, the API and the unit's reconciliation list tell it from what was recorded
/// as it happened; its own time says when it happened, its version's time when it was entered.
public enum BackEntry {
    public static let system = "https://karna.se/fhir/CodeSystem/registrering"
    public static let code = "efterregistrerad"
    public static let display = "Efterregistrerad efter driftstopp"

    /// One downtime that ended: from when to when, and why.
    public struct Period: Sendable, Equatable, Codable {
        public var from: Int64
        public var to: Int64
        public var reason: String

        public init(from: Int64, to: Int64, reason: String) {
            self.from = from
            self.to = to
            self.reason = reason
        }
    }

    /// When a record says it happened: the first of the FHIR elements that carry a clinical time (an observation's
    /// effective time, a procedure's performed time, an administration's, a note's event, a stay's start, an
    /// order's authoring). FHIR's own element names, so every module's records are read alike.
    public static func clinicalTime(_ resource: JSONObject) -> Int64? {
        func instant(_ value: JSONValue?) -> Int64? { value?.stringValue.flatMap(Instant.parse) }
        func start(_ value: JSONValue?) -> Int64? { instant(value?.objectValue?["start"]) }
        let event = resource["event"]?.arrayValue?.first?.objectValue
        let candidates: [Int64?] = [
            instant(resource["effectiveDateTime"]), instant(resource["effectiveInstant"]), start(resource["effectivePeriod"]),
            instant(resource["performedDateTime"]), start(resource["performedPeriod"]), instant(resource["occurrenceDateTime"]),
            start(resource["occurrencePeriod"]), start(event?["period"]), start(resource["period"]), instant(resource["authoredOn"]),
            instant(resource["recordedDate"]),
        ]
        return candidates.lazy.compactMap { $0 }.first
    }

    /// The record tagged as back-entered when it is entered after a downtime it happened in; else as it was.
    static func marked(_ resource: JSONObject, periods: [Period], now: Int64) -> JSONObject {
        guard !periods.isEmpty, let time = clinicalTime(resource),
              periods.contains(where: { $0.from <= time && time <= $0.to && now > $0.to }) else { return resource }
        var resource = resource
        var meta = resource["meta"]?.objectValue ?? JSONObject()
        var tags = meta["tag"]?.arrayValue ?? []
        if !tags.contains(where: { $0.objectValue?["system"]?.stringValue == system }) {
            tags.append(FHIR.coding(system, code, display))
        }
        meta["tag"] = .array(tags)
        resource["meta"] = .object(meta)
        return resource
    }

    static let key = "downtime-periods"

    /// The downtimes that ended, as `karna downtime off` records them.
    public static func periods(in store: any ResourceStore) async throws -> [Period] {
        guard let record = try await store.controlRecord(kind: ControlKind.configuration, key: key) else { return [] }
        return (try? JSONDecoder().decode([Period].self, from: Data(record.json))) ?? []
    }

    /// Adds an ended downtime (the most recent 500 are kept: the reconciliation list looks back weeks, not years).
    public static func record(_ period: Period, in store: any ResourceStore) async throws {
        let json = try JSONEncoder().encode(Array((try await periods(in: store) + [period]).suffix(500)))
        try await store.writeControlRecords([ControlRecord(kind: ControlKind.configuration, key: key, json: [UInt8](json))], deleting: [], audit: [])
    }
}
