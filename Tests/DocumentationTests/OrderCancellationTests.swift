import Access
import FHIRCore
import Foundation
import HL7v2
import KarnaTesting
import Results
import Store
import StoreModel
import Testing

/// The lab's side of the order channel, answering each message as told and keeping what it got. The MLLP
/// socket itself is exercised against the hl7apy lab in `Tests/e2e/test_results_mllp.py`; here the
/// transport seam of `OrderDelivery` carries the bytes, so a race can be staged inside a send.
actor LabEnd {
    var answers: [String: String] = ["NW": "AA", "CA": "AA"]
    private(set) var received: [HL7Message] = []
    var duringSend: (@Sendable (HL7Message) async throws -> Void)?

    func answer(_ control: String, _ code: String) { answers[control] = code }
    func whileSending(_ step: (@Sendable (HL7Message) async throws -> Void)?) { duringSend = step }

    func exchange(_ bytes: [UInt8]) async throws -> [UInt8] {
        // Read as a lab does: in the character set MSH-18 names.
        let message = try HL7Message(parsing: try HL7Charset.decode(bytes, defaultCharset: "UNICODE UTF-8").text)
        received.append(message)
        if let step = duringSend {
            duringSend = nil
            try await step(message)
        }
        let control = message.first("ORC").map { message.text($0[1]) } ?? ""
        let code = answers[control] ?? "AA"
        let id = message.first("MSH").map { message.text($0[10]) } ?? ""
        let err = code == "AA" ? "" : "\rERR|||207^Application internal error^HL70357|E||||Provet är redan taget"
        return Array("MSH|^~\\&|KEMLAB|KLINKEM|KARNA||20261207100000||ACK^O21^ACK|A\(received.count)|P|2.5||||||UNICODE UTF-8\rMSA|\(code)|\(id)\(err)\r".utf8)
    }

    /// The ORC-1 and ORC-2 (placer) of each message received, in order.
    var orders: [(control: String, placer: String)] {
        received.compactMap { message in message.first("ORC").map { (message.text($0[1]), message.text($0[2])) } }
    }
}

@Suite("Cancelling an order (makulera): revoked with its reason, the lab told with ORC CA, a cancellation it does not take listed")
struct OrderCancellationTests {
    static func setUp(_ backend: StoreBackend, kind: String = "lab") async throws -> (Ward, LabOrders, LabEnd, StoredResource) {
        let ward = try await Ward.make(backend)
        try await ward.contact("doc", patient: "p1")
        let lab = LabEnd()
        let orders = LabOrders(delivery: OrderDelivery(channels: ResultsTests.channels(), undeliveredSeconds: 60, transport: { bytes, _, _, _, _ in try await lab.exchange(bytes) }))
        let order = try await orders.order(patientID: "p1", kind: kind, code: kind == "lab" ? "NPU03230" : "RTG-THORAX", display: nil, priority: "routine",
                                           expectedHours: 1, note: nil, session: try await ward.session("doc"))
        return (ward, orders, lab, order)
    }

    static func job(_ ward: Ward) -> PatientDataSession { ward.gateway.session(.job("karna-lab-outbox"), action: "lab-outbox") }

    static func read(_ ward: Ward, _ id: String) async throws -> StoredResource {
        try #require(try await ward.gateway.session(.job("t"), action: "t").read(type: "ServiceRequest", id: id))
    }

