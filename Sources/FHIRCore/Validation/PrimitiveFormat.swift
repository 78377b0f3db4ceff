/// Checks of the lexical forms of the R4 primitive types.
///
/// Written as small scanners rather than with the spec's regular expressions
/// because validation runs on every primitive of every write and
/// NSRegularExpression is slow on Linux; `PrimitiveFormatTests` checks these
/// against the regexes in the generated definitions. Dates are also checked
/// against the calendar, which the regexes do not do.
public enum PrimitiveFormat {
    /// Why a primitive value was refused, or nil when it is fine.
    public static func problem(type: String, value: JSONValue) -> String? {
        switch type {
        case "boolean":
            return value.boolValue == nil ? "expected a JSON boolean, found a \(value.kindName)" : nil
        case "integer", "positiveInt", "unsignedInt", "decimal":
            guard case .number(let text) = value else { return "expected a JSON number, found a \(value.kindName)" }
            return numberProblem(type: type, text: text)
        default:
            guard case .string(let text) = value else { return "expected a JSON string, found a \(value.kindName)" }
            return stringProblem(type: type, text: text)
        }
    }

    static func numberProblem(type: String, text: String) -> String? {
        let isInteger = !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" })
        switch type {
        case "integer":
            guard isInteger, let n = Int64(text), n >= Int64(Int32.min), n <= Int64(Int32.max) else {
                return "'\(text)' is not a 32-bit integer"
            }
        case "positiveInt":
            guard isInteger, let n = Int64(text), n >= 1, n <= Int64(Int32.max) else {
                return "'\(text)' is not a positive integer (1 or more)"
            }
        case "unsignedInt":
            guard isInteger, let n = Int64(text), n >= 0, n <= Int64(Int32.max), !text.hasPrefix("-") else {
                return "'\(text)' is not an unsigned integer (0 or more)"
            }
        case "decimal":
            // 1e400 is well-formed JSON but no number any system can store or compare: refused, not stored as infinity.
            guard let number = Double(text), number.isFinite else { return "'\(text)' is not a finite decimal number" }
        default:
            break
        }
        return nil
    }

    static func stringProblem(type: String, text: String) -> String? {
        if text.isEmpty { return "an empty string is not a valid \(type); leave the element out instead" }
        let utf8 = text.utf8
        switch type {
        case "string", "markdown":
            if let bad = utf8.first(where: { $0 < 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D }) {
                return "contains the control character U+\(String(format2: bad)); only tab, carriage return and line feed are allowed"
            }
            if type == "string", utf8.count > 1_048_576 { return "is longer than the 1 MiB FHIR allows for a string" }
            if utf8.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) {
                return "a string of only white space is not valid"
            }
            return nil
        case "code":
            if utf8.first.map(isSpace) == true || utf8.last.map(isSpace) == true { return "'\(text)' has leading or trailing white space" }
            var previousSpace = false
            for byte in utf8 {
                if byte < 0x20 && byte != 0x09 { return "a code may not contain control characters" }
                let space = isSpace(byte)
                if space && previousSpace { return "'\(text)' has more than one space in a row" }
                previousSpace = space
            }
            return nil
        case "id":
            guard utf8.count <= 64, utf8.allSatisfy(isIdByte) else {
                return "'\(text)' is not a valid id (1–64 of A–Z, a–z, 0–9, '-' and '.')"
            }
            return nil
        case "uri", "url", "canonical":
            return utf8.contains(where: { isSpace($0) || $0 < 0x20 }) ? "a \(type) may not contain white space" : nil
        case "oid":
            return isOID(text) ? nil : "'\(text)' is not an OID (urn:oid:1.2.3…)"
        case "uuid":
            return isUUIDURN(text) ? nil : "'\(text)' is not a lower-case urn:uuid"
        case "base64Binary":
            // The spec's pattern allows white space only between groups of four characters.
            var count = 0
            for byte in utf8 {
                if isSpace(byte) {
                    if count % 4 != 0 { return "white space inside a group of four base64 characters" }
                    continue
                }
                guard isBase64Byte(byte) else { return "contains a character that is not base64" }
                count += 1
            }
            return count % 4 == 0 ? nil : "base64 length is not a multiple of 4"
        case "date":
            return FHIRDateTime.parse(text, allowTime: false) == nil ? "'\(text)' is not a valid date (YYYY, YYYY-MM or YYYY-MM-DD)" : nil
        case "dateTime":
            return FHIRDateTime.parse(text, allowTime: true) == nil
                ? "'\(text)' is not a valid dateTime (YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss with a time zone)" : nil
        case "instant":
            guard let parsed = FHIRDateTime.parse(text, allowTime: true), parsed.precision == .time else {
                return "'\(text)' is not a valid instant (YYYY-MM-DDThh:mm:ss[.sss] with a time zone)"
            }
            return nil
        case "time":
            return FHIRDateTime.parseTime(Array(utf8)[...]) ? nil : "'\(text)' is not a valid time (hh:mm:ss)"
        case "xhtml":
            return NarrativeRules.problem(text)
        default:
            return nil
        }
    }

    private static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }

    private static func isIdByte(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || byte == 0x2D || byte == 0x2E
    }

    private static func isBase64Byte(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
            || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "/") || byte == UInt8(ascii: "=")
    }

    private static func isOID(_ text: String) -> Bool {
        guard text.hasPrefix("urn:oid:") else { return false }
        let arcs = text.dropFirst(8).split(separator: ".", omittingEmptySubsequences: false)
        guard arcs.count >= 2, let first = arcs.first, ["0", "1", "2"].contains(first) else { return false }
        return arcs.dropFirst().allSatisfy { arc in
            !arc.isEmpty && arc.allSatisfy(\.isASCIIDigit) && (arc == "0" || arc.first != "0")
        }
    }

    private static func isUUIDURN(_ text: String) -> Bool {
        guard text.hasPrefix("urn:uuid:") else { return false }
        let body = Array(text.utf8.dropFirst(9))
        guard body.count == 36 else { return false }
        for (i, byte) in body.enumerated() {
            if [8, 13, 18, 23].contains(i) {
                if byte != UInt8(ascii: "-") { return false }
            } else if !((0x30...0x39).contains(byte) || (0x61...0x66).contains(byte)) {
                return false
            }
        }
        return true
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}

extension String {
    init(format2 byte: UInt8) {
        let digits = Array("0123456789ABCDEF")
        self = "00" + String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
    }
}
