import Foundation

/// The index rows of one resource version, one array per table kind.
public struct SearchIndexEntries: Sendable, Equatable {
    /// `system|code` (code, Coding, CodeableConcept, Identifier, ContactPoint, boolean), with folded display text for `:text`.
    public struct Token: Sendable, Hashable { public let parameter, system, code, text: String }
    /// Folded text for default and `:contains` matching; the original for `:exact`.
    public struct Text: Sendable, Hashable { public let parameter, value, exact: String }
    /// The instants (ms since 1970, UTC) a date, Period or Timing covers.
    public struct DateRange: Sendable, Hashable {
        public let parameter: String
        public let low, high: Int64
        public init(parameter: String, low: Int64, high: Int64) { self.parameter = parameter; self.low = low; self.high = high }
    }
    /// A local reference (`type`/`id`) or, for absolute and canonical references, the `url`.
    public struct Reference: Sendable, Hashable { public let parameter, targetType, targetID, url: String }
    public struct Quantity: Sendable, Hashable { public let parameter: String; public let value: Double; public let system, code, unit: String }
    public struct Number: Sendable, Hashable { public let parameter: String; public let value: Double }
    public struct URI: Sendable, Hashable { public let parameter, uri: String }
    /// A composite's first (token) part with its second part, whatever its kind.
    public struct Composite: Sendable, Hashable {
        public let parameter, system1, code1, system2, code2: String
        public let number2: Double?
        public let low2, high2: Int64?
    }

    public var tokens: [Token] = []
    public var strings: [Text] = []
    public var dates: [DateRange] = []
    public var references: [Reference] = []
    public var quantities: [Quantity] = []
    public var numbers: [Number] = []
    public var uris: [URI] = []
    public var composites: [Composite] = []

    public init() {}
}

extension SearchIndexEntries {
    /// A token parameter indexed together with a date parameter of the same type.
    public struct CodeDate: Sendable {
        public let code, date: String
    }

    /// The types whose code is indexed with the record's dates: one composite row per code holding the span
    /// of its dates (the earliest low, the latest high). A search of one code in a date window then reads
    /// one range of one index, where the code's rows and the date's rows each grow with the region and meet
    /// only per record (26,050 candidates for a page of 41 at 100,000 patients, docs/performance.md).
    public static let codeDate: [String: CodeDate] = ["Observation": CodeDate(code: "code", date: "date")]

    /// The composite rows' parameter name: `+` is in no FHIR search parameter's name, so it names no search.
    public static let codeDateParameter = "code+date"
}

/// Extracts search index rows from a resource with the R4 SearchParameter
/// expressions, compiled once per resource type.
public final class SearchIndexer: Sendable {
    /// One parameter ready to evaluate.
    struct Compiled: Sendable {
        let definition: SearchParameterDefinition
        let expression: FHIRPathExpression
        let components: [(SearchParameterDefinition, FHIRPathExpression)]
    }

    public static let r4 = SearchIndexer(definitions: .r4)

    private let engine: FHIRPathEngine
    private let compiled: [String: [Compiled]]

    public init(definitions: Definitions) {
        engine = FHIRPathEngine(definitions: definitions, tracksLocations: false, tracksElements: false)
        var compiled: [String: [Compiled]] = [:]
        for type in definitions.resourceTypes {
            compiled[type] = definitions.searchParameters(for: type).compactMap { parameter in
                // _id lives in the resource table; `special` parameters (near) are not indexed here.
                guard parameter.name != "_id", parameter.type != "special", let text = parameter.expression,
                      let expression = try? FHIRPathParser.parse(text) else { return nil }
                let components: [(SearchParameterDefinition, FHIRPathExpression)] = parameter.components.compactMap { component in
                    guard let definition = definitions.searchParameter(url: component.definition), let expression = try? FHIRPathParser.parse(component.expression) else { return nil }
                    return (definition, expression)
                }
                return Compiled(definition: parameter, expression: expression, components: components)
            }
        }
        self.compiled = compiled
    }

