import FHIRCore
import Foundation
import KarnaTesting
import Store
import StoreModel
import Testing
import HTTPTypes

@Suite("Batch and transaction")
struct TransactionTests {
    /// FHIR R4 §3.1.0.11.2: urn:uuid fullUrls resolve in references; the response follows the request order.
    @Test(arguments: backends)
    func transactionResolvesUrnUuidReferences(backend: StoreBackend) async throws {
        try await withAPI(backend) { api in
            let response = try await api.send(.post, "/fhir", #"""
                {"resourceType":"Bundle","type":"transaction","entry":[
                  {"fullUrl":"urn:uuid:0b3d5f3a-0000-4000-8000-000000000002","resource":{"resourceType":"Observation","status":"final","code":{"text":"Hb"},
                    "subject":{"reference":"urn:uuid:0b3d5f3a-0000-4000-8000-000000000001"}},"request":{"method":"POST","url":"Observation"}},
                  {"fullUrl":"urn:uuid:0b3d5f3a-0000-4000-8000-000000000001","resource":{"resourceType":"Patient","name":[{"family":"Ek"}]},
                    "request":{"method":"POST","url":"Patient"}}]}
                """#)
            #expect(response.status == 200, "\(response.text)")
            let bundle = try #require(response.json)
            #expect(bundle["type"] == .string("transaction-response"))
            let entries = try #require(bundle["entry"]?.arrayValue?.compactMap { $0.objectValue })
            #expect(entries.count == 2)
            let observationLocation = try #require(entries[0]["response"]?.objectValue?["location"]?.stringValue)
            let patientLocation = try #require(entries[1]["response"]?.objectValue?["location"]?.stringValue)
            #expect(observationLocation.hasPrefix("Observation/") && patientLocation.hasPrefix("Patient/"))
            let patientID = patientLocation.split(separator: "/")[1]
            let observation = try #require(try await api.send(.get, "/fhir/" + observationLocation.split(separator: "/").prefix(2).joined(separator: "/")).json)
            #expect(observation["subject"]?.objectValue?["reference"] == .string("Patient/\(patientID)"))
        }
    }

    /// A transaction is all or nothing; the OperationOutcome names the failing entry.
    @Test(arguments: backends)
    func failingTransactionRollsBackAndNamesTheEntry(backend: StoreBackend) async throws {
        try await withAPI(backend) { api in
            _ = try await api.send(.put, "/fhir/Patient/p1", #"{"resourceType":"Patient","id":"p1"}"#)
            let response = try await api.send(.post, "/fhir", #"""
                {"resourceType":"Bundle","type":"transaction","entry":[
                  {"resource":{"resourceType":"Patient","name":[{"family":"Ny"}]},"request":{"method":"POST","url":"Patient"}},
                  {"resource":{"resourceType":"Patient","id":"p1","gender":"male"},"request":{"method":"PUT","url":"Patient/p1","ifMatch":"W/\"7\""}}]}
                """#)
            #expect(response.status == 412)
            #expect(response.issues.first?.expression == ["Bundle.entry[1]"])
            #expect(response.issues.first?.diagnostics.contains("nothing in the transaction was saved") == true)
            #expect(try await api.store.count(type: "Patient") == 1)
            #expect(try await api.store.read(type: "Patient", id: "p1")?.versionId == 1)
        }
    }

    /// Invalid resources in a transaction are all reported, each under its entry, and nothing is written.
    @Test func invalidEntriesAreAllReported() async throws {
        try await withAPI(.sqlite) { api in
            let response = try await api.send(.post, "/fhir", #"""
                {"resourceType":"Bundle","type":"transaction","entry":[
                  {"resource":{"resourceType":"Patient","gender":"male"},"request":{"method":"POST","url":"Patient"}},
                  {"resource":{"resourceType":"Patient","gendr":"male"},"request":{"method":"POST","url":"Patient"}},
                  {"resource":{"resourceType":"Observation","code":{"text":"x"}},"request":{"method":"POST","url":"Observation"}},
                  {"resource":{"resourceType":"Patient","subject":{"reference":"urn:uuid:0b3d5f3a-0000-4000-8000-00000000dead"}},"request":{"method":"POST","url":"Patient"}}]}
                """#)
            #expect(response.status == 400)
            let paths = response.issues.flatMap(\.expression)
            #expect(paths.contains("Bundle.entry[1].resource.gendr"))
            #expect(paths.contains("Bundle.entry[2].resource.status"))
            #expect(try await api.store.count(type: nil) == 0)
            let dangling = try await api.send(.post, "/fhir", #"""
                {"resourceType":"Bundle","type":"transaction","entry":[
                  {"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"urn:uuid:0b3d5f3a-0000-4000-8000-00000000dead"}},
                   "request":{"method":"POST","url":"Observation"}}]}
                """#)
            #expect(dangling.status == 400)
            #expect(dangling.issues.first?.diagnostics.contains("not the fullUrl of any entry") == true)
            #expect(try await api.store.count(type: nil) == 0)
        }
    }

    /// Entries run in the order §3.1.0.11.2 prescribes: DELETE, POST, PUT, GET, whatever their order in the Bundle.
    @Test(arguments: backends)
    func entriesAreProcessedInTheSpecifiedOrder(backend: StoreBackend) async throws {
        try await withAPI(backend) { api in
            _ = try await api.send(.put, "/fhir/Patient/old", #"{"resourceType":"Patient","id":"old"}"#)
            let response = try await api.send(.post, "/fhir", #"""
                {"resourceType":"Bundle","type":"transaction","entry":[
                  {"request":{"method":"GET","url":"Patient/p1"}},
                  {"resource":{"resourceType":"Patient","id":"p1","gender":"female"},"request":{"method":"PUT","url":"Patient/p1"}},
                  {"request":{"method":"DELETE","url":"Patient/old"}}]}
                """#)
            let entries = try #require(response.json?["entry"]?.arrayValue?.compactMap { $0.objectValue })
            #expect(entries[0]["resource"]?.objectValue?["gender"] == .string("female"))
            #expect(entries[1]["response"]?.objectValue?["status"] == .string("201 Created"))
            #expect(entries[2]["response"]?.objectValue?["status"] == .string("204 No Content"))
            #expect(try await api.send(.get, "/fhir/Patient/old").status == 410)
        }
    }

    /// Conditional references (`Type?identifier=…`) resolve to the one match, as Synthea bundles use them.
    @Test func conditionalReferencesResolve() async throws {
        try await withAPI(.sqlite) { api in
            _ = try await api.send(.put, "/fhir/Practitioner/dr", #"{"resourceType":"Practitioner","id":"dr","identifier":[{"system":"http://hl7.org/fhir/sid/us-npi","value":"999"}]}"#)
            let response = try await api.send(.post, "/fhir", #"""
                {"resourceType":"Bundle","type":"transaction","entry":[
                  {"resource":{"resourceType":"Encounter","status":"finished","class":{"code":"AMB"},
                    "participant":[{"individual":{"reference":"Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|999"}}]},
                   "request":{"method":"POST","url":"Encounter"}}]}
                """#)
            let location = try #require(response.json?["entry"]?.arrayValue?.first?.objectValue?["response"]?.objectValue?["location"]?.stringValue)
            let encounter = try #require(try await api.send(.get, "/fhir/" + location.split(separator: "/").prefix(2).joined(separator: "/")).json)
            #expect(JSONWriter.string(.object(encounter)).contains(#""reference":"Practitioner/dr""#))
            let missing = try await api.send(.post, "/fhir", #"""
                {"resourceType":"Bundle","type":"transaction","entry":[
                  {"resource":{"resourceType":"Encounter","status":"finished","class":{"code":"AMB"},
                    "participant":[{"individual":{"reference":"Practitioner?identifier=none|0"}}]},"request":{"method":"POST","url":"Encounter"}}]}
                """#)
            #expect(missing.status == 400)
        }
    }

    /// In a batch each entry stands alone: one failure does not stop the others.
    @Test func batchEntriesSucceedOrFailAlone() async throws {
        try await withAPI(.sqlite) { api in
            let response = try await api.send(.post, "/fhir", #"""
                {"resourceType":"Bundle","type":"batch","entry":[
                  {"resource":{"resourceType":"Patient","gender":"male"},"request":{"method":"POST","url":"Patient"}},
                  {"resource":{"resourceType":"Patient","gendr":"x"},"request":{"method":"POST","url":"Patient"}},
                  {"request":{"method":"GET","url":"Patient/none"}}]}
                """#)
            let statuses = response.json?["entry"]?.arrayValue?.compactMap { $0.objectValue?["response"]?.objectValue?["status"]?.stringValue }
            #expect(statuses == ["201 Created", "400 Bad Request", "404 Not Found"])
            #expect(try await api.store.count(type: "Patient") == 1)
        }
    }
}
