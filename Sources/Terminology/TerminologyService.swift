import FHIRCore
import Foundation
import Synchronization

/// The code systems and value sets every module looks codes up in (terminologitjänst):
/// `$lookup`, `$validate-code` and `$expand`, and the check that a coded value is real.
public final class TerminologyService: Sendable {
    /// What `$lookup` answers.
    public struct Lookup: Sendable {
        public var system: CodeSystemContent
        public var concept: Concept
        public var parentDisplay: String?
        public var children: [Concept]
    }

    /// What `$validate-code` answers.
    public struct Validation: Sendable, Equatable {
        public var result: Bool
        public var message: String?
        public var display: String?
    }

    /// One code of an expansion.
    public struct Entry: Sendable, Equatable {
        public var system: String
        public var code: String
        public var display: String
    }

    /// An expansion page: the matching codes from `offset`, and how many match in all.
    public struct Expansion: Sendable {
        public var valueSet: ValueSetDefinition
        public var total: Int
        public var offset: Int
        public var entries: [Entry]
    }

    private struct State {
        var systems: [String: IndexedSystem] = [:]
        var valueSets: [String: ValueSetDefinition] = [:]
    }

    /// A code system with its display text folded once for type-ahead.
    private struct IndexedSystem {
        var content: CodeSystemContent
        var folded: [String: String]

        init(_ content: CodeSystemContent) {
            self.content = content
            // A product is found by its substance, ATC code or strength as well as by its name.
            folded = content.concepts.mapValues { concept in
                TerminologyService.fold(([concept.code, concept.display] + concept.properties.map(\.value)).joined(separator: " "))
            }
        }
    }

    private let state = Mutex(State())
    /// The largest page `$expand` returns; bigger requests are refused by name.
    public let maximumExpansion: Int

    public init(maximumExpansion: Int = 1_000) {
        self.maximumExpansion = maximumExpansion
    }

    /// A service holding the small code lists Kärna ships (marked with their source and date).
    public static func shipped(maximumExpansion: Int = 1_000) -> TerminologyService {
        let service = TerminologyService(maximumExpansion: maximumExpansion)
        ShippedTerminology.load(into: service)
        return service
    }

    // MARK: Registry

    /// Adds or replaces a code system (by url).
    public func register(_ system: CodeSystemContent) {
        let indexed = IndexedSystem(system)
        state.withLock { $0.systems[system.url] = indexed }
    }

    /// Adds or replaces a value set (by url).
    public func register(_ valueSet: ValueSetDefinition) {
        state.withLock { $0.valueSets[valueSet.url] = valueSet }
    }

    /// Takes in a stored CodeSystem or ValueSet; other resources are ignored. A CodeSystem whose content
    /// is `not-present` or `example` is not a source of truth and is not used for validation.
    public func load(resource: JSONObject) throws(FHIRError) {
        switch resource.resourceType {
        case "CodeSystem":
            guard ["complete", "fragment", nil].contains(resource["content"]?.stringValue) else { return }
            register(try CodeSystemContent(resource: resource))
        case "ValueSet":
            register(try ValueSetDefinition(resource: resource))
        default:
            return
        }
    }

    public func codeSystem(_ url: String) -> CodeSystemContent? { state.withLock { $0.systems[url]?.content } }
    public func valueSet(_ url: String) -> ValueSetDefinition? { state.withLock { $0.valueSets[url] } }
    public var codeSystems: [CodeSystemContent] { state.withLock { $0.systems.values.map(\.content) }.sorted { $0.url < $1.url } }
    public var valueSets: [ValueSetDefinition] { state.withLock { Array($0.valueSets.values) }.sorted { $0.url < $1.url } }

    // MARK: Operations

    /// `CodeSystem/$lookup`: the concept, or a 404 naming the system or the code that is unknown.
    public func lookup(system url: String, code: String) throws(FHIRError) -> Lookup {
        guard let system = codeSystem(url) else {
            throw FHIRError(.notFound, code: .notFound, "the code system '\(url)' is not known to this server", expression: ["system"])
        }
        guard let concept = system.concepts[code] else {
            throw FHIRError(.notFound, code: .notFound, "'\(code)' is not a code of \(system.title)\(Self.versionText(system))", expression: ["code"])
        }
        return Lookup(system: system, concept: concept, parentDisplay: concept.parent.flatMap { system.concepts[$0]?.display },
                      children: system.childCodes(of: code).compactMap { system.concepts[$0] })
    }

