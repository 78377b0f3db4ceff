import Access
import FHIRCore
import Foundation
import StoreModel

/// The records one result (OBR) becomes: matched to its order, a DiagnosticReport with an Observation per
/// analysis and, when final, the sign-off Task (vidimering) for the responsible doctor; matched to nothing,
/// an entry on the channel's "omatchade svar" list. A repeat of a result already stored is a new version
/// of the same records, so a correction keeps the old version readable.
struct ResultRecords {
    let result: ResultMessage.Result
    let channel: LabChannel
    let critical: CriticalValues
    let session: PatientDataSession
    let now: Date

    struct Outcome {
        var writes: [WriteOperation] = []
        var focus: [String] = []
        var unmatchedTask: String?
        /// Critical value alarms raised (Task ids).
        var alarms: [String] = []
    }

    var records: Records { Records(session: session) }

    func writes() async throws -> Outcome {
        guard let order = try await order() else {
            return try await unmatched(reason: result.placer.isEmpty
                ? "svaret saknar beställningsnummer (ORC-2/OBR-2)"
                : "ingen beställning har beställningsnumret \(result.placer)")
        }
        guard let patientID = order.object.referenceID("subject", type: "Patient") else {
            return try await unmatched(reason: "beställningen \(result.placer) saknar patient")
        }
        if let mismatch = try await patientMismatch(patientID: patientID) {
            return try await unmatched(reason: mismatch)
        }
        return try await matched(order: order, patientID: patientID)
    }

    /// The order with exactly this placer number (never a prefix or a number read as an integer).
    func order() async throws -> StoredResource? {
        try await LabOrders.order(placer: result.placer, records: records)
    }

    /// When the message's PID names a person by an identifier the order's patient does not have: the result
    /// is someone else's or the order number is wrong, and it must not be filed in this record.
    func patientMismatch(patientID: String) async throws -> String? {
        let named = result.patientIdentifiers.map(Self.normalised).filter { !$0.isEmpty }
        guard !named.isEmpty, let patient = try await records.optional("Patient", patientID) else { return nil }
        let held = Set((patient.object["identifier"]?.arrayValue ?? []).compactMap { $0.objectValue?["value"]?.stringValue }.map(Self.normalised))
        return named.contains(where: held.contains) ? nil
            : "svarets patient (PID-3 \(result.patientIdentifiers.joined(separator: ", "))) är inte beställningens patient"
    }

    static func normalised(_ identifier: String) -> String { identifier.filter { $0.isLetter || $0.isNumber } }

    // MARK: Matched

