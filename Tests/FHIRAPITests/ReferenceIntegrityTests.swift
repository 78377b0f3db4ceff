import FHIRCore
import Foundation
import KarnaTesting
import Testing
import HTTPTypes

/// Issue 31, item 5: what is written refers to what exists, and only to a type its element allows.
@Suite("Referential integrity on write")
struct ReferenceIntegrityTests {
    static func encounter(_ subject: String) -> String {
        #"{"resourceType":"Encounter","status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},"subject":{"reference":"\#(subject)"}}"#
    }

    @Test("a reference to a missing or deleted resource is refused with 422 naming the element; nothing is written", arguments: backends)
    func missingTargets(_ backend: StoreBackend) async throws {
        try await withAPI(backend) { api in
            let missing = try await api.send(.post, "/fhir/Encounter", Self.encounter("Patient/finns-inte"))
            #expect(missing.status == 422, "\(missing.text)")
            #expect(missing.issues.first?.expression == ["Encounter.subject.reference"])
            #expect(missing.issues.first?.diagnostics.contains("Patient/finns-inte") == true)
            let wrongType = try await api.send(.post, "/fhir/Encounter", Self.encounter("Organization/x"))
            #expect(wrongType.status == 400, "\(wrongType.text)")
            _ = try await api.create(#"{"resourceType":"Patient","id":"ignored","name":[{"family":"Borta"}]}"#)
            let patients = try await api.send(.get, "/fhir/Patient?family=Borta")
            let id = try #require(patients.json?["entry"]?.arrayValue?.first?.objectValue?["resource"]?.objectValue?["id"]?.stringValue)
            #expect(try await api.send(.post, "/fhir/Encounter", Self.encounter("Patient/\(id)")).status == 201)
            _ = try await api.send(.delete, "/fhir/Patient/\(id)")
            #expect(try await api.send(.post, "/fhir/Encounter", Self.encounter("Patient/\(id)")).status == 422)
            let found = try await api.send(.get, "/fhir/Encounter?subject=Patient/finns-inte&_summary=count")
            #expect(found.json?["total"]?.numberText == "0")
        }
    }

    @Test("a transaction may refer to what it creates itself", arguments: backends)
    func withinOneTransaction(_ backend: StoreBackend) async throws {
        try await withAPI(backend) { api in
            let bundle = #"{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:0b0e5f3c-0000-4000-8000-000000000001","resource":{"resourceType":"Patient","name":[{"family":"Ny"}]},"request":{"method":"POST","url":"Patient"}},{"resource":\#(Self.encounter("urn:uuid:0b0e5f3c-0000-4000-8000-000000000001")),"request":{"method":"POST","url":"Encounter"}}]}"#
            let response = try await api.send(.post, "/fhir", bundle)
            #expect(response.status == 200, "\(response.text)")
        }
    }

    @Test("KARNA_REFERENCE_CHECK=off lets a bulk import refer outside itself", arguments: backends)
    func relaxedForBulkImport(_ backend: StoreBackend) async throws {
        try await withAPI(backend, flags: ["reference-check": "off"]) { api in
            let response = try await api.send(.post, "/fhir/Encounter", Self.encounter("Patient/laddas-senare"))
            #expect(response.status == 201, "\(response.text)")
        }
    }
}
