public import Access
public import FHIRCore
public import Foundation
public import HL7v2
import Metrics
public import StoreModel

/// Sending orders to the labs (the outbox), and the requester's "ej levererad" list: no order waits in a
/// queue no one sees. An order no channel takes, or one the lab refuses (AR, AE), is undelivered at once; one
/// whose lab cannot be reached is retried and listed once it has waited `undeliveredSeconds`.
public struct OrderDelivery: Sendable {
    /// How an order is sent: the MLLP exchange (over TLS when the route has it), or a test's stand-in for a network.
    public typealias Transport = @Sendable (_ payload: [UInt8], _ host: String, _ port: Int, _ timeoutSeconds: Double, _ tls: MLLPClient.TLS?) async throws -> [UInt8]

    public let channels: LabChannels
    /// Seconds after which an order not yet delivered is on its requester's "ej levererad" list.
    public var undeliveredSeconds: Int
    /// Seconds one send may take.
    public var timeoutSeconds: Double
    public var transport: Transport

    public init(channels: LabChannels, undeliveredSeconds: Int = 60, timeoutSeconds: Double = 10,
                transport: @escaping Transport = { try await MLLPClient.exchange($0, host: $1, port: $2, timeoutSeconds: $3, tls: $4) }) {
        self.channels = channels
        self.undeliveredSeconds = undeliveredSeconds
        self.timeoutSeconds = timeoutSeconds
        self.transport = transport
    }

    /// The delivery state tag (`meta.tag`): ej-skickad (to send, or being retried), skickad, ej-levererad.
    public static let stateSystem = "https://karna.se/fhir/CodeSystem/bestallning-leverans"
    /// Why an order was not delivered, in words the requester reads.
    public static let problemExtension = "https://karna.se/fhir/StructureDefinition/leveransproblem"
    /// The channel an order was routed to.
    public static let channelExtension = "https://karna.se/fhir/StructureDefinition/bestallning-kanal"

    /// The cancellation's delivery to the lab (`meta.tag`): att-skicka, skickad, ej-levererad. Kept apart from the
    /// order's own state, which still says the lab has the order.
    public static let cancellationStateSystem = "https://karna.se/fhir/CodeSystem/bestallning-makulering"

    public static func state(_ order: JSONObject) -> String? { order.tagCode(stateSystem) }

    /// Where the order's cancellation is on its way to the lab; nil when the lab need not be told.
    public static func cancellationState(_ order: JSONObject) -> String? { order.tagCode(cancellationStateSystem) }

    static func settingCancellation(_ state: String, problem: String?, on order: JSONObject) -> JSONObject {
        var order = order
        order.setTag(cancellationStateSystem, state, display: ["att-skicka": "Makulering ej skickad", "skickad": "Makulering skickad",
                                                               "ej-levererad": "Makulering ej levererad"][state])
        order.setExtension(problemExtension, "valueString", problem.map { .string($0) })
        return order
    }

    static func setting(_ state: String, problem: String?, channel: String?, on order: JSONObject) -> JSONObject {
        var order = order
        order.setTag(stateSystem, state, display: ["ej-skickad": "Ej skickad", "skickad": "Skickad", "ej-levererad": "Ej levererad"][state])
        order.setExtension(problemExtension, "valueString", problem.map { .string($0) })
        if let channel { order.setExtension(channelExtension, "valueString", .string(channel)) }
        return order
    }

    /// The state a new order starts in: routed and waiting, or undelivered at once when no channel takes it.
    func initialState(kind: String, code: String, order: JSONObject) -> JSONObject {
        guard let channel = channels.route(kind: kind, code: code) else {
            return Self.setting("ej-levererad", problem: "Ingen kanal tar emot beställningar av \(code) (\(kind)): kontrollera labbkanalerna.", channel: nil, on: order)
        }
        return Self.setting("ej-skickad", problem: nil, channel: channel.id, on: order)
    }

