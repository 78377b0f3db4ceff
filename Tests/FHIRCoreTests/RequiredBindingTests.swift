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
