import FHIRAPI
import FHIRCore
import HTTPTypes
import KarnaServer
import KarnaTesting
import Store
import Testing

/// Issue 22, item 2: `$validate` at type and instance level, with mode and a profile the server holds.
@Suite("$validate")
struct ValidateOperationTests {
    static let profileURL = "https://region.example.se/fhir/StructureDefinition/vardnadspatient"
    static let profile = #"""
    {"resourceType":"StructureDefinition","url":"\#(profileURL)","name":"Vardnadspatient","status":"active","kind":"resource",
     "abstract":false,"type":"Patient","baseDefinition":"http://hl7.org/fhir/StructureDefinition/Patient","derivation":"constraint",
     "differential":{"element":[
       {"id":"Patient","path":"Patient"},
       {"id":"Patient.birthDate","path":"Patient.birthDate","min":1},
       {"id":"Patient.photo","path":"Patient.photo","max":"0"},
       {"id":"Patient.address.country","path":"Patient.address.country","fixedString":"SE"}]}}
    """#

    @Test("an invalid resource is answered 200 with its errors, a valid one with information; nothing is stored", arguments: backends)
    func validatesWithoutWriting(backend: StoreBackend) async throws {
        try await withAPI(backend) { api in
            let invalid = try await api.send(.post, "/fhir/Patient/$validate", #"{"resourceType":"Patient","gender":"mannen"}"#)
            #expect(invalid.status == 200, "\(invalid.text)")
            #expect(invalid.json?.resourceType == "OperationOutcome")
            #expect(invalid.issues.contains { $0.expression == ["Patient.gender"] && $0.diagnostics.contains("administrative-gender") })
            let valid = try await api.send(.post, "/fhir/Patient/$validate", #"{"resourceType":"Patient","gender":"female"}"#)
            #expect(valid.status == 200)
            #expect(valid.issues.map(\.diagnostics).first?.hasPrefix("no errors") == true, "\(valid.text)")
            #expect(try await api.store.count(type: nil) == 0)
        }
    }

    @Test("Parameters with mode: update checks the id against the URL, delete needs an existing instance, an unknown mode is a 400")
    func modes() async throws {
        try await withAPI(.sqlite) { api in
            let created = try await api.create(#"{"resourceType":"Patient","gender":"male"}"#)
            let id = try #require(created["id"]?.stringValue)
            let update = try await api.send(.post, "/fhir/Patient/\(id)/$validate", #"""
            {"resourceType":"Parameters","parameter":[{"name":"resource","resource":{"resourceType":"Patient","id":"other","gender":"male"}},
              {"name":"mode","valueCode":"update"}]}
            """#)
            #expect(update.status == 200)
            #expect(update.issues.contains { $0.expression == ["Patient.id"] && $0.diagnostics.contains("'\(id)'") }, "\(update.text)")
            let delete = try await api.send(.post, "/fhir/Patient/\(id)/$validate?mode=delete")
            #expect(delete.status == 200, "\(delete.text)")
            let missing = try await api.send(.post, "/fhir/Patient/nobody/$validate?mode=delete")
            #expect(missing.status == 404)
            let bogus = try await api.send(.post, "/fhir/Patient/$validate?mode=bogus", #"{"resourceType":"Patient"}"#)
            #expect(bogus.status == 400)
            #expect(bogus.issues.contains { $0.diagnostics.contains("mode 'bogus'") })
        }
    }

    @Test("a held profile's cardinality and fixed values are checked; an unknown profile is named, and refuses writes when configured")
    func profiles() async throws {
        let configured = try KarnaConfiguration(flags: ["unknown-profiles": "error"], environment: [:])
        #expect(configured.limits.unknownProfilesAreErrors)
        try await withAPI(.sqlite, limits: configured.limits) { api in
            _ = try await api.create(Self.profile)
            let patient = #"{"resourceType":"Patient","photo":[{"contentType":"image/png"}],"address":[{"country":"NO"}]}"#
            let checked = try await api.send(.post, "/fhir/Patient/$validate?profile=\(Self.profileURL)", patient)
            #expect(checked.status == 200)
            let messages = checked.issues.map { "\($0.expression): \($0.diagnostics)" }
            #expect(checked.issues.contains { $0.expression == ["Patient.birthDate"] && $0.diagnostics.contains("at least 1") }, "\(messages)")
            #expect(checked.issues.contains { $0.expression == ["Patient.photo"] && $0.diagnostics.contains("does not allow") }, "\(messages)")
            #expect(checked.issues.contains { $0.expression == ["Patient.address[0].country"] && $0.diagnostics.contains("fixes") }, "\(messages)")
            let conforming = try await api.send(.post, "/fhir/Patient/$validate?profile=\(Self.profileURL)",
                                                #"{"resourceType":"Patient","birthDate":"1980-02-03","address":[{"country":"SE"}]}"#)
            #expect(conforming.issues.first?.diagnostics.contains("conforms to \(Self.profileURL)") == true, "\(conforming.text)")

            let unknown = "https://example.org/fhir/StructureDefinition/okand"
            let claimed = #"{"resourceType":"Patient","meta":{"profile":["\#(unknown)"]}}"#
            let validation = try await api.send(.post, "/fhir/Patient/$validate", claimed)
            #expect(validation.issues.contains { $0.diagnostics.contains("\(unknown) is not held") })
            let write = try await api.send(.post, "/fhir/Patient", claimed)
            #expect(write.status == 422, "\(write.text)")
            #expect(write.issues.contains { $0.expression == ["Patient.meta.profile"] && $0.diagnostics.contains("KARNA_UNKNOWN_PROFILES") })
            // A warning (an extensible binding) is shown by $validate and does not refuse the write.
            let relative = #"{"resourceType":"FamilyMemberHistory","status":"completed","patient":{"reference":"Patient/p"},"relationship":{"text":"mor"},"sex":{"text":"kvinna"}}"#
            let warned = try await api.send(.post, "/fhir/FamilyMemberHistory/$validate", relative)
            #expect(warned.issues.contains { $0.expression == ["FamilyMemberHistory.sex"] && $0.diagnostics.contains("extensible") }, "\(warned.text)")
            let relativeWrite = try await api.send(.post, "/fhir/FamilyMemberHistory", relative)
            #expect(relativeWrite.status != 400, "\(relativeWrite.text)")
            let extended = try await api.send(.post, "/fhir/Patient/$validate",
                                              #"{"resourceType":"Patient","extension":[{"url":"https://example.org/fhir/StructureDefinition/okand-utokning","valueString":"x"}]}"#)
            #expect(extended.issues.contains { $0.diagnostics.contains("okand-utokning is not defined on this server") }, "\(extended.text)")
            // A claimed profile the server holds is accepted.
            _ = try await api.create(#"{"resourceType":"Patient","meta":{"profile":["\#(Self.profileURL)"]},"birthDate":"1990-01-01"}"#)
        }
    }

    @Test("$validate is in the CapabilityStatement for stored types")
    func advertised() async throws {
        try await withAPI(.sqlite) { api in
            let metadata = try #require(try await api.send(.get, "/fhir/metadata").json)
            let resources = metadata["rest"]?.arrayValue?.first?.objectValue?["resource"]?.arrayValue?.compactMap(\.objectValue) ?? []
            let observation = try #require(resources.first { $0["type"]?.stringValue == "Observation" })
            let names = (observation["operation"]?.arrayValue ?? []).compactMap { $0.objectValue?["name"]?.stringValue }
            #expect(names.contains("validate"))
        }
    }
}
