/// A strict RFC 8259 parser into `JSONValue`.
///
/// Written here rather than taken from Foundation because FHIR needs what
/// `JSONSerialization` and `JSONDecoder` drop: decimal text, member order,
/// duplicate-key detection, byte positions in errors and explicit limits.
public struct JSONParser {
    private let bytes: [UInt8]
    private let limits: JSONLimits
    private var index = 0
    private var depth = 0
    /// Up to this many keys an object's duplicates are found by a scan (cheaper than hashing for FHIR's small objects).
    static let scannedKeys = 16

    public static func parse(_ bytes: [UInt8], limits: JSONLimits = JSONLimits()) throws(JSONParseError) -> JSONValue {
        var parser = JSONParser(bytes: bytes, limits: limits)
        parser.skipWhitespace()
        if parser.index == 0, bytes.starts(with: [0xEF, 0xBB, 0xBF]) { parser.index = 3 }
        let value = try parser.parseValue()
        parser.skipWhitespace()
        if parser.index != bytes.count {
            throw parser.error(.syntax("unexpected content after the end of the JSON value"))
        }
        return value
    }

    public static func parse(_ text: String, limits: JSONLimits = JSONLimits()) throws(JSONParseError) -> JSONValue {
        try parse(Array(text.utf8), limits: limits)
    }

    private init(bytes: [UInt8], limits: JSONLimits) {
        self.bytes = bytes
        self.limits = limits
    }

    private func error(_ reason: JSONParseError.Reason, at offset: Int? = nil) -> JSONParseError {
        let offset = min(offset ?? index, bytes.count)
        var line = 1
        var lineStart = 0
        for i in 0..<offset where bytes[i] == UInt8(ascii: "\n") {
            line += 1
            lineStart = i + 1
        }
        return JSONParseError(reason: reason, offset: offset, line: line, column: offset - lineStart + 1)
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func parseValue() throws(JSONParseError) -> JSONValue {
        guard index < bytes.count else { throw error(.syntax("unexpected end of input")) }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default:
            throw error(.syntax("unexpected character '\(Self.printable(bytes[index]))'"))
        }
    }

