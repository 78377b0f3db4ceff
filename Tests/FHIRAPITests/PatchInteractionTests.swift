import FHIRAPI
import FHIRCore
import Foundation
import HTTPTypes
import KarnaTesting
import Store
import Testing

/// Issue 22, item 3: PATCH over HTTP and in transactions, validated as an update, with If-Match.
@Suite("PATCH interaction")
struct PatchInteractionTests {
    @Test("JSON Patch, FHIRPath Patch and JSON Merge Patch update the resource; If-Match and validation are kept; nothing half-written", arguments: backends)
    func patchOverHTTP(backend: StoreBackend) async throws {
        try await withAPI(backend) { api in
            let created = try await api.create(#"{"resourceType":"Patient","gender":"female","birthDate":"1950-01-01"}"#)
            let id = try #require(created["id"]?.stringValue)
            let jsonPatch = try await api.send(.patch, "/fhir/Patient/\(id)", #"[{"op":"replace","path":"/birthDate","value":"1951-02-03"}]"#,
                                               headers: ["Content-Type": "application/json-patch+json", "If-Match": "W/\"1\"", "Prefer": "return=representation"])
            #expect(jsonPatch.status == 200, "\(jsonPatch.text)")
            #expect(jsonPatch.json?["birthDate"]?.stringValue == "1951-02-03")
            #expect(jsonPatch["ETag"] == "W/\"2\"")

            let stale = try await api.send(.patch, "/fhir/Patient/\(id)", #"[{"op":"remove","path":"/birthDate"}]"#,
                                           headers: ["Content-Type": "application/json-patch+json", "If-Match": "W/\"1\""])
            #expect(stale.status == 412, "\(stale.text)")

            let invalid = try await api.send(.patch, "/fhir/Patient/\(id)", #"[{"op":"replace","path":"/gender","value":"mannen"}]"#,
                                             headers: ["Content-Type": "application/json-patch+json"])
            #expect(invalid.status == 400)
            #expect(invalid.issues.contains { $0.expression == ["Patient.gender"] })

            let fhirPathPatch = try await api.send(.patch, "/fhir/Patient/\(id)", #"""
            {"resourceType":"Parameters","parameter":[{"name":"operation","part":[{"name":"type","valueCode":"add"},{"name":"path","valueString":"Patient"},
              {"name":"name","valueString":"identifier"},{"name":"value","valueIdentifier":{"system":"https://region.example.se/id","value":"x1"}}]}]}
            """#, headers: ["Prefer": "return=representation"])
            #expect(fhirPathPatch.status == 200, "\(fhirPathPatch.text)")
            #expect(fhirPathPatch.json?["identifier"]?.arrayValue?.count == 1)

            // JSON Merge Patch, as fhirpy sends it: members replace, null removes.
            let merge = try await api.send(.patch, "/fhir/Patient/\(id)", #"{"birthDate":null,"active":true}"#, headers: ["Prefer": "return=representation"])
            #expect(merge.status == 200, "\(merge.text)")
            #expect(merge.json?["birthDate"] == nil && merge.json?["active"] == .bool(true) && merge.json?["identifier"] != nil)

            let read = try #require(try await api.send(.get, "/fhir/Patient/\(id)").json)
            #expect(read["meta"]?.objectValue?["versionId"]?.stringValue == "4", "the refused patches made no versions")
            #expect(read["gender"]?.stringValue == "female")
        }
    }

    @Test("a transaction's PATCH entry (a Binary holding a JSON Patch) commits with the rest, or not at all")
    func patchInATransaction() async throws {
        try await withAPI(.sqlite) { api in
            let created = try await api.create(#"{"resourceType":"Patient","gender":"female"}"#)
            let id = try #require(created["id"]?.stringValue)
            func transaction(_ patch: String) -> String {
                let data = Data(patch.utf8).base64EncodedString()
                return #"""
                {"resourceType":"Bundle","type":"transaction","entry":[
                  {"resource":{"resourceType":"Observation","status":"final","code":{"text":"Vikt"},"subject":{"reference":"Patient/\#(id)"}},"request":{"method":"POST","url":"Observation"}},
                  {"resource":{"resourceType":"Binary","contentType":"application/json-patch+json","data":"\#(data)"},"request":{"method":"PATCH","url":"Patient/\#(id)"}}]}
                """#
            }
            let refused = try await api.send(.post, "/fhir", transaction(#"[{"op":"replace","path":"/gender","value":"mannen"}]"#))
            #expect(refused.status == 400, "\(refused.text)")
            #expect(try await api.store.count(type: "Observation") == 0)
            let applied = try await api.send(.post, "/fhir", transaction(#"[{"op":"add","path":"/birthDate","value":"1960-05-06"}]"#))
            #expect(applied.status == 200, "\(applied.text)")
            #expect(try await api.send(.get, "/fhir/Patient/\(id)").json?["birthDate"]?.stringValue == "1960-05-06")
            #expect(try await api.store.count(type: "Observation") == 1)
        }
    }
}