    /// The index rows of `resource`. Expressions that fail on odd data index nothing rather than refuse the write.
    public func entries(for resource: JSONObject, type: String) -> SearchIndexEntries {
        var entries = SearchIndexEntries()
        let root: [FHIRPathItem] = [.node(.resource(resource))]
        let context = engine.context(focus: root, rootResource: root)
        for parameter in compiled[type] ?? [] {
            guard let items = try? engine.eval(parameter.expression, root, context) else { continue }
            let name = parameter.definition.name
            switch parameter.definition.type {
            case "token": for item in items { Self.tokens(item, name) { entries.tokens.append($0) } }
            case "string": for item in items { Self.strings(item, name) { entries.strings.append($0) } }
            case "date": for item in items { if let range = Self.dateRange(item) { entries.dates.append(.init(parameter: name, low: range.0, high: range.1)) } }
            case "reference":
                for item in items {
                    Self.references(item, name) { entries.references.append($0) }
                    if case .node(let node) = item, case .object(let identifier)? = node.object?["identifier"] {
                        Self.tokens(.node(FHIRPathNode.typed(.object(identifier), "Identifier")), name + ":identifier") { entries.tokens.append($0) }
                    }
                }
            case "quantity": for item in items { if let q = Self.quantity(item, name) { entries.quantities.append(q) } }
            case "number":
                for item in items {
                    if let d = engine.decimalItem(item) { entries.numbers.append(.init(parameter: name, value: d.double)) }
                }
            case "uri":
                for item in items { if case .string(let s)? = item.systemValue { entries.uris.append(.init(parameter: name, uri: s)) } }
            case "composite":
                composite(parameter, items, into: &entries, context: context)
            default:
                break
            }
        }
        // Repeated values (a name given twice) make one row each.
        entries.tokens = unique(entries.tokens)
        entries.strings = unique(entries.strings)
        entries.dates = unique(entries.dates)
        entries.references = unique(entries.references)
        if let pair = SearchIndexEntries.codeDate[type] {
            let dates = entries.dates.filter { $0.parameter == pair.date }
            if let low = dates.lazy.map(\.low).min(), let high = dates.lazy.map(\.high).max() {
                for token in entries.tokens where token.parameter == pair.code && !token.code.isEmpty {
                    entries.composites.append(.init(parameter: SearchIndexEntries.codeDateParameter, system1: token.system, code1: token.code,
                                                    system2: "", code2: "", number2: nil, low2: low, high2: high))
                }
            }
        }
        return entries
    }

    private func unique<T: Hashable>(_ items: [T]) -> [T] {
        var seen = Set<T>()
        return items.filter { seen.insert($0).inserted }
    }

    private func composite(_ parameter: Compiled, _ bases: [FHIRPathItem], into entries: inout SearchIndexEntries, context: FHIRPathEngine.Context) {
        guard parameter.components.count >= 2 else { return }
        let (_, firstExpression) = parameter.components[0]
        let (secondDefinition, secondExpression) = parameter.components[1]
        for base in bases {
            guard let firsts = try? engine.eval(firstExpression, [base], context),
                  let seconds = try? engine.eval(secondExpression, [base], context) else { continue }
            var firstTokens: [SearchIndexEntries.Token] = []
            for item in firsts { Self.tokens(item, "") { firstTokens.append($0) } }
            for first in firstTokens {
                for second in seconds {
                    switch secondDefinition.type {
                    case "token", "reference", "string", "uri":
                        var seconds: [(String, String)] = []
                        if secondDefinition.type == "token" {
                            Self.tokens(second, "") { seconds.append(($0.system, $0.code)) }
                        } else if secondDefinition.type == "string" {
                            Self.strings(second, "") { seconds.append(("", $0.value)) }
                        } else if case .string(let s)? = second.systemValue {
                            seconds.append(("", s))
                        } else if case .node(let node) = second, let reference = node.object?["reference"]?.stringValue {
                            seconds.append(("", reference))
                        }
                        for (system, code) in seconds {
                            entries.composites.append(.init(parameter: parameter.definition.name, system1: first.system, code1: first.code,
                                                            system2: system, code2: code, number2: nil, low2: nil, high2: nil))
                        }
                    case "quantity", "number":
                        let value: Double?
                        var system = "", code = ""
                        if let q = Self.quantity(second, "") { value = q.value; system = q.system; code = q.code } else { value = engine.decimalItem(second)?.double }
                        if let value {
                            entries.composites.append(.init(parameter: parameter.definition.name, system1: first.system, code1: first.code,
                                                            system2: system, code2: code, number2: value, low2: nil, high2: nil))
                        }
                    case "date":
                        if let (low, high) = Self.dateRange(second) {
                            entries.composites.append(.init(parameter: parameter.definition.name, system1: first.system, code1: first.code,
                                                            system2: "", code2: "", number2: nil, low2: low, high2: high))
                        }
                    default:
                        break
                    }
                }
            }
        }
    }

    // MARK: Value extraction by FHIR type

    static func tokens(_ item: FHIRPathItem, _ parameter: String, _ add: (SearchIndexEntries.Token) -> Void) {
        guard case .node(let node) = item else {
            switch item {
            case .string(let s): add(.init(parameter: parameter, system: "", code: s, text: ""))
            case .boolean(let b): add(.init(parameter: parameter, system: "", code: b ? "true" : "false", text: ""))
            default: break
            }
            return
        }
        let object = node.object
        func string(_ key: String) -> String { object?[key]?.stringValue ?? "" }
        switch node.typeName {
        case "Coding":
            add(.init(parameter: parameter, system: string("system"), code: string("code"), text: SearchText.fold(string("display"))))
        case "CodeableConcept":
            let text = SearchText.fold(string("text"))
            var any = false
            if case .array(let codings)? = object?["coding"] {
                for case .object(let coding) in codings {
                    any = true
                    let display = coding["display"]?.stringValue.map(SearchText.fold) ?? ""
                    add(.init(parameter: parameter, system: coding["system"]?.stringValue ?? "", code: coding["code"]?.stringValue ?? "",
                              text: [text, display].filter { !$0.isEmpty }.joined(separator: " ")))
                }
            }
            if !any, !text.isEmpty { add(.init(parameter: parameter, system: "", code: "", text: text)) }
        case "Identifier":
            let system = string("system")
            var value = string("value")
            if let canonical = canonicalPersonalIdentity(system: system, value: value) { value = canonical }
            let typeText = object?["type"]?.objectValue?["text"]?.stringValue ?? ""
            add(.init(parameter: parameter, system: system, code: value, text: SearchText.fold(typeText)))
        case "ContactPoint":
            add(.init(parameter: parameter, system: string("system"), code: string("value"), text: ""))
        default:
            switch node.value {
            case .string(let s)?: add(.init(parameter: parameter, system: "", code: s, text: ""))
            case .bool(let b)?: add(.init(parameter: parameter, system: "", code: b ? "true" : "false", text: ""))
            default: break
            }
        }
    }

