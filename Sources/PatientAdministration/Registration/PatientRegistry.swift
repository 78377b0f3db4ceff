import Access
import FHIRCore
import Foundation
import StoreModel

/// Patient registration (patientregistrering): finding, registering unidentified patients
/// under a reservnummer, merging a reservnummer record into the real identity and back,
/// and listing at a primary-care centre (listning).
public struct PatientRegistry: Sendable {
    public let settings: AdministrationSettings

    public init(settings: AdministrationSettings) {
        self.settings = settings
    }

    /// Finds patients by personnummer, samordningsnummer or reservnummer in any common format,
    /// or else by name ("Anna Svensson", "svens"): what a clerk types into one field.
    public func find(_ text: String, limit: Int, session: PatientDataSession) async throws -> [StoredResource] {
        let text = text.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty else { throw FHIRError(.invalid, code: .required, "type a personnummer, reservnummer or name to search for", expression: ["q"]) }
        let records = Records(session: session)
        if let reserve = try? Reservnummer(text) {
            return try await records.search("Patient", [("identifier", "\(Reservnummer.system)|\(reserve.canonical)")], limit: limit)
        }
        if let identity = try? SwedishPersonalIdentity(text) {
            return try await records.search("Patient", [("identifier", identity.canonical)], limit: limit)
        }
        if text.allSatisfy({ $0.isNumber || $0 == "-" || $0 == "+" }) {
            throw FHIRError(.invalid, code: .value, "the text searched for is neither a valid personnummer, samordningsnummer nor reservnummer (check the digits: 12 digits, ÅÅÅÅMMDD-NNNN), nor a name", expression: ["q"])
        }
        // Each word must start a given or family name: "anna sv" finds Anna Svensson.
        var parameters: [(name: String, value: String)] = text.split(separator: " ").prefix(4).map { ("name", String($0)) }
        parameters.append(("active:not", "false"))
        // Sorted here, not in the database: "and" matches a tenth of a region, and sorting all of them
        // to show the first page costs hundreds of milliseconds. Past the limit the clerk types more.
        let found = try await records.search("Patient", parameters, limit: limit)
        // Each record's key once: parsing its JSON in the comparison did it n log n times.
        return found.map { (key: Self.sortKey($0.object), patient: $0) }.sorted { $0.key < $1.key }.map(\.patient)
    }

    /// Family name, then given names, in Swedish order (å, ä, ö after z).
    static func sortKey(_ patient: JSONObject) -> String {
        let name = patient["name"]?.arrayValue?.first?.objectValue
        let given = name?["given"]?.arrayValue?.compactMap(\.stringValue).joined(separator: " ") ?? ""
        return SearchText.fold(name?["family"]?.stringValue ?? name?["text"]?.stringValue ?? "") + "\u{0}" + SearchText.fold(given)
    }

    /// Registers a patient whose identity is unknown, in one write: a reservnummer, the
    /// sex and an estimated birth year if known, and a note on how to recognise them.
    public func registerUnidentified(gender: String?, estimatedBirthYear: Int?, note: String?, session: PatientDataSession) async throws -> StoredResource {
        try await UnidentifiedPatient.register(gender: gender, estimatedBirthYear: estimatedBirthYear, note: note, session: session)
    }

    /// What a merge did, for the answer and for undoing it.
    public struct MergeResult: Sendable {
        public var source: String
        public var target: String
        public var moved: [String]
        public var provenanceID: String
    }