    func matched(order: StoredResource, patientID: String) async throws -> Outcome {
        var outcome = Outcome()
        let reportKey = result.filler.isEmpty ? "placer:\(result.placer)" : "filler:\(result.filler)"
        let reportID = ResultIngest.recordID("provsvar", channel.id, reportKey, result.serviceCode)
        let subject = FHIR.reference("Patient", patientID)
        var observationRefs: [JSONValue] = []
        var statuses: [String] = []
        // What is stored now of every record the result touches, read together: one round trip, not one per analysis.
        let observationIDs = result.analyses.map { ResultIngest.recordID("analys", reportID, $0.localCode, $0.subID) }
        let studyID = Imaging.studyID(orderID: order.id)
        let keys = observationIDs.map { ResourceKey(type: "Observation", id: $0) }
            + [ResourceKey(type: "DiagnosticReport", id: reportID), ResourceKey(type: "ImagingStudy", id: studyID)]
        let stored = Dictionary(try await session.read(keys: keys).filter { !$0.isDeleted }.map { ("\($0.type)/\($0.id)", $0) },
                                uniquingKeysWith: { a, _ in a })
        // Who the result goes to, found once for the message: its critical values and its sign-off go to the same doctor.
        var route: SignOffOwner.Route?
        func routed() async throws -> SignOffOwner.Route {
            if let route { return route }
            let found = try await SignOffOwner.route(order: order, patientID: patientID, session: session, now: now)
            route = found
            return found
        }
        for (analysis, id) in zip(result.analyses, observationIDs) {
            let current = stored["Observation/\(id)"]
            var observation = self.observation(analysis, id: id, subject: subject, order: order, current: current)
            let number = analysis.valueType == "SN" ? String(analysis.value.split(separator: "^").dropFirst().first ?? "") : analysis.value
            if !["cancelled", "entered-in-error"].contains(analysis.status),
               let crossing = critical.crossing(channel: channel.id, npu: analysis.npu, localCode: analysis.localCode, value: number) {
                // Critical whatever the lab flagged: LL or HH, and an alarm to the responsible doctor now.
                observation["interpretation"] = .array([FHIR.concept(ResultsVocabulary.interpretationSystem, crossing.low ? "LL" : "HH",
                                                                     crossing.low ? "Kritiskt lågt" : "Kritiskt högt")])
                let responsible = try await routed().owner
                let alarm = critical.alarm(crossing, observationID: id, value: number, unit: analysis.unit, patientID: patientID,
                                           owner: responsible, unitID: RecordTags.unit(of: order.object), now: now)
                if try await session.read(type: "Task", id: alarm.id) == nil {
                    outcome.writes.append(alarm)
                    outcome.alarms.append(alarm.id)
                }
            }
            outcome.writes.append(current == nil ? .create(observation, type: "Observation", id: id)
                                                 : .update(observation, type: "Observation", id: id, ifMatch: current!.versionId))
            observationRefs.append(FHIR.reference("Observation", id))
            statuses.append(analysis.status)
            outcome.focus.append("Observation/\(id)")
        }
        let status = reportStatus(statuses)
        let currentReport = stored["DiagnosticReport/\(reportID)"]
        var report = JSONObject([
            ("resourceType", .string("DiagnosticReport")), ("id", .string(reportID)),
            ("identifier", .array(result.filler.isEmpty ? [] : [FHIR.object([("system", .string(ResultsVocabulary.fillerSystem(channel: channel.id))),
                                                                              ("value", .string(result.filler))])])),
            ("basedOn", .array([FHIR.reference("ServiceRequest", order.id)])),
            ("status", .string(status)),
            ("category", .array([FHIR.concept(ResultsVocabulary.diagnosticServiceSystem, result.section)])),
            ("code", codeConcept(npu: result.serviceNPU, local: result.serviceCode, text: result.serviceText)),
            ("subject", subject),
            ("issued", .string(Self.instant(result.reported, now: now))),
            ("performer", .array([FHIR.object([("display", .string(channel.name))])])),
            ("result", .array(observationRefs)),
            ("meta", FHIR.object([("tag", .array([FHIR.coding(ResultsVocabulary.channelSystem, channel.id)]))])),
        ])
        if let observed = result.observed { report["effectiveDateTime"] = .string(observed) }
        // A radiology report names the study the imaging order expected.
        if stored["ImagingStudy/\(studyID)"] != nil {
            report["imagingStudy"] = .array([FHIR.reference("ImagingStudy", studyID)])
        }
        if !result.notes.isEmpty { report["conclusion"] = .string(result.notes.joined(separator: "\n")) }
        if let unit = RecordTags.unit(of: order.object) { report = RecordTags.tagged(report, unit: unit) }
        outcome.writes.append(currentReport == nil ? .create(report, type: "DiagnosticReport", id: reportID)
                                                   : .update(report, type: "DiagnosticReport", id: reportID, ifMatch: currentReport!.versionId))
        outcome.focus.append("DiagnosticReport/\(reportID)")
        // The order is answered when its result is final; a preliminary answer keeps it open.
        if ["final", "corrected", "amended"].contains(status), order.object["status"]?.stringValue == "active" {
            var answered = order.object
            answered["status"] = .string("completed")
            outcome.writes.append(.update(answered, type: "ServiceRequest", id: order.id, ifMatch: order.versionId))
        }
        if ["final", "corrected", "amended"].contains(status) {
            if let task = try await SignOffOwner.write(reportID: reportID, order: order, patientID: patientID, corrected: status == "corrected" || currentReport != nil,
                                                       session: session, now: now, route: routed) {
                outcome.writes.append(task)
            }
        }
        return outcome
    }

