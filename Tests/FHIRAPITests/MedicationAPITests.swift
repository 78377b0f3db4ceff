import FHIRCore
import HTTPTypes
import KarnaTesting
import Testing

@Suite("The medication module over the FHIR API: $medication-list")
struct MedicationAPITests {
    @Test("Patient/$medication-list answers Parameters with a row per substance and its sources, and is listed in the CapabilityStatement", arguments: backends)
    func medicationList(_ backend: StoreBackend) async throws {
        try await withAPI(backend) { api in
            let patient = try await api.create(#"{"resourceType":"Patient","name":[{"family":"Lista"}],"birthDate":"1940-01-01"}"#)
            let id = try #require(patient["id"]?.stringValue)
            _ = try await api.create(#"""
                {"resourceType":"MedicationStatement","status":"active","subject":{"reference":"Patient/\#(id)"},"informationSource":{"reference":"Patient/\#(id)"},
                 "medicationCodeableConcept":{"coding":[{"system":"http://www.whocc.no/atc","code":"N02BE01"}],"text":"Alvedon"}}
                """#)
            let answer = try await api.send(.get, "/fhir/Patient/\(id)/$medication-list")
            #expect(answer.status == 200, "\(answer.text)")
            let parameters = answer.json?["parameter"]?.arrayValue?.compactMap(\.objectValue) ?? []
            #expect(parameters.first { $0["name"]?.stringValue == "reviewIndicated" }?["valueBoolean"]?.boolValue == false)
            let row = parameters.first { $0["name"]?.stringValue == "row" }?["part"]?.arrayValue?.compactMap(\.objectValue) ?? []
            #expect(row.first { $0["name"]?.stringValue == "substance" }?["valueString"]?.stringValue == "N02BE01")
            let source = row.first { $0["name"]?.stringValue == "source" }?["part"]?.arrayValue?.compactMap(\.objectValue) ?? []
            #expect(source.first { $0["name"]?.stringValue == "label" }?["valueString"]?.stringValue == "Patientens uppgift")
            let metadata = try await api.send(.get, "/fhir/metadata")
            #expect(metadata.text.contains("OperationDefinition/Patient-medication-list"))
        }
    }
}
