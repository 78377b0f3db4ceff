import Foundation
import Testing

/// The one-gateway rule and the module rooms, checked on the package graph itself: Package.swift's
/// declared dependencies and every `import` line under Sources/. The compiler alone does not stop a
/// target from importing a module it only reaches transitively, so the import lines are read too.
@Suite("The module graph keeps the gateway and the rooms")
struct ModuleGraphTests {
    /// Modules that hold patient data without the access rules: the storage backends.
    static let backends: Set<String> = ["Store", "GRDB", "PostgresNIO"]
    /// Targets that may depend on a backend: the backend itself, the gateway, the composition root and test support.
    static let mayUseBackend: Set<String> = ["Store", "Access", "KarnaServer", "KarnaTesting", "karna"]
    /// Targets that are not clinical modules. Any other library target is a clinical module (a room):
    /// a new module is treated as one without editing this list.
    static let platform: Set<String> = [
        "FHIRCore", "StoreModel", "Store", "Terminology", "Access", "ModuleKit", "SyntheticPopulation", "CBZip2",
        "AuthAPI", "FHIRAPI", "WebApp", "KarnaServer", "KarnaTesting", "karna", "NLLClient", "HL7v2", "DICOMwebClient",
    ]

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized

    @Test("only Access, the composition root and test support depend on a storage backend")
    func backendsOnlyBehindTheGateway() throws {
        let graph = try PackageGraph.read(root: Self.root)
        #expect(graph.targets.count > 10, "Package.swift was not read: \(graph.targets.map(\.name))")
        for target in graph.targets where !target.isTest && !Self.mayUseBackend.contains(target.name) {
            let reached = target.uses.intersection(Self.backends)
            #expect(reached.isEmpty, "\(target.name) depends on or imports \(reached.sorted()) — only \(Self.mayUseBackend.sorted()) may")
        }
    }

    /// The clinical modules and their web rooms: a library target not in the platform list is a module,
    /// except `[Module]Pages`, which is that module's pages in the web app.
    static func rooms(_ graph: PackageGraph) -> (modules: Set<String>, pages: Set<String>) {
        let rooms = graph.targets.filter { $0.kind == .library && !Self.platform.contains($0.name) }.map(\.name)
        let pages = Set(rooms.filter { $0.hasSuffix("Pages") })
        return (Set(rooms).subtracting(pages), pages)
    }

    @Test("a clinical module depends on no other clinical module; a module's pages on no module but their own")
    func clinicalModulesAreRooms() throws {
        let graph = try PackageGraph.read(root: Self.root)
        let (clinical, pages) = Self.rooms(graph)
        #expect(clinical.isSuperset(of: ["PatientAdministration", "Documentation", "Medication", "Results"]), "clinical modules found: \(clinical.sorted())")
        #expect(pages.isSuperset(of: ["PatientAdministrationPages", "DocumentationPages"]), "pages found: \(pages.sorted())")
        for name in clinical {
            let target = try #require(graph.targets.first { $0.name == name })
            let others = target.uses.intersection(clinical.union(pages)).subtracting([name])
            #expect(others.isEmpty, "\(name) depends on or imports the clinical module(s) \(others.sorted())")
        }
        for name in pages {
            let target = try #require(graph.targets.first { $0.name == name })
            let own = String(name.dropLast("Pages".count))
            #expect(clinical.contains(own), "\(name) names no module \(own)")
            let others = target.uses.intersection(clinical.union(pages)).subtracting([name, own])
            #expect(others.isEmpty, "\(name) depends on or imports \(others.sorted()), another module's room")
        }
    }

    @Test("the web app's shell reaches the modules' pages only through WebModule, never by importing a module")
    func webShellKnowsNoModule() throws {
        let graph = try PackageGraph.read(root: Self.root)
        let (clinical, pages) = Self.rooms(graph)
        let shell = try #require(graph.targets.first { $0.name == "WebApp" })
        #expect(shell.uses.intersection(clinical.union(pages)).isEmpty, "WebApp depends on or imports \(shell.uses.intersection(clinical.union(pages)).sorted())")
    }

