import ArgumentParser
import FHIRCore
import Foundation

/// `karna validate FILE…`: checks resources against the R4 StructureDefinitions without a server.
struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Validate FHIR JSON resources against the R4 StructureDefinitions.")
    @Argument(help: "Resource files (JSON).") var files: [String]

    func run() throws {
        let validator = ResourceValidator()
        var failed = 0
        for file in files {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))
            let issues: [FHIRIssue]
            do {
                issues = validator.validate(try JSONParser.parse(bytes, limits: JSONLimits(maxDepth: 256)))
            } catch {
                print("\(file): \(error.description)")
                failed += 1
                continue
            }
            if issues.isEmpty {
                print("\(file): valid")
            } else {
                failed += 1
                for issue in issues { print("\(file): \(issue.description)") }
            }
        }
        if failed > 0 { throw ExitCode(1) }
    }
}
