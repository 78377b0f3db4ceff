public import Access
import Crypto
import FHIRCore
public import Foundation
public import HL7v2
public import StoreModel

/// Lab and imaging results received as HL7 v2 ORU^R01 (provsvar): each message is read in its channel's
/// character set, matched to its order by the placer number as an exact string, and written whole in one
/// commit with the receipt that makes a resent message (the same MSH-10) a no-op. The ACK is made only
/// from what was committed, so a crash before the commit loses nothing the sender will not resend.
public struct ResultIngest: Sendable {
    public let channels: LabChannels
    /// The larmlistor results are judged against.
    public let critical: CriticalValues

    public init(channels: LabChannels, critical: CriticalValues = CriticalValues(lists: [])) {
        self.channels = channels
        self.critical = critical
    }

    /// What became of one message: the ACK to send and, for the log, what it was.
    public struct Receipt: Sendable {
        /// The ACK's bytes (in the message's character set), to frame and send.
        public var acknowledgement: [UInt8]
        public var code: HL7Acknowledgement.Code
        /// The channel, when the message named a known one.
        public var channel: String?
        public var controlID: String
        /// A result that matched no order: its list entry (Task id), for the alarm.
        public var unmatched: String?
        /// Critical value alarms the message raised (Task ids), for the log.
        public var alarms: [String] = []
        /// The message was a resend of one already stored.
        public var duplicate: Bool
        /// Why AE or AR, in words.
        public var problem: String?
    }

    /// Reads, matches and stores one message; never throws: every failure is an AE or AR naming it.
    public func receive(_ bytes: [UInt8], session: PatientDataSession, now: Date = Date()) async -> Receipt {
        let application = HL7Charset.mshField(3, in: bytes).split(separator: "^").first.map(String.init) ?? ""
        guard let channel = channels.channel(sendingApplication: application) else {
            return Self.reject(bytes, .rejected, HL7Acknowledgement.Problem(segment: "MSH", field: 3, code: "204",
                               text: "MSH-3 names the sending application '\(application)', which is no channel Kärna knows (lab-channels-file)"), channel: nil)
        }
        let text: String
        let encoding: String.Encoding
        do {
            (text, encoding) = try HL7Charset.decode(bytes, defaultCharset: channel.defaultCharset)
        } catch {
            return Self.reject(bytes, .error, .init(segment: "MSH", field: 18, code: "103", text: error.description), channel: channel.id)
        }
        let message: HL7Message
        do {
            message = try HL7Message(parsing: text)
        } catch {
            let location = error.location
            return Self.reject(bytes, .error, .init(segment: location?.segment ?? "MSH", sequence: location?.sequence ?? 1, field: location?.field ?? 0,
                                                    code: "102", text: error.description), channel: channel.id)
        }
        let controlID = message.controlID
        guard !controlID.isEmpty else {
            return answer(message, .error, problem: .init(segment: "MSH", field: 10, code: "101", text: "MSH-10 (message control id) is empty"),
                          channel: channel, encoding: encoding, now: now)
        }
        guard message.messageType == "ORU^R01" else {
            return answer(message, .rejected, problem: .init(segment: "MSH", field: 9, code: "200",
                                                             text: "Kärna receives results as ORU^R01 on this channel, not \(message.messageType)"),
                          channel: channel, encoding: encoding, now: now)
        }
        let receiptID = Self.receiptID(channel: channel.id, controlID: controlID)
        do {
            // A concurrent writer (the order outbox marking the order sent, the same message resent at once) makes
            // the commit a conflict: read again and decide again; a resend then finds its receipt.
            return try await retryingConflicts {
                if try await session.read(type: "MessageHeader", id: receiptID).map({ !$0.isDeleted }) == true {
                    return answer(message, .accepted, channel: channel, encoding: encoding, now: now, duplicate: true)
                }
                let reading = ResultMessage(message: message, channel: channel, encoding: encoding)
                let results = try reading.results()
                var writes: [WriteOperation] = []
                var unmatched: String?
                var focus: [String] = []
                var alarms: [String] = []
                for result in results {
                    let outcome = try await ResultRecords(result: result, channel: channel, critical: critical, session: session, now: now).writes()
                    writes += outcome.writes
                    focus += outcome.focus
                    alarms += outcome.alarms
                    unmatched = unmatched ?? outcome.unmatchedTask
                    if outcome.unmatchedTask != nil { break } // one list entry holds the whole message
                }
                if let unmatched, let task = writes.firstIndex(where: { $0.type == "Task" && $0.id == unmatched }),
                   case .create(var object, let criteria) = writes[task].kind {
                    // The message itself is on the list entry, to be read and matched by hand.
                    object.append("input", FHIR.object([("type", FHIR.text("HL7 v2-meddelande")), ("valueString", .string(text))]))
                    writes[task] = .create(object, type: "Task", id: unmatched, ifNoneExist: criteria)
                }
                writes.append(.create(Self.receipt(id: receiptID, message: message, channel: channel, focus: focus, now: now), type: "MessageHeader", id: receiptID))
                _ = try await session.commit(writes)
                var receipt = answer(message, .accepted, channel: channel, encoding: encoding, now: now, unmatched: unmatched)
                receipt.alarms = alarms
                return receipt
            }
        } catch let error as ResultMessage.Problem {
            return answer(message, .error, problem: error.problem, channel: channel, encoding: encoding, now: now)
        } catch let error as CommitFailure {
            return answer(message, .error, problem: .init(segment: "OBX", code: "207", text: "the result could not be stored: \(error.error.issues.map(\.diagnostics).joined(separator: "; "))"),
                          channel: channel, encoding: encoding, now: now)
        } catch let error as FHIRError {
            let words = error.issues.map(\.diagnostics).joined(separator: "; ")
            return answer(message, .error, problem: .init(segment: "OBX", code: "207", text: "the result could not be stored: \(words)"),
                          channel: channel, encoding: encoding, now: now)
        } catch {
            return answer(message, .error, problem: .init(segment: "MSH", code: "207", text: "the result could not be stored: \(error)"),
                          channel: channel, encoding: encoding, now: now)
        }
    }

