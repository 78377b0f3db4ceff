import FHIRCore
import Foundation
import Store
import StoreModel
import KarnaTesting
import Testing
import HTTPTypes

@Suite("FHIR REST interactions")
struct RESTInteractionTests {
    /// FHIR R4 §3.1.0.7 create and §3.1.0.3 read: server id, Location, ETag, Last-Modified.
    @Test(arguments: backends)
    func createAssignsIdAndReadReturnsHeaders(backend: StoreBackend) async throws {
        try await withAPI(backend) { api in
            let created = try await api.send(.post, "/fhir/Patient", #"{"resourceType":"Patient","id":"ignored","name":[{"family":"Lind"}]}"#)
            #expect(created.status == 201)
            let id = try #require(created.json?.id)
            #expect(id != "ignored")
            #expect(created["Location"] == "\(base)/Patient/\(id)/_history/1")
            #expect(created["ETag"] == "W/\"1\"")
            #expect(created["Last-Modified"]?.hasSuffix("GMT") == true)
            #expect(created["Content-Type"]?.hasPrefix("application/fhir+json") == true)
            let read = try await api.send(.get, "/fhir/Patient/\(id)")
            #expect(read.status == 200)
            #expect(read.body == created.body)
            #expect(try await api.send(.get, "/fhir/Patient/\(id)/_history/1").status == 200)
            #expect(try await api.send(.get, "/fhir/Patient/\(id)/_history/2").status == 404)
            #expect(try await api.send(.get, "/fhir/Patient/nope").status == 404)
            #expect(try await api.send(.get, "/fhir/Patient/\(id)", headers: ["If-None-Match": "W/\"1\""]).status == 304)
        }
    }

    /// §3.1.0.6 update, create-by-PUT, §3.1.0.6.1 version-aware update with If-Match.
    @Test(arguments: backends)
    func updateCreatesThenVersionsAndRespectsIfMatch(backend: StoreBackend) async throws {
        try await withAPI(backend) { api in
            let first = try await api.send(.put, "/fhir/Patient/p1", #"{"resourceType":"Patient","id":"p1","gender":"female"}"#)
            #expect(first.status == 201)
            let second = try await api.send(.put, "/fhir/Patient/p1", #"{"resourceType":"Patient","id":"p1","gender":"male"}"#, headers: ["If-Match": "W/\"1\""])
            #expect(second.status == 200)
            #expect(second["ETag"] == "W/\"2\"")
            let stale = try await api.send(.put, "/fhir/Patient/p1", #"{"resourceType":"Patient","id":"p1","gender":"other"}"#, headers: ["If-Match": "W/\"1\""])
            #expect(stale.status == 412)
            #expect(stale.issues.first?.diagnostics.contains("current version is 2") == true)
            #expect(try await api.send(.get, "/fhir/Patient/p1").json?["gender"] == .string("male"))
            let unchanged = try await api.send(.put, "/fhir/Patient/p1", #"{"resourceType":"Patient","id":"p1","gender":"male"}"#)
            #expect(unchanged.status == 200)
            #expect(unchanged["ETag"] == "W/\"2\"")
        }
    }

    /// §3.1.0.7 delete: the current version is gone (410), the history stays readable.
    @Test(arguments: backends)
    func deleteMakesReadGoneButKeepsHistory(backend: StoreBackend) async throws {
        try await withAPI(backend) { api in
            _ = try await api.send(.put, "/fhir/Patient/p1", #"{"resourceType":"Patient","id":"p1","gender":"female"}"#)
            #expect(try await api.send(.delete, "/fhir/Patient/p1").status == 200)
            let gone = try await api.send(.get, "/fhir/Patient/p1")
            #expect(gone.status == 410)
            #expect(gone.json?.resourceType == "OperationOutcome")
            #expect(try await api.send(.get, "/fhir/Patient/p1/_history/1").json?["gender"] == .string("female"))
            let history = try #require(try await api.send(.get, "/fhir/Patient/p1/_history").json)
            let methods = history["entry"]?.arrayValue?.compactMap { $0.objectValue?["request"]?.objectValue?["method"]?.stringValue }
            #expect(methods == ["DELETE", "PUT"])
            let recreated = try await api.send(.put, "/fhir/Patient/p1", #"{"resourceType":"Patient","id":"p1","gender":"male"}"#)
            #expect(recreated["ETag"] == "W/\"3\"")
        }
    }

    /// §3.1.0.9 history with paging: next links walk every version exactly once.
    @Test(arguments: backends)
    func historyPagesWithNextLinks(backend: StoreBackend) async throws {
        try await withAPI(backend) { api in
            for i in 0..<5 { _ = try await api.create(#"{"resourceType":"Observation","status":"final","code":{"text":"v\#(i)"}}"#) }
            var url: String? = "/fhir/Observation/_history?_count=2"
            var seen: [String] = []
            var pages = 0
            while let next = url, pages < 10 {
                let page = try #require(try await api.send(.get, next).json)
                #expect(page["type"] == .string("history"))
                seen += page["entry"]?.arrayValue?.compactMap { $0.objectValue?["resource"]?.objectValue?["code"]?.objectValue?["text"]?.stringValue } ?? []
                url = page["link"]?.arrayValue?.compactMap(\.objectValue).first { $0["relation"] == .string("next") }?["url"]?.stringValue
                    .map { String($0.dropFirst(base.count - 5)) }
                pages += 1
            }
            #expect(seen == ["v4", "v3", "v2", "v1", "v0"])
            #expect(try await api.send(.get, "/fhir/_history?_count=1").json?["entry"]?.arrayValue?.count == 1)
            #expect(try await api.send(.get, "/fhir/Observation/_history?_since=2000-01-01T00:00:00Z").json?["entry"]?.arrayValue?.count == 5)
            #expect(try await api.send(.get, "/fhir/Observation/_history?_since=yesterday").status == 400)
        }
    }

    /// §3.1.0.8.1 conditional create with If-None-Exist; conditional update by identifier.
    @Test(arguments: backends)
    func conditionalCreateAndUpdateUseIdentifiers(backend: StoreBackend) async throws {
        try await withAPI(backend) { api in
            let body = #"{"resourceType":"Patient","identifier":[{"system":"urn:oid:1.2.752.129.2.1.3.1","value":"191212121212"}]}"#
            let header = ["If-None-Exist": "identifier=urn:oid:1.2.752.129.2.1.3.1|191212121212"]
            let first = try await api.send(.post, "/fhir/Patient", body, headers: header)
            let second = try await api.send(.post, "/fhir/Patient", body, headers: header)
            #expect(first.status == 201)
            #expect(second.status == 200)
            #expect(first.json?.id == second.json?.id)
            let updated = try await api.send(.put, "/fhir/Patient?identifier=urn:oid:1.2.752.129.2.1.3.1|191212121212",
                                             #"{"resourceType":"Patient","identifier":[{"system":"urn:oid:1.2.752.129.2.1.3.1","value":"191212121212"}],"gender":"male"}"#)
            #expect(updated.status == 200)
            #expect(updated.json?.id == first.json?.id)
            let found = try #require(try await api.send(.get, "/fhir/Patient?identifier=191212121212").json)
            #expect(found["total"] == .number("1"))
            #expect(try await api.send(.put, "/fhir/Patient?nosuchparameter=1", #"{"resourceType":"Patient"}"#).status == 400)
        }
    }

    /// Prefer: return=minimal | representation | OperationOutcome (FHIR R4 §3.1.0.5.2).
    @Test func preferDecidesTheBody() async throws {
        try await withAPI(.sqlite) { api in
            let body = #"{"resourceType":"Patient","gender":"female"}"#
            let minimal = try await api.send(.post, "/fhir/Patient", body, headers: ["Prefer": "return=minimal"])
            #expect(minimal.status == 201 && minimal.body.isEmpty && minimal["Location"] != nil)
            let outcome = try await api.send(.post, "/fhir/Patient", body, headers: ["Prefer": "return=OperationOutcome"])
            #expect(outcome.json?.resourceType == "OperationOutcome")
            #expect(try await api.send(.post, "/fhir/Patient", body).json?.resourceType == "Patient")
        }
    }

    /// _summary and _elements on read (FHIR R4 §3.1.1.5.8–9), tagged SUBSETTED.
    @Test func summaryAndElementsSubsetTheResource() async throws {
        try await withAPI(.sqlite) { api in
            _ = try await api.send(.put, "/fhir/Patient/p1", #"""
                {"resourceType":"Patient","id":"p1","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"},
                 "name":[{"family":"Lind"}],"gender":"female","contact":[{"name":{"text":"Anhörig"}}]}
                """#)
            let summary = try #require(try await api.send(.get, "/fhir/Patient/p1?_summary=true").json)
            #expect(summary["name"] != nil && summary["gender"] != nil)
            #expect(summary["contact"] == nil && summary["text"] == nil)
            #expect(JSONWriter.string(.object(summary)).contains("SUBSETTED"))
            let elements = try #require(try await api.send(.get, "/fhir/Patient/p1?_elements=gender").json)
            #expect(elements["gender"] != nil && elements["name"] == nil)
            #expect(try await api.send(.get, "/fhir/Patient/p1?_summary=data").json?["text"] == nil)
            #expect(try await api.send(.get, "/fhir/Patient/p1?_summary=bogus").status == 400)
        }
    }

    /// The CapabilityStatement states what is really supported.
    @Test func metadataDescribesTheServer() async throws {
        try await withAPI(.sqlite) { api in
            let statement = try #require(try await api.send(.get, "/fhir/metadata").json)
            #expect(statement.resourceType == "CapabilityStatement")
            #expect(statement["fhirVersion"] == .string("4.0.1"))
            let rest = statement["rest"]?.arrayValue?.first?.objectValue
            let types = rest?["resource"]?.arrayValue?.compactMap { $0.objectValue?["type"]?.stringValue } ?? []
            #expect(types.contains("Patient") && types.contains("Observation") && types.count == 146)
            let system = rest?["interaction"]?.arrayValue?.compactMap { $0.objectValue?["code"]?.stringValue }
            #expect(system == ["transaction", "batch", "history-system"])
        }
    }
}
