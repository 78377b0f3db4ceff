import PatientAdministration
import Access
import FHIRCore
import KarnaTesting
import Store
import StoreModel
import Testing

@Suite("The organisation tree")
struct OrganisationTreeTests {
    /// Two care providers: Region Ek with a clinic and a ward under it, and Privatvård AB.
    static func organisations(_ session: PatientDataSession) async throws {
        func organisation(_ id: String, partOf: String?) -> WriteOperation {
            var object = JSONObject([("resourceType", .string("Organization")), ("id", .string(id)), ("name", .string(id))])
            if let partOf { object["partOf"] = Fixtures.reference("Organization/\(partOf)") }
            return .update(object, type: "Organization", id: id, ifMatch: nil)
        }
        _ = try await session.commit([organisation("region", partOf: nil), organisation("klinik", partOf: "region"), organisation("avd", partOf: "klinik"),
                                      organisation("privat", partOf: nil), organisation("privat-vc", partOf: "privat")])
    }

    static func moved(_ id: String, under parent: String?, _ session: PatientDataSession) async throws -> WriteResult {
        var object = try #require(try await session.read(type: "Organization", id: id)).object
        object["partOf"] = parent.map { Fixtures.reference("Organization/\($0)") }
        return try await session.commit(.update(object, type: "Organization", id: id, ifMatch: nil))
    }

    @Test("a unit moves within its care provider, never under itself or to another provider, whichever interface writes it", arguments: backends)
    func placements(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let gateway = AccessGateway(store: store, settings: AccessSettings(defaultProviderID: "region"), modules: [PatientAdministration()])
        let job = gateway.session(.job("tests"), action: "administration")
        try await Self.organisations(job)
        let directory = gateway.directory

        #expect(try await directory.placementProblem(of: "avd", under: "region") == nil)
        #expect(try await directory.placementProblem(of: "avd", under: "avd") == .partOfItself)
        #expect(try await directory.placementProblem(of: "klinik", under: "avd") == .underItsOwnPart("avd"))
        #expect(try await directory.placementProblem(of: "region", under: "avd") == .underItsOwnPart("avd"))
        #expect(try await directory.placementProblem(of: "avd", under: "privat-vc") == .otherProvider(from: "region", to: "privat"))
        #expect(try await directory.placementProblem(of: "avd", under: nil) == .otherProvider(from: "region", to: "avd"))
        #expect(try await directory.placementProblem(of: "privat", under: "region") == .otherProvider(from: "privat", to: "region"))
        #expect(try await directory.placementProblem(of: "ny", under: "privat-vc") == nil, "a new unit goes anywhere")
        #expect(try await directory.placementProblem(of: "avd", under: "ny-klinik", pending: ["ny-klinik": "region"]) == nil,
                "a parent written in the same commit counts")

        for (id, parent, why) in [("avd", "avd", "itself"), ("klinik", "avd", "loop"), ("avd", "privat-vc", "another vårdgivare"),
                                  ("avd", nil, "another vårdgivare")] as [(String, String?, String)] {
            do {
                _ = try await Self.moved(id, under: parent, job)
                Issue.record("\(id) under \(parent ?? "nothing") was written")
            } catch let error as FHIRError {
                #expect(error.issues.first?.expression == ["Organization.partOf"] && error.issues.first?.diagnostics.contains(why) == true, "\(error)")
            }
        }
        #expect(try await store.read(type: "Organization", id: "avd")?.versionId == 1, "nothing refused was written")

        #expect(try await Self.moved("avd", under: "region", job).resource?.versionId == 2)
        #expect(try await directory.unit("avd")?.parentID == "region")
        #expect(try await directory.provider(of: "avd") == "region")
        try await store.close()
    }
}