    /// The receipt's id: the channel and MSH-10 together, hashed to a FHIR id (MSH-10 may hold any character).
    static func receiptID(channel: String, controlID: String) -> String {
        let digest = SHA256.hash(data: Data("\(channel)|\(controlID)".utf8))
        return "hl7-" + digest.prefix(20).map { String(format: "%02x", $0) }.joined()
    }

    /// A stable id for a record made from a message: the same result (by channel and keys) gets the same id,
    /// so a correction is a new version of it.
    static func recordID(_ prefix: String, _ parts: String...) -> String {
        let digest = SHA256.hash(data: Data(parts.joined(separator: "|").utf8))
        return prefix + "-" + digest.prefix(16).map { String(format: "%02x", $0) }.joined()
    }

    static func receipt(id: String, message: HL7Message, channel: LabChannel, focus: [String], now: Date) -> JSONObject {
        JSONObject([
            ("resourceType", .string("MessageHeader")), ("id", .string(id)),
            ("eventCoding", FHIR.coding("http://terminology.hl7.org/CodeSystem/v2-0003", "R01", "ORU/ACK - Unsolicited transmission of an observation message")),
            ("source", FHIR.object([("name", .string(channel.name)), ("software", .string(message.text(message.header[3], component: 1))),
                                    ("endpoint", .string("mllp:\(channel.id)"))])),
            ("reason", FHIR.concept("https://karna.se/fhir/CodeSystem/hl7v2-kontrollid", message.controlID)),
            ("response", FHIR.object([("identifier", .string(message.controlID)), ("code", .string("ok"))])),
            ("focus", .array(focus.map { FHIR.object([("reference", .string($0))]) })),
            ("meta", FHIR.object([("tag", .array([FHIR.coding(ResultsVocabulary.channelSystem, channel.id)]))])),
        ])
    }

    func answer(_ message: HL7Message, _ code: HL7Acknowledgement.Code, problem: HL7Acknowledgement.Problem? = nil, channel: LabChannel,
                encoding: String.Encoding, now: Date, duplicate: Bool = false, unmatched: String? = nil) -> Receipt {
        let ack = HL7Acknowledgement.make(for: message.header, delimiters: message.delimiters, code: code, controlID: "ACK" + message.controlID.prefix(16),
                                          problems: problem.map { [$0] } ?? [], at: now)
        let bytes = ack.encoded.data(using: encoding).map(Array.init) ?? Array(ack.encoded.utf8)
        return Receipt(acknowledgement: bytes, code: code, channel: channel.id, controlID: message.controlID, unmatched: unmatched,
                       duplicate: duplicate, problem: problem?.text)
    }

