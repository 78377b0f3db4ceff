import Foundation

/// A parsed FHIR search: filters (all must hold) and result controls.
public struct SearchQuery: Sendable {
    /// How many matches to count.
    public enum TotalMode: String, Sendable { case none, estimate, accurate }

    /// A `_sort` key: a parameter of the searched type, or `_id`.
    public struct SortKey: Sendable {
        public let parameter: String
        public let type: String
        public let descending: Bool
    }

    /// `_include` / `_revinclude`: `SourceType:parameter[:TargetType]`, optionally iterated.
    public struct Include: Sendable, Hashable {
        public let sourceType: String
        /// The reference parameter; `*` for all of them.
        public let parameter: String
        public let targetType: String?
        public let iterate: Bool
    }

    public let type: String
    public var filters: [SearchFilter] = []
    public var sort: [SortKey] = []
    public var count: Int?
    /// Keyset cursor for the default order (by id): only ids after this one.
    public var afterID: String?
    /// Keyset cursor backwards (the `previous` link): only ids before this one, the page nearest to it.
    public var beforeID: String?
    /// Offset for explicit `_sort` orders of several keys.
    public var offset = 0
    /// Keyset cursor for a one-key `_sort` order (`_after`): only matches after this one in that order.
    public var sortAfter: SortCursor?
    public var total: TotalMode?
    public var summary: String?
    public var elements: [String]?
    public var includes: [Include] = []
    public var revIncludes: [Include] = []
    /// Parameters ignored in lenient handling, with why.
    public var ignored: [(name: String, reason: String)] = []
    /// The canonical query text of the filters, for `self` and `next` links.
    public var filterText: [(String, String)] = []

    public init(type: String) { self.type = type }

    /// Sorted by one parameter other than `_id`: its pages follow a keyset cursor (`_after`), so each
    /// costs about what the first does. Sorts by several keys page by offset.
    public var isKeysetSorted: Bool { sort.count == 1 && sort[0].parameter != "_id" }
}

/// Where a page of a one-key sorted search ends: the last match's sort value (nil when it has none:
/// matches without a value come last, in id order) and its id. Written in links as `_after`.
public struct SortCursor: Sendable, Equatable {
    /// A sort value as the index holds it: a date's milliseconds, a number, or text.
    public enum Value: Sendable, Equatable {
        case integer(Int64)
        case real(Double)
        case text(String)
    }

    public var value: Value?
    public var id: String

    public init(value: Value?, id: String) {
        self.value = value
        self.id = id
    }

    /// `i:1700000000000~abc`, `r:4.5~abc`, `t:text~abc`, `n~abc`: the id last, as ids hold no `~`.
    public var encoded: String {
        switch value {
        case .integer(let n)?: "i:\(n)~\(id)"
        case .real(let x)?: "r:\(x)~\(id)"
        case .text(let t)?: "t:\(t)~\(id)"
        case nil: "n~\(id)"
        }
    }

    public init?(encoded: String) {
        guard let tilde = encoded.lastIndex(of: "~") else { return nil }
        let head = encoded[..<tilde]
        id = String(encoded[encoded.index(after: tilde)...])
        guard !id.isEmpty else { return nil }
        if head == "n" { value = nil; return }
        guard head.count >= 2, head.dropFirst().first == ":" else { return nil }
        let body = String(head.dropFirst(2))
        switch head.first {
        case "i": guard let n = Int64(body) else { return nil }; value = .integer(n)
        case "r": guard let x = Double(body) else { return nil }; value = .real(x)
        case "t": value = .text(body)
        default: return nil
        }
    }
}

/// One condition of a search.
public indirect enum SearchFilter: Sendable {
    case ids([String])
    /// Values of one parameter, any of which may match (comma-separated OR).
    case values(parameter: String, type: String, modifier: String?, values: [SearchValue])
    /// `:missing=true|false`.
    case missing(parameter: String, type: String, missing: Bool)
    /// `subject:Patient.name=…`: the reference parameter points at a resource of one of `targetTypes` matching `filter`.
    case chain(parameter: String, targetTypes: [String], filter: [String: SearchFilter])
    /// `_has:Observation:patient:code=…`: some `sourceType` whose `parameter` points here matches `filter`.
    case reverseChain(sourceType: String, parameter: String, filter: SearchFilter)
    /// Any of these holds (compartment membership through several parameters).
    case anyOf([SearchFilter])
}

