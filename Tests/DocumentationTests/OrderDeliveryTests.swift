import Access
import FHIRCore
import HL7v2
import Foundation
import KarnaTesting
import Results
import Store
import StoreModel
import Testing

@Suite("Orders reach their lab or are listed as ej levererad: no unknown queue")
struct OrderDeliveryTests {
    static func order(_ ward: Ward, _ orders: LabOrders, code: String = "NPU03230", kind: String = "lab") async throws -> StoredResource {
        try await orders.order(patientID: "p1", kind: kind, code: code, display: nil, priority: "routine", expectedHours: nil, note: "Fastande",
                               session: try await ward.session("doc"))
    }

    static func job(_ ward: Ward) -> PatientDataSession { ward.gateway.session(.job("karna-lab-outbox"), action: "lab-outbox") }

    @Test("an order no channel takes is ej levererad at once, naming why, on its requester's list", arguments: backends)
    func noRoute(_ backend: StoreBackend) async throws {
        let ward = try await Ward.make(backend)
        try await ward.contact("doc", patient: "p1")
        var channels = ResultsTests.channels()
        channels.channels[0].orders = nil
        let orders = LabOrders(delivery: OrderDelivery(channels: channels))
        let order = try await Self.order(ward, orders)
        #expect(OrderDelivery.state(order.object) == "ej-levererad")
        #expect(order.object.extensionValue(OrderDelivery.problemExtension)?.stringValue?.contains("Ingen kanal tar emot beställningar av NPU03230") == true)
        let listed = try await orders.delivery.undelivered(requesterRole: "doc-role", session: try await ward.session("doc"))
        #expect(listed.map(\.id) == [order.id])
        // The outbox does not send what has no route, and does not lose it either.
        let run = try await orders.delivery.sendWaiting(session: Self.job(ward))
        #expect(run.sent == 0)
    }

    @Test("a lab that cannot be reached: retried, and on the requester's list once the order waited the limit", arguments: backends)
    func unreachable(_ backend: StoreBackend) async throws {
        let ward = try await Ward.make(backend)
        try await ward.contact("doc", patient: "p1")
        let closed = TemporaryPostgres.freePort()
        let orders = LabOrders(delivery: OrderDelivery(channels: ResultsTests.channels(orderPort: closed), undeliveredSeconds: 60, timeoutSeconds: 2))
        let order = try await Self.order(ward, orders)
        #expect(OrderDelivery.state(order.object) == "ej-skickad")
        let authored = try #require(ISO8601DateFormatter().date(from: order.object["authoredOn"]!.stringValue!))
        var run = try await orders.delivery.sendWaiting(session: Self.job(ward), now: authored.addingTimeInterval(5))
        #expect(run.sent == 0 && run.failures.count == 1, "\(run.failures)")
        let doc = try await ward.session("doc")
        #expect(try await orders.delivery.undelivered(requesterRole: "doc-role", session: doc, now: authored.addingTimeInterval(5)).isEmpty)
        run = try await orders.delivery.sendWaiting(session: Self.job(ward), now: authored.addingTimeInterval(61))
        #expect(run.failures.count == 1, "still retried")
        let listed = try await orders.delivery.undelivered(requesterRole: "doc-role", session: doc, now: authored.addingTimeInterval(61))
        #expect(listed.map(\.id) == [order.id])
        let problem = try #require(listed.first?.object.extensionValue(OrderDelivery.problemExtension)?.stringValue)
        // Swedish first, what it means and what to do; the transport's own words last, named as for IT support.
        #expect(problem.hasPrefix("Klinisk kemi, Kärnstad (demo) kunde inte nås. Kärna försöker skicka beställningen igen av sig själv; ring labbet om provet brådskar."), "\(problem)")
        #expect(problem.hasSuffix(".)") && problem.contains("(Teknisk orsak, för IT-support: the lab's MLLP port could not be reached"), "\(problem)")
    }