    @Test("the FHIR API reaches the clinical modules only through the module contract, never by importing one")
    func fhirAPIKnowsNoModule() throws {
        // A new module is a target plus one line in the composition root: the API must not need editing.
        let graph = try PackageGraph.read(root: Self.root)
        let (modules, pages) = Self.rooms(graph)
        let clinical = modules.union(pages)
        let api = try #require(graph.targets.first { $0.name == "FHIRAPI" })
        #expect(api.uses.intersection(clinical).isEmpty, "FHIRAPI depends on or imports \(api.uses.intersection(clinical).sorted())")
    }

    @Test("every module a target imports is declared in Package.swift")
    func importsAreDeclared() throws {
        let graph = try PackageGraph.read(root: Self.root)
        let local = Set(graph.targets.map(\.name))
        let products = Set(graph.targets.flatMap(\.products))
        for target in graph.targets {
            // A module of this package or a package product must be named by the target that imports it.
            let undeclared = target.imports.filter { (local.contains($0) || products.contains($0)) && !target.dependencies.contains($0) && $0 != target.name }
            #expect(undeclared.isEmpty, "\(target.name) imports \(undeclared.sorted()) without declaring it in Package.swift")
        }
    }

    /// Resource types the access layer is about: patients, the organisation and its staff, the audit trail.
    static let accessVocabulary: Set<String> = [
        "Patient", "Organization", "Location", "Practitioner", "PractitionerRole", "HealthcareService", "AuditEvent", "Provenance",
        "Bundle", "OperationOutcome", "Parameters",
    ]

    @Test("Access's code names no clinical resource type: what makes a care relationship is the modules' word")
    func accessNamesNoClinicalType() throws {
        let definitions = Self.root.appendingPathComponent("Sources/FHIRCore/Definitions/Generated/r4-definitions.json")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: definitions)) as? [String: Any]
        let types = try #require(json?["types"] as? [String: [String: Any]])
        let resourceTypes = Set(types.filter { $0.value["kind"] as? String == "resource" && $0.value["abstract"] as? Bool != true }.keys)
        #expect(resourceTypes.count > 140 && resourceTypes.contains("Encounter"))
        let clinical = resourceTypes.subtracting(Self.accessVocabulary)
        let folder = Self.root.appendingPathComponent("Sources/Access")
        let files = try #require(FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil))
        var named: [String] = []
        for case let file as URL in files where file.pathExtension == "swift" {
            let text = try String(contentsOf: file, encoding: .utf8)
            for line in text.split(separator: "\n") where !line.trimmingCharacters(in: .whitespaces).hasPrefix("//") {
                for type in clinical where line.contains("\"\(type)\"") || line.contains("\"\(type)/") {
                    named.append("\(file.lastPathComponent): \(type)")
                }
            }
        }
        #expect(named.isEmpty, "Access names clinical resource types; let the module declare them (ClinicalModule.records): \(named.sorted())")
    }

    @Test("the graph reader sees a backend import that Package.swift does not declare")
    func readerSeesUndeclaredImports() throws {
        // The checks above are only as good as the reader: an import hidden in a nested folder must be found.
        let graph = try PackageGraph.read(root: Self.root)
        let access = try #require(graph.targets.first { $0.name == "Access" })
        #expect(access.imports.contains("Store") && access.dependencies.contains("Store"))
        let webApp = try #require(graph.targets.first { $0.name == "WebApp" })
        #expect(webApp.imports.contains("Mustache") && webApp.products.contains("Mustache"))
        #expect(!webApp.imports.isEmpty && webApp.sourceFiles > 10)
    }
}

/// Package.swift's targets with their declared dependencies, and the modules their sources import.
struct PackageGraph {
    enum Kind { case library, executable, test, system }

