import Access
import FHIRAPI
import FHIRCore
import Foundation
import HTTPTypes
import KarnaServer
import KarnaTesting
import StoreModel
import Testing

/// `karna import` reads what pbzip2 and lbzip2 write (several bzip2 streams in one file), and a file
/// that fails is reported as failed with one short reason, not the whole OperationOutcome.
@Suite("Importing bundle files")
struct BundleImportTests {
    /// A transaction of two patients, its JSON compressed as two bzip2 streams one after the other
    /// (Python's `bz2.compress(first half) + bz2.compress(second half)`, as pbzip2 splits its blocks).
    static let multiStream = "QlpoOTFBWSZTWam3k5kAAHXfjECAEAZ08BUATgo/5/8qAQAIADAAumiCpvUbSnqejTU9I00NGgPIaghTCZGQAAAADQInqRoAaAA0AAAQWJbtKSDdDJg6zB0VArHy7IAGBLHDikm8BNwICQQQIRuugAQMF5ZU23uoaoBqIeBD5IXBegvOWGa7D69lUDbZ8SNeMhlHAg1W1qyHVMaRYBkZZ6KTnFGb2FN4dNp0NmC5NYByJghQKQBhEGClKBkaKVSzEnU34T1d7IxPm7jXMHzCrkSafk/i7kinChIVNvJzIEJaaDkxQVkmU1nGWhxGAAAE34xAgBAGdPAkAM4KP+f/KgEACAAwALkiNKngTUxNPUAY1PUBjU8oMADRoaMIyaDRpoDBKaijGoB6amIGRoANDGX+IazTwwtdzPig+C30DW6sBJMkPlOXSNCZZIzFLmYsrrB5ZC/ZXNTti/PQBMipN0uHMXC4kt2UqFaQ1vjWFrLK743DPPLA5sDhNeNgcSTCdJMHFdUKjo/o1UkDGgkiNZMBlM7HtYTz5oMrrU6hGjoPK0d7eFKTUYT9nJx+j/F3JFOFCQxlocRg"

    @Test("a file of several bzip2 streams is read whole; a bad file fails with a short reason; a second import changes nothing", arguments: backends)
    func multiStreamAndFailures(_ backend: StoreBackend) async throws {
        try await withAPI(backend) { api in
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("karna-import-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            try Data(base64Encoded: Self.multiStream)!.write(to: folder.appendingPathComponent("a-two-streams.json.bz2"))
            let bad = #"{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient","birthDate":"1970-13-01","name":[{"family":"Fel"}],"gender":"female"},"request":{"method":"POST","url":"Patient"}}]}"#
            try Data(bad.utf8).write(to: folder.appendingPathComponent("b-bad.json"))

            let engine = api.services.engine.bound(to: .job("tests"), action: "import")
            let files = try BundleImporter.files(at: folder.path)
            var lines: [String] = []
            let report = await BundleImporter(engine: engine).importFiles(files) { file, report in
                lines.append(BundleImporter.progressLine(file: file, report: report, of: files.count))
            }
            #expect(report.entries == 2 && report.outcomes[.created] == 2, "both streams were read: \(report.summary) \(report.failedFiles)")
            let failure = try #require(report.failedFiles.first)
            #expect(report.failedFiles.count == 1 && failure.file.hasSuffix("b-bad.json"))
            #expect(failure.reason.contains("birthDate") && failure.reason.count <= BundleImporter.reasonLength, "\(failure.reason)")
            #expect(lines.count == 2 && !lines[0].contains("FAILED") && lines[1].contains("b-bad.json: FAILED"), "\(lines)")

            let again = await BundleImporter(engine: engine).importFiles([files[0]])
            #expect(again.outcomes[.created] == nil && again.failedFiles.isEmpty, "client ids are kept: \(again.summary)")
        }
    }
}

/// The token is checked before a body is read: an anonymous request costs no parsing however large.
@Suite("Limits before work")
struct LimitsBeforeWorkTests {
    @Test("an unauthenticated body, broken or huge, is answered 401 without being parsed", arguments: backends)
    func tokenBeforeBody(_ backend: StoreBackend) async throws {
        try await withAPI(backend) { api in
            var anonymous = api
            anonymous.token = ""
            // Broken JSON: parsed first, this was a 400 naming the syntax error.
            let broken = try await anonymous.send(.post, "/fhir/Patient", #"{"resourceType":"Patient","#)
            #expect(broken.status == 401, "\(broken.status) \(broken.text)")
            let huge = "{" + (0..<40_000).map { "\"k\($0)\":1" }.joined(separator: ",") + "}"
            #expect(try await anonymous.send(.post, "/fhir/Patient", huge).status == 401)
            // With a token the same broken body is said to be broken.
            #expect(try await api.send(.post, "/fhir/Patient", #"{"resourceType":"Patient","#).status == 400)
        }
    }
}