    @Test("an order written over plain FHIR, without a delivery state, is picked up by the outbox too", arguments: backends)
    func plainFHIROrder(_ backend: StoreBackend) async throws {
        let ward = try await Ward.make(backend)
        try await ward.contact("doc", patient: "p1")
        let orders = LabOrders(delivery: OrderDelivery(channels: ResultsTests.channels(orderPort: TemporaryPostgres.freePort()), timeoutSeconds: 1))
        let order = JSONObject([
            ("resourceType", .string("ServiceRequest")), ("status", .string("active")), ("intent", .string("order")),
            ("identifier", .array([FHIR.object([("system", .string(ResultsVocabulary.placerSystem)), ("value", .string("20000001-0001"))])])),
            ("category", .array([FHIR.concept(ResultsVocabulary.orderKindSystem, "lab")])),
            ("code", FHIR.concept(ResultsVocabulary.npuSystem, "NPU19748")), ("subject", FHIR.reference("Patient", "p1")),
            ("requester", FHIR.reference("PractitionerRole", "doc-role")), ("authoredOn", .string("2026-12-06T08:00:00Z")),
        ])
        _ = try await ward.session("doc").commit(.create(order, type: "ServiceRequest", id: "sr-plain"))
        let run = try await orders.delivery.sendWaiting(session: Self.job(ward))
        #expect(run.failures.count == 1 && run.failures[0].hasPrefix("ServiceRequest/sr-plain"), "\(run)")
    }

    @Test("a channel file that routes badly is refused at start, naming the channel and the problem")
    func badRoutes() throws {
        let shipped = try LabChannels.shipped()
        func load(_ change: (inout [[String: Any]]) -> Void) throws -> LabChannels {
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("channels-\(UUID().uuidString).json")
            defer { try? FileManager.default.removeItem(at: url) }
            var channels = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(shipped.channels)) as! [[String: Any]]
            change(&channels)
            try JSONSerialization.data(withJSONObject: ["channels": channels]).write(to: url)
            return try LabChannels.load(from: url)
        }
        let cases: [(String, (inout [[String: Any]]) -> Void)] = [
            ("both take lab", { c in var o = c[1]["orders"] as! [String: Any]; o["kind"] = "lab"; c[1]["orders"] = o }),
            ("port 1–65535", { c in var o = c[0]["orders"] as! [String: Any]; o["port"] = 0; c[0]["orders"] = o }),
            ("OML^O21 or ORM^O01", { c in var o = c[0]["orders"] as! [String: Any]; o["message"] = "ORU^R01"; c[0]["orders"] = o }),
            ("charset", { c in var o = c[0]["orders"] as! [String: Any]; o["charset"] = "EBCDIC"; c[0]["orders"] = o }),
            ("receivingApplication", { c in var o = c[0]["orders"] as! [String: Any]; o["receivingApplication"] = ""; c[0]["orders"] = o }),
            ("two channels have the id", { c in c[1]["id"] = c[0]["id"] }),
            ("kind must be lab or bild", { c in var o = c[0]["orders"] as! [String: Any]; o["kind"] = "patologi"; c[0]["orders"] = o }),
            ("specimens, NPU03230: type, display and container are required", { c in
                var specimens = c[0]["specimens"] as! [String: Any]; specimens["NPU03230"] = ["type": "PLAS", "display": "Plasma", "container": ""]; c[0]["specimens"] = specimens }),
            ("channel klinkem, orders, tls: ca", { c in var o = c[0]["orders"] as! [String: Any]; o["tls"] = ["ca": "no-such-ca.pem"]; c[0]["orders"] = o }),
        ]
        for (words, change) in cases {
            do {
                _ = try load(change)
                Issue.record("a channel file with a bad route loaded (\(words))")
            } catch {
                #expect("\(error)".contains(words), "\(error)")
            }
        }
        #expect(try load { _ in }.channels.count == shipped.channels.count)
    }
}

extension OrderDeliveryTests {
    @Test("behind a lab that does not answer, the channel's other orders are not asked in the same run, yet each says why once it waited the limit",
          arguments: backends)
    func downChannel(_ backend: StoreBackend) async throws {
        let ward = try await Ward.make(backend)
        try await ward.contact("doc", patient: "p1")
        let orders = LabOrders(delivery: OrderDelivery(channels: ResultsTests.channels(orderPort: TemporaryPostgres.freePort()), undeliveredSeconds: 60, timeoutSeconds: 1))
        let first = try await Self.order(ward, orders)
        let second = try await Self.order(ward, orders, code: "NPU19748")
        let authored = try #require(ISO8601DateFormatter().date(from: second.object["authoredOn"]!.stringValue!))
        let run = try await orders.delivery.sendWaiting(session: Self.job(ward), now: authored.addingTimeInterval(61))
        #expect(run.failures.count == 2)
        for order in [first, second] {
            let stored = try #require(try await ward.gateway.session(.job("t"), action: "t").read(type: "ServiceRequest", id: order.id))
            #expect(stored.object.extensionValue(OrderDelivery.problemExtension)?.stringValue?.contains("kunde inte nås") == true)
        }
    }
}

