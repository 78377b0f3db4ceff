import Access
import FHIRCore
import Foundation
import KarnaTesting
import Results
import Store
import StoreModel
import Testing

@Suite("Critical values (larmvärden): per lab and analysis from data, told at once, escalated, acknowledged with read-back")
struct CriticalValueTests {
    /// The shipped demonstration lists, the doctor on call being doc2 at the test region.
    static func lists(_ change: (inout CriticalValues) -> Void = { _ in }) throws -> CriticalValues {
        var critical = try CriticalValues.shipped()
        for i in critical.lists.indices { critical.lists[i].onCall = ["*": "doc2-role"] }
        change(&critical)
        return critical
    }

    static func receive(_ ward: Ward, _ critical: CriticalValues, _ text: String) async -> ResultIngest.Receipt {
        await ResultIngest(channels: ResultsTests.channels(), critical: critical)
            .receive(Array(text.utf8), session: ward.gateway.session(.job("karna-mllp"), action: "hl7-result"))
    }

    static func alarms(_ ward: Ward) async throws -> [StoredResource] {
        try await ResultsTests.search(ward, "Task", [("code", "\(ResultsVocabulary.taskSystem)|\(ResultsVocabulary.criticalCode)")])
    }

    @Test("two regions' lists side by side: 6,4 crosses Halland's P-Kalium ≥ 6,0 on its lab; 2,9 crosses Jönköping's S-Kalium ≤ 3,0 on its lab only",
          arguments: backends)
    func twoLists(_ backend: StoreBackend) async throws {
        let (ward, _, placer) = try await ResultsTests.ordered(backend)
        let critical = try Self.lists()
        var receipt = await Self.receive(ward, critical, oru(control: "C1", placer: placer, obx: ["OBX|1|NM|K^Kalium^L||6,4|mmol/L|3.5-4.6|H|||F"]))
        #expect(receipt.alarms.count == 1, "\(receipt.problem ?? "")")
        let alarm = try #require(try await Self.alarms(ward).first)
        #expect(alarm.object.referenceID("owner", type: "PractitionerRole") == "doc-role")
        #expect(alarm.object["priority"]?.stringValue == "stat")
        #expect(alarm.object["description"]?.stringValue?.contains("P-Kalium 6,4 mmol/L (gräns ≥ 6,0") == true)
        let observation = try #require(try await ResultsTests.search(ward, "Observation", [("patient", "p1")]).first)
        #expect(observation.object.code("interpretation", system: ResultsVocabulary.interpretationSystem) == "HH")
        // 2,9 is not critical by Halland's list (≤ 2,5) …
        receipt = await Self.receive(ward, critical, oru(control: "C2", placer: placer, filler: "F2", obx: ["OBX|1|NM|K^Kalium^L||2,9|mmol/L|3.5-4.6|L|||F"]))
        #expect(receipt.alarms.isEmpty)
        // … but is by Jönköping's (≤ 3,0) for that region's lab (the RIS channel here) and its own code.
        let (other, _, otherPlacer) = try await ResultsTests.ordered(backend)
        receipt = await Self.receive(other, critical, oru(control: "C3", placer: otherPlacer, obx: ["OBX|1|NM|S-K^S-Kalium^L||2,9|mmol/L|3.6-4.6|L|||F"],
                                                          application: "RIS"))
        #expect(receipt.alarms.count == 1, "\(receipt.problem ?? "")")
        // The limits are data: a list with another limit answers otherwise, with no rebuild.
        let (third, _, thirdPlacer) = try await ResultsTests.ordered(backend)
        let raised = try Self.lists { critical in critical.lists[0].thresholds[0].high = "7.0" }
        receipt = await Self.receive(third, raised, oru(control: "C4", placer: thirdPlacer, obx: ["OBX|1|NM|K^Kalium^L||6,4|mmol/L|3.5-4.6|H|||F"]))
        #expect(receipt.alarms.isEmpty)
        // Exactly at the limit is critical ("≥ 6,0").
        let (fourth, _, fourthPlacer) = try await ResultsTests.ordered(backend)
        receipt = await Self.receive(fourth, critical, oru(control: "C7", placer: fourthPlacer, obx: ["OBX|1|NM|K^Kalium^L||6,0|mmol/L|3.5-4.6|H|||F"]))
        #expect(receipt.alarms.count == 1)
        // A resend raises no second alarm.
        receipt = await Self.receive(ward, critical, oru(control: "C1", placer: placer, obx: ["OBX|1|NM|K^Kalium^L||6,4|mmol/L|3.5-4.6|H|||F"]))
        #expect(receipt.duplicate && receipt.alarms.isEmpty)
        #expect(try await Self.alarms(ward).count == 1)
    }