    private static func printable(_ byte: UInt8) -> String {
        byte >= 0x20 && byte < 0x7F ? String(UnicodeScalar(byte)) : "\\x" + String(byte, radix: 16)
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONParseError) {
        let start = index
        let expected = UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount)
        guard bytes.count - index >= expected.count,
              bytes[index..<index + expected.count].elementsEqual(expected)
        else { throw error(.syntax("invalid literal; expected '\(literal)'"), at: start) }
        index += expected.count
    }

    private mutating func enter() throws(JSONParseError) {
        depth += 1
        if depth > limits.maxDepth { throw error(.tooDeep(limits.maxDepth)) }
    }

    private mutating func parseObject() throws(JSONParseError) -> JSONValue {
        try enter()
        index += 1
        var members: [(key: String, value: JSONValue)] = []
        // Duplicate keys: a scan while the object is small, a set from then on, so an object of many
        // keys costs linear time, not quadratic (40,000 keys were 6.6 s of CPU with the scan alone).
        var seen: Set<[UInt8]>? = nil
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            depth -= 1
            return .object(JSONObject(members))
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                throw error(.syntax("expected a property name in double quotes"))
            }
            let keyStart = index
            let key = try parseString()
            // Keys compare by bytes: FHIR property names are ASCII.
            let duplicate: Bool
            if var set = seen {
                seen = nil
                duplicate = !set.insert(Array(key.utf8)).inserted
                seen = set
            } else if members.count < Self.scannedKeys {
                duplicate = members.contains(where: { $0.key.utf8.elementsEqual(key.utf8) })
            } else {
                var set = Set(members.map { Array($0.key.utf8) })
                duplicate = !set.insert(Array(key.utf8)).inserted
                seen = set
            }
            if duplicate { throw error(.duplicateKey(key), at: keyStart) }
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
                throw error(.syntax("expected ':' after the property name '\(key)'"))
            }
            index += 1
            skipWhitespace()
            let value = try parseValue()
            members.append((key, value))
            skipWhitespace()
            guard index < bytes.count else { throw error(.syntax("unexpected end of input inside an object")) }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if bytes[index] == UInt8(ascii: "}") {
                index += 1
                depth -= 1
                return .object(JSONObject(members))
            }
            throw error(.syntax("expected ',' or '}' in an object"))
        }
    }

    private mutating func parseArray() throws(JSONParseError) -> JSONValue {
        try enter()
        index += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            depth -= 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            if elements.count == limits.maxArrayElements { throw error(.tooManyElements(limits.maxArrayElements)) }
            elements.append(try parseValue())
            skipWhitespace()
            guard index < bytes.count else { throw error(.syntax("unexpected end of input inside an array")) }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if bytes[index] == UInt8(ascii: "]") {
                index += 1
                depth -= 1
                return .array(elements)
            }
            throw error(.syntax("expected ',' or ']' in an array"))
        }
    }

    private mutating func parseNumber() throws(JSONParseError) -> JSONValue {
        let start = index
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count, isDigit(bytes[index]) else { throw error(.syntax("invalid number")) }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if index < bytes.count, isDigit(bytes[index]) {
                throw error(.syntax("numbers must not have leading zeros"), at: start)
            }
        } else {
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else { throw error(.syntax("a digit must follow the decimal point")) }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count, isDigit(bytes[index]) else { throw error(.syntax("a digit must follow the exponent")) }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        return .number(String(decoding: bytes[start..<index], as: UTF8.self))
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    private mutating func parseString() throws(JSONParseError) -> String {
        let quote = index
        index += 1
        let start = index
        // Fast path: no escapes, so the bytes between the quotes are the string.
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                try checkLength(index - start, at: start)
                guard let text = String(validating: bytes[start..<index], as: UTF8.self) else {
                    throw error(.invalidUTF8, at: firstInvalidUTF8(from: start, to: index))
                }
                index += 1
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 {
                throw error(.syntax("a control character (U+00\(Self.hex2(byte))) must be escaped inside a string"))
            }
            index += 1
        }
        guard index < bytes.count else { throw error(.syntax("unterminated string"), at: quote) }
        return try parseEscapedString(from: start)
    }

    private mutating func parseEscapedString(from start: Int) throws(JSONParseError) -> String {
        var buffer = Array(bytes[start..<index])
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                try checkLength(buffer.count, at: start)
                guard let text = String(validating: buffer, as: UTF8.self) else {
                    throw error(.invalidUTF8, at: firstInvalidUTF8(from: start, to: index))
                }
                index += 1
                return text
            }
            if byte < 0x20 {
                throw error(.syntax("a control character (U+00\(Self.hex2(byte))) must be escaped inside a string"))
            }
            if byte != UInt8(ascii: "\\") {
                buffer.append(byte)
                index += 1
                continue
            }
            index += 1
            guard index < bytes.count else { break }
            let escape = bytes[index]
            index += 1
            switch escape {
            case UInt8(ascii: "\""): buffer.append(0x22)
            case UInt8(ascii: "\\"): buffer.append(0x5C)
            case UInt8(ascii: "/"): buffer.append(0x2F)
            case UInt8(ascii: "b"): buffer.append(0x08)
            case UInt8(ascii: "f"): buffer.append(0x0C)
            case UInt8(ascii: "n"): buffer.append(0x0A)
            case UInt8(ascii: "r"): buffer.append(0x0D)
            case UInt8(ascii: "t"): buffer.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try parseHex4()
                if (0xD800...0xDBFF).contains(scalar) {
                    guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                        throw error(.syntax("a high surrogate escape must be followed by a low surrogate"))
                    }
                    index += 2
                    let low = try parseHex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw error(.syntax("invalid low surrogate escape")) }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw error(.syntax("a lone low surrogate escape is not a character"))
                }
                guard let unicode = Unicode.Scalar(scalar) else { throw error(.syntax("invalid unicode escape")) }
                buffer.append(contentsOf: Array(String(Character(unicode)).utf8))
            default:
                throw error(.syntax("invalid escape '\\\(Self.printable(escape))'"), at: index - 2)
            }
        }
        throw error(.syntax("unterminated string"), at: start - 1)
    }

    private mutating func parseHex4() throws(JSONParseError) -> UInt32 {
        guard bytes.count - index >= 4 else { throw error(.syntax("a \\u escape needs four hex digits")) }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case 0x30...0x39: digit = UInt32(byte - 0x30)
            case 0x41...0x46: digit = UInt32(byte - 0x41 + 10)
            case 0x61...0x66: digit = UInt32(byte - 0x61 + 10)
            default: throw error(.syntax("a \\u escape needs four hex digits"))
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    private func checkLength(_ length: Int, at offset: Int) throws(JSONParseError) {
        if length > limits.maxStringBytes { throw error(.stringTooLong(limits.maxStringBytes), at: offset) }
    }

    private func firstInvalidUTF8(from start: Int, to end: Int) -> Int {
        var i = start
        while i < end {
            let byte = bytes[i]
            let length: Int
            switch byte {
            case 0x00...0x7F: length = 1
            case 0xC2...0xDF: length = 2
            case 0xE0...0xEF: length = 3
            case 0xF0...0xF4: length = 4
            default: return i
            }
            if i + length > end { return i }
            if String(validating: bytes[i..<i + length], as: UTF8.self) == nil { return i }
            i += length
        }
        return start
    }

    private static func hex2(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
    }
}
