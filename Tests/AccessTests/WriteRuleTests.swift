import PatientAdministration
import Access
import FHIRCore
import Foundation
import KarnaTesting
import Store
import StoreModel
import Testing

/// Issue 31, items 1–3: a write needs the read ground and more.
@Suite("Writes under Patientdatalagen, through the gateway")
struct WriteRuleTests {
    /// The stored Patient with `change` applied, as an update.
    func changed(_ region: Region, _ id: String, _ change: (inout JSONObject) -> Void) async throws -> WriteOperation {
        var patient = try #require(try await region.store.read(type: "Patient", id: id)).object
        change(&patient)
        return .update(patient, type: "Patient", id: id)
    }

    func flags(_ region: Region, patient: String, actor: String) async throws -> [String] {
        try await region.audit(patient: patient).filter { $0.entry.actor == actor && $0.entry.outcome == "allowed" }.flatMap(\.entry.flags)
    }

    @Test("a doctor of another care provider cannot delete, mark deceased or unprotect a region patient; nothing is written", arguments: backends)
    func anotherProviderCannotChangeWhoAPatientIs(_ backend: StoreBackend) async throws {
        let region = try await Region.make(backend)
        let docB = try await region.practitioner("docB")
        let before = try #require(try await region.store.read(type: "Patient", id: "p1"))
        #expect(await isForbidden { _ = try await docB.commit(.delete(type: "Patient", id: "p1")) })
        #expect(await isForbidden { _ = try await docB.commit(try await changed(region, "p1") { $0["deceasedBoolean"] = .bool(true) }) })
        #expect(await isForbidden { _ = try await docB.commit(try await changed(region, "p2") { $0["meta"] = nil }) })
        #expect(await isForbidden { _ = try await docB.commit(try await changed(region, "p1") { $0["gender"] = .string("other") }) })
        #expect(try await region.store.read(type: "Patient", id: "p1")?.versionId == before.versionId)
        #expect(try await region.store.read(type: "Patient", id: "p2")?.object["address"] != nil)
        #expect(try await region.audit(patient: "p1").contains { $0.entry.actor == "Practitioner/docB" && $0.entry.outcome == "denied" })
        try await region.store.close()
    }

    @Test("even the treating doctor never deletes a patient record; a system client may, flagged for review", arguments: backends)
    func patientDeletion(_ backend: StoreBackend) async throws {
        let region = try await Region.make(backend)
        let doc1 = try await region.practitioner("doc1")
        do {
            _ = try await doc1.commit(.delete(type: "Patient", id: "p1"))
            Issue.record("the treating doctor deleted a patient")
        } catch let error as FHIRError {
            #expect(error.category == .forbidden)
            #expect(error.description.contains("merge"))
        }
        #expect(try await region.store.read(type: "Patient", id: "p1")?.isDeleted == false)
        let system = region.gateway.session(.job("tests"), action: "delete")
        _ = try await system.commit(.delete(type: "Patient", id: "p1"))
        #expect(try await region.audit(patient: "p1").contains { $0.entry.flags.contains(ReviewFlag.patientDeleted.rawValue) })
        try await region.store.close()
    }

