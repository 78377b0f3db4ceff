import FHIRCore
import Foundation
import Testing
@testable import Terminology

@Suite("Terminology: look-up, validation and expansion")
struct TerminologyServiceTests {
    let service = TerminologyService.shipped()

    @Test("the shipped subsets load, each marked with its source and as a fragment where it is one")
    func shippedSubsets() throws {
        let icd = try #require(service.codeSystem(KnownSystems.icd10SE))
        #expect(icd.content == "fragment")
        #expect(icd.source.contains("Socialstyrelsen"))
        #expect(icd.concepts["I10"]?.display == "Essentiell hypertoni")
        #expect(icd.concepts["J06.9"]?.parent == "J06")
        let atc = try #require(service.codeSystem(KnownSystems.atc))
        #expect(atc.concepts["C09AA05"]?.parent == "C09AA")
        #expect(atc.isA("C09AA05", "C"))
        #expect(service.codeSystem(KnownSystems.kva)?.concepts["XS100"] != nil)
        #expect(service.codeSystem(KnownSystems.npu)?.concepts["NPU27300"] != nil)
    }

    @Test("the value sets of R4's required bindings are served: $expand and $validate-code answer for them")
    func requiredValueSetsAreServed() throws {
        let gender = try service.expand(url: "http://hl7.org/fhir/ValueSet/administrative-gender")
        #expect(gender.entries.map(\.code) == ["male", "female", "other", "unknown"])
        let status = "http://hl7.org/fhir/ValueSet/observation-status"
        #expect(try service.validate(system: "http://hl7.org/fhir/observation-status", code: "final", valueSet: status).result)
        #expect(try !service.validate(system: "http://hl7.org/fhir/observation-status", code: "not-a-status", valueSet: status).result)
        // Listed codes of a system the release does not carry (UCUM units of time).
        #expect(try service.isMember(valueSet: "http://hl7.org/fhir/ValueSet/units-of-time", system: "http://unitsofmeasure.org", code: "wk"))
        #expect(try service.lookup(system: "http://terminology.hl7.org/CodeSystem/condition-clinical", code: "remission").concept.parent == "inactive")
    }

    @Test("$lookup answers the concept with parent and children, and names what is unknown")
    func lookup() throws {
        let found = try service.lookup(system: KnownSystems.icd10SE, code: "E11")
        #expect(found.concept.display == "Diabetes mellitus typ 2")
        #expect(found.children.map(\.code) == ["E11.9"])
        let child = try service.lookup(system: KnownSystems.icd10SE, code: "E11.9")
        #expect(child.parentDisplay == "Diabetes mellitus typ 2")
        #expect(throws: FHIRError.self) { try service.lookup(system: KnownSystems.icd10SE, code: "X99.9") }
        do {
            _ = try service.lookup(system: "http://example.org/none", code: "a")
            Issue.record("an unknown system must be refused")
        } catch {
            #expect(error.category == .notFound)
            #expect(error.issues[0].diagnostics.contains("http://example.org/none"))
            #expect(error.issues[0].expression == ["system"])
        }
    }

