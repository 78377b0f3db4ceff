public import Access
import FHIRCore
public import Foundation
public import StoreModel

/// Critical values (larmvärden): per lab (channel) and analysis, the limits past which a result is told to the
/// responsible doctor at once and escalated to the doctor on call when no one acknowledges it. Data, never code:
/// regions set their own lists, and they differ.
public struct CriticalValues: Sendable {
    /// One region's or lab's list.
    public struct List: Codable, Sendable {
        public var id: String
        public var name: String
        /// The channels whose results the list judges.
        public var channels: [String]
        /// The doctor on call per unit (an assignment id), `*` for every other unit.
        public var onCall: [String: String]
        public var thresholds: [Threshold]
    }

    /// The limits of one analysis, by NPU code or the lab's own code.
    public struct Threshold: Codable, Sendable {
        public var code: String?
        public var localCode: String?
        public var name: String
        /// At or below: critical. Decimal text, as a lab writes it.
        public var low: String?
        /// At or above: critical.
        public var high: String?
        public var unit: String?
    }

    public var lists: [List]
    /// Minutes an alarm may wait unacknowledged before it goes to the doctor on call.
    public var escalationMinutes: Int

    public init(lists: [List], escalationMinutes: Int = 10) {
        self.lists = lists
        self.escalationMinutes = escalationMinutes
    }

    public struct LoadError: Error, CustomStringConvertible { public var description: String }

    /// Reads a list file; every problem names the file, the list and the analysis.
    public static func load(from url: URL, escalationMinutes: Int = 10) throws -> CriticalValues {
        struct File: Decodable { var lists: [List] }
        let file: File
        do { file = try JSONDecoder().decode(File.self, from: try Data(contentsOf: url)) } catch {
            throw LoadError(description: "the critical value file \(url.path) cannot be read: \(error)")
        }
        for list in file.lists {
            guard !list.channels.isEmpty else { throw LoadError(description: "\(url.path): list \(list.id) names no channel") }
            guard list.onCall["*"] != nil else { throw LoadError(description: "\(url.path): list \(list.id) has no doctor on call for every unit (\"*\" in onCall)") }
            for threshold in list.thresholds {
                let at = "\(url.path): list \(list.id), \(threshold.name)"
                guard threshold.code != nil || threshold.localCode != nil else { throw LoadError(description: "\(at): give code (NPU) or localCode") }
                let low = threshold.low.map { Double($0) }, high = threshold.high.map { Double($0) }
                guard low != .some(nil), high != .some(nil), low != nil || high != nil else {
                    throw LoadError(description: "\(at): low and high must be decimal numbers, and one of them given")
                }
                if let low = low ?? nil, let high = high ?? nil, low >= high { throw LoadError(description: "\(at): low \(low) is not below high \(high)") }
            }
        }
        return CriticalValues(lists: file.lists, escalationMinutes: escalationMinutes)
    }

    /// The demonstration lists shipped with Kärna.
    public static func shipped(escalationMinutes: Int = 10) throws -> CriticalValues {
        guard let url = Bundle.module.url(forResource: "critical-values", withExtension: "json", subdirectory: "ResultsData") else {
            throw LoadError(description: "the shipped critical value file is missing from the Results bundle")
        }
        return try load(from: url, escalationMinutes: escalationMinutes)
    }

    /// A crossing: the list and the limit passed, and whether low or high.
    struct Crossing {
        var list: List
        var threshold: Threshold
        var low: Bool
        var limit: String
    }

    /// Whether `value` of an analysis from `channel` crosses its list's limit.
    func crossing(channel: String, npu: String?, localCode: String, value: String) -> Crossing? {
        guard let number = Double(value) else { return nil }
        for list in lists where list.channels.contains(channel) {
            guard let threshold = list.thresholds.first(where: { ($0.code != nil && $0.code == npu) || ($0.localCode != nil && $0.localCode == localCode) }) else { continue }
            if let low = threshold.low, let limit = Double(low), number <= limit { return Crossing(list: list, threshold: threshold, low: true, limit: low) }
            if let high = threshold.high, let limit = Double(high), number >= limit { return Crossing(list: list, threshold: threshold, low: false, limit: high) }
        }
        return nil
    }

    /// The alarm Task (larmvärde) for a crossing result, owned by the result's responsible doctor.
    func alarm(_ crossing: Crossing, observationID: String, value: String, unit: String, patientID: String, owner: String?, unitID: String?, now: Date) -> WriteOperation {
        let id = ResultIngest.recordID("larm", observationID, value)
        let limit = "\(crossing.low ? "≤" : "≥") \(crossing.limit.replacingOccurrences(of: ".", with: ","))"
        var task = JSONObject([
            ("resourceType", .string("Task")), ("id", .string(id)), ("status", .string("requested")), ("intent", .string("order")),
            ("priority", .string("stat")),
            ("code", FHIR.concept(ResultsVocabulary.taskSystem, ResultsVocabulary.criticalCode, "Larmvärde")),
            ("description", .string("Larmvärde: \(crossing.threshold.name) \(value.replacingOccurrences(of: ".", with: ",")) \(unit) (gräns \(limit), \(crossing.list.name))")),
            ("focus", FHIR.reference("Observation", observationID)),
            ("for", FHIR.reference("Patient", patientID)),
            ("authoredOn", .string(ISO8601DateFormatter().string(from: now))),
            ("businessStatus", FHIR.text("Ej kvitterat")),
        ])
        if let owner { task["owner"] = FHIR.reference("PractitionerRole", owner) }
        task.setExtension(Self.listExtension, "valueString", .string(crossing.list.id))
        if let unitID { task = RecordTags.tagged(task, unit: unitID) }
        return .create(task, type: "Task", id: id)
    }