    @Test("identity, protected identity and deceased status change only for positions with the patientIdentity permission, flagged", arguments: backends)
    func identityChangesForNamedRoles(_ backend: StoreBackend) async throws {
        let region = try await Region.make(backend)
        // A nurse at u1, with a care relationship (the encounter at u1), but without the permission.
        let positions = Dictionary(Position.defaults.map { ($0.code, $0) }, uniquingKeysWith: { a, _ in a })
        let nurse = Assignment.resource(id: "nurse-role", practitionerID: "nurse", unitID: "u1", purpose: .care, position: positions["sjukskoterska"]!)
        _ = try await region.store.commit([.update(JSONObject([("resourceType", .string("Practitioner")), ("id", .string("nurse"))]), type: "Practitioner", id: "nurse"),
                                           .update(nurse, type: "PractitionerRole", id: "nurse-role")])
        await region.gateway.directory.invalidate()
        let nurseSession = try await region.practitioner("nurse")
        #expect(await isForbidden { _ = try await nurseSession.commit(try await changed(region, "p1") { $0["deceasedDateTime"] = .string("2026-01-01") }) })
        // Demographics that do not say who the patient is are the nurse's to keep current.
        _ = try await nurseSession.commit(try await changed(region, "p1") {
            $0["telecom"] = .array([.object(JSONObject([("system", .string("phone")), ("value", .string("070-7654321"))]))])
        })
        #expect(try await flags(region, patient: "p1", actor: "Practitioner/nurse").contains(ReviewFlag.identityChange.rawValue) == false)

        let doc1 = try await region.practitioner("doc1")
        _ = try await doc1.commit(try await changed(region, "p1") { $0["deceasedDateTime"] = .string("2026-01-01") })
        #expect(try await flags(region, patient: "p1", actor: "Practitioner/doc1").contains(ReviewFlag.identityChange.rawValue))
        // The patient cannot unmark their own protected identity.
        let p2 = region.gateway.session(Principal(kind: .patient, id: "p2", displayName: "p2", assignment: nil, scopes: ScopeSet("patient/*.cruds"),
                                                  clientID: "tests"), action: "update")
        #expect(await isForbidden { _ = try await p2.commit(try await changed(region, "p2") { $0["meta"] = nil }) })
        try await region.store.close()
    }

    @Test("writing back a protected identity's Patient as read (address hidden) keeps the address and contact details", arguments: backends)
    func hiddenDetailsSurviveAnUpdate(_ backend: StoreBackend) async throws {
        let region = try await Region.make(backend)
        let doc1 = try await region.practitioner("doc1")
        var seen = try #require(try await doc1.read(type: "Patient", id: "p2")).object
        #expect(seen["address"] == nil && seen["telecom"] == nil, "the doctor may not see them")
        seen["name"] = .array([.object(JSONObject([("family", .string("Hemlig-Ny")), ("given", .array([.string("Test")]))]))])
        _ = try await doc1.commit(.update(seen, type: "Patient", id: "p2"))
        let stored = try #require(try await region.store.read(type: "Patient", id: "p2")).object
        #expect(stored["name"]?.arrayValue?.first?.objectValue?["family"]?.stringValue == "Hemlig-Ny")
        #expect(stored["address"]?.arrayValue?.first?.objectValue?["line"]?.arrayValue?.first?.stringValue == "Okänd väg 9")
        #expect(stored["telecom"] != nil)
        try await region.store.close()
    }

    @Test("a clinician changes another unit's entries only as their author; the unit itself may", arguments: backends)
    func anotherUnitsEntries(_ backend: StoreBackend) async throws {
        let region = try await Region.make(backend)
        let doc2 = try await region.practitioner("doc2")
        _ = try await doc2.registerCareRelationship(patientID: "p1", reason: "Konsultation", days: 1)
        let doc2Again = try await region.practitioner("doc2")
        // doc2 may read obs-u1 now, but not overwrite it.
        var overwritten = try #require(try await doc2Again.read(type: "Observation", id: "obs-u1")).object
        overwritten["valueQuantity"] = .object(JSONObject([("value", .number("300")), ("unit", .string("/min"))]))
        do {
            _ = try await doc2Again.commit(.update(overwritten, type: "Observation", id: "obs-u1"))
            Issue.record("another unit's Observation was overwritten")
        } catch let error as FHIRError {
            #expect(error.category == .forbidden)
            #expect(error.description.contains("Vårdcentralen Ett"))
        }
        #expect(await isForbidden { _ = try await doc2Again.commit(.delete(type: "Observation", id: "obs-u1")) })
        #expect(try await region.store.read(type: "Observation", id: "obs-u1")?.versionId == 1)
        // Its own unit's doctor may; and doc2 may change what doc2 recorded, wherever it was made.
        _ = try await region.practitioner("doc1").commit(.update(overwritten, type: "Observation", id: "obs-u1"))
        var authored = try #require(try await region.store.read(type: "Observation", id: "obs-u1")).object
        authored["performer"] = .array([Region.ref("Practitioner/doc2")])
        _ = try await region.store.commit(.update(authored, type: "Observation", id: "obs-u1"))
        authored["status"] = .string("amended")
        _ = try await doc2Again.commit(.update(authored, type: "Observation", id: "obs-u1"))
        try await region.store.close()
    }

