import ArgumentParser
import FHIRCore
import Foundation
import KarnaServer
import Store
import StoreModel
import Terminology
import Access
import ZIPFoundation

/// `karna drugs`: the drug catalogue (läkemedelskatalog) from Läkemedelsverket's NPL export.
struct DrugsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drugs",
        abstract: "Import Läkemedelsverket's NPL export as the drug catalogue, and search it.",
        subcommands: [ImportNPL.self, SearchDrugs.self]
    )
}

/// `karna drugs import EXPORT`: a total export replaces the catalogue, a delta changes the products it names.
struct ImportNPL: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import an NPL total or delta export (zip or unpacked folder) into the drug catalogue.",
        discussion: """
            The export is the zip Läkemedelsverket publishes (YYYYMMDD_Total_NPL.zip, then the daily Delta files) or \
            the folder it unpacks to, with Productdata/ (one npl:medprod per product) and Lexicondata/. Import the \
            latest total first, then every delta after it in date order; an older export than the catalogue is \
            refused, and importing one twice changes nothing. Products are never removed: one that is withdrawn, \
            sales-stopped or missing from a total is kept for the ordinations that name it and is no longer orderable. \
            `karna serve` uses the imported catalogue from its next start.
            """
    )
    @OptionGroup var options: ServerOptions
    @Argument(help: "The export: a .zip file or an unpacked folder.") var export: String
    @Option(help: "total or delta, when the export's name does not say.") var kind: String?
    @Option(help: "The export's date (YYYY-MM-DD), when its name does not say.") var date: String?

    func run() async throws {
        let kind: NPLCatalogue.Kind? = switch kind?.lowercased() {
        case nil: nil
        case "total": .total
        case "delta": .delta
        case let other?: throw ValidationError("--kind must be total or delta; got '\(other)'")
        }
        let read: NPLCatalogue.Export
        do {
            read = try Self.read(export, kind: kind, date: date)
        } catch let error as FHIRError {
            throw ValidationError(error.issues.map(\.diagnostics).joined(separator: "; "))
        }
        let configuration = try options.resolve()
        let logger = options.logger(configuration)
        let store = try await KarnaApplication.openStore(configuration, logger: logger)
        let services = try await KarnaApplication.services(configuration, store: store, logger: logger)
        let job = services.gateway.session(.job("karna-drugs"), action: "terminology-import")
        let stored = try await job.read(type: "CodeSystem", id: NPLCatalogue.resourceID).flatMap { $0.isDeleted ? nil : $0 }
        do {
            let change = try NPLCatalogue.apply(read, to: try stored.map { try CodeSystemContent(resource: $0.object) })
            let counts = "\(change.added) added, \(change.changed) changed, \(change.withdrawn) no longer orderable, \(change.unchanged) unchanged"
            if !change.isChange, stored != nil {
                print("NPL \(read.kind.rawValue.lowercased()) \(read.date): the catalogue already holds it (\(counts)); nothing written")
            } else {
                let written = try await job.commit(.update(change.catalogue.resource(id: NPLCatalogue.resourceID), type: "CodeSystem",
                                                           id: NPLCatalogue.resourceID, ifMatch: stored?.versionId))
                let orderable = change.catalogue.concepts.values.filter { !$0.inactive }.count
                print("NPL \(read.kind.rawValue.lowercased()) \(read.date): \(counts) → CodeSystem/\(NPLCatalogue.resourceID) version \(change.catalogue.version ?? "?") "
                      + "(\(written.outcome.rawValue)), \(change.catalogue.order.count) products, \(orderable) orderable, in \(store.backendName)")
                print("restart `karna serve` to use it")
            }
        } catch let error as FHIRError {
            try await store.close()
            throw ValidationError(error.issues.map(\.diagnostics).joined(separator: "; "))
        }
        try await store.close()
    }

    /// The export's files, from a zip (entries read in memory) or an unpacked folder.
    static func read(_ path: String, kind: NPLCatalogue.Kind?, date: String?) throws -> NPLCatalogue.Export {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else { throw ValidationError("no such file or folder: \(path)") }
        let url = URL(fileURLWithPath: path)
        if isFolder.boolValue { return try NPLCatalogue.readFolder(url, kind: kind, date: date) }
        guard path.lowercased().hasSuffix(".zip") else { throw ValidationError("\(path): expected the export's .zip or its unpacked folder") }
        let archive: Archive
        do { archive = try Archive(url: url, accessMode: .read) } catch { throw ValidationError("\(path) is not a readable zip file: \(error)") }
        var files: [(path: String, bytes: [UInt8])] = []
        for entry in archive where entry.type == .file && entry.path.hasSuffix(".xml") {
            var data = Data()
            _ = try archive.extract(entry, skipCRC32: false) { data.append($0) }
            files.append((entry.path, Array(data)))
        }
        return try NPLCatalogue.read(files: files, exportName: url.deletingPathExtension().lastPathComponent, kind: kind, date: date)
    }
}

/// `karna drugs search TEXT`: the catalogue's type-ahead from the command line (name, substance, ATC, NPL-id).
struct SearchDrugs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "search", abstract: "Search the drug catalogue as the ordination form does.")
    @OptionGroup var options: ServerOptions
    @Argument(help: "Words that start a word of the product's name, substance, form or strength; or an ATC code or NPL-id.") var text: String
    @Option(help: "At most this many products.") var count: Int = 20

    func run() async throws {
        let configuration = try options.resolve()
        let logger = options.logger(configuration)
        let store = try await KarnaApplication.openStore(configuration, logger: logger)
        let services = try await KarnaApplication.services(configuration, store: store, logger: logger)
        let terminology = services.terminology
        let found = try terminology.expand(url: NPLCatalogue.valueSet, filter: text, count: count)
        let catalogue = terminology.codeSystem(NPLCatalogue.system)
        for entry in found.entries {
            let concept = catalogue?.concepts[entry.code]
            let substances: [String] = concept?.properties.filter { $0.code == "substance" }.map(\.value) ?? []
            let columns: [String] = [entry.code, entry.display, concept?.property("atc") ?? "", substances.joined(separator: " + ")]
            print(columns.joined(separator: "\t"))
        }
        print("\(found.total) orderable product\(found.total == 1 ? "" : "s") match '\(text)' in \(catalogue?.title ?? "the catalogue") \(catalogue?.version ?? "")")
        try await store.close()
    }
}
