import Access
import FHIRCore
import KarnaTesting
import Store
import StoreModel
import Testing

@Suite("A medarbetaruppdrag is granted by a systemförvaltare only, whichever interface writes it")
struct AssignmentRuleTests {
    static func role(_ ward: Ward, _ id: String) async throws -> StoredResource {
        try #require(try await ward.store.read(type: "PractitionerRole", id: id))
    }

    static func position(_ object: JSONObject, _ code: String) -> JSONObject {
        var changed = object
        changed["code"] = .array([FHIR.concept(Position.system, code)])
        return changed
    }

    @Test("a doctor who writes every type cannot make themself systemförvaltare, create or remove an assignment, or touch a colleague's; their own absence they keep; the secretary keeps the unit's lists but grants nothing; the systemförvaltare grants",
          arguments: backends)
    func grants(_ backend: StoreBackend) async throws {
        let ward = try await Ward.make(backend)
        let doc = try await ward.session("doc"), secretary = try await ward.session("secretary"), admin = try await ward.session("admin")
        let own = try await Self.role(ward, "doc-role")
        #expect(await fails(.forbidden, containing: "changing code") {
            _ = try await doc.commit(.update(Self.position(own.object, "systemforvaltare"), type: "PractitionerRole", id: "doc-role", ifMatch: nil))
        })
        var moved = own.object
        moved["organization"] = FHIR.reference("Organization", "ward")
        #expect(await fails(.forbidden, containing: "organization") { _ = try await doc.commit(.update(moved, type: "PractitionerRole", id: "doc-role", ifMatch: nil)) })
        var created = own.object
        created["id"] = .string("doc-admin-role")
        #expect(await fails(.forbidden, containing: "creating an assignment") {
            _ = try await doc.commit(.create(Self.position(created, "systemforvaltare"), type: "PractitionerRole", id: "doc-admin-role"))
        })
        #expect(await fails(.forbidden, containing: "removing an assignment") { _ = try await doc.commit(.delete(type: "PractitionerRole", id: "doc2-role", ifMatch: nil)) })
        #expect(try await ward.gateway.directory.assignment(id: "doc-role")?.permissions.administer == false, "nothing refused was written")

        var away = own.object
        away["notAvailable"] = .array([FHIR.object([("description", .string("Semester")), ("during", FHIR.object([("start", .string("2026-12-20")), ("end", .string("2026-12-31"))]))])])
        _ = try await doc.commit(.update(away, type: "PractitionerRole", id: "doc-role", ifMatch: nil))
        var colleague = try await Self.role(ward, "doc2-role").object
        colleague["notAvailable"] = away["notAvailable"]
        #expect(await fails(.forbidden, containing: "another person's assignment") { _ = try await doc.commit(.update(colleague, type: "PractitionerRole", id: "doc2-role", ifMatch: nil)) })
        _ = try await secretary.commit(.update(colleague, type: "PractitionerRole", id: "doc2-role", ifMatch: nil))
        #expect(await fails(.forbidden, containing: "changing code") {
            _ = try await secretary.commit(.update(Self.position(colleague, "systemforvaltare"), type: "PractitionerRole", id: "doc2-role", ifMatch: nil))
        })
        let granted = try await Self.role(ward, "doc2-role").object
        _ = try await admin.commit(.update(Self.position(granted, "sjukskoterska"), type: "PractitionerRole", id: "doc2-role", ifMatch: nil))
        #expect(try await ward.gateway.directory.assignment(id: "doc2-role")?.position.code == "sjukskoterska")
    }
}
