import FHIRCore
import StoreModel

/// A Parameters resource under construction (operation answers that are not one resource). Each
/// parameter is kept as its JSON bytes, so a stored resource goes in as the bytes it was stored as
/// rather than parsed and written again (a chart overview carries a hundred of them).
public struct ParametersBuilder: Sendable {
    public init() {}

    private(set) var parameters: [[UInt8]] = []

    private mutating func append(_ name: String, _ member: String, _ value: JSONValue) {
        parameters.append(JSONWriter.bytes(.object(JSONObject([("name", .string(name)), (member, value)]))))
    }

    public mutating func add(_ name: String, _ value: String?) {
        guard let value else { return }
        append(name, "valueString", .string(value))
    }

    public mutating func add(_ name: String, int value: Int?) {
        guard let value else { return }
        append(name, "valueInteger", .number(String(value)))
    }

    /// A decimal with at most `places` decimals (trailing zeros dropped).
    public mutating func add(_ name: String, decimal value: Double?, places: Int = 1) {
        guard let value, value.isFinite else { return }
        let factor = (0..<places).reduce(1.0) { product, _ in product * 10 }
        let rounded = (value * factor).rounded() / factor
        let text = rounded == rounded.rounded() ? String(Int64(rounded)) : String(rounded)
        append(name, "valueDecimal", .number(text))
    }

    public mutating func add(_ name: String, bool value: Bool) {
        append(name, "valueBoolean", .bool(value))
    }

    public mutating func add(_ name: String, reference: String?) {
        guard let reference else { return }
        append(name, "valueReference", .object(JSONObject([("reference", .string(reference))])))
    }

    public mutating func add(_ name: String, resource: StoredResource) {
        parameters.append(Self.member(name, "resource", resource.json))
    }

    public mutating func add(_ name: String, part: ParametersBuilder) {
        parameters.append(Self.member(name, "part", Self.array(part.parameters)))
    }

    /// The Parameters resource as JSON bytes.
    public var bytes: [UInt8] {
        Array(#"{"resourceType":"Parameters","parameter":"#.utf8) + Self.array(parameters) + [UInt8(ascii: "}")]
    }

    /// `{"name":NAME,"MEMBER":VALUE}` around JSON bytes already written.
    private static func member(_ name: String, _ member: String, _ value: [UInt8]) -> [UInt8] {
        Array(#"{"name":"#.utf8) + JSONWriter.bytes(.string(name)) + Array(",\"\(member)\":".utf8) + value + [UInt8(ascii: "}")]
    }

    private static func array(_ items: [[UInt8]]) -> [UInt8] {
        var bytes: [UInt8] = [UInt8(ascii: "[")]
        for (index, item) in items.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes += item
        }
        bytes.append(UInt8(ascii: "]"))
        return bytes
    }
}

