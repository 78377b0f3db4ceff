public import Foundation

/// Turns a received message's bytes into text by its declared character set (MSH-18), or the channel's
/// default when MSH-18 is empty: a Latin-1 lab that says nothing must not lose its å, ä and ö.
public enum HL7Charset {
    /// What MSH-18 may say here (HL7 table 0211), and the encoding each names.
    public static let known: [String: String.Encoding] = [
        "ASCII": .ascii,
        "8859/1": .isoLatin1,
        "UNICODE UTF-8": .utf8,
    ]

    /// MSH-18 read from the raw bytes (the MSH segment is ASCII up to there whatever the charset), or "".
    public static func declared(in bytes: [UInt8]) -> String { mshField(18, in: bytes) }

    /// Field `n` of the MSH segment read from raw bytes, before the character set is known (to find the
    /// channel and its charset); "" when absent.
    public static func mshField(_ n: Int, in bytes: [UInt8]) -> String {
        guard n >= 2, bytes.count > 8, bytes.starts(with: Array("MSH".utf8)) else { return "" }
        let separator = bytes[3]
        let end = bytes.firstIndex { $0 == 0x0D || $0 == 0x0A } ?? bytes.endIndex
        // MSH-1 is the separator itself, so MSH-2 begins right after it.
        var field = 2
        var start = 4
        for index in 4..<end where bytes[index] == separator {
            if field == n { return String(decoding: bytes[start..<index], as: UTF8.self) }
            field += 1
            start = index + 1
        }
        return field == n ? String(decoding: bytes[start..<end], as: UTF8.self) : ""
    }

    /// Why bytes could not be read as text.
    public struct DecodeError: Error, CustomStringConvertible {
        public var description: String
    }

    /// The message text, and the encoding it was read in (hex escapes are read in the same).
    public static func decode(_ bytes: [UInt8], defaultCharset: String) throws(DecodeError) -> (text: String, encoding: String.Encoding) {
        let declared = declared(in: bytes).split(separator: "~").first.map(String.init) ?? ""
        let name = declared.isEmpty ? defaultCharset : declared
        guard let encoding = known[name.uppercased()] else {
            throw DecodeError(description: "MSH-18 names the character set \(name), which Kärna does not read here "
                              + "(it reads \(known.keys.sorted().joined(separator: ", ")))")
        }
        guard let text = String(bytes: bytes, encoding: encoding) else {
            let firstBad = encoding == .utf8 ? firstInvalidUTF8(bytes) : bytes.firstIndex { $0 >= 0x80 }
            throw DecodeError(description: "the message is not valid \(name)" + (firstBad.map { " (byte \($0 + 1))" } ?? ""))
        }
        return (text, encoding)
    }

    /// The text as bytes in `charset` (for what Kärna sends a channel); nil when it cannot be written in it.
    public static func encode(_ text: String, charset: String) -> [UInt8]? {
        guard let encoding = known[charset.uppercased()], let data = text.data(using: encoding) else { return nil }
        return Array(data)
    }

    /// Typographic punctuation Latin-1 and ASCII lack, as the plain characters a lab system prints: NPU's names
    /// use an em dash ("P—Kalium"), which would otherwise keep every order from a Latin-1 lab.
    public static let plainPunctuation: [Character: String] = [
        "\u{2014}": "-", "\u{2013}": "-", "\u{2010}": "-", "\u{2011}": "-", "\u{2212}": "-",
        "\u{2018}": "'", "\u{2019}": "'", "\u{201C}": "\"", "\u{201D}": "\"", "\u{2026}": "...", "\u{2009}": " ", "\u{202F}": " ",
    ]

    /// `text` in `charset`, with typographic punctuation the charset lacks written plainly; nil when other
    /// characters still do not fit (a name in another script, say), so the caller can say so rather than guess.
    public static func encodePlain(_ text: String, charset: String) -> [UInt8]? {
        if let bytes = encode(text, charset: charset) { return bytes }
        let plain = text.reduce(into: "") { result, character in result += plainPunctuation[character] ?? String(character) }
        return encode(plain, charset: charset)
    }

    private static func firstInvalidUTF8(_ bytes: [UInt8]) -> Int? {
        var index = 0
        while index < bytes.count {
            let lead = bytes[index]
            let length = lead < 0x80 ? 1 : lead >> 5 == 0b110 ? 2 : lead >> 4 == 0b1110 ? 3 : lead >> 3 == 0b11110 ? 4 : 0
            guard length > 0, index + length <= bytes.count,
                  bytes[(index + 1)..<(index + length)].allSatisfy({ $0 >> 6 == 0b10 }) else { return index }
            index += length
        }
        return nil
    }
}