    @Test("a spärr needs the patient's request and a care relationship at the registering unit, and only for the unit's own provider", arguments: backends)
    func blockOnThePatientsRequest(_ backend: StoreBackend) async throws {
        let region = try await Region.make(backend)
        // doc2 has no care relationship with p1.
        let doc2 = try await region.practitioner("doc2")
        #expect(await isForbidden { _ = try await doc2.block(patientID: "p1", unitID: nil, providerID: "provA", reason: "Patienten vill", patientRequest: "i person") })
        let doc1 = try await region.practitioner("doc1")
        await #expect(throws: FHIRError.self) { _ = try await doc1.block(patientID: "p1", unitID: "u2", providerID: nil, reason: "Patienten vill", patientRequest: nil) }
        // Another provider's information is that provider's to block.
        #expect(await isForbidden { _ = try await doc1.block(patientID: "p1", unitID: "b1", providerID: nil, reason: "Patienten vill", patientRequest: "i person") })
        #expect(try await region.store.controlRecords(kind: ControlKind.directive, patientID: "p1").isEmpty)
        let directive = try await doc1.block(patientID: "p1", unitID: "u2", providerID: nil, reason: "Patienten vill", patientRequest: "muntligen vid besöket")
        #expect(directive.patientRequest == "muntligen vid besöket")
        // Lifting stays the patient's.
        #expect(await isForbidden { try await doc1.unblock(patientID: "p1", directiveID: directive.id) })
        try await region.patientSession("p1").unblock(patientID: "p1", directiveID: directive.id)
        try await region.store.close()
    }
}

/// Issue 31, item 4: every criterion is evaluated over what the user may read.
@Suite("Chains, _has and counts see only what the user may read")
struct ReadableCriteriaTests {
    func patients(_ session: PatientDataSession, _ parameters: [(String, String)]) async throws -> [String] {
        try await session.search(try SearchQuery.parse(type: "Patient", parameters: parameters, strict: true), limit: 50).resources.map(\.id)
    }

    @Test("_has cannot tell a doctor without a care relationship, or past a spärr, whether a record exists or what it holds", arguments: backends)
    func hasOverReadableRecords(_ backend: StoreBackend) async throws {
        let region = try await Region.make(backend)
        let probe = [("_id", "p1"), ("_has:Observation:subject:code", "http://loinc.org|8867-4")]
        let value = [("_id", "p1"), ("_has:Observation:subject:value-quantity", "gt71")]
        // doc2 (u2) may find p1 in the directory but read none of the observations: nothing is revealed.
        let doc2 = try await region.practitioner("doc2")
        #expect(try await patients(doc2, [("_id", "p1")]) == ["p1"])
        #expect(try await patients(doc2, probe).isEmpty)
        #expect(try await patients(doc2, value).isEmpty)
        #expect(try await doc2.count(try SearchQuery.parse(type: "Patient", parameters: probe, strict: true)) == 0)
        // A chain through the same records answers the same.
        let chained = try SearchQuery.parse(type: "Patient", parameters: [("_id", "p1"), ("_has:Observation:subject:subject:Patient.name", "Svensson")], strict: true)
        #expect(try await doc2.search(chained, limit: 10).resources.isEmpty)
        // doc1 (u1, care relationship) reads obs-u1 and obs-u2 (same provider): the criterion holds for them.
        let doc1 = try await region.practitioner("doc1")
        #expect(try await patients(doc1, probe) == ["p1"])
        #expect(try await patients(doc1, value) == ["p1"])
        // The patient blocks u1 and u2's information: doc1 then learns nothing from _has either.
        let p1 = region.patientSession("p1")
        for unit in ["u1", "u2"] { _ = try await p1.block(patientID: "p1", unitID: unit, providerID: nil, reason: "Min begäran") }
        #expect(try await patients(try await region.practitioner("doc1"), probe).isEmpty)
        try await region.store.close()
    }

