import Foundation

/// A decimal that remembers how many fraction digits it was written with,
/// because FHIRPath echoes precision (`1.50`) and boundaries depend on it.
public struct FHIRPathDecimal: Sendable, Hashable {
    public var value: Decimal
    public var scale: Int

    public init(_ value: Decimal, scale: Int) {
        self.value = value
        self.scale = max(0, scale)
    }

    public init?(_ text: String) {
        guard let value = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")),
              text.allSatisfy({ $0.isNumber || $0 == "." || $0 == "-" || $0 == "+" || $0 == "e" || $0 == "E" })
        else { return nil }
        self.value = value
        // JSON allows exponents (1e-22): the scale is the fraction digits less the exponent.
        var mantissa = Substring(text)
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = text[..<e]
            exponent = Int(text[text.index(after: e)...]) ?? 0
        }
        let fraction = mantissa.firstIndex(of: ".").map { mantissa.distance(from: $0, to: mantissa.endIndex) - 1 } ?? 0
        scale = max(0, fraction - exponent)
    }

    public var text: String {
        var rounded = Decimal()
        var source = value
        NSDecimalRound(&rounded, &source, scale, .plain)
        var s = NSDecimalNumber(decimal: rounded).stringValue
        guard scale > 0 else { return s }
        if !s.contains(".") { s += "." }
        let have = s.distance(from: s.firstIndex(of: ".")!, to: s.endIndex) - 1
        return s + String(repeating: "0", count: max(0, scale - have))
    }

    public var double: Double { NSDecimalNumber(decimal: value).doubleValue }
}

/// A FHIRPath Quantity: a decimal with a UCUM unit or a calendar duration keyword.
public struct FHIRPathQuantity: Sendable, Hashable {
    public var value: FHIRPathDecimal
    public var unit: String

    public var text: String {
        let calendar: Set<String> = ["year", "years", "month", "months", "week", "weeks", "day", "days", "hour", "hours",
                                     "minute", "minutes", "second", "seconds", "millisecond", "milliseconds"]
        return calendar.contains(unit) ? "\(value.text) \(unit)" : "\(value.text) '\(unit)'"
    }
}

/// One item of a FHIRPath collection: a System value or a node of the resource tree.
public enum FHIRPathItem: Sendable {
    case boolean(Bool)
    case integer(Int)
    case decimal(FHIRPathDecimal)
    case string(String)
    case temporal(FHIRPathTemporal)
    case quantity(FHIRPathQuantity)
    /// An element or resource of the instance, with its FHIR type.
    case node(FHIRPathNode)
    /// The result of `type()`: a namespace and a name.
    case typeInfo(namespace: String, name: String)

    /// The System value of a primitive node (or the item itself); nil for complex nodes and value-less primitives.
    public var systemValue: FHIRPathItem? {
        guard case .node(let node) = self else { return self }
        return node.systemValue
    }
}

/// A node of the instance tree: its JSON, its FHIR type and where its children are defined.
public struct FHIRPathNode: Sendable {
    /// The JSON value (nil for a primitive that carries only extensions).
    public let value: JSONValue?
    /// For a primitive: the `_name` object with its id and extensions.
    public let primitiveExtension: JSONObject?
    /// The FHIR type name (`HumanName`, `code`, `Patient`); empty when unknown.
    public let typeName: String
    /// The type definition and element path whose children describe this node's members.
    let definitionType: String
    let definitionPath: String
    /// The element's path from the root, for messages (`Patient.name[0].given[1]`).
    public let location: String
    /// Where the element is declared: the type and path whose constraints apply to it (empty for roots).
    var elementType = ""
    var elementPath = ""

    init(value: JSONValue?, primitiveExtension: JSONObject? = nil, typeName: String, definitionType: String, definitionPath: String, location: String) {
        self.value = value
        self.primitiveExtension = primitiveExtension
        self.typeName = typeName
        self.definitionType = definitionType
        self.definitionPath = definitionPath
        self.location = location
    }

    /// A resource as the root of an evaluation.
    public static func resource(_ object: JSONObject, location: String? = nil) -> FHIRPathNode {
        let type = object["resourceType"]?.stringValue ?? ""
        return FHIRPathNode(value: .object(object), typeName: type, definitionType: type, definitionPath: "", location: location ?? type)
    }

    public var object: JSONObject? { value?.objectValue }

    /// Whether the node is a resource's root (the resource itself, contained or in a Bundle entry), not an element.
    public var isResourceRoot: Bool { definitionPath.isEmpty && definitionType == typeName && object?["resourceType"] != nil }

    public var systemValue: FHIRPathItem? {
        guard let value else { return nil }
        switch (typeName, value) {
        case ("boolean", .bool(let b)): return .boolean(b)
        case ("integer", .number(let n)), ("positiveInt", .number(let n)), ("unsignedInt", .number(let n)), ("integer64", .number(let n)):
            return Int(n).map { .integer($0) } ?? FHIRPathDecimal(n).map { .decimal($0) }
        case ("decimal", .number(let n)):
            // Beyond Foundation's Decimal range (1e-245) the value is kept approximately rather than lost.
            return (FHIRPathDecimal(n) ?? Double(n).map { FHIRPathDecimal(Decimal($0), scale: 0) }).map { .decimal($0) }
        case ("date", .string(let s)): return FHIRPathTemporal.parse(s, kind: .date).map { .temporal($0) }
        case ("dateTime", .string(let s)), ("instant", .string(let s)):
            return FHIRPathTemporal.parse(s).map { var t = $0; if t.kind == .date { t.kind = .dateTime }; return .temporal(t) }
        case ("time", .string(let s)): return FHIRPathTemporal.parse("T" + s, kind: .time).map { .temporal($0) }
        case (_, .string(let s)): return .string(s)
        case (_, .bool(let b)): return .boolean(b)
        case (_, .number(let n)): return Int(n).map { .integer($0) } ?? FHIRPathDecimal(n).map { .decimal($0) }
        default:
            if typeName == "Quantity" || Self.quantityTypes.contains(typeName), let object = value.objectValue,
               case .number(let n)? = object["value"], let decimal = FHIRPathDecimal(n) {
                let unit = object["code"]?.stringValue ?? object["unit"]?.stringValue ?? "1"
                return .quantity(FHIRPathQuantity(value: decimal, unit: unit))
            }
            return nil
        }
    }

    static let quantityTypes: Set<String> = ["Quantity", "SimpleQuantity", "Age", "Count", "Distance", "Duration", "MoneyQuantity"]
}

/// An error in a FHIRPath expression or its evaluation, with where it happened.
public struct FHIRPathError: Error, Sendable, CustomStringConvertible {
    /// Syntax (parse), semantic (unknown element or function), or execution (e.g. `single()` on many).
    public enum Kind: String, Sendable { case syntax, semantic, execution }
    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { "\(kind.rawValue) error: \(message)" }
}
