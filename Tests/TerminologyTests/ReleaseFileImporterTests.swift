import FHIRCore
import Foundation
import Testing
@testable import Terminology

@Suite("Terminology: release-file importers")
struct ReleaseFileImporterTests {
    @Test("ICD-10-SE code-text file: codes without dots, Latin-1, chapter lines skipped, hierarchy from the codes")
    func icd10SE() throws {
        let text = "Kapitel 1\tVissa infektionssjukdomar\nA00-A09\tTarminfektioner\nA00\tKolera\nA000\tKolera orsakad av Vibrio cholerae 01, biovar cholerae\nA009\tKolera, ospecificerad\nI10\tEssentiell hypertoni\nS7200\tFraktur på lårbenshalsen, sluten\n"
        let latin1 = Array(try #require(text.data(using: .isoLatin1)))
        let result = try ReleaseFileImporter(format: .icd10SE, version: "2025").read(bytes: latin1, fileName: "kodtext.txt")
        let system = result.codeSystem
        #expect(system.url == KnownSystems.icd10SE)
        #expect(system.version == "2025")
        #expect(system.order == ["A00", "A00.0", "A00.9", "I10", "S72.00"])
        #expect(system.concepts["A00.0"]?.parent == "A00")
        #expect(system.concepts["S72.00"]?.display == "Fraktur på lårbenshalsen, sluten")
        #expect(system.concepts["S72.00"]?.parent == nil, "no S72 in the file: no invented parent")
        #expect(result.skippedLines == 2)
        #expect(system.content == "complete")
    }

    @Test("KVÅ with semicolons and a header row")
    func kva() throws {
        let text = "Kod;Text\nXS100;Samtal\nDT016;Inläggning av kateter i urinblåsa\n;tom rad\n"
        let result = try ReleaseFileImporter(format: .kva).read(text: text, fileName: "kva.csv")
        #expect(result.codeSystem.order == ["XS100", "DT016"])
        #expect(result.skippedLines == 2)
    }

    @Test("ATC levels become a hierarchy")
    func atc() throws {
        let text = "C\tHjärta och kretslopp\nC09\tRAS\nC09A\tACE-hämmare\nC09AA\tACE-hämmare, enbart\nC09AA05\tRamipril\n"
        let system = try ReleaseFileImporter(format: .atc).read(text: text, fileName: "atc.tsv").codeSystem
        #expect(system.concepts["C09AA05"]?.parent == "C09AA")
        #expect(system.concepts["C09"]?.parent == "C")
        #expect(system.isA("C09AA05", "C"))
    }

    @Test("NPU CSV: columns found by header name, quoted texts with commas and quotes")
    func npu() throws {
        let text = "\"Group\",\"NPU code\",\"Short definition\"\n\"Klinisk kemi\",\"NPU27300\",\"B—Hemoglobin A1c (IFCC); stoffkvot\"\n\"Klinisk kemi\",\"NPU19748\",\"P—C-reaktivt protein, \"\"CRP\"\"; masskoncentration\"\n"
        let system = try ReleaseFileImporter(format: .npu).read(text: text, fileName: "npu.csv").codeSystem
        #expect(system.order == ["NPU27300", "NPU19748"])
        #expect(system.concepts["NPU19748"]?.display == "P—C-reaktivt protein, \"CRP\"; masskoncentration")
    }

    @Test("a file without codes of the format, or a code without text, is refused naming the file and line")
    func badFiles() throws {
        do {
            _ = try ReleaseFileImporter(format: .npu).read(text: "a;b\nc;d\n", fileName: "fel.csv")
            Issue.record("expected a refusal")
        } catch {
            #expect(error.issues[0].diagnostics.contains("fel.csv: no npu codes found"))
        }
        do {
            _ = try ReleaseFileImporter(format: .kva).read(text: "XS100;Samtal\nXS200;\n", fileName: "kva.csv")
            Issue.record("expected a refusal")
        } catch {
            #expect(error.issues[0].diagnostics.contains("kva.csv line 2: code XS200 has no text"))
        }
    }

    @Test("an imported system replaces the shipped subset for validation")
    func importedReplacesSubset() throws {
        let service = TerminologyService.shipped()
        #expect(service.problem(system: KnownSystems.icd10SE, code: "A00.0")?.contains("subset") == true)
        let full = try ReleaseFileImporter(format: .icd10SE, version: "2026").read(text: "A00\tKolera\nA000\tKolera orsakad av Vibrio cholerae\n", fileName: "icd.txt")
        service.register(full.codeSystem)
        #expect(service.problem(system: KnownSystems.icd10SE, code: "A00.0") == nil)
        #expect(service.codeSystem(KnownSystems.icd10SE)?.version == "2026")
    }
}