    /// Merges `sourceID` (typically a reservnummer record) into `targetID` (the real identity): every
    /// resource that refers to the source now refers to the target, the source is marked replaced,
    /// its identifiers follow as old identifiers, and a Provenance lists what moved — all in one commit.
    public func merge(sourceID: String, targetID: String, reason: String, session: PatientDataSession) async throws -> MergeResult {
        guard sourceID != targetID else { throw FHIRError(.invalid, code: .value, "a patient cannot be merged into itself", expression: ["target"]) }
        let records = Records(session: session)
        let source = try await records.require("Patient", sourceID, role: "source")
        let target = try await records.require("Patient", targetID, role: "target")
        var sourcePatient = source.object.forUpdate, targetPatient = target.object.forUpdate
        if Self.replacedBy(sourcePatient) != nil { throw refused("Patient/\(sourceID) is already merged into Patient/\(Self.replacedBy(sourcePatient)!)") }
        if let replaced = Self.replacedBy(targetPatient) { throw refused("the target Patient/\(targetID) is itself merged into Patient/\(replaced); merge into that one") }

        // The person in the bed is the one identified: the unit's care relationship carries over to the
        // real record, registered (and audited) as such, so its records can be joined.
        if session.principal.kind == .practitioner, session.principal.assignment?.purpose != .followUp {
            _ = try await session.registerCareRelationship(patientID: targetID, reason: "identifierad som samma person som Patient/\(sourceID): \(reason)", days: nil)
        }
        var operations: [WriteOperation] = []
        var moved: [String] = []
        var after: ResourceKey?
        while true {
            let page = try await session.compartment(patientID: sourceID, since: nil, after: after, limit: 500)
            for stored in page where !(stored.type == "Patient" && stored.id == sourceID) && !stored.isDeleted {
                var value = JSONValue.object(stored.object.forUpdate)
                value.rewriteReferences { $0 == "Patient/\(sourceID)" ? "Patient/\(targetID)" : nil }
                guard case .object(let rewritten) = value else { continue }
                operations.append(.update(rewritten, type: stored.type, id: stored.id, ifMatch: stored.versionId))
                moved.append("\(stored.type)/\(stored.id)")
            }
            if moved.count > settings.maximumMergeResources {
                throw FHIRError(.tooLarge, code: .tooCostly, "Patient/\(sourceID) has more than \(settings.maximumMergeResources) records (KARNA_MAX_MERGE_RESOURCES)")
            }
            guard page.count == 500, let last = page.last else { break }
            after = last.key
        }
        // R4's Patient compartment leaves Task out, yet a patient's tasks (a result to sign, a bed request,
        // tomorrow's follow-up call) must follow the identification too.
        let tasks = try await records.all("Task", [("patient", "Patient/\(sourceID)")], maximum: settings.maximumMergeResources + 1)
        for stored in tasks where !moved.contains("Task/\(stored.id)") {
            var value = JSONValue.object(stored.object.forUpdate)
            value.rewriteReferences { $0 == "Patient/\(sourceID)" ? "Patient/\(targetID)" : nil }
            guard case .object(let rewritten) = value else { continue }
            operations.append(.update(rewritten, type: "Task", id: stored.id, ifMatch: stored.versionId))
            moved.append("Task/\(stored.id)")
        }
        if moved.count > settings.maximumMergeResources {
            throw FHIRError(.tooLarge, code: .tooCostly, "Patient/\(sourceID) has more than \(settings.maximumMergeResources) records (KARNA_MAX_MERGE_RESOURCES)")
        }
        sourcePatient["active"] = .bool(false)
        sourcePatient.append("link", FHIR.object([("other", FHIR.reference("Patient", targetID)), ("type", .string("replaced-by"))]))
        targetPatient.append("link", FHIR.object([("other", FHIR.reference("Patient", sourceID)), ("type", .string("replaces"))]))
        for identifier in sourcePatient["identifier"]?.arrayValue ?? [] {
            guard var identifier = identifier.objectValue else { continue }
            identifier["use"] = .string("old")
            targetPatient.append("identifier", .object(identifier))
        }
        let provenanceID = UUID().uuidString.lowercased()
        let now = Instant.now()
        let provenance = JSONObject([
            ("resourceType", .string("Provenance")), ("id", .string(provenanceID)),
            ("target", .array([FHIR.reference("Patient", targetID), FHIR.reference("Patient", sourceID)] + moved.map { FHIR.object([("reference", .string($0))]) })),
            ("recorded", .string(Instant.format(milliseconds: now))),
            ("reason", .array([FHIR.text(reason)])),
            ("activity", FHIR.concept("http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle", "merge", "Merge Record Lifecycle Event")),
            ("agent", .array([FHIR.object([("who", session.principal.authorReference)])])),
        ])
        operations.append(.update(sourcePatient, type: "Patient", id: sourceID, ifMatch: source.versionId))
        operations.append(.update(targetPatient, type: "Patient", id: targetID, ifMatch: target.versionId))
        operations.append(.create(provenance, type: "Provenance", id: provenanceID))
        _ = try await session.commit(operations, intent: .merge)
        return MergeResult(source: sourceID, target: targetID, moved: moved, provenanceID: provenanceID)
    }

