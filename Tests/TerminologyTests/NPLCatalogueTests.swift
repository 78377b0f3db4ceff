import FHIRCore
import Foundation
import Terminology
import Testing

/// The drug catalogue from Läkemedelsverket's NPL export: the checked-in synthetic total (the demo's
/// catalogue) and a delta after it, in the export's layout and XML form.
@Suite("Drug catalogue (NPL): total then delta, idempotent, withdrawn products not orderable, type-ahead")
struct NPLCatalogueTests {
    static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
    static var total: URL {
        get throws {
            let shipped = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                .appendingPathComponent("../../Sources/Terminology/Shipped/npl/20261201_Total_NPL").standardized
            return try #require(FileManager.default.fileExists(atPath: shipped.path) ? shipped : nil)
        }
    }
    static var delta: URL { fixtures.appendingPathComponent("npl/20261203_Delta_NPL") }

    @Test("a total export reads every product with name, form, strength, ATC, substance and packages; its name gives kind and date")
    func readsTotal() throws {
        let export = try NPLCatalogue.readFolder(try Self.total)
        #expect(export.kind == .total)
        #expect(export.date == "2026-12-01")
        #expect(export.products.count == 20)
        let tablet = try #require(export.products.first { $0.nplID == "19990101000017" })
        #expect(tablet.display == "Paracetamol Kärna tablett 500 mg")
        #expect(tablet.form == "tablett")
        #expect(tablet.strength == "500 mg")
        #expect(tablet.atc == "N02BE01")
        #expect(tablet.substances == ["paracetamol"])
        #expect(tablet.packages.map(\.id) == ["20000101000019"])
        #expect(!tablet.withdrawn)
        // Sales stopped: kept, not orderable.
        #expect(export.products.first { $0.nplID == "19990101000123" }?.withdrawn == true)
    }

    @Test("a delta adds, changes and withdraws only its products; the file date becomes the version; a second run changes nothing")
    func deltaAfterTotal() throws {
        let first = try NPLCatalogue.apply(try NPLCatalogue.readFolder(try Self.total), to: nil)
        #expect(first.added == 20)
        #expect(first.catalogue.version == "2026-12-01")
        let delta = try NPLCatalogue.readFolder(Self.delta)
        #expect(delta.kind == .delta)
        let second = try NPLCatalogue.apply(delta, to: first.catalogue)
        #expect((second.added, second.changed, second.withdrawn) == (1, 1, 1))
        #expect(second.catalogue.version == "2026-12-03")
        #expect(second.catalogue.order.count == 21)
        #expect(second.catalogue.concepts["19990101000048"]?.inactive == true)   // warfarin: sales stopped in the delta
        #expect(second.catalogue.concepts["19990101000062"]?.properties.contains(.init("package", "20000101000064 100 tablett(er) blister")) == true)
        #expect(second.catalogue.source == "NPL total 2026-12-01; NPL delta 2026-12-03")
        // Idempotent: the same delta again, or the stored total again after it, is no change.
        let again = try NPLCatalogue.apply(delta, to: second.catalogue)
        #expect(!again.isChange)
        #expect(again.catalogue.version == "2026-12-03")
        #expect(again.catalogue.source == second.catalogue.source)
    }

    @Test("an older export than the catalogue, and a delta before any total, are refused by name")
    func orderOfExports() throws {
        let total = try NPLCatalogue.readFolder(try Self.total)
        let delta = try NPLCatalogue.readFolder(Self.delta)
        #expect(throws: FHIRError.self) { try NPLCatalogue.apply(delta, to: nil) }
        let after = try NPLCatalogue.apply(delta, to: try NPLCatalogue.apply(total, to: nil).catalogue).catalogue
        do {
            _ = try NPLCatalogue.apply(total, to: after)
            Issue.record("an older total was applied")
        } catch {
            #expect(error.issues.first?.diagnostics.contains("older") == true)
        }
    }

    @Test("a product a new total no longer lists is kept, not orderable")
    func totalWithdrawsMissing() throws {
        var export = try NPLCatalogue.readFolder(try Self.total)
        let first = try NPLCatalogue.apply(export, to: nil).catalogue
        export.products.removeAll { $0.nplID == "19990101000031" }
        export.date = "2026-12-10"
        let next = try NPLCatalogue.apply(export, to: first)
        #expect(next.withdrawn == 1)
        #expect(next.catalogue.concepts["19990101000031"]?.inactive == true)
        #expect(next.catalogue.source == "NPL total 2026-12-10")
    }

    @Test("the stored CodeSystem keeps the products' properties and withdrawal")
    func resourceRoundTrip() throws {
        let catalogue = try NPLCatalogue.apply(try NPLCatalogue.readFolder(try Self.total), to: nil).catalogue
        let read = try CodeSystemContent(resource: catalogue.resource(id: "npl"))
        #expect(read.version == "2026-12-01")
        #expect(read.concepts["19990101000017"] == catalogue.concepts["19990101000017"])
        #expect(read.concepts["19990101000123"]?.inactive == true)
        #expect(read.propertyDefinitions.map(\.code) == ["name", "form", "strength", "atc", "substance", "package"])
    }

    @Test("type-ahead finds products by name, substance, ATC code and NPL-id, never a withdrawn one; validation names withdrawal")
    func typeAhead() throws {
        let service = TerminologyService.shipped()
        func found(_ text: String) throws -> [String] {
            try service.expand(url: NPLCatalogue.valueSet, filter: text).entries.map(\.code)
        }
        #expect(try found("parac tabl") == ["19990101000017"])
        #expect(try found("morfinhydro") == ["19990101000116"])        // the tablet is sales-stopped
        #expect(try found("B01AF02") == ["19990101000178"])
        #expect(try found("19990101000185") == ["19990101000185"])
        let withdrawn = try service.validate(system: NPLCatalogue.system, code: "19990101000123")
        #expect(!withdrawn.result)
        #expect(withdrawn.message?.contains("inactive") == true)
        // The medicine value set (ordinations, statements, administrations) holds both ATC and NPL products.
        #expect(try service.isMember(valueSet: "https://karna.se/fhir/ValueSet/lakemedel", system: NPLCatalogue.system, code: "19990101000017"))
    }

    @Test("a broken export is refused naming the file and what is wrong")
    func brokenExport() throws {
        let broken = Array("<npl:medprod xmlns:npl=\"urn:x\"><npl:names>".utf8)
        let noID = Array("<npl:medprod xmlns:npl=\"urn:x\" xmlns:mpa=\"urn:y\"><npl:names><mpa:medprodname v=\"X\"/></npl:names></npl:medprod>".utf8)
        #expect(throws: FHIRError.self) { try NPLCatalogue.read(files: [("Productdata/1.xml", broken)], exportName: "20261201_Total_NPL") }
        do {
            _ = try NPLCatalogue.read(files: [("Productdata/2.xml", noID)], exportName: "20261201_Total_NPL")
            Issue.record("a product without an NPL-id was read")
        } catch {
            #expect(error.issues.first?.diagnostics == "Productdata/2.xml: mpa:nplid is missing or not 14 digits")
        }
        do {
            _ = try NPLCatalogue.read(files: [], exportName: "katalog")
            Issue.record("an export without kind was read")
        } catch {
            #expect(error.issues.first?.diagnostics.contains("--kind") == true)
        }
    }
}