    static let listExtension = "https://karna.se/fhir/StructureDefinition/larmlista"
    static let escalatedExtension = "https://karna.se/fhir/StructureDefinition/larm-eskalerat"

    /// Alarms unacknowledged past `escalationMinutes` go to the doctor on call for their unit, once each.
    public func escalate(session: PatientDataSession, now: Date = Date()) async throws -> [StoredResource] {
        let open = try await Records(session: session).all("Task", [("code", "\(ResultsVocabulary.taskSystem)|\(ResultsVocabulary.criticalCode)"),
                                                                    ("status", "requested")], maximum: 2_000)
        var escalated: [StoredResource] = []
        for alarm in open where alarm.object.extensionValue(Self.escalatedExtension) == nil {
            guard let authored = alarm.object["authoredOn"]?.stringValue.flatMap({ ISO8601DateFormatter().date(from: $0) }),
                  now.timeIntervalSince(authored) >= Double(escalationMinutes * 60) else { continue }
            let list = lists.first { $0.id == alarm.object.extensionValue(Self.listExtension)?.stringValue }
            let unit = RecordTags.unit(of: alarm.object) ?? ""
            guard let onCall = list.flatMap({ $0.onCall[unit] ?? $0.onCall["*"] }) else { continue }
            var object = alarm.object
            object["owner"] = FHIR.reference("PractitionerRole", onCall)
            object["businessStatus"] = FHIR.text("Eskalerat till jour")
            object.setExtension(Self.escalatedExtension, "valueDateTime", .string(ISO8601DateFormatter().string(from: now)))
            _ = try await retryingConflicts {
                try await session.commit(.update(object, type: "Task", id: alarm.id, ifMatch: alarm.versionId))
            }
            if let updated = try await session.read(type: "Task", id: alarm.id) { escalated.append(updated) }
        }
        return escalated
    }

    /// Acknowledges an alarm (kvittens): by telephone with the value as read back (återläsning), or in the system.
    public func acknowledge(taskID: String, method: String, readBack: String?, session: PatientDataSession, now: Date = Date()) async throws -> StoredResource {
        guard let role = session.principal.assignment?.id else {
            throw refused("acknowledging a critical value needs a medarbetaruppdrag", text: "Att kvittera ett larmvärde kräver ett medarbetaruppdrag.")
        }
        guard ["telefon", "elektroniskt"].contains(method) else {
            throw FHIRError(.invalid, code: .value, "method must be telefon or elektroniskt; got '\(method)'", expression: ["method"])
        }
        let readBack = readBack?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        if method == "telefon", readBack.isEmpty {
            throw FHIRError(.invalid, code: .required, "readBack is required for a telephone acknowledgement: the value as it was read back",
                            expression: ["readBack"], text: "Skriv värdet som det lästes tillbaka i telefon.")
        }
        let records = Records(session: session)
        let alarm = try await records.require("Task", taskID)
        guard alarm.object.code("code", system: ResultsVocabulary.taskSystem) == ResultsVocabulary.criticalCode else {
            throw FHIRError(.invalid, code: .value, "Task/\(taskID) is not a critical value alarm")
        }
        guard alarm.object["status"]?.stringValue == "requested" else {
            throw FHIRError(.conflict, code: .conflict, "Task/\(taskID) is already acknowledged", text: "Larmvärdet är redan kvitterat.")
        }
        var object = alarm.object
        object["status"] = .string("completed")
        object["businessStatus"] = FHIR.text("Kvitterat")
        var output: [JSONValue] = [
            FHIR.object([("type", FHIR.text("Kvitterat av")), ("valueReference", FHIR.reference("PractitionerRole", role))]),
            FHIR.object([("type", FHIR.text("Sätt")), ("valueString", .string(method))]),
        ]
        if !readBack.isEmpty { output.append(FHIR.object([("type", FHIR.text("Återläsning")), ("valueString", .string(readBack))])) }
        object["output"] = .array(output)
        object["executionPeriod"] = FHIR.object([("end", .string(ISO8601DateFormatter().string(from: now)))])
        _ = try await session.commit(.update(object, type: "Task", id: taskID, ifMatch: alarm.versionId))
        return try await records.require("Task", taskID)
    }

    /// Unacknowledged alarms: the caller's own, or a unit's.
    public func open(ownerRole: String?, unitID: String?, session: PatientDataSession) async throws -> [StoredResource] {
        var parameters = [("code", "\(ResultsVocabulary.taskSystem)|\(ResultsVocabulary.criticalCode)"), ("status", "requested")]
        if let ownerRole { parameters.append(("owner", "PractitionerRole/\(ownerRole)")) }
        let open = try await Records(session: session).all("Task", parameters, maximum: 2_000)
        guard let unitID else { return open }
        return open.filter { RecordTags.unit(of: $0.object) == unitID }
    }
}
