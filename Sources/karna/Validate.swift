import ArgumentParser
import FHIRAPI
import FHIRCore
import Foundation

/// `karna validate FILE…`: checks resources against the R4 StructureDefinitions without a server.
struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate FHIR JSON resources against the R4 definitions (and a profile), as $validate does.")
    @Argument(help: "Resource files (JSON).") var files: [String]
    @Option(help: "A StructureDefinition file (JSON): also check each resource against this profile.") var profile: String?
    @Flag(help: "Print each file's OperationOutcome, the same one POST [type]/$validate answers.") var outcome = false

    func run() throws {
        let validator = ResourceValidator()
        var checker: ProfileChecker?
        if let profile {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: profile)))
            guard case .object(let definition) = try JSONParser.parse(bytes, limits: JSONLimits(maxDepth: 256)) else {
                throw ValidationError("\(profile) is not a JSON object")
            }
            checker = try ProfileChecker(structureDefinition: definition)
        }
        var failed = 0
        for file in files {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))
            let value: JSONValue
            do {
                value = try JSONParser.parse(bytes, limits: JSONLimits(maxDepth: 256))
            } catch {
                print("\(file): \(error.description)")
                failed += 1
                continue
            }
            var issues = validator.validate(value)
            if let checker, case .object(let resource) = value {
                issues += checker.check(resource)
                if let note = checker.coverageNote { issues.append(note) }
            }
            let errors = issues.filter { $0.severity == .error || $0.severity == .fatal }
            if !errors.isEmpty { failed += 1 }
            if outcome {
                let type = value.objectValue?.resourceType ?? "resource"
                print("\(file): \(String(decoding: OperationOutcome.validation(issues, type: type, profile: checker?.url, mode: nil), as: UTF8.self))")
            } else if errors.isEmpty {
                print("\(file): valid")
                for issue in issues { print("\(file): \(issue.severity.rawValue): \(issue.description)") }
            } else {
                for issue in issues { print("\(file): \(issue.description)") }
            }
        }
        if failed > 0 { throw ExitCode(1) }
    }
}
