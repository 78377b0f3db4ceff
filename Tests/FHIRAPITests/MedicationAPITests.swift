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

    @Test("Organization/$ward-mar lists the planned doses of the ward's inpatients; Patient/$mar one patient's, each with its state", arguments: backends)
    func wardMAR(_ backend: StoreBackend) async throws {
        try await withAPI(backend) { api in
            _ = try await api.send(.put, "/fhir/Organization/ward-mar", #"{"resourceType":"Organization","id":"ward-mar","name":"Avdelning 7"}"#)
            let patient = try await api.create(#"{"resourceType":"Patient","name":[{"family":"Inlagd"}]}"#)
            let id = try #require(patient["id"]?.stringValue)
            _ = try await api.create(#"""
                {"resourceType":"Encounter","status":"in-progress","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"IMP"},
                 "subject":{"reference":"Patient/\#(id)"},"serviceProvider":{"reference":"Organization/ward-mar"},"period":{"start":"2026-12-01T10:00:00+01:00"}}
                """#)
            _ = try await api.create(#"""
                {"resourceType":"MedicationRequest","status":"active","intent":"order","subject":{"reference":"Patient/\#(id)"},
                 "medicationCodeableConcept":{"coding":[{"system":"http://www.whocc.no/atc","code":"A10AB01"}],"text":"Actrapid"},
                 "dosageInstruction":[{"timing":{"repeat":{"when":["MORN","EVE"],"boundsPeriod":{"start":"2026-01-01"}}},"doseAndRate":[{"doseQuantity":{"value":8,"unit":"E"}}]}]}
                """#)
            let yesterday = SwedishTime.formatDay(SwedishTime.today - 1), today = SwedishTime.formatDay(SwedishTime.today)
            let answer = try await api.send(.get, "/fhir/Organization/ward-mar/$ward-mar?from=\(yesterday)T00:00:00%2B01:00&to=\(today)T00:00:00%2B01:00")
            #expect(answer.status == 200, "\(answer.text)")
            let doses = (answer.json?["parameter"]?.arrayValue ?? []).compactMap { $0.objectValue?["part"]?.arrayValue?.compactMap(\.objectValue) }
            func value(_ parts: [JSONObject], _ name: String) -> String? {
                let part = parts.first { $0["name"]?.stringValue == name }
                return part?["valueString"]?.stringValue ?? part?["valueReference"]?.objectValue?["reference"]?.stringValue ?? part?["valueBoolean"]?.boolValue.map(String.init)
            }
            #expect(doses.map { value($0, "stateText") } == ["Missad", "Missad"])
            #expect(doses.map { value($0, "dose") } == ["8 E", "8 E"])
            #expect(doses.allSatisfy { value($0, "patient") == "Patient/\(id)" && value($0, "highRisk") == "true" })
            let one = try await api.send(.get, "/fhir/Patient/\(id)/$mar?from=\(yesterday)T00:00:00%2B01:00&to=\(today)T00:00:00%2B01:00")
            #expect(one.status == 200)
            #expect((one.json?["parameter"]?.arrayValue ?? []).count == 2)
            let backwards = try await api.send(.get, "/fhir/Patient/\(id)/$mar?from=\(today)&to=\(yesterday)")
            #expect(backwards.status == 400)
            #expect(backwards.issues.first?.expression == ["to"])
        }
    }
}
