import Access
import Documentation
import FHIRCore
import Foundation
import KarnaServer
import KarnaTesting
import Logging
import PatientAdministration
import Store
import StoreModel
import SyntheticPopulation
import Testing

/// What `karna seed` leaves for a new user: the demo journal is written through the module and gateway.
@Suite("The seeded demo")
struct DemoDataTests {
    @Test("the demo journal has notes of every default type, diagnoses and attention signals", arguments: backends)
    func demoJournal(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("karna-demo-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let configuration = try KarnaConfiguration(flags: ["password-cost": "10", "demo-credentials": folder + "/credentials.json"], environment: [:])
        let services = try await KarnaApplication.services(configuration, store: store, logger: Logger(label: "test"))
        _ = try await DemoSetup.ensure(gateway: services.gateway, accounts: services.accounts, clients: services.tokens.clients, configuration: configuration)
        let job = services.gateway.session(.job("tests"), action: "import")  // as `karna seed` writes the population: a history, written as an import
        let generator = RegionGenerator(seed: 1, patientCount: 12)
        var resources = generator.organisations()
        for n in 0..<12 { resources += generator.patient(n) }
        _ = try await job.commit(resources.map { .update($0, type: $0.resourceType!, id: $0["id"]!.stringValue!) })
        let demo = DemoSetup.context(gateway: services.gateway, patients: 12)
        #expect(try await services.administration.demoCareContacts(demo) == 10)
        let summary = try #require(try await services.documentation.populateDemoJournal(demo))
        #expect(summary.notes >= 12)
        #expect(try await services.documentation.populateDemoJournal(demo) == nil, "a second seed writes the journal once")

        let notes = try await Records(session: job).all("Composition", [], maximum: 100)
        let types = Set(notes.compactMap { $0.object.code("type", system: DocumentationCodes.noteType) })
        #expect(types == Set(NoteTemplate.defaults.map(\.code)))
        // Each story is told about a patient it fits: the pregnancy about a woman of childbearing age.
        for note in notes where note.object.code("type", system: DocumentationCodes.noteType) == "barnmorskeanteckning" {
            let patientID = try #require(note.object.referenceID("subject", type: "Patient"))
            let patient = try #require(try await services.store.read(type: "Patient", id: patientID)).object
            #expect(patient["gender"]?.stringValue == "female" && (18...45).contains(Display.age(patient) ?? 0), "\(patientID): \(Display.age(patient) ?? -1)")
        }
        let statuses = Set(notes.compactMap { $0.object["status"]?.stringValue })
        #expect(statuses == ["preliminary", "final", "amended", "entered-in-error"])
        let diagnoses = try await Records(session: job).all("Condition", [("category", "encounter-diagnosis"), ("encounter", "Encounter/demo-contact-pat-1")], maximum: 10)
        #expect(diagnoses.count == 2)
        let allergies = try await Records(session: job).all("AllergyIntolerance", [], maximum: 10)
        let flags = try await Records(session: job).all("Flag", [], maximum: 10)
        #expect(allergies.count == 3 && flags.count == 4)
        let chart = try await services.gateway.overview.chart(patientID: "pat-1", session: job)
        #expect(chart.records("allergy").count == 1 && chart.records("treatment").count == 1 && !chart.records("note").isEmpty && !chart.records("problem").isEmpty)
        try await store.close()
    }
}