    /// The report's status: OBR-25 when given, else the least settled of its analyses.
    func reportStatus(_ analyses: [String]) -> String {
        switch result.status.uppercased() {
        case "F": return "final"
        case "C": return "corrected"
        case "P": return "preliminary"
        case "X": return "cancelled"
        case "R", "I", "O", "S": return "registered"
        case "A": return "partial"
        default:
            if analyses.contains("corrected") { return "corrected" }
            if !analyses.isEmpty, analyses.allSatisfy({ $0 == "final" || $0 == "cancelled" }) { return "final" }
            return "preliminary"
        }
    }

    func codeConcept(npu: String?, local: String, text: String) -> JSONValue {
        var codings: [JSONValue] = []
        if let npu { codings.append(FHIR.coding(ResultsVocabulary.npuSystem, npu)) }
        if npu != local { codings.append(FHIR.coding(channel.localCodeSystem, local, text.isEmpty ? nil : text)) }
        return FHIR.object([("coding", .array(codings)), ("text", text.isEmpty ? nil : .string(text))])
    }

    func observation(_ analysis: ResultMessage.Analysis, id: String, subject: JSONValue, order: StoredResource, current: StoredResource?) -> JSONObject {
        var members: [(String, JSONValue?)] = [
            ("resourceType", .string("Observation")), ("id", .string(id)),
            ("basedOn", .array([FHIR.reference("ServiceRequest", order.id)])),
            ("status", .string(analysis.status)),
            ("category", .array([FHIR.concept("http://terminology.hl7.org/CodeSystem/observation-category", Self.imagingSections.contains(result.section) ? "imaging" : "laboratory")])),
            ("code", codeConcept(npu: analysis.npu, local: analysis.localCode, text: analysis.text)),
            ("subject", subject),
            ("effectiveDateTime", (analysis.observed ?? result.observed).map { .string($0) }),
            ("issued", .string(Self.instant(result.reported, now: now))),
            ("meta", FHIR.object([("tag", .array([FHIR.coding(ResultsVocabulary.channelSystem, channel.id)]))])),
        ]
        switch analysis.valueType {
        case "NM" where !analysis.value.isEmpty:
            members.append(("valueQuantity", FHIR.object([("value", .number(analysis.value)), ("unit", analysis.unit.isEmpty ? nil : .string(analysis.unit))])))
        case "SN":
            let parts = analysis.value.split(separator: "^", omittingEmptySubsequences: false).map(String.init)
            let comparator = parts.first ?? ""
            let number = (parts.count > 1 ? parts[1] : "").replacingOccurrences(of: ",", with: ".")
            if Double(number) != nil {
                members.append(("valueQuantity", FHIR.object([("comparator", ["<", "<=", ">", ">="].contains(comparator) ? .string(comparator) : nil),
                                                               ("value", .number(number)), ("unit", analysis.unit.isEmpty ? nil : .string(analysis.unit))])))
            } else if !analysis.value.isEmpty {
                members.append(("valueString", .string(analysis.value.replacingOccurrences(of: "^", with: " "))))
            }
        case "CE", "CWE":
            let parts = analysis.value.split(separator: "^", omittingEmptySubsequences: false).map(String.init)
            members.append(("valueCodeableConcept", FHIR.object([("text", .string(parts.count > 1 && !parts[1].isEmpty ? parts[1] : parts.first ?? ""))])))
        default:
            if !analysis.value.isEmpty { members.append(("valueString", .string(analysis.value))) }
        }
        if let range = Self.referenceRange(analysis.range, unit: analysis.unit) { members.append(("referenceRange", .array([range]))) }
        let flags = analysis.flags.filter { Self.interpretations.contains($0) }
        if !flags.isEmpty { members.append(("interpretation", .array(flags.map { FHIR.concept(ResultsVocabulary.interpretationSystem, $0) }))) }
        if !analysis.notes.isEmpty { members.append(("note", .array(analysis.notes.map { FHIR.object([("text", .string($0))]) }))) }
        var observation = JSONObject(members.compactMap { key, value in value.map { (key, $0) } })
        if let unit = RecordTags.unit(of: order.object) { observation = RecordTags.tagged(observation, unit: unit) }
        return observation
    }