    /// What one run of the outbox did.
    public struct Run: Sendable {
        public var sent = 0
        public var undelivered: [String] = []
        public var failures: [String] = []
    }

    /// Sends every active order not yet delivered or refused, oldest first.
    public func sendWaiting(session: PatientDataSession, now: Date = Date()) async throws -> Run {
        let waiting = try await Records(session: session).all("ServiceRequest", [
            ("status", "active"), ("category", "\(ResultsVocabulary.orderKindSystem)|"),
            ("_tag:not", "\(Self.stateSystem)|skickad"), ("_tag:not", "\(Self.stateSystem)|ej-levererad"),
        ], maximum: 500)
        // Cancellations a lab must hear of, after the orders: a lab told of a cancellation first would refuse it.
        let cancelled = try await Records(session: session).all("ServiceRequest", [
            ("status", "revoked"), ("_tag", "\(Self.cancellationStateSystem)|att-skicka"),
        ], maximum: 500)
        var run = Run()
        // A lab that did not answer is not asked again in the same run: its other orders wait for the next one,
        // and the orders of the other labs are not held up behind its timeouts.
        var down: [String: String] = [:]
        let oldestFirst = { (a: StoredResource, b: StoredResource) in (a.object["authoredOn"]?.stringValue ?? "") < (b.object["authoredOn"]?.stringValue ?? "") }
        for order in waiting.sorted(by: oldestFirst) + cancelled.sorted(by: oldestFirst) {
            let channel = order.object.extensionValue(Self.channelExtension)?.stringValue
            if let channel, let why = down[channel] {
                // Not asked, but its requester still learns why it waits once it has waited past the limit.
                let waited = now.timeIntervalSince(Self.waitingSince(order.object) ?? now)
                try await record(order, Self.isCancellation(order.object) ? "att-skicka" : "ej-skickad",
                                 problem: waited >= Double(undeliveredSeconds) ? why : nil, channel: channel, session: session)
                run.failures.append("ServiceRequest/\(order.id): \(why)")
                continue
            }
            let outcome = try await send(order, session: session, now: now)
            switch outcome {
            case .sent: run.sent += 1
            case .undelivered(let why): run.undelivered.append("ServiceRequest/\(order.id): \(why)")
            case .retrying(let why):
                run.failures.append("ServiceRequest/\(order.id): \(why)")
                if let channel { down[channel] = why }
            }
        }
        return run
    }

    /// What became of one send.
    public enum Outcome: Sendable, Equatable {
        case sent
        /// Refused, or no route: on the list, not retried until the requester sends it again.
        case undelivered(String)
        /// Not reached: retried; listed once it waited past the limit.
        case retrying(String)
    }

    /// A revoked order the lab has, whose cancellation is still to be delivered (or was refused).
    static func isCancellation(_ order: JSONObject) -> Bool {
        order["status"]?.stringValue == "revoked" && cancellationState(order) != nil
    }

    /// Since when the order (or its cancellation) has waited for its lab.
    static func waitingSince(_ order: JSONObject) -> Date? {
        if isCancellation(order), let time = LabOrders.cancellation(order)?.time { return ISO8601DateFormatter().date(from: time) }
        return authored(order)
    }