    /// Undoes a merge: the resources the merge moved (and that still refer to the target) return
    /// to the source, the links and old identifiers go, the source is active again. For patient
    /// administration assignments only (the reversal of an identification is their call).
    public func unmerge(sourceID: String, reason: String, session: PatientDataSession) async throws -> MergeResult {
        guard session.principal.kind == .system || session.principal.assignment?.purpose == .administration else {
            throw FHIRError(.forbidden, code: .forbidden, "undoing a merge needs an administrative assignment (patientadministration)")
        }
        let records = Records(session: session)
        let source = try await records.require("Patient", sourceID, role: "source")
        var sourcePatient = source.object.forUpdate
        guard let targetID = Self.replacedBy(sourcePatient) else { throw refused("Patient/\(sourceID) is not merged into another patient") }
        let target = try await records.require("Patient", targetID, role: "target")
        // The records go back to the source: the unit's care relationship goes with them, registered and audited.
        if session.principal.kind == .practitioner {
            _ = try await session.registerCareRelationship(patientID: sourceID, reason: "sammanslagning med Patient/\(targetID) återställd: \(reason)", days: nil)
        }
        let provenances = try await records.search("Provenance", [("target", "Patient/\(sourceID)"), ("_sort", "-_lastUpdated")], limit: 20)
        guard let mergeRecord = provenances.first(where: { $0.object.code("activity", system: "http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle") == "merge" }) else {
            throw refused("no merge record (Provenance) names Patient/\(sourceID)")
        }
        let moved = (mergeRecord.object["target"]?.arrayValue ?? []).compactMap { $0.objectValue?["reference"]?.stringValue }
            .compactMap(ResourceKey.init(reference:)).filter { $0.type != "Patient" }
        var operations: [WriteOperation] = []
        var returned: [String] = []
        for stored in try await session.read(keys: moved) {
            var value = JSONValue.object(stored.object.forUpdate)
            var changed = false
            value.rewriteReferences { reference in
                guard reference == "Patient/\(targetID)" else { return nil }
                changed = true
                return "Patient/\(sourceID)"
            }
            guard changed, case .object(let rewritten) = value else { continue }
            operations.append(.update(rewritten, type: stored.type, id: stored.id, ifMatch: stored.versionId))
            returned.append("\(stored.type)/\(stored.id)")
        }
        var targetPatient = target.object.forUpdate
        sourcePatient["active"] = .bool(true)
        sourcePatient["link"] = Self.links(sourcePatient, without: targetID)
        targetPatient["link"] = Self.links(targetPatient, without: sourceID)
        let sourceIdentifiers = Set((sourcePatient["identifier"]?.arrayValue ?? []).compactMap { $0.objectValue?["value"]?.stringValue })
        let keptIdentifiers = (targetPatient["identifier"]?.arrayValue ?? []).filter { identifier in
            !(identifier.objectValue?["use"]?.stringValue == "old" && sourceIdentifiers.contains(identifier.objectValue?["value"]?.stringValue ?? ""))
        }
        targetPatient["identifier"] = keptIdentifiers.isEmpty ? nil : .array(keptIdentifiers)
        let provenanceID = UUID().uuidString.lowercased()
        operations.append(.update(sourcePatient, type: "Patient", id: sourceID, ifMatch: source.versionId))
        operations.append(.update(targetPatient, type: "Patient", id: targetID, ifMatch: target.versionId))
        operations.append(.create(JSONObject([
            ("resourceType", .string("Provenance")), ("id", .string(provenanceID)),
            ("target", .array([FHIR.reference("Patient", sourceID), FHIR.reference("Patient", targetID)] + returned.map { FHIR.object([("reference", .string($0))]) })),
            ("recorded", .string(Instant.format(milliseconds: Instant.now()))),
            ("reason", .array([FHIR.text(reason)])),
            ("activity", FHIR.concept("http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle", "unmerge", "Unmerge Record Lifecycle Event")),
            ("agent", .array([FHIR.object([("who", session.principal.authorReference)])])),
            ("entity", .array([FHIR.object([("role", .string("revision")), ("what", FHIR.reference("Provenance", mergeRecord.id))])])),
        ]), type: "Provenance", id: provenanceID))
        _ = try await session.commit(operations, intent: .merge)
        return MergeResult(source: sourceID, target: targetID, moved: returned, provenanceID: provenanceID)
    }

