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

    /// `a=1&b=2` as ordered, decoded pairs; a name may repeat, a pair without a name is dropped.
    public var queryPairs: [(name: String, value: String)] {
        split(separator: "&").compactMap { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = parts.first, !name.isEmpty else { return nil }
            return (String(name).percentDecoded, parts.count > 1 ? String(parts[1]).percentDecoded : "")
        }
    }

    /// The text without leading and trailing characters from `characters`.
    public func trimming(_ characters: String) -> String {
        String(drop(while: { characters.contains($0) }).reversed().drop(while: { characters.contains($0) }).reversed())
    }
}
