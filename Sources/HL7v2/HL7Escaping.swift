public import Foundation

/// HL7 v2 escape sequences (chapter 2.7): the separators, formatting commands and hex bytes written as `\…\`.
public enum HL7Escaping {
    /// Decodes `\F\ \S\ \T\ \R\ \E\`, the line break `\.br\` (a newline) and `\Xhh…\` (bytes in `encoding`).
    /// Other formatting commands (`\H\`, `\N\`, `\.sp\` …) are dropped: they style, they carry no words.
    /// An escape without its closing character is kept as written, so no text is lost.
    public static func decode(_ raw: String, delimiters: HL7Message.Delimiters, encoding: String.Encoding = .utf8) -> String {
        guard raw.contains(delimiters.escape) else { return raw }
        var out = ""
        var rest = Substring(raw)
        while let start = rest.firstIndex(of: delimiters.escape) {
            out += rest[..<start]
            let after = rest.index(after: start)
            guard let end = rest[after...].firstIndex(of: delimiters.escape) else {
                out += rest[start...]
                return out
            }
            let sequence = rest[after..<end]
            switch sequence {
            case "F": out.append(delimiters.field)
            case "S": out.append(delimiters.component)
            case "T": out.append(delimiters.subcomponent)
            case "R": out.append(delimiters.repetition)
            case "E": out.append(delimiters.escape)
            case ".br": out += "\n"
            default:
                if sequence.first == "X", let bytes = hexBytes(sequence.dropFirst()) {
                    let decoded = String(data: Data(bytes), encoding: encoding) ?? String(decoding: bytes, as: UTF8.self)
                    // A CR LF pair is one line break on screen, as `\.br\` is.
                    out += decoded.replacingOccurrences(of: "\r\n", with: "\n")
                } else if ["H", "N"].contains(sequence) || sequence.hasPrefix(".") {
                    break
                } else {
                    out += rest[start...end]
                }
            }
            rest = rest[rest.index(after: end)...]
        }
        out += rest
        return out
    }

    /// Escapes the separators and the escape character; a line break becomes `\.br\` (a field holds no CR).
    public static func encode(_ value: String, delimiters: HL7Message.Delimiters) -> String {
        var out = ""
        out.reserveCapacity(value.count)
        for character in value {
            switch character {
            case delimiters.escape: out += "\(delimiters.escape)E\(delimiters.escape)"
            case delimiters.field: out += "\(delimiters.escape)F\(delimiters.escape)"
            case delimiters.component: out += "\(delimiters.escape)S\(delimiters.escape)"
            case delimiters.subcomponent: out += "\(delimiters.escape)T\(delimiters.escape)"
            case delimiters.repetition: out += "\(delimiters.escape)R\(delimiters.escape)"
            case "\n", "\r\n", "\r": out += "\(delimiters.escape).br\(delimiters.escape)"
            default: out.append(character)
            }
        }
        return out
    }

    private static func hexBytes(_ hex: Substring) -> [UInt8]? {
        guard hex.count.isMultiple(of: 2), !hex.isEmpty else { return nil }
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        return bytes
    }
}