/// One value of a search parameter, parsed for its type.
public indirect enum SearchValue: Sendable {
    /// A date or number comparison prefix (FHIR R4 search §3.1.1.4.1.1).
    public enum Prefix: String, Sendable, CaseIterable { case eq, ne, gt, lt, ge, le, sa, eb, ap }

    /// `system|code`: a nil system matches any, a nil code any code in the system.
    case token(system: String?, code: String?)
    case text(String)
    case string(String)
    /// The range the value covers, in ms since 1970.
    case date(Prefix, low: Int64, high: Int64)
    /// The value and the range its precision implies.
    case number(Prefix, value: Double, low: Double, high: Double)
    case quantity(Prefix, value: Double, low: Double, high: Double, system: String?, code: String?)
    case reference(type: String?, id: String?, url: String?)
    case uri(String)
    case composite(system: String?, code: String?, second: SearchValue)
}

extension SearchQuery {
    /// Whether a search on this R4 parameter is answered (the CapabilityStatement lists exactly these):
    /// it needs an expression to index, and a composite one a code as its first part.
    public static func isSupported(_ definition: SearchParameterDefinition, in definitions: Definitions = .r4) -> Bool {
        guard definition.type != "special", definition.expression != nil else { return false }
        guard definition.type == "composite" else { return true }
        guard definition.components.count == 2, let first = definitions.searchParameter(url: definition.components[0].definition) else { return false }
        return first.type == "token"
    }

    /// Parses `parameters` (already percent-decoded) for a search of `type`.
    ///
    /// Unknown or unsupported parameters are an error when `strict`, else listed in `ignored`.
    public static func parse(type: String, parameters: [(name: String, value: String)], baseURL: String = "",
                             strict: Bool, definitions: Definitions = .r4) throws(FHIRError) -> SearchQuery {
        var query = SearchQuery(type: type)
        let parser = SearchParser(definitions: definitions, baseURL: baseURL)
        for (name, value) in parameters {
            switch name {
            case "_count":
                guard let n = Int(value), n >= 0 else { throw invalid(name, value, "a whole number of 0 or more") }
                query.count = n
            case "_cursor": query.afterID = value
            case "_before": query.beforeID = value
            case "_after":
                guard let cursor = SortCursor(encoded: value) else { throw invalid(name, value, "the _after cursor of a next link") }
                query.sortAfter = cursor
            case "_offset":
                guard let n = Int(value), n >= 0 else { throw invalid(name, value, "a whole number of 0 or more") }
                query.offset = n
            case "_total":
                guard let mode = TotalMode(rawValue: value) else { throw invalid(name, value, "none, estimate or accurate") }
                query.total = mode
            case "_summary": query.summary = value
            case "_elements": query.elements = value.split(separator: ",").map { String($0).trimming(" ") }
            case "_format", "_pretty", "_contained", "_containedType": continue
            case "_sort":
                for key in value.split(separator: ",") {
                    let descending = key.hasPrefix("-")
                    let name = String(descending ? key.dropFirst() : key)
                    if name == "_id" { query.sort.append(SortKey(parameter: "_id", type: "token", descending: descending)); continue }
                    guard let parameter = parser.parameter(type, name), ["string", "date", "token", "number", "quantity", "reference", "uri"].contains(parameter.type) else {
                        throw FHIRError(.invalid, code: .invalid, "_sort names '\(name)', which is not a sortable search parameter of \(type)")
                    }
                    query.sort.append(SortKey(parameter: name, type: parameter.type, descending: descending))
                }
            case "_include", "_include:iterate", "_revinclude", "_revinclude:iterate":
                let parts = value.split(separator: ":").map(String.init)
                guard parts.count >= 2, definitions.isResourceType(parts[0]) else {
                    throw invalid(name, value, "SourceType:parameter[:TargetType]")
                }
                if parts[1] != "*" {
                    guard let parameter = parser.parameter(parts[0], parts[1]), parameter.type == "reference" else {
                        throw FHIRError(.invalid, code: .invalid, "\(name)=\(value): \(parts[0]) has no reference parameter '\(parts[1])'")
                    }
                }
                let include = Include(sourceType: parts[0], parameter: parts[1], targetType: parts.count > 2 ? parts[2] : nil,
                                      iterate: name.hasSuffix(":iterate"))
                if name.hasPrefix("_include") { query.includes.append(include) } else { query.revIncludes.append(include) }
            default:
                do {
                    if let filter = try parser.filter(type: type, name: name, value: value) {
                        query.filters.append(filter)
                        query.filterText.append((name, value))
                    }
                } catch let unsupported as SearchParser.Unsupported {
                    if strict { throw FHIRError(.invalid, code: .notSupported, unsupported.message) }
                    query.ignored.append((name, unsupported.message))
                } catch let error as FHIRError {
                    throw error
                } catch {
                    throw FHIRError(.invalid, code: .invalid, "\(name)=\(value): \(error)")
                }
            }
        }
        if query.sortAfter != nil, !query.isKeysetSorted {
            throw FHIRError(.invalid, code: .invalid, "_after continues a search sorted by one parameter (other than _id); this one is not")
        }
        return query
    }