    @Test("unacknowledged for the configured minutes, the alarm goes to the doctor on call, once", arguments: backends)
    func escalation(_ backend: StoreBackend) async throws {
        let (ward, _, placer) = try await ResultsTests.ordered(backend)
        let critical = try Self.lists()
        _ = await Self.receive(ward, critical, oru(control: "C5", placer: placer, obx: ["OBX|1|NM|K^Kalium^L||2,1|mmol/L|3.5-4.6|L|||F"]))
        let alarm = try #require(try await Self.alarms(ward).first)
        let authored = try #require(ISO8601DateFormatter().date(from: alarm.object["authoredOn"]!.stringValue!))
        let job = ward.gateway.session(.job("karna-lab-outbox"), action: "test")
        #expect(try await critical.escalate(session: job, now: authored.addingTimeInterval(9 * 60)).isEmpty)
        let escalated = try await critical.escalate(session: job, now: authored.addingTimeInterval(10 * 60))
        #expect(escalated.first?.object.referenceID("owner", type: "PractitionerRole") == "doc2-role")
        #expect(escalated.first?.object["businessStatus"]?.objectValue?["text"]?.stringValue == "Eskalerat till jour")
        #expect(try await critical.escalate(session: job, now: authored.addingTimeInterval(30 * 60)).isEmpty)
        #expect(try await critical.open(ownerRole: "doc2-role", unitID: nil, session: try await ward.session("doc2")).count == 1)
    }

    @Test("acknowledging by telephone needs the value as read back; who, how and when are recorded", arguments: backends)
    func acknowledgement(_ backend: StoreBackend) async throws {
        let (ward, _, placer) = try await ResultsTests.ordered(backend)
        let critical = try Self.lists()
        _ = await Self.receive(ward, critical, oru(control: "C6", placer: placer, obx: ["OBX|1|NM|K^Kalium^L||6,8|mmol/L|3.5-4.6|H|||F"]))
        let alarm = try #require(try await Self.alarms(ward).first)
        let doc = try await ward.session("doc")
        await #expect(throws: FHIRError.self) { _ = try await critical.acknowledge(taskID: alarm.id, method: "telefon", readBack: " ", session: doc) }
        let done = try await critical.acknowledge(taskID: alarm.id, method: "telefon", readBack: "Kalium 6,8", session: doc)
        #expect(done.object["status"]?.stringValue == "completed")
        let outputs = done.object["output"]?.arrayValue?.compactMap { $0.objectValue } ?? []
        #expect(outputs.contains { $0["valueString"]?.stringValue == "Kalium 6,8" })
        #expect(outputs.contains { $0.referenceID("valueReference", type: "PractitionerRole") == "doc-role" })
        #expect(try await critical.open(ownerRole: "doc-role", unitID: nil, session: doc).isEmpty)
        await #expect(throws: FHIRError.self) { _ = try await critical.acknowledge(taskID: alarm.id, method: "elektroniskt", readBack: nil, session: doc) }
    }

    @Test("a list file with a missing limit, a bad number, low above high or no doctor on call is refused, naming it")
    func badLists() throws {
        let shipped = try Self.lists()
        func load(_ change: (inout [[String: Any]]) -> Void) throws {
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("critical-\(UUID().uuidString).json")
            defer { try? FileManager.default.removeItem(at: url) }
            var lists = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(shipped.lists)) as! [[String: Any]]
            change(&lists)
            try JSONSerialization.data(withJSONObject: ["lists": lists]).write(to: url)
            _ = try CriticalValues.load(from: url)
        }
        func threshold(_ list: inout [[String: Any]], _ key: String, _ value: Any?) {
            var thresholds = list[0]["thresholds"] as! [[String: Any]]
            thresholds[0][key] = value
            list[0]["thresholds"] = thresholds
        }
        let cases: [(String, (inout [[String: Any]]) -> Void)] = [
            ("low and high must be decimal numbers", { threshold(&$0, "high", "sex") }),
            ("is not below high", { threshold(&$0, "low", "7.0") }),
            ("give code (NPU) or localCode", { threshold(&$0, "code", nil) }),
            ("no doctor on call", { $0[0]["onCall"] = ["vc": "doc-role"] }),
            ("names no channel", { $0[0]["channels"] = [String]() }),
        ]
        for (words, change) in cases {
            do {
                try load(change)
                Issue.record("a bad list loaded (\(words))")
            } catch {
                #expect("\(error)".contains(words), "\(error)")
            }
        }
    }
}