    /// Personnummer and samordningsnummer are indexed as 12 digits without separator, however they were written.
    public static func canonicalPersonalIdentity(system: String, value: String) -> String? {
        if system == Reservnummer.system { return (try? Reservnummer(value))?.canonical }
        guard system == SwedishPersonalIdentity.personnummerSystem || system == SwedishPersonalIdentity.samordningsnummerSystem,
              let identity = try? SwedishPersonalIdentity(value) else { return nil }
        return identity.canonical
    }

    static func strings(_ item: FHIRPathItem, _ parameter: String, _ add: (SearchIndexEntries.Text) -> Void) {
        func one(_ s: String) {
            let folded = SearchText.fold(s)
            if !folded.isEmpty { add(.init(parameter: parameter, value: folded, exact: s)) }
        }
        guard case .node(let node) = item else {
            if case .string(let s) = item { one(s) }
            return
        }
        switch node.typeName {
        case "HumanName", "Address":
            let keys = node.typeName == "HumanName"
                ? ["text", "family", "given", "prefix", "suffix"]
                : ["text", "line", "city", "district", "state", "postalCode", "country"]
            for key in keys {
                switch node.object?[key] {
                case .string(let s)?: one(s)
                case .array(let items)?: for case .string(let s) in items { one(s) }
                default: break
                }
            }
        default:
            if case .string(let s)? = node.value { one(s) }
        }
    }

    static func dateRange(_ item: FHIRPathItem) -> (Int64, Int64)? {
        if case .temporal(let t)? = item.systemValue, t.kind != .time { return t.range }
        guard case .node(let node) = item, let object = node.object else { return nil }
        func range(_ value: JSONValue?) -> (Int64, Int64)? {
            guard case .string(let s)? = value, let t = FHIRPathTemporal.parse(s), t.kind != .time else { return nil }
            return t.range
        }
        switch node.typeName {
        case "Period":
            let start = range(object["start"]), end = range(object["end"])
            guard start != nil || end != nil else { return nil }
            return (start?.0 ?? Int64.min, end?.1 ?? Int64.max)
        case "Timing":
            var low = Int64.max, high = Int64.min
            if case .array(let events)? = object["event"] {
                for event in events { if let r = range(event) { low = min(low, r.0); high = max(high, r.1) } }
            }
            if case .object(let bounds)? = object["repeat"]?.objectValue?["boundsPeriod"] {
                if let r = range(bounds["start"]) { low = min(low, r.0) }
                if let r = range(bounds["end"]) { high = max(high, r.1) } else if bounds["start"] != nil { high = Int64.max }
            }
            return low <= high ? (low, high) : nil
        default:
            return nil
        }
    }

    static func references(_ item: FHIRPathItem, _ parameter: String, _ add: (SearchIndexEntries.Reference) -> Void) {
        var text: String?
        switch item {
        case .string(let s): text = s
        case .node(let node): text = node.object?["reference"]?.stringValue ?? node.value?.stringValue
        default: break
        }
        guard var reference = text, !reference.hasPrefix("#") else { return }
        if let bar = reference.firstIndex(of: "|") { reference = String(reference[..<bar]) }
        if let key = ResourceKey(reference: reference) {
            add(.init(parameter: parameter, targetType: key.type, targetID: key.id, url: ""))
        } else if let key = ResourceKey(absoluteReference: reference) {
            // The store does not know its own base URL, so an absolute reference is indexed by its
            // Type/id too: a reference to this server written absolutely must still be found.
            add(.init(parameter: parameter, targetType: key.type, targetID: key.id, url: reference))
        } else {
            add(.init(parameter: parameter, targetType: "", targetID: "", url: reference))
        }
    }

    static func quantity(_ item: FHIRPathItem, _ parameter: String) -> SearchIndexEntries.Quantity? {
        guard case .node(let node) = item, let object = node.object, case .number(let n)? = object["value"], let value = Double(n) else { return nil }
        return .init(parameter: parameter, value: value, system: object["system"]?.stringValue ?? "",
                     code: object["code"]?.stringValue ?? "", unit: object["unit"]?.stringValue ?? "")
    }
}

extension FHIRPathNode {
    /// A node of a known data type, for values the indexer builds itself.
    static func typed(_ value: JSONValue, _ type: String) -> FHIRPathNode {
        FHIRPathNode(value: value, typeName: type, definitionType: type, definitionPath: "", location: type)
    }
}
