import ArgumentParser
import FHIRCore
import Foundation
import KarnaServer
import Store
import StoreModel
import Terminology
import Access

/// `karna terminology`: loads official code-list releases into the database.
struct TerminologyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "terminology",
        abstract: "Load official code lists (ICD-10-SE, KVÅ, ATC, NPU) into the database.",
        subcommands: [ImportRelease.self]
    )
}

/// `karna terminology import FILE --format …`: one release file becomes one stored CodeSystem.
struct ImportRelease: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import a release file as a CodeSystem; it replaces the shipped subset at the next start of `karna serve`.",
        discussion: """
            The file is delimited text (tab, semicolon or comma; UTF-8 or Latin-1) with a code column and a text column, \
            as Socialstyrelsen's code-text files for ICD-10-SE and KVÅ, the ATC index and the NPU list are published. \
            Lines whose first column is not a code of the format (headings, chapter ranges) are skipped and counted. \
            Name other columns with --code-column and --display-column when a release changes its layout.
            """
    )
    @OptionGroup var options: ServerOptions
    @Argument(help: "The release file.") var file: String
    @Option(help: "icd-10-se, kva, atc or npu.") var format: String
    @Option(help: "The release's version, e.g. 2026.") var version: String?
    @Option(help: "Column of the codes (from 1).") var codeColumn: Int?
    @Option(help: "Column of the texts (from 1).") var displayColumn: Int?
    @Option(help: "Delimiter: tab, ';' or ','.") var delimiter: String?
    @Option(help: "Resource id of the stored CodeSystem (default: the format's name).") var id: String?

    func run() async throws {
        guard let format = ReleaseFileImporter.Format(rawValue: format), format != .karna else {
            throw ValidationError("--format must be one of icd-10-se, kva, atc, npu")
        }
        guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
        let separator: Character? = switch delimiter {
        case nil: nil
        case "tab", "\\t": "\t"
        case let text? where text.count == 1: text.first
        case let text?: throw ValidationError("--delimiter must be tab or one character; got '\(text)'")
        }
        let importer = ReleaseFileImporter(format: format, version: version, codeColumn: codeColumn, displayColumn: displayColumn, delimiter: separator,
                                           source: "imported from \((file as NSString).lastPathComponent)\(version.map { ", version \($0)" } ?? "")")
        let result: ReleaseFileImporter.Result
        switch Result(catching: { () throws(FHIRError) -> ReleaseFileImporter.Result in try importer.read(bytes: Array(data), fileName: (file as NSString).lastPathComponent) }) {
        case .success(let read): result = read
        case .failure(let error): throw ValidationError(error.issues.map(\.diagnostics).joined(separator: "; "))
        }
        let configuration = try options.resolve()
        let logger = options.logger(configuration)
        let store = try await KarnaApplication.openStore(configuration, logger: logger)
        let services = try await KarnaApplication.services(configuration, store: store, logger: logger)
        let job = services.gateway.session(.job("karna-terminology"), action: "terminology-import")
        let resourceID = id ?? format.rawValue
        let written = try await job.commit(.update(result.codeSystem.resource(id: resourceID), type: "CodeSystem", id: resourceID, ifMatch: nil))
        let system = result.codeSystem
        print("\(system.title)\(system.version.map { " \($0)" } ?? ""): \(system.order.count) codes (\(system.concepts.values.filter { $0.parent != nil }.count) with a parent), "
              + "\(result.skippedLines) lines skipped → CodeSystem/\(resourceID) (\(written.outcome.rawValue)) in \(store.backendName)")
        print("restart `karna serve` to use it")
        try await store.close()
    }
}