    static func replacedBy(_ patient: JSONObject) -> String? {
        for link in patient["link"]?.arrayValue ?? [] where link.objectValue?["type"]?.stringValue == "replaced-by" {
            if let id = link.objectValue?.referenceID("other", type: "Patient") { return id }
        }
        return nil
    }

    private static func links(_ patient: JSONObject, without other: String) -> JSONValue? {
        let kept = (patient["link"]?.arrayValue ?? []).filter { $0.objectValue?.referenceID("other", type: "Patient") != other }
        return kept.isEmpty ? nil : .array(kept)
    }

    /// Lists the patient at a primary-care centre (listning) from today; the Patient's versions are the history.
    public func list(patientID: String, unitID: String, session: PatientDataSession) async throws -> StoredResource {
        let records = Records(session: session)
        let unit = try await records.require("Organization", unitID, role: "unit")
        let stored = try await records.require("Patient", patientID)
        var patient = stored.object.forUpdate
        patient["generalPractitioner"] = .array([FHIR.reference("Organization", unitID, display: unit.object["name"]?.stringValue)])
        patient.setExtension(AdministrationCodes.listingUnit, "valuePeriod", FHIR.object([("start", .string(SwedishTime.formatDay(SwedishTime.today)))]))
        _ = try await session.commit(.update(patient, type: "Patient", id: patientID, ifMatch: stored.versionId))
        return try await records.require("Patient", patientID)
    }

    /// The listing history, newest first: unit, from, until (read from the Patient's versions).
    public func listingHistory(patientID: String, session: PatientDataSession) async throws -> [(unit: String, name: String?, from: String?, until: String?)] {
        let (versions, _) = try await session.history(HistoryQuery(type: "Patient", id: patientID, count: 1_000))
        var periods: [(unit: String, name: String?, from: String?, until: String?)] = []
        for version in versions.reversed() where !version.isDeleted {
            let object = version.object
            let unit = object["generalPractitioner"]?.arrayValue?.first?.objectValue
            let unitID = unit.flatMap { ResourceKey(reference: $0["reference"]?.stringValue ?? "") }?.id
            let from = object.extensionValue(AdministrationCodes.listingUnit)?.objectValue?["start"]?.stringValue
            if periods.last?.unit == unitID, periods.last?.from == from { continue }
            if var last = periods.popLast() {
                last.until = from ?? String(Instant.format(milliseconds: version.lastUpdated).prefix(10))
                periods.append(last)
            }
            if let unitID { periods.append((unitID, unit?["display"]?.stringValue, from, nil)) }
        }
        return periods.reversed()
    }
}