    static func invalid(_ name: String, _ value: String, _ expected: String) -> FHIRError {
        FHIRError(.invalid, code: .invalid, "\(name)=\(value) is not valid: expected \(expected)")
    }
}

/// Turns one `name[:modifier][.chain]=value` pair into a filter.
struct SearchParser {
    /// A parameter this server does not know or support; lenient handling ignores it.
    struct Unsupported: Error { let message: String }

    let definitions: Definitions
    let baseURL: String

    init(definitions: Definitions, baseURL: String) {
        self.definitions = definitions
        self.baseURL = baseURL
    }

    func parameter(_ type: String, _ name: String) -> SearchParameterDefinition? {
        definitions.searchParameter(name, of: type)
    }

    static let modifiers: [String: Set<String>] = [
        "token": ["not", "text", "missing"],
        "string": ["exact", "contains", "missing"],
        "date": ["missing"], "number": ["missing"], "quantity": ["missing"],
        "reference": ["missing", "identifier"],
        "uri": ["missing", "below", "above"],
        "composite": [],
    ]

    func filter(type: String, name: String, value: String) throws(any Error) -> SearchFilter? {
        if name.hasPrefix("_has:") { return try reverseChain(type: type, name: name, value: value) }
        var base = name
        var chainRest: String?
        if let dot = name.firstIndex(of: ".") {
            base = String(name[..<dot])
            chainRest = String(name[name.index(after: dot)...])
        }
        var modifier: String?
        if let colon = base.firstIndex(of: ":") {
            modifier = String(base[base.index(after: colon)...])
            base = String(base[..<colon])
        }
        if base == "_id" {
            guard modifier == nil, chainRest == nil else { throw FHIRError(.invalid, code: .invalid, "_id takes no modifier or chain") }
            return .ids(splitValues(value))
        }
        guard let definition = parameter(type, base) else {
            throw Unsupported(message: "\(type) has no search parameter '\(base)'")
        }
        if !SearchQuery.isSupported(definition, in: definitions) {
            throw Unsupported(message: "the search parameter '\(base)' of \(type) is not supported")
        }
        if let chainRest {
            guard definition.type == "reference" else {
                throw FHIRError(.invalid, code: .invalid, "'\(name)': only reference parameters can be chained, and '\(base)' is a \(definition.type)")
            }
            var targets = definition.targets
            if let modifier {
                guard targets.contains(modifier) else {
                    throw FHIRError(.invalid, code: .invalid, "'\(name)': '\(base)' cannot refer to a \(modifier)")
                }
                targets = [modifier]
            }
            var byType: [String: SearchFilter] = [:]
            let innerName = chainRest
            let innerBase = String(innerName.split(separator: ".").first!.split(separator: ":").first!)
            for target in targets where innerBase == "_id" || parameter(target, innerBase) != nil || innerBase.hasPrefix("_has") {
                if let inner = try filter(type: target, name: innerName, value: value) { byType[target] = inner }
            }
            guard !byType.isEmpty else {
                throw FHIRError(.invalid, code: .invalid, "'\(name)': none of \(targets.joined(separator: ", ")) has a search parameter '\(innerBase)'")
            }
            return .chain(parameter: base, targetTypes: Array(byType.keys).sorted(), filter: byType)
        }
        if let modifier, definition.type == "reference", definitions.isResourceType(modifier) {
            // `subject:Patient=123` names the target type.
            return .values(parameter: base, type: "reference", modifier: nil,
                           values: splitValues(value).map { reference($0, type: modifier) })
        }
        if let modifier, !(Self.modifiers[definition.type] ?? []).contains(modifier) {
            throw FHIRError(.invalid, code: .invalid, "'\(name)': the modifier ':\(modifier)' is not supported for \(definition.type) parameters")
        }
        if modifier == "missing" {
            guard value == "true" || value == "false" else { throw SearchQuery.invalid(name, value, "true or false") }
            return .missing(parameter: base, type: definition.type, missing: value == "true")
        }
        if modifier == "identifier" {
            return .values(parameter: base + ":identifier", type: "token", modifier: nil, values: try splitValues(value).map { v throws(FHIRError) in try token(v, name: name) })
        }
        var values: [SearchValue] = []
        for text in splitValues(value) {
            values += try self.values(text, definition: definition, modifier: modifier, name: name)
        }
        guard !values.isEmpty else { throw FHIRError(.invalid, code: .invalid, "the search parameter '\(name)' has no value") }
        return .values(parameter: base, type: definition.type, modifier: modifier, values: values)
    }

