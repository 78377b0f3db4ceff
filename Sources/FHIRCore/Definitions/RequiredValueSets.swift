import Foundation

/// The value sets of every required binding in R4 and the code systems they draw on, generated from
/// the release's `required-valuesets.json.gz` by `scripts/generate_definitions.py`. The validator
/// checks codes against them; the terminology service serves them through `$expand` and `$validate-code`.
public struct RequiredValueSets: Sendable {
    /// One code system of the release, with its concepts in the release's order.
    public struct CodeSystem: Sendable {
        public let url: String
        public let name: String
        public let title: String
        public let version: String?
        /// (code, display, parent code) in the release's order; nested concepts name their parent.
        public let concepts: [(code: String, display: String, parent: String?)]
    }

    /// One value set: the systems it includes, each whole, as listed codes, or checked by a rule.
    public struct ValueSet: Sendable {
        public let url: String
        public let name: String
        public let title: String
        public let version: String?
        public let include: [Include]
        /// Every code the value set holds by system, for membership tests (rule-checked systems hold none).
        let codes: [String: Set<String>]

        /// Whether `code` of `system` is in the value set.
        public func contains(system: String, code: String) -> Bool {
            if codes[system]?.contains(code) == true { return true }
            return include.contains { $0.system == system && $0.rule?.accepts(code) == true }
        }

        /// Whether a bare `code` (a FHIR `code` element, which carries no system) is in the value set.
        public func contains(code: String) -> Bool {
            if codes.values.contains(where: { $0.contains(code) }) { return true }
            return include.contains { $0.rule?.accepts(code) == true }
        }

        /// The systems a coding must come from to be judged by this value set.
        public var systems: Set<String> { Set(include.map(\.system)) }
    }

    /// One include of a value set's compose.
    public struct Include: Sendable {
        public let system: String
        /// Listed codes; empty means every code of the system (or every code its rule accepts).
        public let codes: [String]
        public let rule: Rule?
    }

    /// A system the release includes whole but does not enumerate: a grammar or an external list.
    public enum Rule: String, Sendable {
        /// `urn:ietf:bcp:13`: a media type, `type/subtype` with optional parameters (RFC 6838), or one of the
        /// short names `xml`, `json`, `ttl` that R4 allows where it binds a format (CapabilityStatement.format).
        case mimeType = "mime-type"
        /// `http://unitsofmeasure.org`: a UCUM expression, printable ASCII with balanced brackets; the full grammar is not parsed.
        case ucum
        /// `urn:iso:std:iso:4217`: three capital letters (the list itself is not shipped).
        case currency

        func accepts(_ code: String) -> Bool {
            switch self {
            case .mimeType:
                if code == "xml" || code == "json" || code == "ttl" { return true }
                return code.wholeMatch(of: /[A-Za-z0-9!#$&^_.+-]+\/[A-Za-z0-9!#$&^_.+-]+(\s*;.*)?/) != nil
            case .currency:
                return code.wholeMatch(of: /[A-Z]{3}/) != nil
            case .ucum:
                guard !code.isEmpty, code.unicodeScalars.allSatisfy({ $0.value >= 0x21 && $0.value <= 0x7E }) else { return false }
                var depth: [Character] = []
                for character in code {
                    switch character {
                    case "(", "[", "{": depth.append(character)
                    case ")": guard depth.popLast() == "(" else { return false }
                    case "]": guard depth.popLast() == "[" else { return false }
                    case "}": guard depth.popLast() == "{" else { return false }
                    default: continue
                    }
                }
                return depth.isEmpty
            }
        }
    }

    public let codeSystems: [String: CodeSystem]
    public let valueSets: [String: ValueSet]

    /// The table shipped with the package, loaded once.
    public static let r4: RequiredValueSets = GeneratedFile.load("r4-valuesets") { try RequiredValueSets(data: $0) }

    init(data: Data) throws {
        struct File: Decodable {
            struct System: Decodable {
                let name: String
                let title: String
                let version: String?
                let concepts: [[String]]
            }
            struct Set: Decodable {
                struct Item: Decodable {
                    let system: String
                    let codes: [String]?
                    let rule: String?
                }
                let name: String
                let title: String
                let version: String?
                let include: [Item]
            }
            let codeSystems: [String: System]
            let valueSets: [String: Set]
        }
        let file = try JSONDecoder().decode(File.self, from: data)
        var systems: [String: CodeSystem] = [:]
        for (url, system) in file.codeSystems {
            systems[url] = CodeSystem(url: url, name: system.name, title: system.title, version: system.version,
                                      concepts: system.concepts.map { ($0[0], $0.count > 1 ? $0[1] : $0[0], $0.count > 2 ? $0[2] : nil) })
        }
        var valueSets: [String: ValueSet] = [:]
        for (url, set) in file.valueSets {
            var codes: [String: Swift.Set<String>] = [:]
            var include: [Include] = []
            for item in set.include {
                let rule = item.rule.flatMap(Rule.init(rawValue:))
                if item.rule != nil && rule == nil {
                    throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "unknown rule '\(item.rule!)' in \(url)"))
                }
                include.append(Include(system: item.system, codes: item.codes ?? [], rule: rule))
                if let listed = item.codes {
                    codes[item.system, default: []].formUnion(listed)
                } else if let system = systems[item.system] {
                    codes[item.system, default: []].formUnion(system.concepts.map(\.code))
                }
            }
            valueSets[url] = ValueSet(url: url, name: set.name, title: set.title, version: set.version, include: include, codes: codes)
        }
        codeSystems = systems
        self.valueSets = valueSets
    }
}
