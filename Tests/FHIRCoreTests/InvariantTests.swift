import FHIRCore
import Testing

/// The StructureDefinitions' invariants are evaluated during validation, each violation named by key and expression.
@Suite struct InvariantTests {
    let validator = ResourceValidator()

    func issues(_ json: String) throws -> [FHIRIssue] {
        validator.validate(try JSONParser.parse(json))
    }

    @Test func aResourceOwnInvariantIsReportedWithKeyExpressionAndPlace() throws {
        // pat-1: a contact needs details or an organisation.
        let found = try issues(#"{"resourceType":"Patient","contact":[{"gender":"female"}]}"#)
        #expect(found.count == 1)
        #expect(found.first?.code == .invariant)
        #expect(found.first?.diagnostics.hasPrefix("pat-1:") == true)
        #expect(found.first?.diagnostics.contains("name.exists() or telecom.exists()") == true)
        #expect(found.first?.expression == ["Patient.contact[0]"])
        #expect(try issues(#"{"resourceType":"Patient","contact":[{"name":{"family":"Berg"}}]}"#).isEmpty)
    }

    @Test func domainResourceInvariantsApplyToContainedResources() throws {
        // dom-3: a contained resource must be referenced from the container.
        let orphan = try issues(#"{"resourceType":"Patient","contained":[{"resourceType":"Organization","id":"o1","name":"X"}]}"#)
        #expect(orphan.contains { $0.diagnostics.hasPrefix("dom-3:") })
        let referenced = try issues(##"{"resourceType":"Patient","contained":[{"resourceType":"Organization","id":"o1","name":"X"}],"managingOrganization":{"reference":"#o1"}}"##)
        #expect(referenced.isEmpty, "\(referenced)")
    }

    @Test func dataTypeInvariantsApplyWhereverTheTypeIsUsed() throws {
        // per-1 on Period: start ≤ end; qty-3 on Quantity: a code needs a system.
        let period = try issues(#"{"resourceType":"Encounter","status":"finished","class":{"code":"AMB"},"period":{"start":"2024-05-02","end":"2024-05-01"}}"#)
        #expect(period.map { String($0.diagnostics.prefix(6)) } == ["per-1:"])
        #expect(period.first?.expression == ["Encounter.period"])
        let quantity = try issues(#"{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":1,"code":"mg"}}"#)
        #expect(quantity.contains { $0.diagnostics.hasPrefix("qty-3:") })
    }

    @Test func elementsNeedAValueOrChildren() throws {
        // ele-1 through a primitive that carries only an id: no value, no extension.
        let found = try issues(#"{"resourceType":"Patient","_birthDate":{"id":"b1"}}"#)
        #expect(found.contains { $0.diagnostics.hasPrefix("ele-1:") && $0.expression == ["Patient.birthDate"] }, "\(found)")
        #expect(try issues(#"{"resourceType":"Patient","_birthDate":{"extension":[{"url":"http://example.org/x","valueBoolean":true}]}}"#).isEmpty)
    }
}