    struct Target {
        var name: String
        var kind: Kind
        /// Targets of this package and product names, as declared.
        var dependencies: Set<String>
        /// Product names among the dependencies (so imports of them can be told from system modules).
        var products: Set<String>
        var imports: Set<String> = []
        var sourceFiles = 0
        var isTest: Bool { kind == .test }
        /// What the target reaches directly: declared or imported.
        var uses: Set<String> { dependencies.union(imports) }
    }

    var targets: [Target]

    static func read(root: URL) throws -> PackageGraph {
        let manifest = try String(contentsOf: root.appendingPathComponent("Package.swift"), encoding: .utf8)
        var targets: [Target] = []
        // Each target declaration runs from its opening `.target(` to the next declaration.
        let kinds: [(String, Kind)] = [(".target(", .library), (".executableTarget(", .executable), (".testTarget(", .test), (".systemLibrary(", .system)]
        var starts: [(String.Index, Kind)] = []
        for (marker, kind) in kinds {
            var search = manifest.startIndex..<manifest.endIndex
            while let found = manifest.range(of: marker, range: search) {
                starts.append((found.lowerBound, kind))
                search = found.upperBound..<manifest.endIndex
            }
        }
        starts.sort { $0.0 < $1.0 }
        for (offset, (start, kind)) in starts.enumerated() {
            let end = offset + 1 < starts.count ? starts[offset + 1].0 : manifest.endIndex
            let text = String(manifest[start..<end])
            guard let name = firstMatch(#"name:\s*"([^"]+)""#, in: text) else { continue }
            var products = Set<String>()
            for product in allMatches(#"\.product\(name:\s*"([^"]+)""#, in: text) { products.insert(product) }
            var dependencies = products
            if let list = text.range(of: "dependencies:") {
                let tail = String(text[list.upperBound...])
                let closing = tail.range(of: "]").map { String(tail[..<$0.lowerBound]) } ?? tail
                // Plain strings in the list are targets of this package; `.product(name:` strings were taken above.
                let withoutProducts = closing.replacingOccurrences(of: #"\.product\([^)]*\)"#, with: "", options: .regularExpression)
                for dependency in allMatches(#""([^"]+)""#, in: withoutProducts) { dependencies.insert(dependency) }
            }
            targets.append(Target(name: name, kind: kind, dependencies: dependencies, products: products))
        }
        for index in targets.indices {
            let folder = root.appendingPathComponent(targets[index].isTest ? "Tests" : "Sources").appendingPathComponent(targets[index].name)
            guard let files = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil) else { continue }
            for case let file as URL in files where file.pathExtension == "swift" {
                targets[index].sourceFiles += 1
                let text = try String(contentsOf: file, encoding: .utf8)
                for line in text.split(separator: "\n") {
                    // `import X`, `@testable import X`, `public import X`, `@_exported import X`, `import struct X.Y`.
                    guard let module = firstMatch(#"^\s*(?:@\w+\s+)*(?:(?:public|package|internal|private|fileprivate)\s+)?import\s+(?:(?:struct|class|enum|protocol|func|var|let|typealias)\s+)?([A-Za-z_][A-Za-z0-9_]*)"#,
                                                  in: String(line)) else { continue }
                    targets[index].imports.insert(module)
                }
            }
        }
        return PackageGraph(targets: targets)
    }

    private static func firstMatch(_ pattern: String, in text: String) -> String? {
        allMatches(pattern, in: text).first
    }

    private static func allMatches(_ pattern: String, in text: String) -> [String] {
        guard let regex = try? NSRegularExpression(pattern: pattern) else { return [] }
        let range = NSRange(text.startIndex..., in: text)
        return regex.matches(in: text, range: range).compactMap { match in
            Range(match.range(at: 1), in: text).map { String(text[$0]) }
        }
    }
}