    private func reverseChain(type: String, name: String, value: String) throws(any Error) -> SearchFilter? {
        // _has:SourceType:parameter:rest
        let parts = name.split(separator: ":", maxSplits: 3).map(String.init)
        guard parts.count == 4, definitions.isResourceType(parts[1]) else {
            throw FHIRError(.invalid, code: .invalid, "'\(name)' must look like _has:Type:parameter:filter")
        }
        guard let reference = parameter(parts[1], parts[2]), reference.type == "reference" else {
            throw FHIRError(.invalid, code: .invalid, "'\(name)': \(parts[1]) has no reference parameter '\(parts[2])'")
        }
        guard let inner = try filter(type: parts[1], name: parts[3], value: value) else { return nil }
        return .reverseChain(sourceType: parts[1], parameter: parts[2], filter: inner)
    }

    /// Splits on commas not escaped with a backslash.
    func splitValues(_ value: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var escaped = false
        for c in value {
            if escaped { current.append(c); escaped = false; continue }
            if c == "\\" { escaped = true; continue }
            if c == "," { parts.append(current); current = ""; continue }
            current.append(c)
        }
        parts.append(current)
        return parts.filter { !$0.isEmpty }
    }

    private func values(_ text: String, definition: SearchParameterDefinition, modifier: String?, name: String) throws(FHIRError) -> [SearchValue] {
        switch definition.type {
        case "token":
            if modifier == "text" { return [.text(SearchText.fold(text))] }
            return try tokenValues(text, name: name)
        case "string":
            return [.string(text)]
        case "date":
            return [try date(text, name: name)]
        case "number":
            let (prefix, rest) = Self.prefix(text)
            guard let (value, low, high) = Self.number(rest) else { throw SearchQuery.invalid(name, text, "a number such as 100 or ge5.4") }
            return [.number(prefix, value: value, low: low, high: high)]
        case "quantity":
            return [try quantity(text, name: name)]
        case "reference":
            return [reference(text, type: nil)]
        case "uri":
            return [.uri(text)]
        case "composite":
            let parts = text.split(separator: "$", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw SearchQuery.invalid(name, text, "two parts joined by $, such as http://loinc.org|8480-6$gt100") }
            guard case .token(let system, let code) = try token(parts[0], name: name) else { return [] }
            let second = definition.components.count > 1 ? definitions.searchParameter(url: definition.components[1].definition) : nil
            let secondValue: SearchValue
            switch second?.type {
            case "quantity": secondValue = try quantity(parts[1], name: name)
            case "date": secondValue = try date(parts[1], name: name)
            case "number":
                let (prefix, rest) = Self.prefix(parts[1])
                guard let (value, low, high) = Self.number(rest) else { throw SearchQuery.invalid(name, text, "a number after $") }
                secondValue = .number(prefix, value: value, low: low, high: high)
            case "string": secondValue = .string(parts[1])
            default: secondValue = try token(parts[1], name: name)
            }
            return [.composite(system: system, code: code, second: secondValue)]
        default:
            throw FHIRError(.invalid, code: .notSupported, "the search parameter '\(name)' is not supported")
        }
    }