    @Test("a sent order cancelled: revoked with reason, time and who; the lab gets ORC CA with the placer number once; off the overdue list",
          arguments: backends)
    func sentOrder(_ backend: StoreBackend) async throws {
        let (ward, orders, lab, order) = try await Self.setUp(backend)
        let placer = try #require(order.object["identifier"]?.arrayValue?.first?.objectValue?["value"]?.stringValue)
        let first = try await orders.delivery.sendWaiting(session: Self.job(ward))
        #expect(first.sent == 1, "\(first)")
        let doc = try await ward.session("doc")
        let later = Date().addingTimeInterval(7_200)
        #expect(try await orders.overdue(unitID: "vc", session: doc, now: later).map(\.id) == [order.id])

        let cancelled = try await orders.cancel(orderID: order.id, reason: "dubblett", note: "Tagen på akuten", session: doc)
        #expect(cancelled.object["status"]?.stringValue == "revoked")
        let recorded = try #require(LabOrders.cancellation(cancelled.object))
        #expect(recorded.reason == "Dubbelbeställning" && recorded.note == "Tagen på akuten" && recorded.by == "PractitionerRole/doc-role" && recorded.time != nil)
        #expect(OrderDelivery.cancellationState(cancelled.object) == "att-skicka")
        #expect(OrderDelivery.state(cancelled.object) == "skickad", "the order's own state still says the lab has it")

        let run = try await orders.delivery.sendWaiting(session: Self.job(ward))
        #expect(run.sent == 1)
        let messages = await lab.orders
        #expect(messages.map(\.control) == ["NW", "CA"] && messages.allSatisfy { $0.placer == placer })
        let ids = await lab.received.map { $0.text($0.first("MSH")![10]) }
        #expect(ids[0] != ids[1] && ids[1].hasPrefix("KC"), "the cancellation has its own message id: \(ids)")
        #expect(OrderDelivery.cancellationState(try await Self.read(ward, order.id).object) == "skickad")
        #expect(try await orders.delivery.sendWaiting(session: Self.job(ward)).sent == 0, "told once")
        #expect(try await orders.overdue(unitID: "vc", session: doc, now: later).isEmpty)
        #expect(try await orders.delivery.undelivered(requesterRole: "doc-role", session: doc, now: later).isEmpty)
        // Cancelling again changes nothing and sends nothing.
        _ = try await orders.cancel(orderID: order.id, reason: "fel-analys", note: nil, session: doc)
        #expect(LabOrders.cancellation(try await Self.read(ward, order.id).object)?.reason == "Dubbelbeställning")
    }

    @Test("a cancellation the lab refuses (AR) is ej levererad on the requester's list, with the lab's words and what to do; sent again once the lab takes it",
          arguments: backends)
    func refusedByLab(_ backend: StoreBackend) async throws {
        let (ward, orders, lab, order) = try await Self.setUp(backend)
        _ = try await orders.delivery.sendWaiting(session: Self.job(ward))
        let doc = try await ward.session("doc")
        _ = try await orders.cancel(orderID: order.id, reason: "ej-indicerad", note: nil, session: doc)
        await lab.answer("CA", "AR")
        let run = try await orders.delivery.sendWaiting(session: Self.job(ward))
        #expect(run.undelivered.count == 1, "\(run)")
        let listed = try await orders.delivery.undelivered(requesterRole: "doc-role", session: doc)
        #expect(listed.map(\.id) == [order.id])
        let why = listed.first?.object.extensionValue(OrderDelivery.problemExtension)?.stringValue ?? ""
        #expect(why.contains("tog inte emot makuleringen (AR)") && why.contains("Provet är redan taget") && why.contains("Ring labbet"), "\(why)")
        #expect(try await orders.delivery.sendWaiting(session: Self.job(ward)).sent == 0, "a refused cancellation waits for a person")

        await lab.answer("CA", "AA")
        #expect(try await orders.delivery.send(listed[0], session: doc) == .sent)
        #expect(try await orders.delivery.undelivered(requesterRole: "doc-role", session: doc).isEmpty)
        #expect(await lab.orders.map(\.control) == ["NW", "CA", "CA"])
    }