    /// Sends one order now (or, for a cancelled order the lab has, its cancellation) and records what became of it.
    public func send(_ order: StoredResource, session: PatientDataSession, now: Date = Date()) async throws -> Outcome {
        let records = Records(session: session)
        let cancelling = Self.isCancellation(order.object)
        guard cancelling || order.object["status"]?.stringValue == "active" else {
            throw refused("ServiceRequest/\(order.id) is \(order.object["status"]?.stringValue ?? "without status"): only an active order, or a cancellation, is sent",
                          expression: ["ServiceRequest.status"], text: "Beställningen är inte aktiv och skickas inte.")
        }
        let what = cancelling ? "makuleringen" : "beställningen"
        let waitingState = cancelling ? "att-skicka" : "ej-skickad"
        let kind = order.object.code("category", system: ResultsVocabulary.orderKindSystem) ?? "lab"
        let code = order.object["code"]?.objectValue?["coding"]?.arrayValue?.first?.objectValue?["code"]?.stringValue ?? ""
        guard let channel = channels.route(kind: kind, code: code), let route = channel.orders else {
            let why = "Ingen kanal tar emot beställningar av \(code) (\(kind)): kontrollera labbkanalerna."
            try await record(order, "ej-levererad", problem: why, channel: nil, session: session)
            return .undelivered(why)
        }
        guard let patientID = order.object.referenceID("subject", type: "Patient"),
              let patient = try await records.optional("Patient", patientID) else {
            let why = "Beställningen saknar patient."
            try await record(order, "ej-levererad", problem: why, channel: channel.id, session: session)
            return .undelivered(why)
        }
        let requester = try await Self.requester(order.object, session: session)
        // One character set for MSH-18 and the bytes: the route's, else the channel's.
        let charset = route.charset ?? channel.defaultCharset
        let message = OrderMessage(order: order.object, orderID: order.id, patient: patient.object, requester: (requester.name, requester.hsa), unitName: requester.unit,
                                   route: route, charset: charset, now: now, control: cancelling ? "CA" : "NW")
        let text = message.text()
        guard let bytes = HL7Charset.encodePlain(text, charset: charset) else {
            let why = "Beställningen kan inte skrivas i kanalens teckenuppsättning \(charset) (patientens namn?)."
            try await record(order, "ej-levererad", problem: why, channel: channel.id, session: session)
            return .undelivered(why)
        }
        let tls = channels.tls[channel.id]
        guard route.tls == nil || tls != nil else {
            let why = "Kanalen \(channel.name) ska nås över TLS men dess certifikat är inte inlästa: kontrollera labbkanalerna."
            try await record(order, "ej-levererad", problem: why, channel: channel.id, session: session)
            return .undelivered(why)
        }
        // The lab's state for the operator (`karna_channel_reachable{channel="lab:…"}`): 1 once it answered at all.
        let reachable = Gauge(label: "karna.channel.reachable", dimensions: [("channel", "lab:\(channel.id)")])
        do {
            let answer = try await transport(bytes, route.host, route.port, timeoutSeconds, tls)
            reachable.record(1)
            let (ackText, _) = try HL7Charset.decode(answer, defaultCharset: charset)
            let ack = try HL7Message(parsing: ackText)
            guard let msa = ack.first("MSA"), ack.text(msa[2]) == message.controlID else {
                throw MLLPClient.Failure.unreachable("the lab answered with an ACK for another message")
            }
            let code = ack.text(msa[1]).uppercased()
            if ["AA", "CA"].contains(code) {
                try await record(order, "skickad", problem: nil, channel: channel.id, session: session)
                return .sent
            }
            let said = ack.first("ERR").map { ack.text($0[8]) }.flatMap { $0.isEmpty ? nil : $0 } ?? ack.text(msa[3])
            let why = "Labbet (\(channel.name)) tog inte emot \(what) (\(code))\(said.isEmpty ? "" : ": \(said)")."
                + (cancelling ? " Ring labbet och makulera beställningen där." : "")
            try await record(order, "ej-levererad", problem: why, channel: channel.id, session: session)
            return .undelivered(why)
        } catch {
            reachable.record(0)
            // The clinician reads what it means and what to do; the cause, in the transport's words, is for IT support.
            let why = "\(channel.name) kunde inte nås. Kärna försöker skicka \(what) igen av sig själv; "
                + (cancelling ? "ring labbet och makulera beställningen där om det brådskar." : "ring labbet om provet brådskar.")
                + " (Teknisk orsak, för IT-support: \(error).)"
            // Still retried; listed for the requester once it waited past the limit.
            let waited = now.timeIntervalSince(Self.waitingSince(order.object) ?? now)
            try await record(order, waitingState, problem: waited >= Double(undeliveredSeconds) ? why : nil, channel: channel.id, session: session)
            return .retrying(why)
        }
    }

