extension String {
    /// The text with `%XX` escapes and `+` (space) decoded, as in a URL query;
    /// unchanged when the escapes do not form valid UTF-8.
    public var percentDecoded: String {
        guard contains("%") || contains("+") else { return self }
        var bytes: [UInt8] = []
        var rest = Array(utf8)[...]
        while let byte = rest.popFirst() {
            if byte == UInt8(ascii: "%"), rest.count >= 2, let value = UInt8(String(decoding: rest.prefix(2), as: UTF8.self), radix: 16) {
                bytes.append(value)
                rest = rest.dropFirst(2)
            } else {
                bytes.append(byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
            }
        }
        return String(validating: bytes, as: UTF8.self) ?? self
    }

    /// The text without leading and trailing characters from `characters`.
    public func trimming(_ characters: String) -> String {
        String(drop(while: { characters.contains($0) }).reversed().drop(while: { characters.contains($0) }).reversed())
    }
}
