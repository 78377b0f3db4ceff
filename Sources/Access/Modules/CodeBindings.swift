import FHIRCore
import StoreModel

/// Which coded elements of a module's records are checked against the terminology the server holds.
public struct CodeBindings: Sendable {
    /// One element bound to a value set: a coding there from a held code system must be in the set.
    public struct Binding: Sendable {
        public var type: String
        public var element: String
        public var valueSet: String

        public init(_ type: String, _ element: String, valueSet: String) {
            self.type = type
            self.element = element
            self.valueSet = valueSet
        }
    }

    /// Types whose every coding from a held code system must exist in it.
    public var checkedTypes: Set<String>
    public var bindings: [Binding]
    /// The module's own lists that templates define per region; the module checks those itself.
    public var ownSystems: Set<String>

    public init(checkedTypes: Set<String> = [], bindings: [Binding] = [], ownSystems: Set<String> = []) {
        self.checkedTypes = checkedTypes
        self.bindings = bindings
        self.ownSystems = ownSystems
    }

    /// The modules' bindings together.
    public static func combining(_ all: [CodeBindings]) -> CodeBindings {
        CodeBindings(checkedTypes: all.reduce(into: []) { $0.formUnion($1.checkedTypes) }, bindings: all.flatMap(\.bindings),
                     ownSystems: all.reduce(into: []) { $0.formUnion($1.ownSystems) })
    }
}

/// A code from a code system the server holds must exist in it: an unknown ICD-10-SE, KVÅ, ATC or NPU
/// code is a clear error naming where it is, not silently stored; and a coding in an element bound to
/// one of Kärna's value sets must be in that set. Codes of other systems are the sender's. Which
/// types and elements are checked is the modules' word (`ClinicalModule.codes`).
struct CodedValueRule: WriteRule {
    let codes: any CodeChecking
    let bindings: CodeBindings
    private let byType: [String: [CodeBindings.Binding]]

    init(codes: any CodeChecking, bindings: CodeBindings) {
        self.codes = codes
        self.bindings = bindings
        self.byType = Dictionary(grouping: bindings.bindings, by: \.type)
    }

    var types: Set<String> { bindings.checkedTypes.union(byType.keys) }

    func check(_ resource: JSONObject, id: String, current: StoredResource?, commit: [WriteOperation], session: PatientDataSession) async throws {
        let type = resource.resourceType ?? "Resource"
        // A code the record already held stays valid for it: an ordination of a product withdrawn since
        // can still be stopped, a diagnosis coded in last year's release still corrected. The earlier
        // version is read only when a code is in question (most writes have none).
        var problem = firstProblem(.object(resource), path: type, held: [])
        if problem != nil, let current, !current.isDeleted {
            problem = firstProblem(.object(resource), path: type, held: Self.codings(.object(current.object)))
        }
        if let problem { throw FHIRError(.invalid, code: .codeInvalid, problem.message, expression: [problem.path]) }
        for binding in byType[type] ?? [] {
            for (index, coding) in (resource[binding.element]?.objectValue?["coding"]?.arrayValue ?? []).enumerated() {
                guard let coding = coding.objectValue, let system = coding["system"]?.stringValue, let code = coding["code"]?.stringValue,
                      let systemTitle = codes.codeSystemTitle(system), try !codes.isMember(valueSet: binding.valueSet, system: system, code: code)
                else { continue }
                let path = "\(type).\(binding.element).coding[\(index)]"
                throw FHIRError(.invalid, code: .codeInvalid,
                                "\(path): '\(code)' (\(systemTitle)) is not in the value set \(codes.valueSetTitle(binding.valueSet) ?? binding.valueSet) that \(type).\(binding.element) is bound to",
                                expression: [path])
            }
        }
    }

    private func firstProblem(_ value: JSONValue, path: String, held: Set<String>) -> (message: String, path: String)? {
        switch value {
        case .object(let object):
            if let system = object["system"]?.stringValue, let code = object["code"]?.stringValue, !bindings.ownSystems.contains(system),
               !held.contains("\(system)|\(code)"), let problem = codes.problem(system: system, code: code) {
                return ("\(path): \(problem)", path)
            }
            for (key, member) in object where key != "meta" && key != "text" {
                if let found = firstProblem(member, path: "\(path).\(key)", held: held) { return found }
            }
        case .array(let items):
            for (index, item) in items.enumerated() {
                if let found = firstProblem(item, path: "\(path)[\(index)]", held: held) { return found }
            }
        default:
            break
        }
        return nil
    }

    /// Every `system|code` pair in a record.
    static func codings(_ value: JSONValue) -> Set<String> {
        switch value {
        case .object(let object):
            var found: Set<String> = []
            if let system = object["system"]?.stringValue, let code = object["code"]?.stringValue { found.insert("\(system)|\(code)") }
            for (key, member) in object where key != "meta" && key != "text" { found.formUnion(codings(member)) }
            return found
        case .array(let items):
            return items.reduce(into: []) { $0.formUnion(codings($1)) }
        default:
            return []
        }
    }
}
