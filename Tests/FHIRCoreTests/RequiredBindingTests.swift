import FHIRCore
import Foundation
import Testing

/// Issue 22, item 1: every required binding of R4 is checked, with the path, the value set and the value named.
@Suite("Required bindings and the corrected invariants")
struct RequiredBindingTests {
    let validator = ResourceValidator()

    func problems(_ json: String) throws -> [FHIRIssue] {
        validator.validate(try JSONParser.parse(json))
    }

    @Test("a status, gender or use outside its required value set is refused, naming path, value set and value")
    func codesOutsideTheirValueSet() throws {
        let observation = try problems(#"{"resourceType":"Observation","status":"not-a-status","code":{"text":"x"}}"#)
        #expect(observation.map(\.expression) == [["Observation.status"]])
        #expect(observation.first?.code == .codeInvalid)
        #expect(observation.first?.diagnostics.contains("'not-a-status'") == true)
        #expect(observation.first?.diagnostics.contains("http://hl7.org/fhir/ValueSet/observation-status") == true)

        #expect(try problems(#"{"resourceType":"Patient","gender":"mannen"}"#).map(\.expression) == [["Patient.gender"]])
        #expect(try problems(#"{"resourceType":"Encounter","status":"bogus","class":{"code":"AMB"}}"#).map(\.expression) == [["Encounter.status"]])
        // A binding inside a data type: Identifier.use.
        #expect(try problems(#"{"resourceType":"Patient","identifier":[{"use":"primary","value":"1"}]}"#).map(\.expression)
                == [["Patient.identifier[0].use"]])
        // The valid codes pass.
        #expect(try problems(#"{"resourceType":"Observation","status":"final","code":{"text":"x"}}"#).isEmpty)
        #expect(try problems(#"{"resourceType":"Patient","gender":"female","identifier":[{"use":"official","value":"1"}]}"#).isEmpty)
    }

