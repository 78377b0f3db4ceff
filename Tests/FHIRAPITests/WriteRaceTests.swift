import FHIRCore
import Foundation
import KarnaTesting
import Testing
import HTTPTypes

/// Issue 31, items 6 and 7: uniqueness and conditional writes hold when twenty clients write at once.
@Suite("Writes racing each other: twenty clients at once, on both backends")
struct WriteRaceTests {
    static let clients = 20

    static func atOnce(_ api: API, _ body: @escaping @Sendable (API, Int) async throws -> APIResponse) async throws -> [APIResponse] {
        try await withThrowingTaskGroup(of: APIResponse.self) { group in
            for i in 0..<clients { group.addTask { try await body(api, i) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
    }

    static func patient(_ personnummer: String, given: String) -> String {
        #"{"resourceType":"Patient","active":true,"identifier":[{"system":"urn:oid:1.2.752.129.2.1.3.1","value":"\#(personnummer)"}],"name":[{"family":"Samtidig","given":["\#(given)"]}]}"#
    }

    func activeCount(_ api: API, _ personnummer: String) async throws -> Int {
        let found = try await api.send(.get, "/fhir/Patient?identifier=\(personnummer)&active:not=false&_summary=count")
        return try #require(Int(found.json?["total"]?.numberText ?? "x"))
    }

    @Test("twenty parallel registrations of one personnummer make one active patient", arguments: backends)
    func parallelRegistrations(_ backend: StoreBackend) async throws {
        try await withAPI(backend) { api in
            let responses = try await Self.atOnce(api) { api, i in try await api.send(.post, "/fhir/Patient", Self.patient("191212121212", given: "Nr\(i)")) }
            #expect(responses.filter { $0.status == 201 }.count == 1, "\(responses.map(\.status))")
            #expect(responses.filter { $0.status == 409 }.count == Self.clients - 1)
            #expect(responses.first { $0.status == 409 }?.issues.first?.expression == ["Patient.identifier[0].value"])
            #expect(try await activeCount(api, "191212121212") == 1)
        }
    }

    /// A transaction of several writes goes to the store as one batch; the number's lock must hold there too.
    @Test("twenty parallel transactions, each registering one personnummer beside another write, make one active patient", arguments: backends)
    func parallelRegistrationsInTransactions(_ backend: StoreBackend) async throws {
        try await withAPI(backend) { api in
            let responses = try await Self.atOnce(api) { api, i in
                let patient = Self.patient("194910302399", given: "Nr\(i)")
                    .replacingOccurrences(of: #""resourceType":"Patient","#, with: #""resourceType":"Patient","id":"race-\#(i)","#)
                let organisation = #"{"resourceType":"Organization","id":"race-org-\#(i)","name":"Mottagning \#(i)"}"#
                return try await api.send(.post, "/fhir", #"{"resourceType":"Bundle","type":"transaction","entry":["#
                    + #"{"resource":\#(patient),"request":{"method":"PUT","url":"Patient/race-\#(i)"}},"#
                    + #"{"resource":\#(organisation),"request":{"method":"PUT","url":"Organization/race-org-\#(i)"}}]}"#)
            }
            #expect(responses.filter { $0.status == 200 }.count == 1, "\(responses.map(\.status))")
            #expect(responses.filter { $0.status == 409 }.count == Self.clients - 1, "\(responses.map(\.status))")
            #expect(try await activeCount(api, "194910302399") == 1)
        }
    }

    @Test("twenty parallel conditional updates with one criterion make one resource and update it", arguments: backends)
    func parallelConditionalUpdates(_ backend: StoreBackend) async throws {
        try await withAPI(backend) { api in
            let patients = try await Self.atOnce(api) { api, i in
                try await api.send(.put, "/fhir/Patient?identifier=urn:oid:1.2.752.129.2.1.3.1|195001182046", Self.patient("195001182046", given: "Nr\(i)"))
            }
            #expect(patients.filter { $0.status == 201 }.count == 1, "\(patients.map(\.status))")
            #expect(patients.allSatisfy { $0.status == 201 || $0.status == 200 }, "\(patients.map(\.text))")
            #expect(try await activeCount(api, "195001182046") == 1)
            // A type without a uniqueness rule holds too: the criteria serialise the creates.
            let observations = try await Self.atOnce(api) { api, i in
                try await api.send(.put, "/fhir/Observation?identifier=urn:lab|prov-7", #"{"resourceType":"Observation","status":"final","identifier":[{"system":"urn:lab","value":"prov-7"}],"code":{"text":"Hb"},"valueQuantity":{"value":\#(100 + i)}}"#)
            }
            #expect(observations.filter { $0.status == 201 }.count == 1, "\(observations.map(\.status))")
            let found = try await api.send(.get, "/fhir/Observation?identifier=urn:lab|prov-7&_summary=count")
            #expect(found.json?["total"]?.numberText == "1")
        }
    }

    @Test("If-None-Match: * on PUT creates once and answers 412 when the resource exists, leaving it as it was", arguments: backends)
    func ifNoneMatchStar(_ backend: StoreBackend) async throws {
        try await withAPI(backend) { api in
            let body = #"{"resourceType":"Organization","id":"org-inm","name":"Först"}"#
            let responses = try await Self.atOnce(api) { api, _ in try await api.send(.put, "/fhir/Organization/org-inm", body, headers: ["If-None-Match": "*"]) }
            #expect(responses.filter { $0.status == 201 }.count == 1, "\(responses.map(\.status))")
            #expect(responses.filter { $0.status == 412 }.count == Self.clients - 1)
            let overwrite = try await api.send(.put, "/fhir/Organization/org-inm", #"{"resourceType":"Organization","id":"org-inm","name":"Sedan"}"#,
                                               headers: ["If-None-Match": "*"])
            #expect(overwrite.status == 412)
            let read = try await api.send(.get, "/fhir/Organization/org-inm")
            #expect(read.json?["name"]?.stringValue == "Först")
            #expect(read["ETag"] == "W/\"1\"")
        }
    }
}
