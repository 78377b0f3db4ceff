import Access
import FHIRCore
import KarnaTesting
import PatientAdministration
import StoreModel
import Testing

/// What a module hands the platform reaches the chart and the write rules without any other module
/// or the platform being edited: a module written here, in the test, contributes a chart part and a
/// code binding, and the gateway uses both.
@Suite("A module's chart parts and code bindings reach the platform")
struct ModuleContributionTests {
    /// A module of the test's own: pulse readings in the chart, and Observation.code bound to a value set.
    struct PulseModule: ClinicalModule {
        var name: String { "Pulse" }
        var chart: [ChartPart] {
            [.list("pulse", title: "Puls", emptyText: "Ingen puls.", rank: 5,
                   search: { patientID throws(FHIRError) in try ChartSearch("Observation", patientID: patientID, [("code", "http://loinc.org|8867-4")], limit: 2) },
                   line: { ChartLine("Puls", detail: Display.observationValue($0)) })]
        }
        var codes: CodeBindings {
            CodeBindings(checkedTypes: ["Observation"], bindings: [.init("Observation", "code", valueSet: "urn:test:vital-signs")])
        }
    }

    /// A terminology that holds LOINC with two codes, and a value set of one of them.
    struct TinyTerminology: CodeChecking {
        func codeSystemTitle(_ system: String) -> String? { system == "http://loinc.org" ? "LOINC" : nil }
        func problem(system: String, code: String) -> String? {
            system == "http://loinc.org" && !["8867-4", "2345-7"].contains(code) ? "'\(code)' is not a LOINC code" : nil
        }
        func isMember(valueSet: String, system: String, code: String) throws(FHIRError) -> Bool { code == "8867-4" }
        func valueSetTitle(_ url: String) -> String? { "Vitalparametrar" }
    }

    @Test("a module's part is drawn in the chart, in its rank, from one audited look", arguments: backends)
    func chartPartIsDrawn(backend: StoreBackend) async throws {
        let region = try await Region.make(backend)
        let gateway = AccessGateway(store: region.store, settings: AccessSettings(defaultProviderID: "provA"), modules: [PatientAdministration(), PulseModule()])
        let session = try await Region(store: region.store, gateway: gateway).practitioner("doc1")
        let chart = try await gateway.overview.chart(patientID: "p1", session: session)
        #expect(chart.parts(in: .overview).first?.part.name == "pulse", "rank 5 comes before patient administration's parts")
        // doc1 has a care relationship at u1: records of the same provider show, B1's (another provider, no consent) do not.
        let shown = chart.records("pulse").map(\.id).sorted()
        #expect(shown == ["obs-u1", "obs-u2"], "\(shown)")
        #expect(chart.parts(in: .overview).first?.entries.first?.line.detail == "72 /min")
        #expect(chart.parts(in: .banner).map(\.part.name) == ["currentContact"])
        #expect(chart.records("currentContact").map(\.id) == ["enc-p1"])
        // Without the module, the part is simply not there.
        let without = AccessGateway(store: region.store, settings: AccessSettings(defaultProviderID: "provA"), modules: [PatientAdministration()])
        let plain = try await without.overview.chart(patientID: "p1", session: try await Region(store: region.store, gateway: without).practitioner("doc1"))
        #expect(plain.records("pulse").isEmpty && !plain.parts.contains { $0.part.name == "pulse" })
    }

    @Test("a module's code binding is checked on every write, naming the element", arguments: backends)
    func codeBindingIsChecked(backend: StoreBackend) async throws {
        let region = try await Region.make(backend)
        let gateway = AccessGateway(store: region.store, settings: AccessSettings(defaultProviderID: "provA"), modules: [PatientAdministration(), PulseModule()],
                                    codes: TinyTerminology())
        let session = try await Region(store: region.store, gateway: gateway).practitioner("doc1")
        var outside = Region.observation("obs-new", patient: "p1", unit: "u1")
        outside["code"] = .object(JSONObject([("coding", .array([.object(JSONObject([("system", .string("http://loinc.org")), ("code", .string("2345-7"))]))]))]))
        let refused = await #expect(throws: FHIRError.self) { _ = try await session.commit(.create(outside, type: "Observation", id: "obs-new")) }
        #expect(refused?.issues.first?.expression == ["Observation.code.coding[0]"])
        #expect(refused?.issues.first?.diagnostics.contains("Vitalparametrar") == true, "\(String(describing: refused))")
        var unknown = outside
        unknown["code"] = .object(JSONObject([("coding", .array([.object(JSONObject([("system", .string("http://loinc.org")), ("code", .string("0000-0"))]))]))]))
        let unknownRefused = await #expect(throws: FHIRError.self) { _ = try await session.commit(.create(unknown, type: "Observation", id: "obs-new")) }
        #expect(unknownRefused?.issues.first?.diagnostics.contains("not a LOINC code") == true)
        _ = try await session.commit(.create(Region.observation("obs-new", patient: "p1", unit: "u1"), type: "Observation", id: "obs-new"))
        // Without a terminology, nothing is checked: the gateway does not guess.
        let unchecked = AccessGateway(store: region.store, settings: AccessSettings(defaultProviderID: "provA"), modules: [PatientAdministration(), PulseModule()])
        _ = try await Region(store: region.store, gateway: unchecked).practitioner("doc1").commit(.create(outside, type: "Observation", id: "obs-other"))
    }
}