    /// A token, plus its canonical 12-digit form when it is a personnummer or samordningsnummer.
    private func tokenValues(_ text: String, name: String) throws(FHIRError) -> [SearchValue] {
        let value = try token(text, name: name)
        guard case .token(let system, let code?) = value else { return [value] }
        if system == nil || system == SwedishPersonalIdentity.personnummerSystem || system == SwedishPersonalIdentity.samordningsnummerSystem,
           let identity = try? SwedishPersonalIdentity(code), identity.canonical != code {
            if system == nil { return [value, .token(system: nil, code: identity.canonical)] }
            return [.token(system: system, code: identity.canonical)]
        }
        if system == Reservnummer.system, let reserve = try? Reservnummer(code), reserve.canonical != code {
            return [.token(system: system, code: reserve.canonical)]
        }
        return [value]
    }

    private func token(_ text: String, name: String) throws(FHIRError) -> SearchValue {
        guard let bar = text.firstIndex(of: "|") else { return .token(system: nil, code: text) }
        let system = String(text[..<bar]), code = String(text[text.index(after: bar)...])
        if system.isEmpty, code.isEmpty { throw SearchQuery.invalid(name, text, "system|code, |code, system| or code") }
        return .token(system: system, code: code.isEmpty ? nil : code)
    }

    static func prefix(_ text: String) -> (SearchValue.Prefix, String) {
        if text.count > 2, let prefix = SearchValue.Prefix(rawValue: String(text.prefix(2))), !text.dropFirst(2).first!.isLetter {
            return (prefix, String(text.dropFirst(2)))
        }
        return (.eq, text)
    }

    private func date(_ text: String, name: String) throws(FHIRError) -> SearchValue {
        let (prefix, rest) = Self.prefix(text)
        guard let temporal = FHIRPathTemporal.parse(rest), temporal.kind != .time else {
            throw SearchQuery.invalid(name, text, "a date such as 2024, 2024-05, 2024-05-01 or 2024-05-01T10:00:00+02:00, with an optional prefix eq, ne, gt, lt, ge, le, sa, eb or ap")
        }
        let range = temporal.range
        return .date(prefix, low: range.low, high: range.high)
    }

    /// A number with the range its significant digits imply (`100` is 99.5 ≤ x < 100.5).
    static func number(_ text: String) -> (Double, Double, Double)? {
        guard let value = Double(text), text.first.map({ $0.isNumber || $0 == "-" || $0 == "+" || $0 == "." }) == true else { return nil }
        var scale = 0
        if let dot = text.firstIndex(of: "."), !text.lowercased().contains("e") { scale = text.distance(from: dot, to: text.endIndex) - 1 }
        let half = 0.5 * pow(10, Double(-scale))
        return (value, value - half, value + half)
    }

    private func quantity(_ text: String, name: String) throws(FHIRError) -> SearchValue {
        let (prefix, rest) = Self.prefix(text)
        let parts = rest.split(separator: "|", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        guard let (value, low, high) = Self.number(parts[0]) else {
            throw SearchQuery.invalid(name, text, "[prefix]number[|system|code], such as 5.4|http://unitsofmeasure.org|mg")
        }
        let system = parts.count > 1 && !parts[1].isEmpty ? parts[1] : nil
        let code = parts.count > 2 && !parts[2].isEmpty ? parts[2] : nil
        return .quantity(prefix, value: value, low: low, high: high, system: system, code: code)
    }

    private func reference(_ text: String, type: String?) -> SearchValue {
        var text = text
        if !baseURL.isEmpty, text.hasPrefix(baseURL + "/") { text = String(text.dropFirst(baseURL.count + 1)) }
        if let range = text.range(of: "/_history/") { text = String(text[..<range.lowerBound]) }
        if let key = ResourceKey(reference: text) {
            if let type, type != key.type { return .reference(type: type, id: "\u{0}", url: nil) }
            return .reference(type: key.type, id: key.id, url: nil)
        }
        if text.contains(":") || text.contains("/") { return .reference(type: nil, id: nil, url: text) }
        return .reference(type: type, id: text, url: nil)
    }
}