    @Test("a CodeableConcept with a required binding needs a coding from the value set")
    func codeableConceptBindings() throws {
        let system = "http://terminology.hl7.org/CodeSystem/condition-clinical"
        func condition(_ clinicalStatus: String) -> String {
            #"{"resourceType":"Condition","subject":{"reference":"Patient/p"},"clinicalStatus":\#(clinicalStatus)}"#
        }
        #expect(try problems(condition(#"{"coding":[{"system":"\#(system)","code":"active"}]}"#)).isEmpty)
        let wrongCode = try problems(condition(#"{"coding":[{"system":"\#(system)","code":"aktiv"}]}"#))
        #expect(wrongCode.map(\.expression) == [["Condition.clinicalStatus.coding[0].code"]])
        let otherSystem = try problems(condition(#"{"coding":[{"system":"http://snomed.info/sct","code":"55561003"}]}"#))
        #expect(otherSystem.map(\.expression) == [["Condition.clinicalStatus"]])
        #expect(otherSystem.first?.diagnostics.contains("no coding") == true)
    }

    @Test("systems checked by rule: media types, currencies, UCUM; listed codes of an external system")
    func ruleCheckedSystems() throws {
        func attachment(_ type: String) -> String {
            #"{"resourceType":"DocumentReference","status":"current","content":[{"attachment":{"contentType":"\#(type)"}}]}"#
        }
        #expect(try problems(attachment("text/plain; charset=utf-8")).isEmpty)
        #expect(try problems(attachment("plain text")).map(\.expression) == [["DocumentReference.content[0].attachment.contentType"]])

        func charge(_ currency: String) -> String {
            #"{"resourceType":"ChargeItem","status":"billable","code":{"text":"x"},"subject":{"reference":"Patient/p"},"priceOverride":{"value":10,"currency":"\#(currency)"}}"#
        }
        #expect(try problems(charge("SEK")).isEmpty)
        #expect(try problems(charge("kronor")).map(\.expression) == [["ChargeItem.priceOverride.currency"]])

        func timing(_ when: String) -> String {
            #"{"resourceType":"MedicationRequest","status":"active","intent":"order","medicationCodeableConcept":{"text":"x"},"subject":{"reference":"Patient/p"},"dosageInstruction":[{"timing":{"repeat":{"when":["\#(when)"]}}}]}"#
        }
        #expect(try problems(timing("ACM")).isEmpty, "a v3 TimingEvent code the value set lists")
        #expect(try problems(timing("MORN")).isEmpty, "a code of the event-timing system")
        #expect(try problems(timing("BREAKFAST")).map(\.expression) == [["MedicationRequest.dosageInstruction[0].timing.repeat.when[0]"]])
    }

    @Test("an extensible binding's code outside its value set is a warning, which does not refuse")
    func extensibleBindingsWarn() throws {
        let history = #"{"resourceType":"FamilyMemberHistory","status":"completed","patient":{"reference":"Patient/p"},"relationship":{"text":"mor"},"sex":\#("%@")}"#
        let outside = try problems(history.replacingOccurrences(of: "%@", with: #"{"coding":[{"system":"https://region.example.se/kon","code":"k"}]}"#))
        #expect(outside.map(\.severity) == [.warning])
        #expect(outside.first?.expression == ["FamilyMemberHistory.sex"])
        #expect(outside.first?.diagnostics.contains("extensible") == true)
        let inside = try problems(history.replacingOccurrences(of: "%@", with: #"{"coding":[{"system":"http://hl7.org/fhir/administrative-gender","code":"female"}]}"#))
        #expect(inside.isEmpty)
    }

    @Test("que-7: an `exists` enableWhen with a boolean answer is valid (R4 published it as `is Boolean`)")
    func questionnaireExistsIsValid() throws {
        let questionnaire = #"""
        {"resourceType":"Questionnaire","status":"active","item":[
          {"linkId":"1","type":"boolean","text":"Röker du?"},
          {"linkId":"2","type":"string","text":"Hur mycket?","enableWhen":[{"question":"1","operator":"exists","answerBoolean":true}]}]}
        """#
        #expect(try problems(questionnaire).isEmpty)
        let wrong = questionnaire.replacingOccurrences(of: #""answerBoolean":true"#, with: #""answerString":"ja""#)
        #expect(try problems(wrong).map { $0.diagnostics.hasPrefix("que-7") } == [true])
    }

    @Test("bdl-4 inside a nested Bundle looks at the nested Bundle: a searchset inside a batch-response is valid")
    func nestedBundleInvariants() throws {
        let response = #"""
        {"resourceType":"Bundle","type":"batch-response","entry":[{"resource":
          {"resourceType":"Bundle","type":"searchset","total":0},
          "response":{"status":"200 OK"}}]}
        """#
        #expect(try problems(response).isEmpty)
        // The nested Bundle's own rule still holds: a searchset entry may not carry a response.
        let broken = response.replacingOccurrences(of: #""total":0"#, with: #""total":1,"entry":[{"resource":{"resourceType":"Patient"},"response":{"status":"200"}}]"#)
        #expect(try problems(broken).contains { $0.diagnostics.hasPrefix("bdl-4") })
    }
}

/// Issue 22, item 1: the Bundle rules R4 states in prose.
@Suite("Bundle rules: fullUrl forms, references inside documents, searchset links")
struct BundleRuleTests {
    func expressions(_ json: String) throws -> [[String]] {
        ResourceValidator().validate(try JSONParser.parse(json)).map(\.expression)
    }

    @Test("a fullUrl is absolute, a urn:uuid holds a UUID, and a RESTful fullUrl names its resource")
    func fullUrlForms() throws {
        func collection(_ fullUrl: String) -> String {
            #"{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"\#(fullUrl)","resource":{"resourceType":"Patient","id":"p1"}}]}"#
        }
        #expect(try expressions(collection("https://fhir.example.se/fhir/Patient/p1")).isEmpty)
        #expect(try expressions(collection("urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0")).isEmpty)
        #expect(try expressions(collection("Patient/p1")) == [["Bundle.entry[0].fullUrl"]])
        #expect(try expressions(collection("urn:uuid:not-a-uuid")) == [["Bundle.entry[0].fullUrl"]])
        #expect(try expressions(collection("https://fhir.example.se/fhir/Patient/p2")) == [["Bundle.entry[0].fullUrl"]])
    }

    @Test("in a document every reference resolves to an entry")
    func documentReferencesResolve() throws {
        func document(subject: String) -> String {
            #"""
            {"resourceType":"Bundle","type":"document","identifier":{"system":"urn:ietf:rfc:3986","value":"urn:uuid:4f6a2c1e-8a43-4c1d-9f0e-1b2c3d4e5f60"},
             "timestamp":"2026-12-04T10:00:00+01:00","entry":[
              {"fullUrl":"urn:uuid:1a2b3c4d-0000-4000-8000-000000000001","resource":{"resourceType":"Composition","status":"final","type":{"text":"Epikris"},
                "subject":{"reference":"\#(subject)"},"date":"2026-12-04","author":[{"reference":"urn:uuid:1a2b3c4d-0000-4000-8000-000000000002"}],"title":"Epikris"}},
              {"fullUrl":"urn:uuid:1a2b3c4d-0000-4000-8000-000000000002","resource":{"resourceType":"Practitioner"}},
              {"fullUrl":"https://fhir.example.se/fhir/Patient/p1","resource":{"resourceType":"Patient","id":"p1"}}]}
            """#
        }
        #expect(try expressions(document(subject: "Patient/p1")).isEmpty)
        #expect(try expressions(document(subject: "urn:uuid:1a2b3c4d-0000-4000-8000-000000000009")) == [["Bundle.entry[0].resource"]])
        #expect(try expressions(document(subject: "Patient/p9")) == [["Bundle.entry[0].resource"]])
    }

    @Test("a searchset's links are absolute and paging relations")
    func searchsetLinks() throws {
        func searchset(_ relation: String, _ url: String) -> String {
            #"{"resourceType":"Bundle","type":"searchset","link":[{"relation":"\#(relation)","url":"\#(url)"}]}"#
        }
        #expect(try expressions(searchset("next", "https://fhir.example.se/fhir/Patient?_cursor=x")).isEmpty)
        #expect(try expressions(searchset("next", "Patient?_cursor=x")) == [["Bundle.link[0].url"]])
        #expect(try expressions(searchset("sideways", "https://fhir.example.se/fhir/Patient")) == [["Bundle.link[0].relation"]])
    }
}

/// Issue 22, item 1: the type-level checks the base specification states in prose.
@Suite("Type-level checks: absolute systems, attachment size")
struct TypeLevelCheckTests {
    func expressions(_ json: String) throws -> [[String]] {
        ResourceValidator().validate(try JSONParser.parse(json)).map(\.expression)
    }

    @Test("Coding, Identifier and Quantity systems are absolute URIs")
    func systemsAreAbsolute() throws {
        #expect(try expressions(#"{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"718-7"}]}}"#).isEmpty)
        #expect(try expressions(#"{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"LOINC","code":"718-7"}]}}"#)
                == [["Observation.code.coding[0].system"]])
        #expect(try expressions(#"{"resourceType":"Patient","identifier":[{"system":"personnummer","value":"1"}]}"#) == [["Patient.identifier[0].system"]])
        #expect(try expressions(#"{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":1,"system":"ucum","code":"g"}}"#)
                == [["Observation.valueQuantity.system"]])
    }

    @Test("an attachment's size is the number of bytes its data holds")
    func attachmentSize() throws {
        func document(size: Int) -> String {
            #"{"resourceType":"DocumentReference","status":"current","content":[{"attachment":{"contentType":"text/plain","data":"aGVqIQ==","size":\#(size)}}]}"#
        }
        #expect(try expressions(document(size: 4)).isEmpty, "'hej!' is four bytes")
        #expect(try expressions(document(size: 5)) == [["DocumentReference.content[0].attachment.size"]])
    }
}