    /// An ACK for bytes that could not be read as a message of a known channel: what MSH there is, in ASCII.
    static func reject(_ bytes: [UInt8], _ code: HL7Acknowledgement.Code, _ problem: HL7Acknowledgement.Problem, channel: String?) -> Receipt {
        let firstLine = bytes.prefix { $0 != 0x0D && $0 != 0x0A }
        let header = try? HL7Message(parsing: String(decoding: firstLine.map { $0 < 0x80 ? $0 : UInt8(ascii: "?") }, as: UTF8.self))
        let ack = HL7Acknowledgement.make(for: header?.header, delimiters: header?.delimiters ?? .init(), code: code,
                                          controlID: "ACK" + (header?.controlID.prefix(16) ?? "0"), problems: [problem])
        return Receipt(acknowledgement: Array(ack.encoded.utf8), code: code, channel: channel, controlID: header?.controlID ?? "",
                       unmatched: nil, duplicate: false, problem: problem.text)
    }
}

// MARK: Matching by hand

extension ResultIngest {
    /// Files an unmatched result (omatchat provsvar) under the order a person has found for it: the message kept
    /// on the list entry is read again, each result that matches no order by itself goes to `orderID`, the entry
    /// closes naming the reports — all in one commit. A result whose PID names someone the order's patient is
    /// not is refused: a wrong choice must not file another person's result.
    public func match(taskID: String, orderID: String, session: PatientDataSession, now: Date = Date()) async throws -> [StoredResource] {
        let records = Records(session: session)
        let task = try await records.require("Task", taskID)
        guard task.object.code("code", system: ResultsVocabulary.taskSystem) == ResultsVocabulary.unmatchedCode else {
            throw FHIRError(.invalid, code: .value, "Task/\(taskID) is not an unmatched result", expression: ["Task.code"], text: "Det här är inget omatchat provsvar.")
        }
        guard task.object["status"]?.stringValue == "requested" else {
            throw FHIRError(.conflict, code: .conflict, "Task/\(taskID) is already matched or closed", text: "Svaret är redan matchat.")
        }
        let (channel, results) = try kept(task)
        let order = try await records.require("ServiceRequest", orderID)
        guard let patientID = order.object.referenceID("subject", type: "Patient") else {
            throw FHIRError(.invalid, code: .required, "ServiceRequest/\(orderID) has no patient", expression: ["ServiceRequest.subject"], text: "Beställningen saknar patient.")
        }
        var writes: [WriteOperation] = []
        var reports: [String] = []
        var reachedUnmatched = false
        for result in results {
            let own = ResultRecords(result: result, channel: channel, critical: critical, session: session, now: now)
            let itself = try await Self.ownMatch(own)
            // The results before the first unmatched one were filed when the message came.
            if itself != nil, !reachedUnmatched { continue }
            reachedUnmatched = true
            let target = itself ?? (order, patientID)
            if itself == nil, let mismatch = try await own.patientMismatch(patientID: patientID) {
                throw FHIRError(.invalid, code: .businessRule, "ServiceRequest/\(orderID): \(mismatch)", expression: ["order"],
                                text: "Fel beställning: \(mismatch).")
            }
            let outcome = try await own.matched(order: target.0, patientID: target.1)
            writes += outcome.writes
            reports += outcome.focus.filter { $0.hasPrefix("DiagnosticReport/") }
        }
        var closed = task.object
        closed["status"] = .string("completed")
        closed["for"] = FHIR.reference("Patient", patientID)
        closed["businessStatus"] = FHIR.text("Matchat mot beställning \((order.object["identifier"]?.arrayValue ?? []).first?.objectValue?["value"]?.stringValue ?? orderID)")
        closed["focus"] = FHIR.reference("ServiceRequest", orderID)
        closed["output"] = .array(reports.map { FHIR.object([("type", FHIR.text("Provsvar")), ("valueReference", FHIR.object([("reference", .string($0))]))]) })
        closed["executionPeriod"] = FHIR.object([("end", .string(ISO8601DateFormatter().string(from: now)))])
        if let role = session.principal.assignment?.id {
            closed["owner"] = FHIR.reference("PractitionerRole", role)
        }
        writes.append(.update(closed, type: "Task", id: taskID, ifMatch: task.versionId))
        _ = try await session.commit(writes)
        return try await session.read(keys: reports.compactMap(ResourceKey.init(reference:)))
    }