    @Test("an order the lab never got is cancelled without a message; one cancelled while it is being sent is cancelled at the lab after it",
          arguments: backends)
    func unsentAndInFlight(_ backend: StoreBackend) async throws {
        let (ward, orders, lab, unsent) = try await Self.setUp(backend)
        let doc = try await ward.session("doc")
        let cancelled = try await orders.cancel(orderID: unsent.id, reason: "fel-patient", note: nil, session: doc)
        #expect(OrderDelivery.cancellationState(cancelled.object) == nil)
        #expect(try await orders.delivery.sendWaiting(session: Self.job(ward)).sent == 0)
        #expect(await lab.received.isEmpty)

        // The doctor cancels while the outbox has the order on the wire: the lab took it, so it must hear of the cancellation.
        let racing = try await orders.order(patientID: "p1", kind: "lab", code: "NPU19748", display: nil, priority: "routine", expectedHours: nil, note: nil, session: doc)
        await lab.whileSending { _ in _ = try await orders.cancel(orderID: racing.id, reason: "fel-analys", note: nil, session: doc) }
        #expect(try await orders.delivery.sendWaiting(session: Self.job(ward)).sent == 1)
        let after = try await Self.read(ward, racing.id)
        #expect(after.object["status"]?.stringValue == "revoked" && OrderDelivery.state(after.object) == "skickad")
        #expect(OrderDelivery.cancellationState(after.object) == "att-skicka")
        _ = try await orders.delivery.sendWaiting(session: Self.job(ward))
        #expect(await lab.orders.map(\.control) == ["NW", "CA"])
        #expect(OrderDelivery.cancellationState(try await Self.read(ward, racing.id).object) == "skickad")
    }

    @Test("refused: an answered order, one with a preliminary result, an unknown reason, 'annan' without a note; nothing is written", arguments: backends)
    func refusals(_ backend: StoreBackend) async throws {
        let (ward, orders, _, order) = try await Self.setUp(backend)
        let doc = try await ward.session("doc")
        await #expect { _ = try await orders.cancel(orderID: order.id, reason: "tråkig", note: nil, session: doc) } throws: { error in
            "\(error)".contains("reason must be one of fel-patient")
        }
        await #expect { _ = try await orders.cancel(orderID: order.id, reason: "annan", note: " ", session: doc) } throws: { error in
            "\(error)".contains("needs a note")
        }
        let placer = try #require(order.object["identifier"]?.arrayValue?.first?.objectValue?["value"]?.stringValue)
        var receipt = await ResultsTests.receive(ward, oru(control: "C1", placer: placer, obx: ["OBX|1|NM|K^Kalium^L||4,1|mmol/L|3.5-4.6||||P"]))
        #expect(receipt.code == .accepted, "\(receipt.problem ?? "")")
        await #expect { _ = try await orders.cancel(orderID: order.id, reason: "dubblett", note: nil, session: doc) } throws: { error in
            "\(error)".contains("the lab has analysed it")
        }
        receipt = await ResultsTests.receive(ward, oru(control: "C2", placer: placer, obx: ["OBX|1|NM|K^Kalium^L||4,1|mmol/L|3.5-4.6||||F"]))
        #expect(receipt.code == .accepted)
        await #expect { _ = try await orders.cancel(orderID: order.id, reason: "dubblett", note: nil, session: doc) } throws: { error in
            "\(error)".contains("answered order cannot be cancelled")
        }
        let stored = try await Self.read(ward, order.id)
        #expect(stored.object["status"]?.stringValue == "completed" && LabOrders.cancellation(stored.object) == nil)
    }

    @Test("a cancelled imaging order cancels the study it expected", arguments: backends)
    func imaging(_ backend: StoreBackend) async throws {
        let (ward, orders, _, order) = try await Self.setUp(backend, kind: "bild")
        _ = try await orders.cancel(orderID: order.id, reason: "patienten-avbojer", note: nil, session: try await ward.session("doc"))
        let study = try #require(try await ward.gateway.session(.job("t"), action: "t").read(type: "ImagingStudy", id: "bild-\(order.id)"))
        #expect(study.object["status"]?.stringValue == "cancelled")
    }
}