    /// Records the delivery state on the order as it is now: a result filed meanwhile (the order completed)
    /// is read again, not overwritten. A cancellation's state goes on its own tag; an order cancelled while it was
    /// on its way is, once the lab took it, marked for the lab to hear of the cancellation too.
    private func record(_ order: StoredResource, _ state: String, problem: String?, channel: String?, session: PatientDataSession) async throws {
        let cancelling = Self.isCancellation(order.object)
        var current = order
        try await retryingConflicts {
            var updated: JSONObject
            if cancelling {
                updated = Self.settingCancellation(state, problem: problem, on: current.object)
            } else {
                updated = Self.setting(state, problem: problem, channel: channel, on: current.object)
                if state == "skickad", current.object["status"]?.stringValue == "revoked", Self.cancellationState(current.object) == nil {
                    updated = Self.settingCancellation("att-skicka", problem: nil, on: updated)
                }
            }
            guard updated != current.object else { return }
            do {
                _ = try await session.commit(.update(updated, type: "ServiceRequest", id: order.id, ifMatch: current.versionId))
            } catch {
                if isConcurrencyConflict(error), let fresh = try await session.read(type: "ServiceRequest", id: order.id) { current = fresh }
                throw error
            }
        }
    }

    static func authored(_ order: JSONObject) -> Date? {
        order["authoredOn"]?.stringValue.flatMap { ISO8601DateFormatter().date(from: $0) }
    }

    /// The ordering doctor's name and HSA id and the unit's name, for ORC-12 and MSH-4.
    static func requester(_ order: JSONObject, session: PatientDataSession) async throws -> (name: String, hsa: String, unit: String) {
        guard let roleID = order.referenceID("requester", type: "PractitionerRole"),
              let assignment = try await session.assignment(id: roleID) else { return ("", "", "Kärna") }
        let practitioner = try await Records(session: session).optional("Practitioner", assignment.practitionerID)?.object
        let hsa = (practitioner?["identifier"]?.arrayValue ?? []).compactMap { $0.objectValue }
            .first { $0["system"]?.stringValue == "urn:oid:1.2.752.29.4.19" }?["value"]?.stringValue ?? ""
        let name = practitioner?["name"]?.arrayValue?.first?.objectValue
        let text = name?["text"]?.stringValue
            ?? ((name?["given"]?.arrayValue ?? []).compactMap(\.stringValue) + [name?["family"]?.stringValue].compactMap { $0 }).joined(separator: " ")
        return (text, hsa, assignment.unitName)
    }

    /// The requester's orders not delivered: refused or without a route, or waiting past the limit; and their
    /// cancellations the lab has not taken, the same way.
    public func undelivered(requesterRole: String, session: PatientDataSession, now: Date = Date()) async throws -> [StoredResource] {
        let mine = try await Records(session: session).all("ServiceRequest", [
            ("status", "active"), ("requester", "PractitionerRole/\(requesterRole)"), ("_tag:not", "\(Self.stateSystem)|skickad"),
        ], maximum: 2_000)
        // A cancellation the lab has not taken is as urgent as an order it has not: a sample may be drawn for nothing.
        let cancellations = try await Records(session: session).all("ServiceRequest", [
            ("status", "revoked"), ("requester", "PractitionerRole/\(requesterRole)"), ("_tag", "\(Self.cancellationStateSystem)|att-skicka,\(Self.cancellationStateSystem)|ej-levererad"),
        ], maximum: 2_000)
        return (mine + cancellations).filter { order in
            if Self.isCancellation(order.object) ? Self.cancellationState(order.object) == "ej-levererad" : Self.state(order.object) == "ej-levererad" { return true }
            guard let since = Self.waitingSince(order.object) else { return false }
            return now.timeIntervalSince(since) >= Double(undeliveredSeconds)
        }
    }
}