    /// `$validate-code` against a code system, or against a value set when `valueSet` is given.
    public func validate(system url: String, code: String, display: String? = nil, valueSet: String? = nil) throws(FHIRError) -> Validation {
        if let valueSet {
            guard let definition = self.valueSet(valueSet) else {
                throw FHIRError(.notFound, code: .notFound, "the value set '\(valueSet)' is not known to this server", expression: ["url"])
            }
            guard try contains(definition, system: url, code: code, depth: 0) else {
                return Validation(result: false, message: "'\(code)' (\(url)) is not in the value set \(definition.title)", display: nil)
            }
        }
        guard let system = codeSystem(url) else {
            if valueSet != nil { return Validation(result: true, message: nil, display: nil) }
            return Validation(result: false, message: "the code system '\(url)' is not known to this server", display: nil)
        }
        guard let concept = system.concepts[code] else {
            return Validation(result: false, message: "'\(code)' is not a code of \(system.title)\(Self.versionText(system))", display: nil)
        }
        if concept.inactive {
            return Validation(result: false, message: "'\(code)' (\(concept.display)) is inactive in \(system.title)", display: concept.display)
        }
        if let display, !display.isEmpty, Self.fold(display) != Self.fold(concept.display) {
            return Validation(result: true, message: "the display for '\(code)' is '\(concept.display)', not '\(display)'", display: concept.display)
        }
        return Validation(result: true, message: nil, display: concept.display)
    }

    /// The problem with a coded value whose system this server holds, or nil when it is known (or the
    /// system is not one the server holds: those codes are the sender's responsibility).
    public func problem(system url: String, code: String) -> String? {
        guard let system = codeSystem(url) else { return nil }
        guard let concept = system.concepts[code] else {
            let hint = system.content == "fragment" ? " (the server holds only a subset; load the full release with `karna terminology import`)" : ""
            return "'\(code)' is not a code of \(system.title)\(Self.versionText(system))\(hint)"
        }
        return concept.inactive ? "'\(code)' (\(concept.display)) is inactive in \(system.title)" : nil
    }

    /// Whether a coding is in a value set, or a clear error naming the value set when it is unknown.
    public func isMember(valueSet url: String, system: String, code: String) throws(FHIRError) -> Bool {
        guard let definition = valueSet(url) else {
            throw FHIRError(.notFound, code: .notFound, "the value set '\(url)' is not known to this server", expression: ["url"])
        }
        return try contains(definition, system: system, code: code, depth: 0)
    }

    /// `ValueSet/$expand`, with `filter` for type-ahead: every word of the filter must start a word of the
    /// code or display (case and accents ignored); codes that start with the filter come first.
    public func expand(url: String, filter: String? = nil, offset: Int = 0, count: Int? = nil) throws(FHIRError) -> Expansion {
        guard let definition = valueSet(url) else {
            throw FHIRError(.notFound, code: .notFound, "the value set '\(url)' is not known to this server", expression: ["url"])
        }
        let count = count ?? min(100, maximumExpansion)
        guard count >= 0, count <= maximumExpansion else {
            throw FHIRError(.tooLarge, code: .tooCostly, "count must be between 0 and \(maximumExpansion) (KARNA_MAX_EXPANSION)", expression: ["count"])
        }
        guard offset >= 0 else { throw FHIRError(.invalid, code: .value, "offset must not be negative", expression: ["offset"]) }
        let words = filter.map { Self.fold($0).split(separator: " ").map(String.init) } ?? []
        let matches: [Entry] = try state.withLock { state throws(FHIRError) in
            var seen = Set<String>()
            var first: [Entry] = [], rest: [Entry] = []
            for (system, code) in try Self.members(definition, state: state, depth: 0) {
                guard seen.insert("\(system)|\(code)").inserted, let indexed = state.systems[system], let concept = indexed.content.concepts[code] else { continue }
                if concept.inactive { continue }
                if !words.isEmpty {
                    let text = indexed.folded[code] ?? ""
                    let textWords = text.split(separator: " ")
                    guard words.allSatisfy({ word in textWords.contains { $0.hasPrefix(word) } }) else { continue }
                    if Self.fold(code).hasPrefix(words[0]) {
                        first.append(Entry(system: system, code: code, display: concept.display))
                        continue
                    }
                }
                rest.append(Entry(system: system, code: code, display: concept.display))
            }
            return first + rest
        }
        return Expansion(valueSet: definition, total: matches.count, offset: offset, entries: Array(matches.dropFirst(offset).prefix(count)))
    }

