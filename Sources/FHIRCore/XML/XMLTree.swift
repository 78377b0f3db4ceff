/// A small, strict XML reader for FHIR XML: elements, attributes, comments and the text of XHTML
/// narratives — no DTDs (a DOCTYPE is refused, so no entity expansion or external fetches), no
/// processing instructions beyond the XML declaration. Each element keeps the byte range it came
/// from, so a narrative `div` is taken exactly as sent.
///
/// Written by hand rather than with FoundationXML's XMLParser: it reports attributes as an unordered
/// dictionary, cannot give an element's source bytes (the narrative must round-trip byte for byte),
/// and brings libxml2's DTD handling to every request.
struct XMLTree {
    struct Element {
        var name: String
        var attributes: [(name: String, value: String)]
        var children: [Element]
        /// Whether non-whitespace text appeared directly inside (FHIR elements have none; XHTML does).
        var hasText: Bool
        /// The element's bytes in the source, from `<` to the end of its end tag.
        var range: Range<Int>

        func attribute(_ name: String) -> String? { attributes.first { $0.name == name }?.value }
    }

    struct Problem: Error {
        let message: String
    }

    let bytes: [UInt8]
    private var index = 0
    /// Deepest element nesting accepted (the JSON limit's counterpart).
    let maxDepth: Int

    init(bytes: [UInt8], maxDepth: Int = 128) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    /// The document's root element.
    static func parse(_ bytes: [UInt8], maxDepth: Int = 128) throws(Problem) -> (root: Element, bytes: [UInt8]) {
        var reader = XMLTree(bytes: bytes, maxDepth: maxDepth)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { reader.index = 3 }
        try reader.prolog()
        guard !reader.atEnd, reader.current == UInt8(ascii: "<") else { throw reader.problem("the document has no root element") }
        let root = try reader.element(depth: 0)
        try reader.misc()
        guard reader.atEnd else { throw reader.problem("content after the root element") }
        return (root, bytes)
    }

    var atEnd: Bool { index >= bytes.count }
    var current: UInt8 { bytes[index] }

    func problem(_ message: String) -> Problem {
        Problem(message: "line \(Self.line(of: index, in: bytes)): \(message)")
    }

    /// The line a byte offset is on (counted only when a message needs it).
    static func line(of offset: Int, in bytes: [UInt8]) -> Int {
        bytes[..<min(offset, bytes.count)].reduce(1) { $1 == 0x0A ? $0 + 1 : $0 }
    }

    func starts(with text: String) -> Bool {
        let prefix = Array(text.utf8)
        return index + prefix.count <= bytes.count && bytes[index..<index + prefix.count].elementsEqual(prefix)
    }

    mutating func skipSpace() {
        while !atEnd, Self.isSpace(current) { index += 1 }
    }