extension OrderDeliveryTests {
    @Test("an order carries the specimen its analysis needs — kind, tube, volume, the patient's preparation — and OML^O21 sends it as SPM, ORM^O01 in OBR-15 and OBR-9; an analysis without instructions carries none",
          arguments: backends)
    func specimenNeeds(_ backend: StoreBackend) async throws {
        let ward = try await Ward.make(backend)
        try await ward.contact("doc", patient: "p1")
        let lab = LabEnd()
        let orders = LabOrders(delivery: OrderDelivery(channels: ResultsTests.channels(), transport: { bytes, _, _, _, _ in try await lab.exchange(bytes) }))
        let glucose = try await Self.order(ward, orders, code: "NPU02192")
        let specimen = try #require(glucose.object["contained"]?.arrayValue?.first?.objectValue)
        #expect(specimen["resourceType"]?.stringValue == "Specimen" && glucose.object["specimen"]?.arrayValue?.first?.objectValue?["reference"]?.stringValue == "#prov")
        #expect(specimen["type"]?.objectValue?["coding"]?.arrayValue?.first?.objectValue?["code"]?.stringValue == "PLAS")
        #expect(LabOrders.specimenText(glucose.object) == "Plasma, Fluoridrör, grå propp, 2 mL")
        #expect(glucose.object["patientInstruction"]?.stringValue == "Fastande sedan kl. 22 kvällen före provtagningen.")

        #expect(try await orders.delivery.sendWaiting(session: Self.job(ward)).sent == 1)
        let message = try #require(await lab.received.first)
        let spm = try #require(message.first("SPM"), "no SPM in the OML^O21")
        let placer = try #require(glucose.object["identifier"]?.arrayValue?.first?.objectValue?["value"]?.stringValue)
        #expect(message.text(spm[2]) == placer && message.text(spm[4], component: 1) == "PLAS" && message.text(spm[12], component: 1) == "2")
        #expect(message.text(spm[27], component: 2) == "Fluoridrör, grå propp")
        #expect(message.segments.map(\.name).suffix(2) == ["NTE", "SPM"], "SPM follows the order's OBR and NTE")

        // A lab on ORM^O01 (no specimen segment) reads the kind and tube in OBR-15 and the volume in OBR-9.
        var older = ResultsTests.channels()
        older.channels[0].orders?.message = "ORM^O01"
        let ormLab = LabEnd()
        let ormOrders = LabOrders(delivery: OrderDelivery(channels: older, transport: { bytes, _, _, _, _ in try await ormLab.exchange(bytes) }))
        _ = try await Self.order(ward, ormOrders, code: "NPU02192")
        #expect(try await ormOrders.delivery.sendWaiting(session: Self.job(ward)).sent == 1)
        let orm = try #require(await ormLab.received.first)
        #expect(orm.messageType == "ORM^O01" && orm.first("SPM") == nil)
        let obr = try #require(orm.first("OBR"))
        let source = orm.components(obr[15])
        #expect(source.count == 2 && source[0].split(separator: "&").map(String.init) == ["PLAS", "Plasma", "HL70487"], "OBR-15: \(obr[15])")
        #expect(orm.text(String(source[1].drop { $0 != "&" }.dropFirst())) == "Fluoridrör, grå propp")
        #expect(orm.text(obr[9], component: 1) == "2" && orm.text(obr[9], component: 2) == "mL" && orm.text(obr[16], component: 2) != "")

        // The shipped imaging channel has no instructions: its order names no specimen.
        let imaging = try await Self.order(ward, orders, code: "RTG-THORAX", kind: "bild")
        #expect(imaging.object["contained"] == nil && imaging.object["specimen"] == nil)
    }
}
