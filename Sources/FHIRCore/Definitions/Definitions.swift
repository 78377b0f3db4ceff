import Foundation

/// The FHIR R4 definitions Kärna runs on, generated from the official
/// StructureDefinitions, SearchParameters and Patient CompartmentDefinition by
/// `scripts/generate_definitions.py`.
public struct Definitions: Sendable {
    public let fhirVersion: String
    public let types: [String: TypeDefinition]
    public let primitives: Set<String>
    /// The regular expression of each primitive's value, as the specification states it.
    public let primitiveRegexes: [String: String]
    public let searchParameters: [String: [SearchParameterDefinition]]
    /// Each resource type's parameters by name (its own, Resource's and DomainResource's), built once.
    private let searchParametersByName: [String: [String: SearchParameterDefinition]]
    private let searchParametersByURL: [String: SearchParameterDefinition]
    /// For each resource type in the Patient compartment: the search parameters that link it to the patient.
    public let patientCompartment: [String: [String]]
    /// Invariants by type and element path ("" for the type's root), from the StructureDefinitions.
    public let constraints: [String: [String: [Constraint]]]

    /// One invariant (ele-1, dom-2, pat-1 …): a FHIRPath expression that must hold for each instance of its element.
    public struct Constraint: Sendable, Decodable {
        public let key: String
        public let severity: String
        public let expression: String
        public let human: String
    }

    /// The R4 definitions shipped with the package, loaded once.
    public static let r4: Definitions = GeneratedFile.load("r4-definitions") { try Definitions(data: $0) }

    init(data: Data) throws {
        struct File: Decodable {
            struct TypeFile: Decodable {
                let kind: TypeDefinition.Kind
                let abstract: Bool
                let base: String?
                let elements: [ElementDefinition]
            }
            let fhirVersion: String
            struct Primitive: Decodable {
                let regex: String?
                let maxLength: Int?
            }
            let primitives: [String: Primitive]
            let types: [String: TypeFile]
            let searchParameters: [String: [SearchParameterDefinition]]
            let patientCompartment: [String: [String]]
            let constraints: [String: [String: [Constraint]]]?
        }
        let file = try JSONDecoder().decode(File.self, from: data)
        fhirVersion = file.fhirVersion
        primitives = Set(file.primitives.keys)
        primitiveRegexes = file.primitives.compactMapValues(\.regex)
        var types: [String: TypeDefinition] = [:]
        for (name, type) in file.types {
            types[name] = TypeDefinition(name: name, kind: type.kind, isAbstract: type.abstract, base: type.base, elements: type.elements)
        }
        self.types = types
        searchParameters = file.searchParameters
        var byURL: [String: SearchParameterDefinition] = [:]
        for list in file.searchParameters.values { for parameter in list { byURL[parameter.url] = parameter } }
        searchParametersByURL = byURL
        var byName: [String: [String: SearchParameterDefinition]] = [:]
        for (name, type) in file.types where type.kind == .resource && !type.abstract {
            let all = (file.searchParameters["Resource"] ?? []) + (file.searchParameters["DomainResource"] ?? []) + (file.searchParameters[name] ?? [])
            byName[name] = Dictionary(all.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        }
        searchParametersByName = byName
        patientCompartment = file.patientCompartment
        constraints = file.constraints ?? [:]
    }

    /// The concrete resource types (Patient, Observation …), sorted.
    public var resourceTypes: [String] {
        types.values.filter { $0.kind == .resource && !$0.isAbstract }.map(\.name).sorted()
    }

    public func isResourceType(_ name: String) -> Bool {
        guard let type = types[name] else { return false }
        return type.kind == .resource && !type.isAbstract
    }

    /// Whether `type` is `ancestor` or derives from it (`code` from `string`, `Patient` from `Resource`).
    public func type(_ type: String, derivesFrom ancestor: String) -> Bool {
        var current: String? = type
        while let name = current {
            if name == ancestor { return true }
            current = types[name]?.base
        }
        return false
    }

    /// The search parameter `name` of `resourceType`, if it has one.
    public func searchParameter(_ name: String, of resourceType: String) -> SearchParameterDefinition? {
        searchParametersByName[resourceType]?[name]
    }

    /// The search parameter with this canonical URL (a composite's components name theirs so).
    public func searchParameter(url: String) -> SearchParameterDefinition? {
        searchParametersByURL[url]
    }

    /// Search parameters that apply to `resourceType`, its own and those of Resource and DomainResource.
    public func searchParameters(for resourceType: String) -> [SearchParameterDefinition] {
        (searchParameters["Resource"] ?? []) + (searchParameters["DomainResource"] ?? []) + (searchParameters[resourceType] ?? [])
    }
}