    @Test("_has asked about one patient looks only at that patient's records; one that would sort through too many is refused", arguments: backends)
    func hasIsNarrowedAndBounded(_ backend: StoreBackend) async throws {
        let region = try await Region.make(backend)
        var others: [WriteOperation] = [.update(Region.patient("p3", family: "Många", line: "Väg 3", protected: false), type: "Patient", id: "p3")]
        for n in 0..<150 { others.append(.update(Region.observation("many-\(n)", patient: "p3", unit: "u1"), type: "Observation", id: "many-\(n)")) }
        _ = try await region.store.commit(others)
        var settings = AccessSettings(defaultProviderID: "provA")
        settings.maximumChainMatches = 10
        let gateway = AccessGateway(store: region.store, settings: settings, modules: [PatientAdministration()])
        let assignment = try #require(try await gateway.directory.assignment(id: "doc1-role"))
        let doc1 = gateway.session(Principal(kind: .practitioner, id: "doc1", displayName: "doc1", assignment: assignment, scopes: ScopeSet("user/*.cruds"),
                                             clientID: "tests"), action: "search")
        // 150 matching observations of another patient: asked about p1, only p1's are looked at.
        #expect(try await patients(doc1, [("_id", "p1"), ("_has:Observation:subject:code", "http://loinc.org|8867-4")]) == ["p1"])
        do {
            _ = try await patients(doc1, [("_has:Observation:subject:code", "http://loinc.org|8867-4")])
            Issue.record("a _has over 150 records ran with a limit of 10 readable and 100 examined")
        } catch let error as FHIRError {
            #expect(error.category == .invalid && error.description.contains("KARNA_MAX_CHAIN_MATCHES"))
        }
        try await region.store.close()
    }

    @Test("chains and _has nested past the limit are refused with 400, for every principal", arguments: backends)
    func nestingIsBounded(_ backend: StoreBackend) async throws {
        let region = try await Region.make(backend)
        let nested = try SearchQuery.parse(type: "Patient", parameters: [
            ("_has:Observation:subject:_has:Observation:has-member:_has:Observation:has-member:code", "http://loinc.org|8867-4"),
        ], strict: true)
        for session in [try await region.practitioner("doc1"), region.gateway.session(.job("tests"), action: "search")] {
            do {
                _ = try await session.search(nested, limit: 10)
                Issue.record("a search nested three deep ran")
            } catch let error as FHIRError {
                #expect(error.category == .invalid)
                #expect(error.description.contains("KARNA_MAX_CHAIN_DEPTH"))
            }
        }
        try await region.store.close()
    }
}

@Suite("Positions stored before the patientIdentity permission")
struct StoredPositionTests {
    @Test("a stored position without patientIdentity takes the default for its code; one that says false keeps false")
    func olderPositionsKeepTheirRights() throws {
        let old = #"{"code":"lakare","display":"Läkare","permissions":{"read":["*"],"write":["*"],"sign":true,"prescribe":true,"protectedIdentity":false,"auditReview":false,"administer":false}}"#
        #expect(try JSONDecoder().decode(Position.self, from: Data(old.utf8)).permissions.patientIdentity)
        let nurse = old.replacingOccurrences(of: "lakare", with: "sjukskoterska")
        #expect(try !JSONDecoder().decode(Position.self, from: Data(nurse.utf8)).permissions.patientIdentity)
        let refused = old.replacingOccurrences(of: #""administer":false"#, with: #""administer":false,"patientIdentity":false"#)
        #expect(try !JSONDecoder().decode(Position.self, from: Data(refused.utf8)).permissions.patientIdentity)
    }
}
