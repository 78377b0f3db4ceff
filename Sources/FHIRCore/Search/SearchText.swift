import Foundation

/// The folded form of text that string search compares and sorts.
///
/// FHIR string search ignores case and accents. Swedish readers treat å, ä
/// and ö as letters of their own, sorted after z, so those three (and their
/// Danish–Norwegian equivalents æ and ø) are kept and mapped to `{`, `|`,
/// `}`: the three characters that follow `z` in byte order, which makes a
/// plain binary comparison sort in Swedish order. Composed and decomposed
/// input fold to the same form.
public enum SearchText {
    public static func fold(_ text: String) -> String {
        // Most indexed text is plain ASCII: fold it byte by byte without Unicode normalisation.
        if text.utf8.allSatisfy({ $0 < 0x80 }) {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(text.utf8.count)
            var pendingSpace = false
            for byte in text.utf8 {
                var b = byte
                if b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D || b == UInt8(ascii: "{") || b == UInt8(ascii: "|") || b == UInt8(ascii: "}") {
                    pendingSpace = !bytes.isEmpty
                    continue
                }
                if b >= 0x41 && b <= 0x5A { b += 0x20 }
                if pendingSpace { bytes.append(0x20); pendingSpace = false }
                bytes.append(b)
            }
            return String(decoding: bytes, as: UTF8.self)
        }
        var out = String.UnicodeScalarView()
        let scalars = Array(text.lowercased().decomposedStringWithCanonicalMapping.unicodeScalars)
        var i = 0
        while i < scalars.count {
            let s = scalars[i]
            let next = i + 1 < scalars.count ? scalars[i + 1] : nil
            if s == "a", next == "\u{030A}" { out.append("{"); i += 2; continue }
            if s == "a", next == "\u{0308}" { out.append("|"); i += 2; continue }
            if s == "o", next == "\u{0308}" { out.append("}"); i += 2; continue }
            switch s {
            case "æ": out.append("|")
            case "ø": out.append("}")
            case "{", "|", "}": out.append(" ")
            default:
                // Other combining marks (é → e, ü → u) are dropped.
                if !(0x0300...0x036F).contains(s.value) { out.append(s) }
            }
            i += 1
        }
        return String(out).split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    }
}
