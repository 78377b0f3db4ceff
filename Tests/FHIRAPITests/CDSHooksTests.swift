import FHIRCore
import Foundation
import HTTPTypes
import KarnaTesting
import Medication
import Store
import StoreModel
import Testing

/// The CDS Hooks 2.0 interface: discovery, a hook call with cards, feedback, and the errors a client gets.
@Suite("CDS Hooks under /cds-services: discovery, order-sign cards, feedback, and clear errors")
struct CDSHooksTests {
    static func call(_ hook: String, patient: String, drugs: [(id: String, atc: String, name: String)]) -> String {
        let entries = drugs.map { drug in
            #"{"resource":{"resourceType":"MedicationRequest","id":"\#(drug.id)","status":"draft","intent":"order","subject":{"reference":"Patient/\#(patient)"},"#
                + #""medicationCodeableConcept":{"coding":[{"system":"http://www.whocc.no/atc","code":"\#(drug.atc)"}],"text":"\#(drug.name)"}}}"#
        }
        return #"{"hook":"\#(hook)","hookInstance":"\#(UUID().uuidString)","context":{"userId":"Practitioner/x","patientId":"\#(patient)","#
            + #""draftOrders":{"resourceType":"Bundle","type":"collection","entry":[\#(entries.joined(separator: ","))]}}}"#
    }

    /// The shipped tables with a time limit no loaded test machine reaches, named by the setting a region uses:
    /// under the whole suite's load a read can wait seconds for a thread, and the cards here must be the real ones.
    static func patientRules() throws -> String {
        let shipped = try String(contentsOfFile: try #require(MedicationSafetyRules.shippedURL).path, encoding: .utf8)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("karna-rules-\(UUID().uuidString).json").path
        try shipped.replacingOccurrences(of: #""checkTimeoutMilliseconds": 5000"#, with: #""checkTimeoutMilliseconds": 60000"#)
            .write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("discovery lists both hooks; a call answers cards in the 2.0 shape; feedback makes the stored decision final and is audited", arguments: backends)
    func roundTrip(_ backend: StoreBackend) async throws {
        let rules = try Self.patientRules()
        defer { try? FileManager.default.removeItem(atPath: rules) }
        try await withAPI(backend, flags: ["medication-rules": rules]) { api in
            let discovery = try await api.send(.get, "/cds-services")
            #expect(discovery.status == 200)
            let services = discovery.json?["services"]?.arrayValue?.compactMap(\.objectValue) ?? []
            try #require(services.count == 2)
            #expect(services.map { $0["id"]?.stringValue ?? "" } == ["lakemedelskontroll-order-select", "lakemedelskontroll-order-sign"])
            #expect(services.map { $0["hook"]?.stringValue ?? "" } == ["order-select", "order-sign"])
            #expect(services[1]["prefetch"]?.objectValue?["patient"]?.stringValue == "Patient/{{context.patientId}}")

            let patient = try await api.create(#"{"resourceType":"Patient","name":[{"family":"Hook"}]}"#)
            let id = try #require(patient["id"]?.stringValue)
            _ = try await api.create(#"""
                {"resourceType":"MedicationRequest","status":"active","intent":"order","subject":{"reference":"Patient/\#(id)"},
                 "medicationCodeableConcept":{"coding":[{"system":"http://www.whocc.no/atc","code":"B01AA03"}],"text":"Waran"},
                 "authoredOn":"2026-12-01","reasonCode":[{"text":"Förmaksflimmer"}],
                 "dosageInstruction":[{"text":"Enligt ordinationsschema","route":{"text":"Oralt"},"timing":{"repeat":{"boundsPeriod":{"start":"2026-12-01"}}}}]}
                """#)
            let answer = try await api.send(.post, "/cds-services/lakemedelskontroll-order-sign",
                                            Self.call("order-sign", patient: id, drugs: [("d1", "M01AE01", "Ibuprofen")]))
            #expect(answer.status == 200, "\(answer.text)")
            let cards = answer.json?["cards"]?.arrayValue?.compactMap(\.objectValue) ?? []
            let critical = try #require(cards.first { $0["indicator"]?.stringValue == "critical" }, "\(answer.text)")
            #expect(critical["summary"]?.stringValue == "Interaktion D: Ibuprofen och Waran")
            #expect(critical["source"]?.objectValue?["label"]?.stringValue?.contains("version 2026-12-05") == true)
            #expect(critical["source"]?.objectValue?["topic"]?.objectValue?["code"]?.stringValue == "interaktion")
            let reason = try #require(critical["overrideReasons"]?.arrayValue?.first?.objectValue)
            let uuid = try #require(critical["uuid"]?.stringValue)

            let feedback = #"{"feedback":[{"card":"\#(uuid)","outcome":"overridden","outcomeTimestamp":"2026-12-05T10:00:00Z","#
                + #""overrideReason":{"reason":\#(JSONWriter.string(.object(reason))),"userComment":"Kort kur"}}]}"#
            let recorded = try await api.send(.post, "/cds-services/lakemedelskontroll-order-sign/feedback", feedback)
            #expect(recorded.status == 200, "\(recorded.text)")
            let issue = try await api.send(.get, "/fhir/DetectedIssue/\(uuid)")
            #expect(issue.json?["status"]?.stringValue == "final")
            #expect(issue.json?["mitigation"]?.arrayValue?.first?.objectValue?["action"]?.objectValue?["coding"]?.arrayValue?.first?.objectValue?["code"]?.stringValue == "overridden")
            let audit = try await api.store.auditRecords(AuditQuery(patientID: id, action: "decision-support"))
            #expect(!audit.isEmpty, "the hook's reads and the decision are audited under the patient")
        }
    }

    @Test("no token is 401, an unknown service 404, a wrong hook or a missing context 400, naming what is wrong", arguments: backends)
    func errors(_ backend: StoreBackend) async throws {
        try await withAPI(backend) { api in
            var anonymous = api
            anonymous.token = ""
            let unauthenticated = try await anonymous.send(.post, "/cds-services/lakemedelskontroll-order-sign", Self.call("order-sign", patient: "x", drugs: []))
            #expect(unauthenticated.status == 401)
            #expect(unauthenticated["WWW-Authenticate"]?.hasPrefix("Bearer") == true)
            let unknown = try await api.send(.post, "/cds-services/no-such", "{}")
            #expect(unknown.status == 404)
            #expect(unknown.issues.first?.diagnostics.contains("GET /cds-services lists them") == true)
            let wrongHook = try await api.send(.post, "/cds-services/lakemedelskontroll-order-sign", Self.call("order-select", patient: "x", drugs: []))
            #expect(wrongHook.status == 400)
            #expect(wrongHook.issues.first?.expression == ["hook"])
            let noContext = try await api.send(.post, "/cds-services/lakemedelskontroll-order-sign", #"{"hook":"order-sign","hookInstance":"a"}"#)
            #expect(noContext.status == 400)
            #expect(noContext.issues.first?.expression == ["context"])
            let notJSON = try await api.send(.post, "/cds-services/lakemedelskontroll-order-sign", "hook=order-sign")
            #expect(notJSON.status == 400)
            let badFeedback = try await api.send(.post, "/cds-services/lakemedelskontroll-order-sign/feedback", #"{"feedback":[{"card":"x","outcome":"ignored","outcomeTimestamp":"2026-12-05T10:00:00Z"}]}"#)
            #expect(badFeedback.status == 400)
            #expect(badFeedback.issues.first?.expression == ["feedback[0].outcome"])
        }
    }
}