    /// The message an unmatched-result entry keeps, read again in its channel.
    func kept(_ task: StoredResource) throws -> (LabChannel, [ResultMessage.Result]) {
        guard let text = (task.object["input"]?.arrayValue ?? []).compactMap(\.objectValue).first(where: { Display.concept($0["type"]) == "HL7 v2-meddelande" })?["valueString"]?.stringValue,
              let channelID = (task.object["meta"]?.objectValue?["tag"]?.arrayValue ?? []).compactMap(\.objectValue)
                .first(where: { $0["system"]?.stringValue == ResultsVocabulary.channelSystem })?["code"]?.stringValue,
              let channel = channels.channel(id: channelID) else {
            throw FHIRError(.invalid, code: .required, "Task/\(task.id) holds no message and channel to match", text: "Listposten saknar meddelandet och kan inte matchas.")
        }
        let message = try HL7Message(parsing: text)
        do {
            return (channel, try ResultMessage(message: message, channel: channel, encoding: .utf8).results())
        } catch {
            throw FHIRError(.invalid, code: .invalid, "the kept message cannot be read: \(error.problem.text)")
        }
    }

    /// Orders an unmatched result may belong to, for the person matching it: the open orders of the patient the
    /// result's PID names, on the result's channel, those of the result's analysis first, then the newest. Only a
    /// suggestion — the person chooses, and `match` still refuses an order of another patient.
    public func suggestions(taskID: String, session: PatientDataSession, limit: Int = 5) async throws -> [StoredResource] {
        let records = Records(session: session)
        let task = try await records.require("Task", taskID)
        guard task.object["status"]?.stringValue == "requested" else { return [] }
        let (channel, results) = try kept(task)
        let identifiers = Set(results.flatMap(\.patientIdentifiers).map(ResultRecords.normalised).filter { !$0.isEmpty })
        var patients: [String] = []
        for identifier in identifiers.sorted() {
            patients += try await records.search("Patient", [("identifier", identifier)], limit: 5).map(\.id)
        }
        let analyses = Set(results.flatMap { [$0.serviceNPU, $0.serviceCode] + $0.analyses.flatMap { [$0.npu, $0.localCode] } }.compactMap { $0 })
        var candidates: [(order: StoredResource, sameAnalysis: Bool)] = []
        for patientID in Set(patients).sorted() {
            let open = try await records.search("ServiceRequest", [("patient", patientID), ("status", "active"),
                                                                   ("category", "\(ResultsVocabulary.orderKindSystem)|")], limit: 100)
            for order in open {
                let kind = order.object.code("category", system: ResultsVocabulary.orderKindSystem) ?? "lab"
                let code = order.object["code"]?.objectValue?["coding"]?.arrayValue?.first?.objectValue?["code"]?.stringValue ?? ""
                // Orders routed elsewhere are another lab's: its results cannot come on this channel.
                guard channels.route(kind: kind, code: code)?.id == channel.id else { continue }
                candidates.append((order, analyses.contains(code)))
            }
        }
        return candidates.sorted { a, b in
            if a.sameAnalysis != b.sameAnalysis { return a.sameAnalysis }
            return (a.order.object["authoredOn"]?.stringValue ?? "") > (b.order.object["authoredOn"]?.stringValue ?? "")
        }.prefix(limit).map(\.order)
    }

    /// The order a result matches by its own placer number and patient, if it does.
    static func ownMatch(_ records: ResultRecords) async throws -> (StoredResource, String)? {
        guard let order = try await records.order(), let patientID = order.object.referenceID("subject", type: "Patient") else { return nil }
        return try await records.patientMismatch(patientID: patientID) == nil ? (order, patientID) : nil
    }
}
