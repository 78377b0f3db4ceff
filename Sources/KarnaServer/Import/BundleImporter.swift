import FHIRAPI
import FHIRCore
import Foundation
import Store
import StoreModel

/// Loads FHIR Bundle files (`.json` or `.json.bz2`), a file or a folder of
/// them, through the same transaction path as the API. Client ids from
/// `urn:uuid` fullUrls are kept, so loading the same files again changes
/// nothing and says so.
public struct BundleImporter: Sendable {
    /// Totals of one import run.
    public struct Report: Sendable {
        public var files = 0
        public var failedFiles: [(file: String, reason: String)] = []
        public var entries = 0
        public var outcomes: [WriteResult.Outcome: Int] = [:]
        public var seconds: Double = 0

        public var resourcesPerSecond: Double { seconds > 0 ? Double(entries) / seconds : 0 }

        public var summary: String {
            let counts = ["created", "updated", "unchanged", "matched"].map { name in
                "\(outcomes[WriteResult.Outcome(rawValue: name)!] ?? 0) \(name)"
            }.joined(separator: ", ")
            return "\(files) files, \(entries) resources (\(counts)) in \(String(format: "%.1f", seconds)) s: "
                + "\(Int(resourcesPerSecond)) resources/s" + (failedFiles.isEmpty ? "" : "; \(failedFiles.count) files failed")
        }
    }

    let engine: FHIREngine

    public init(engine: FHIREngine) {
        self.engine = engine
    }

    /// The bundle files at `path`: the file itself, or the folder's `.json`/`.json.bz2` files in name order.
    public static func files(at path: String) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw FHIRError(.notFound, code: .notFound, "no file or folder at \(path)")
        }
        guard isDirectory.boolValue else { return [path] }
        return try FileManager.default.contentsOfDirectory(atPath: path)
            .filter { $0.hasSuffix(".json") || $0.hasSuffix(".json.bz2") }
            .sorted()
            .map { (path as NSString).appendingPathComponent($0) }
    }

    /// The longest reason a failed file is reported with.
    public static let reasonLength = 300

    static func short(_ reason: String) -> String {
        reason.count <= reasonLength ? reason : String(reason.prefix(reasonLength - 1)) + "…"
    }

    /// What `karna import` prints after each file: its totals so far, or that the file failed and why.
    public static func progressLine(file: String, report: Report, of total: Int) -> String {
        let name = (file as NSString).lastPathComponent
        if let failure = report.failedFiles.last, failure.file == file {
            return "[\(report.files)/\(total)] \(name): FAILED — \(failure.reason)"
        }
        return "[\(report.files)/\(total)] \(name): \(report.entries) resources, \(Int(report.resourcesPerSecond))/s"
    }

    /// Imports every file; `progress` is told after each one.
    public func importFiles(_ files: [String], progress: (String, Report) -> Void = { _, _ in }) async -> Report {
        var report = Report()
        let start = Date()
        for file in files {
            do {
                var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))
                if file.hasSuffix(".bz2") { bytes = try BZip2.decompress(bytes) }
                let body = try engine.parseBody(bytes)
                let summary = try await engine.importBundle(body)
                report.entries += summary.entries
                for (outcome, count) in summary.outcomes { report.outcomes[outcome, default: 0] += count }
                if !summary.failures.isEmpty {
                    report.failedFiles.append((file, Self.short("\(summary.failures.count) batch entries failed; first: \(summary.failures[0])")))
                }
            } catch let error as FHIRError {
                // One line per file: the first issue, and how many more (the whole outcome can be thousands of issues).
                let first = error.issues.first.map(\.description) ?? "refused"
                report.failedFiles.append((file, Self.short(error.issues.count > 1 ? "\(first) (and \(error.issues.count - 1) more)" : first)))
            } catch {
                report.failedFiles.append((file, Self.short("\(error)")))
            }
            report.files += 1
            report.seconds = Date().timeIntervalSince(start)
            progress(file, report)
        }
        return report
    }
}