    /// HL7 table 0074's imaging sections; every other section (LAB, CH, HM, MB …) is a laboratory's.
    static let imagingSections: Set<String> = ["RAD", "RX", "CT", "MR", "US", "NMR", "NMS", "CUS", "OUS", "VUS", "XRC", "RC", "CTH", "VR"]

    static let interpretations: Set<String> = ["H", "L", "HH", "LL", "A", "AA", "N", "<", ">", "HU", "LU"]

    /// OBX-7 as a FHIR reference range: `3.5-5.0`, `<5`, `>2`; other text kept as text. Nil when empty
    /// (shown as "inget referensintervall").
    static func referenceRange(_ text: String, unit: String) -> JSONValue? {
        let range = text.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: ",", with: ".")
        guard !range.isEmpty else { return nil }
        func quantity(_ value: String) -> JSONValue? {
            let number = value.trimmingCharacters(in: .whitespaces)
            guard Double(number) != nil else { return nil }
            return FHIR.object([("value", .number(number)), ("unit", unit.isEmpty ? nil : .string(unit))])
        }
        if range.hasPrefix("<") || range.hasPrefix("≤"), let high = quantity(String(range.dropFirst().drop { $0 == "=" })) {
            return FHIR.object([("high", high), ("text", .string(text))])
        }
        if range.hasPrefix(">") || range.hasPrefix("≥"), let low = quantity(String(range.dropFirst().drop { $0 == "=" })) {
            return FHIR.object([("low", low), ("text", .string(text))])
        }
        if let dash = range.dropFirst().firstIndex(of: "-"), let low = quantity(String(range[..<dash])), let high = quantity(String(range[range.index(after: dash)...])) {
            return FHIR.object([("low", low), ("high", high), ("text", .string(text))])
        }
        return FHIR.object([("text", .string(text))])
    }

    static func instant(_ dateTime: String?, now: Date) -> String {
        if let dateTime, dateTime.contains("T") { return dateTime }
        return ISO8601DateFormatter().string(from: now)
    }

    // MARK: Unmatched

    /// The result goes to the channel's "omatchade svar" list, owned by its named role; nothing is filed in
    /// any patient's record until a person matches it.
    func unmatched(reason: String) async throws -> Outcome {
        let id = ResultIngest.recordID("omatchat", channel.id, result.controlID)
        var patientID: String?
        for identifier in result.patientIdentifiers where patientID == nil {
            let digits = Self.normalised(identifier)
            for system in [SwedishPersonalIdentity.personnummerSystem, SwedishPersonalIdentity.samordningsnummerSystem, Reservnummer.system] {
                var found = try await records.search("Patient", [("identifier", "\(system)|\(identifier)")], limit: 1).first
                if found == nil, digits != identifier {
                    found = try await records.search("Patient", [("identifier", "\(system)|\(digits)")], limit: 1).first
                }
                if let found {
                    patientID = found.id
                    break
                }
            }
        }
        var task = JSONObject([
            ("resourceType", .string("Task")), ("id", .string(id)), ("status", .string("requested")), ("intent", .string("order")),
            ("priority", .string("asap")),
            ("code", FHIR.concept(ResultsVocabulary.taskSystem, ResultsVocabulary.unmatchedCode, "Omatchat provsvar")),
            ("description", .string("Omatchat provsvar från \(channel.name): \(reason). Beställningsnummer: \(result.placer.isEmpty ? "saknas" : result.placer); "
                                    + "patient i svaret: \(result.patientIdentifiers.joined(separator: ", ")) \(result.patientName)")),
            ("authoredOn", .string(ISO8601DateFormatter().string(from: now))),
            ("owner", FHIR.reference("Organization", channel.unmatched.unit)),
            ("performerType", .array([FHIR.text(channel.unmatched.role)])),
            ("statusReason", FHIR.text(reason)),
            ("meta", FHIR.object([("tag", .array([FHIR.coding(ResultsVocabulary.channelSystem, channel.id)]))])),
        ])
        if let patientID { task["for"] = FHIR.reference("Patient", patientID) }
        task = RecordTags.tagged(task, unit: channel.unmatched.unit)
        var outcome = Outcome()
        outcome.writes = [.create(task, type: "Task", id: id)]
        outcome.focus = ["Task/\(id)"]
        outcome.unmatchedTask = id
        return outcome
    }
}
