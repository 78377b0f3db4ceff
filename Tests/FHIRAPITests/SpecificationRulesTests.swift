import Access
import FHIRAPI
import FHIRCore
import HTTPTypes
import Store
import KarnaTesting
import StoreModel
import Testing

/// Issue 22, item 1: what the R4 specification forbids is refused at the API, on both backends,
/// with the path and the rule named, and nothing is written.
@Suite("R4 rules at the API: required bindings, narratives, unwritable types")
struct SpecificationRulesTests {
    @Test("a create or a transaction entry outside a required value set is refused, naming path and value set", arguments: backends)
    func requiredBindingsAtTheAPI(backend: StoreBackend) async throws {
        try await withAPI(backend) { api in
            let created = try await api.send(.post, "/fhir/Observation", #"{"resourceType":"Observation","status":"not-a-status","code":{"text":"Hb"}}"#)
            #expect(created.status == 400, "\(created.text)")
            #expect(created.issues.contains { $0.expression == ["Observation.status"] && $0.diagnostics.contains("http://hl7.org/fhir/ValueSet/observation-status") })
            let gender = try await api.send(.post, "/fhir/Patient", #"{"resourceType":"Patient","gender":"mannen"}"#)
            #expect(gender.status == 400)
            #expect(gender.issues.contains { $0.expression == ["Patient.gender"] && $0.diagnostics.contains("'mannen'") })

            let transaction = #"""
            {"resourceType":"Bundle","type":"transaction","entry":[
              {"fullUrl":"urn:uuid:7f3c2a9e-1b1d-4c55-9a57-2b3d4e5f6a70","resource":{"resourceType":"Patient","gender":"female"},"request":{"method":"POST","url":"Patient"}},
              {"resource":{"resourceType":"Encounter","status":"bogus","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},
                "subject":{"reference":"urn:uuid:7f3c2a9e-1b1d-4c55-9a57-2b3d4e5f6a70"}},"request":{"method":"POST","url":"Encounter"}}]}
            """#
            let refused = try await api.send(.post, "/fhir", transaction)
            #expect(refused.status == 400, "\(refused.text)")
            #expect(refused.issues.contains { $0.expression == ["Bundle.entry[1].resource.status"] && $0.diagnostics.contains("encounter-status") },
                    "\(refused.text)")
            #expect(try await api.store.count(type: nil) == 0, "nothing of the refused writes is stored")
        }
    }

    @Test("a narrative with a script is refused on create and update; a safe one is stored as sent", arguments: backends)
    func narrativesAtTheAPI(backend: StoreBackend) async throws {
        try await withAPI(backend) { api in
            func patient(_ div: String, id: String? = nil) -> String {
                let idMember = id.map { #""id":"\#($0)","# } ?? ""
                return #"{"resourceType":"Patient",\#(idMember)"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">\#(div)</div>"}}"#
            }
            let safe = try await api.create(patient("<p>Patient <b>Test</b></p>"))
            let id = try #require(safe["id"]?.stringValue)
            let scripted = try await api.send(.put, "/fhir/Patient/\(id)", patient("<img src=\\\"x\\\" onerror=\\\"alert(1)\\\"/>", id: id))
            #expect(scripted.status == 400, "\(scripted.text)")
            #expect(scripted.issues.contains { $0.expression == ["Patient.text.div"] && $0.diagnostics.contains("onerror") })
            let read = try await api.send(.get, "/fhir/Patient/\(id)")
            #expect(read.json?["text"]?.objectValue?["div"]?.stringValue?.contains("<b>Test</b>") == true, "the stored version is the safe one")
        }
    }

    @Test("que-7 and bdl-4 no longer refuse valid resources")
    func correctedInvariantsAtTheAPI() async throws {
        try await withAPI(.sqlite) { api in
            _ = try await api.create(#"""
            {"resourceType":"Questionnaire","status":"active","item":[{"linkId":"1","type":"boolean","text":"Röker du?"},
              {"linkId":"2","type":"string","text":"Hur mycket?","enableWhen":[{"question":"1","operator":"exists","answerBoolean":true}]}]}
            """#)
            let response = try await api.send(.post, "/fhir/Bundle", #"""
            {"resourceType":"Bundle","type":"batch-response","entry":[{"resource":{"resourceType":"Bundle","type":"searchset","total":0},"response":{"status":"200 OK"}}]}
            """#)
            #expect(response.status == 201, "\(response.text)")
        }
    }

    @Test("a read-only operation inside a transaction runs after the commit; one that changes data is refused by name")
    func operationsInTransactions() async throws {
        try await withAPI(.sqlite) { api in
            let transaction = #"""
            {"resourceType":"Bundle","type":"transaction","entry":[
              {"resource":{"resourceType":"Patient","gender":"female"},"request":{"method":"POST","url":"Patient"}},
              {"resource":{"resourceType":"Patient","gender":"mannen"},"request":{"method":"POST","url":"Patient/$validate"}}]}
            """#
            let response = try await api.send(.post, "/fhir", transaction)
            #expect(response.status == 200, "\(response.text)")
            let entries = response.json?["entry"]?.arrayValue?.compactMap(\.objectValue) ?? []
            #expect(entries.first?["response"]?.objectValue?["status"]?.stringValue?.hasPrefix("201") == true)
            let validation = entries.last?["resource"]?.objectValue
            #expect(validation?.resourceType == "OperationOutcome")
            #expect(JSONWriter.string(.object(validation ?? JSONObject([]))).contains("administrative-gender"))
            #expect(try await api.store.count(type: "Patient") == 1, "the $validate entry wrote nothing")

            let merge = #"""
            {"resourceType":"Bundle","type":"transaction","entry":[
              {"resource":{"resourceType":"Parameters","parameter":[{"name":"target","valueId":"b"},{"name":"reason","valueString":"dubblett"}]},
               "request":{"method":"POST","url":"Patient/a/$merge"}}]}
            """#
            let refused = try await api.send(.post, "/fhir", merge)
            #expect(refused.status == 400)
            #expect(refused.issues.contains { $0.diagnostics.contains("$merge changes data") && $0.expression == ["Bundle.entry[0].request.url"] }, "\(refused.text)")
        }
    }

    @Test("a Subscription is refused with a reason until delivery exists, and the CapabilityStatement does not offer to create one")
    func subscriptionsAreRefused() async throws {
        try await withAPI(.sqlite) { api in
            let subscription = #"{"resourceType":"Subscription","status":"requested","reason":"lab results","criteria":"Observation?category=laboratory","channel":{"type":"rest-hook","endpoint":"https://example.org/hook"}}"#
            let created = try await api.send(.post, "/fhir/Subscription", subscription)
            #expect(created.status == 422, "\(created.text)")
            #expect(created.issues.contains { $0.diagnostics.contains("does not deliver Subscriptions") })
            let inTransaction = try await api.send(.post, "/fhir", #"{"resourceType":"Bundle","type":"transaction","entry":[{"resource":\#(subscription),"request":{"method":"POST","url":"Subscription"}}]}"#)
            #expect(inTransaction.status == 422, "\(inTransaction.text)")
            #expect(try await api.store.count(type: nil) == 0)
            let metadata = try #require(try await api.send(.get, "/fhir/metadata").json)
            let resources = metadata["rest"]?.arrayValue?.first?.objectValue?["resource"]?.arrayValue ?? []
            let entry = try #require(resources.compactMap(\.objectValue).first { $0["type"]?.stringValue == "Subscription" })
            let interactions = (entry["interaction"]?.arrayValue ?? []).compactMap { $0.objectValue?["code"]?.stringValue }
            #expect(!interactions.contains("create") && !interactions.contains("update"))
            #expect(interactions.contains("read"))
        }
    }
}