    static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }

    mutating func prolog() throws(Problem) {
        skipSpace()
        if starts(with: "<?xml") {
            try skip(past: "?>", what: "the XML declaration")
        }
        try misc()
    }

    /// Comments and whitespace between top-level items; a DOCTYPE is refused.
    mutating func misc() throws(Problem) {
        while true {
            skipSpace()
            if starts(with: "<!--") { try skip(past: "-->", what: "a comment"); continue }
            if starts(with: "<!DOCTYPE") || starts(with: "<!doctype") {
                throw problem("a DOCTYPE is not allowed: FHIR XML has no DTD, and entity declarations are refused")
            }
            if starts(with: "<?") { throw problem("processing instructions are not allowed") }
            return
        }
    }

    mutating func skip(past terminator: String, what: String) throws(Problem) {
        while !atEnd {
            if starts(with: terminator) { index += terminator.utf8.count; return }
            index += 1
        }
        throw problem("\(what) is never closed")
    }

    mutating func element(depth: Int) throws(Problem) -> Element {
        guard depth < maxDepth else { throw problem("elements nest deeper than \(maxDepth)") }
        let start = index
        index += 1
        let name = try self.name()
        var attributes: [(name: String, value: String)] = []
        while true {
            skipSpace()
            guard !atEnd else { throw problem("the start tag <\(name)> is not closed") }
            if current == UInt8(ascii: ">") { index += 1; break }
            if starts(with: "/>") {
                index += 2
                return Element(name: name, attributes: attributes, children: [], hasText: false, range: start..<index)
            }
            let attribute = try self.name()
            if attributes.contains(where: { $0.name == attribute }) { throw problem("the attribute '\(attribute)' appears twice on <\(name)>") }
            skipSpace()
            guard !atEnd, current == UInt8(ascii: "=") else { throw problem("the attribute '\(attribute)' on <\(name)> has no value") }
            index += 1
            skipSpace()
            attributes.append((attribute, try quoted(attribute)))
        }
        var children: [Element] = []
        var hasText = false
        while true {
            guard !atEnd else { throw problem("<\(name)> is never closed") }
            if current == UInt8(ascii: "<") {
                if starts(with: "</") {
                    index += 2
                    let closing = try self.name()
                    skipSpace()
                    guard !atEnd, current == UInt8(ascii: ">") else { throw problem("the end tag </\(closing)> is not closed") }
                    index += 1
                    guard closing == name else { throw problem("</\(closing)> closes <\(name)>") }
                    return Element(name: name, attributes: attributes, children: children, hasText: hasText, range: start..<index)
                }
                if starts(with: "<!--") { try skip(past: "-->", what: "a comment"); continue }
                if starts(with: "<![CDATA[") { hasText = true; try skip(past: "]]>", what: "a CDATA section"); continue }
                if starts(with: "<!") || starts(with: "<?") { throw problem("declarations and processing instructions are not allowed inside <\(name)>") }
                children.append(try element(depth: depth + 1))
                continue
            }
            if current == UInt8(ascii: "&") {
                _ = try entity()
                hasText = true
                continue
            }
            if !Self.isSpace(current) { hasText = true }
            index += 1
        }
    }

    /// An attribute value with entities decoded and literal whitespace normalized to spaces (XML 1.0 §3.3.3).
    mutating func quoted(_ attribute: String) throws(Problem) -> String {
        guard !atEnd, current == UInt8(ascii: "\"") || current == UInt8(ascii: "'") else { throw problem("the value of '\(attribute)' must be quoted") }
        let quote = current
        index += 1
        var value: [UInt8] = []
        while !atEnd, current != quote {
            switch current {
            case UInt8(ascii: "<"):
                throw problem("'<' inside the value of '\(attribute)'")
            case UInt8(ascii: "&"):
                value += try entity()
            case 0x0D:
                value.append(0x20)
                index += 1
                if !atEnd, current == 0x0A { index += 1 }
            case 0x09, 0x0A:
                value.append(0x20)
                index += 1
            default:
                value.append(current)
                index += 1
            }
        }
        guard !atEnd else { throw problem("the value of '\(attribute)' is never closed") }
        index += 1
        guard let text = String(validating: value, as: UTF8.self) else { throw problem("the value of '\(attribute)' is not valid UTF-8") }
        return text
    }

    /// One of the five XML entities or a character reference, as UTF-8.
    mutating func entity() throws(Problem) -> [UInt8] {
        let start = index
        index += 1
        while !atEnd, current != UInt8(ascii: ";"), index - start < 12 { index += 1 }
        guard !atEnd, current == UInt8(ascii: ";") else { throw problem("a '&' that starts no entity; write it as &amp;") }
        let body = String(decoding: bytes[(start + 1)..<index], as: UTF8.self)
        index += 1
        switch body {
        case "lt": return [UInt8(ascii: "<")]
        case "gt": return [UInt8(ascii: ">")]
        case "amp": return [UInt8(ascii: "&")]
        case "quot": return [UInt8(ascii: "\"")]
        case "apos": return [UInt8(ascii: "'")]
        default:
            let value = body.hasPrefix("#x") ? UInt32(body.dropFirst(2), radix: 16) : body.hasPrefix("#") ? UInt32(body.dropFirst()) : nil
            guard let value, let scalar = Unicode.Scalar(value) else { throw problem("&\(body); is not an XML entity or character reference") }
            return Array(String(Character(scalar)).utf8)
        }
    }

    mutating func name() throws(Problem) -> String {
        let start = index
        while !atEnd, Self.isNameByte(current) { index += 1 }
        guard index > start else { throw problem("a tag or attribute without a name") }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    static func isNameByte(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
            || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: ":") || byte >= 0x80
    }
}
