import Access
import FHIRCore
import Foundation
import KarnaServer
import KarnaTesting
import Logging
import Store
import StoreModel
import SyntheticPopulation
import Testing
import WebApp

/// Issue 29, part 6: the downtime list (driftstoppslista) each unit finds in a folder when Kärna is down: its
/// patients by bed, their attention signals and chart, the doses planned in the hours ahead; audited as a job's reads.
@Suite("Downtime lists")
struct DowntimeListTests {
    @Test("a ward's list names each inpatient with bed, identity, attention signals and the doses due; a unit without patients says so", arguments: backends)
    func wardList(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("karna-downtime-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let configuration = try KarnaConfiguration(flags: ["password-cost": "10", "demo-credentials": folder + "/credentials.json"], environment: [:])
        let services = try await KarnaApplication.services(configuration, store: store, logger: Logger(label: "test"))
        _ = try await DemoSetup.ensure(gateway: services.gateway, accounts: services.accounts, clients: services.tokens.clients, configuration: configuration)
        let job = services.gateway.session(.job("tests"), action: "import")
        let generator = RegionGenerator(seed: 1, patientCount: 12)
        var resources = generator.organisations()
        for n in 0..<12 { resources += generator.patient(n) }
        _ = try await job.commit(resources.map { .update($0, type: $0.resourceType!, id: $0["id"]!.stringValue!) })
        for module in services.modules { _ = try await module.seedDemo(DemoSetup.context(gateway: services.gateway, patients: 12)) }

        let now = Instant.now()
        let written = try await DowntimeLists.write(directory: folder + "/lists", services: services, print: try await DowntimePrint.load(), now: now)
        let ward = try #require(written.first { $0.unitID == "hosp-1-ward-2" })
        #expect(ward.patients > 0)
        let html = try String(contentsOfFile: ward.path, encoding: .utf8)
        #expect(html.contains("Driftstoppslista: Medicinavdelning 1") && html.contains("Dokumentera på papper"))
        // Every inpatient of the ward is on it, named and identified, with their bed.
        let stays = try await Records(session: job).all("Encounter", [("service-provider", "Organization/hosp-1-ward-2"), ("status", "in-progress,onleave"),
                                                                        ("class", "http://terminology.hl7.org/CodeSystem/v3-ActCode|IMP")], maximum: 100)
        #expect(!stays.isEmpty)
        for stay in stays {
            let patientID = try #require(stay.object.referenceID("subject", type: "Patient"))
            let patient = try #require(try await store.read(type: "Patient", id: patientID)).object
            let identity = try #require(Display.identity(patient))
            #expect(html.contains(Display.name(patient).htmlEscaped) && html.contains(identity.value), "\(Display.name(patient)) is not on the ward's list")
        }
        #expect(html.contains("säng"), "no bed named")
        // Attention signals come first on each patient, before the doses and the overview.
        let onWard = Set(stays.compactMap { $0.object.referenceID("subject", type: "Patient") })
        var signalsShown = 0
        for patientID in onWard {
            let chart = try await services.gateway.overview.chart(patientID: patientID, session: job)
            for (part, entries) in chart.parts(in: .banner) where part.name == "attention" {
                for entry in entries {
                    #expect(html.contains(entry.line.text.htmlEscaped), "the signal '\(entry.line.text)' of \(patientID) is missing")
                    signalsShown += 1
                }
            }
        }
        #expect(signalsShown > 0, "the demo ward has no attention signal to look for")
        // The doses planned in the window, each at its time, from the ordinations in force.
        let orders = try await Records(session: job).all("MedicationRequest", [("status", "active"), ("intent", "order")], maximum: 100)
            .filter { onWard.contains($0.object.referenceID("subject", type: "Patient") ?? "") }
        #expect(!orders.isEmpty && html.contains("Planerade doser"))
        for order in orders {
            #expect(html.contains(Display.concept(order.object["medicationCodeableConcept"]).htmlEscaped), "the ordination \(order.id) has no dose on the list")
        }
        let signalsAt = try #require(html.range(of: "Uppmärksamhetssignaler")), dosesAt = try #require(html.range(of: "Planerade doser")),
            medicinesAt = try #require(html.range(of: "Aktuella läkemedel"))
        #expect(signalsAt.lowerBound < dosesAt.lowerBound && dosesAt.lowerBound < medicinesAt.lowerBound)
        // A unit with no patients gets a list saying so; the index names the units that have some.
        let empty = try #require(written.first { $0.patients == 0 })
        #expect(try String(contentsOfFile: empty.path, encoding: .utf8).contains("Inga patienter på enheten"))
        let index = try String(contentsOfFile: folder + "/lists/index.html", encoding: .utf8)
        #expect(index.contains("hosp-1-ward-2.html") && !index.contains((empty.path as NSString).lastPathComponent))
        // Read as a job, with its purpose, audited per patient.
        let audit = try await store.auditRecords(AuditQuery(actor: "Client/karna-downtime-list", limit: 500))
        #expect(Set(audit.compactMap(\.entry.patientID)).isSuperset(of: onWard), "the list's reads are not audited per patient")
        try await store.close()
    }
}

extension String {
    /// As Mustache writes text into HTML.
    var htmlEscaped: String {
        replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "\"", with: "&quot;").replacingOccurrences(of: "'", with: "&#39;")
    }
}