    @Test("$validate-code: known, unknown, wrong display, outside the value set")
    func validateCode() throws {
        #expect(try service.validate(system: KnownSystems.icd10SE, code: "I10").result)
        let unknown = try service.validate(system: KnownSystems.icd10SE, code: "I10.77")
        #expect(!unknown.result)
        #expect(unknown.message?.contains("'I10.77' is not a code of ICD-10-SE") == true)
        let display = try service.validate(system: KnownSystems.icd10SE, code: "I10", display: "Högt blodtryck")
        #expect(display.result)
        #expect(display.message?.contains("Essentiell hypertoni") == true)
        #expect(try service.validate(system: KnownSystems.icd10SE, code: "I10", display: "essentiell HYPERTONI").message == nil)
        let outside = try service.validate(system: KnownSystems.atc, code: "C09AA05", valueSet: KarnaValueSets.diagnoses)
        #expect(!outside.result)
        #expect(try service.validate(system: KarnaValueSets.attentionSystem, code: "mrsa", valueSet: KarnaValueSets.infections).result)
        #expect(try !service.validate(system: KarnaValueSets.attentionSystem, code: "ej-hlr", valueSet: KarnaValueSets.infections).result)
        #expect(try !service.validate(system: KarnaValueSets.attentionSystem, code: "smitta", valueSet: KarnaValueSets.infections).result,
                "descendent-of leaves out the group itself")
    }

    @Test("$expand with a filter is type-ahead: word prefixes, accents and case ignored, code matches first, paged")
    func expandFilter() throws {
        let diabetes = try service.expand(url: KarnaValueSets.diagnoses, filter: "diab")
        #expect(diabetes.entries.map(\.code) == ["E11", "E11.9"])
        let accents = try service.expand(url: KarnaValueSets.diagnoses, filter: "angest")
        #expect(accents.entries.map(\.code).contains("F41.9"))
        let twoWords = try service.expand(url: KarnaValueSets.diagnoses, filter: "akut ovre")
        #expect(twoWords.entries.map(\.code) == ["J06", "J06.9"], "akut… övre… matches both; akuta is a word starting with akut")
        let byCode = try service.expand(url: KarnaValueSets.diagnoses, filter: "j4")
        #expect(byCode.entries.map(\.code) == ["J44.9", "J45", "J45.9"])
        let all = try service.expand(url: KarnaValueSets.diagnoses, count: 1000)
        let page = try service.expand(url: KarnaValueSets.diagnoses, offset: 5, count: 3)
        #expect(page.total == all.total)
        #expect(page.entries == Array(all.entries[5..<8]))
        let allergens = try service.expand(url: KarnaValueSets.allergens, filter: "penicillin")
        #expect(allergens.entries.map(\.code) == ["penicillin", "J01C", "J01CE"], "the common name first, then the ATC groups")
        #expect(try service.expand(url: KarnaValueSets.allergens, filter: "jordn").entries.map(\.code) == ["jordnot"])
        #expect(throws: FHIRError.self) { try service.expand(url: KarnaValueSets.diagnoses, count: 5_000) }
        #expect(throws: FHIRError.self) { try service.expand(url: "https://example.org/ValueSet/none") }
    }

    @Test("a stored ValueSet with is-a and exclude is expanded and checked like the built-in ones")
    func storedValueSet() throws {
        let resource = try #require(JSONParser.parse("""
        {"resourceType":"ValueSet","url":"https://region.example/ValueSet/hjarta","name":"Hjarta","status":"active",
         "compose":{"include":[{"system":"http://www.whocc.no/atc","filter":[{"property":"concept","op":"is-a","value":"C"}]}],
                    "exclude":[{"system":"http://www.whocc.no/atc","concept":[{"code":"C08CA01"}]}]}}
        """).objectValue)
        try service.load(resource: resource)
        let codes = try service.expand(url: "https://region.example/ValueSet/hjarta", count: 100).entries.map(\.code)
        #expect(codes.contains("C09AA05"))
        #expect(codes.contains("C"))
        #expect(!codes.contains("C08CA01"))
        #expect(!codes.contains("A10BA02"))
        #expect(try service.isMember(valueSet: "https://region.example/ValueSet/hjarta", system: KnownSystems.atc, code: "C07AB02"))
        #expect(try !service.isMember(valueSet: "https://region.example/ValueSet/hjarta", system: KnownSystems.atc, code: "C08CA01"))
        let regex = try #require(JSONParser.parse("""
        {"resourceType":"ValueSet","url":"https://region.example/ValueSet/x","status":"active",
         "compose":{"include":[{"system":"http://www.whocc.no/atc","filter":[{"property":"concept","op":"regex","value":"C.*"}]}]}}
        """).objectValue)
        #expect(throws: FHIRError.self) { try service.load(resource: regex) }
    }

    @Test("a CodeSystem resource round-trips: nested concepts become parents, the flat form reads back the same")
    func codeSystemResource() throws {
        let resource = try #require(JSONParser.parse("""
        {"resourceType":"CodeSystem","url":"https://region.example/cs","name":"X","status":"active","content":"complete",
         "concept":[{"code":"a","display":"A","concept":[{"code":"a1","display":"A ett"}]},{"code":"b","display":"B",
         "property":[{"code":"inactive","valueBoolean":true}]}]}
        """).objectValue)
        let content = try CodeSystemContent(resource: resource)
        #expect(content.concepts["a1"]?.parent == "a")
        #expect(content.concepts["b"]?.inactive == true)
        let again = try CodeSystemContent(resource: content.resource(id: "x"))
        #expect(again.order == content.order)
        #expect(again.concepts == content.concepts)
        service.register(again)
        #expect(service.problem(system: "https://region.example/cs", code: "b")?.contains("inactive") == true)
        #expect(service.problem(system: "https://region.example/cs", code: "c")?.contains("'c' is not a code") == true)
        #expect(service.problem(system: "http://loinc.org", code: "anything") == nil, "codes of systems the server does not hold are not judged")
    }
}