    // MARK: Value set logic

    private func contains(_ definition: ValueSetDefinition, system: String, code: String, depth: Int) throws(FHIRError) -> Bool {
        try state.withLock { state throws(FHIRError) in try Self.contains(definition, system: system, code: code, state: state, depth: depth) }
    }

    private static func contains(_ definition: ValueSetDefinition, system: String, code: String, state: State, depth: Int) throws(FHIRError) -> Bool {
        guard depth < 8 else { throw FHIRError(.invalid, code: .tooCostly, "value set \(definition.url) includes value sets more than 8 levels deep") }
        func matches(_ rule: ValueSetDefinition.Rule) throws(FHIRError) -> Bool {
            for url in rule.valueSets {
                guard let nested = state.valueSets[url] else { throw FHIRError(.notFound, code: .notFound, "value set \(url), included by \(definition.url), is not known") }
                if try !contains(nested, system: system, code: code, state: state, depth: depth + 1) { return false }
            }
            guard rule.system.isEmpty || rule.system == system else { return false }
            if rule.system.isEmpty { return !rule.valueSets.isEmpty }
            let content = state.systems[system]?.content
            if !rule.codes.isEmpty { return rule.codes.contains(code) }
            for filter in rule.filters {
                guard let content, content.isA(code, filter.value), !(filter.op == "descendent-of" && code == filter.value) else { return false }
            }
            return content?.concepts[code] != nil
        }
        for rule in definition.exclude where try matches(rule) { return false }
        for rule in definition.include where try matches(rule) { return true }
        return false
    }

    /// Every (system, code) of a value set, in the order of its rules and the systems' own order.
    private static func members(_ definition: ValueSetDefinition, state: State, depth: Int) throws(FHIRError) -> [(String, String)] {
        guard depth < 8 else { throw FHIRError(.invalid, code: .tooCostly, "value set \(definition.url) includes value sets more than 8 levels deep") }
        var result: [(String, String)] = []
        for rule in definition.include {
            var codes: [(String, String)]
            if rule.system.isEmpty {
                codes = []
            } else if !rule.codes.isEmpty {
                codes = rule.codes.map { (rule.system, $0) }
            } else if let content = state.systems[rule.system]?.content {
                codes = content.order.filter { code in
                    rule.filters.allSatisfy { content.isA(code, $0.value) && !($0.op == "descendent-of" && code == $0.value) }
                }.map { (rule.system, $0) }
            } else {
                throw FHIRError(.notFound, code: .notFound, "code system \(rule.system), used by \(definition.url), is not known")
            }
            for url in rule.valueSets {
                guard let nested = state.valueSets[url] else { throw FHIRError(.notFound, code: .notFound, "value set \(url), included by \(definition.url), is not known") }
                let nestedCodes = try members(nested, state: state, depth: depth + 1)
                codes = rule.system.isEmpty && codes.isEmpty ? nestedCodes : codes.filter { code in nestedCodes.contains { $0 == code } }
            }
            result += codes
        }
        if definition.exclude.isEmpty { return result }
        let excluded = ValueSetDefinition(url: definition.url + "#exclude", name: "", title: "", include: definition.exclude)
        let removed = Set(try members(excluded, state: state, depth: depth + 1).map { "\($0.0)|\($0.1)" })
        return result.filter { !removed.contains("\($0.0)|\($0.1)") }
    }

    // MARK: Text

    /// Lower case without accents, punctuation as spaces: "Läkemedel, ospec." → "lakemedel ospec." — how
    /// type-ahead and the journal's text search compare words.
    public static func fold(_ text: String) -> String {
        let folded = text.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: Locale(identifier: "sv_SE"))
        return String(folded.unicodeScalars.map { CharacterSet.alphanumerics.contains($0) || $0 == "." ? Character($0) : " " })
    }

    static func versionText(_ system: CodeSystemContent) -> String { system.version.map { " (version \($0))" } ?? "" }
}

extension TerminologyService: CodeChecking {
    public func codeSystemTitle(_ system: String) -> String? { codeSystem(system)?.title }
    public func valueSetTitle(_ url: String) -> String? { valueSet(url)?.title }
}
