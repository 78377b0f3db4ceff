/// The rules of the R4 Narrative page for `text.div` (invariants txt-1 and txt-2, narrative.html#xhtml):
/// well-formed XML, one `div` root in the XHTML namespace, only the basic formatting elements and
/// attributes, nothing that executes (scripts, event handlers, `javascript:` links, CSS expressions),
/// and some non-whitespace content. A narrative is shown to clinicians by every client that reads the
/// record, so what it may hold is decided here, on write.
///
/// Written by hand rather than with FoundationXML: the rules need a strict subset of XML (no DTD, no
/// processing instructions, only the five XML entities and character references), a message that names
/// the offending element or attribute, and no libxml2 state per request.
public enum NarrativeRules {
    public static let xhtmlNamespace = "http://www.w3.org/1999/xhtml"

    /// The elements R4 allows in a narrative (the FHIR validator's list, from the Narrative page's rules).
    static let elements: Set<String> = [
        "p", "br", "div", "h1", "h2", "h3", "h4", "h5", "h6", "a", "span", "b", "em", "i", "strong", "small", "big", "tt",
        "dfn", "q", "var", "abbr", "acronym", "cite", "blockquote", "hr", "address", "bdo", "kbd", "sub", "sup", "ul", "ol",
        "li", "dl", "dt", "dd", "pre", "table", "caption", "colgroup", "col", "thead", "tr", "tfoot", "tbody", "th", "td",
        "code", "samp", "img", "map", "area",
    ]

    /// The attributes allowed on any of them (no event handlers: `on…` is never in the list).
    static let attributes: Set<String> = [
        "title", "style", "class", "id", "lang", "xml:lang", "dir", "accesskey", "tabindex", "xmlns",
        "colspan", "rowspan", "span", "width", "height", "align", "valign", "char", "charoff", "abbr", "axis", "headers",
        "scope", "border", "frame", "rules", "cellspacing", "cellpadding", "summary", "href", "name", "src", "alt", "type",
        "start", "value", "compact", "datetime", "cite", "shape", "coords", "nohref", "usemap",
    ]

    /// Attributes holding a URL: these must not name a scheme that runs code.
    static let urlAttributes: Set<String> = ["href", "src", "cite", "usemap"]
    static let executingSchemes = ["javascript:", "vbscript:", "livescript:", "data:text/html", "data:application/"]

    /// The first problem with a narrative, or nil when it keeps every rule. The message names elements and
    /// attributes, never the narrative's text (it may hold patient data).
    public static func problem(_ xhtml: String) -> String? {
        var scanner = Scanner(bytes: Array(xhtml.utf8))
        do {
            try scanner.document()
            return nil
        } catch {
            return error.message
        }
    }

    struct Problem: Error {
        let message: String
        init(_ message: String) { self.message = message }
    }

    struct Scanner {
        let bytes: [UInt8]
        var index = 0
        var open: [String] = []
        var hasContent = false

        init(bytes: [UInt8]) { self.bytes = bytes }

        var atEnd: Bool { index >= bytes.count }
        var current: UInt8 { bytes[index] }

        func starts(with text: String) -> Bool {
            let prefix = Array(text.utf8)
            return index + prefix.count <= bytes.count && Array(bytes[index..<index + prefix.count]) == prefix
        }

        mutating func skipSpace() {
            while !atEnd, isSpace(current) { index += 1 }
        }

        mutating func document() throws(Problem) {
            skipSpace()
            guard starts(with: "<div") else { throw Problem("the narrative must be a single <div> element (txt-1)") }
            try element(isRoot: true)
            skipSpace()
            guard atEnd else { throw Problem("nothing may follow the narrative's closing </div> (txt-1)") }
            guard hasContent else { throw Problem("the narrative must have some non-whitespace content (txt-2)") }
        }

        /// One element from its `<` to its end tag, with everything inside.
        mutating func element(isRoot: Bool) throws(Problem) {
            index += 1
            let name = try self.name()
            guard NarrativeRules.elements.contains(name) else {
                throw Problem("the element <\(name)> is not allowed in a narrative (txt-1: only basic formatting elements; no scripts, forms, objects or frames)")
            }
            var seen = Set<String>()
            var namespace: String?
            while true {
                skipSpace()
                guard !atEnd else { throw Problem("the start tag <\(name)> is not closed: the narrative is not well-formed XML") }
                if current == UInt8(ascii: ">") { index += 1; break }
                if starts(with: "/>") {
                    index += 2
                    try checkNamespace(namespace, element: name, isRoot: isRoot)
                    if name == "img" { hasContent = true }
                    return
                }
                let attribute = try self.name()
                guard seen.insert(attribute).inserted else { throw Problem("the attribute '\(attribute)' appears twice on <\(name)>: the narrative is not well-formed XML") }
                skipSpace()
                guard !atEnd, current == UInt8(ascii: "=") else { throw Problem("the attribute '\(attribute)' on <\(name)> has no value: the narrative is not well-formed XML") }
                index += 1
                skipSpace()
                let value = try quoted(attribute: attribute, element: name)
                if attribute == "xmlns" { namespace = value; continue }
                try check(attribute: attribute, value: value, element: name)
            }
            try checkNamespace(namespace, element: name, isRoot: isRoot)
            if name == "img" { hasContent = true }
            open.append(name)
            try content(of: name)
        }

        mutating func checkNamespace(_ namespace: String?, element: String, isRoot: Bool) throws(Problem) {
            if isRoot, namespace != NarrativeRules.xhtmlNamespace {
                throw Problem("the narrative's <div> must declare the XHTML namespace xmlns=\"\(NarrativeRules.xhtmlNamespace)\" (txt-1)")
            }
            if let namespace, namespace != NarrativeRules.xhtmlNamespace {
                throw Problem("<\(element)> declares the namespace '\(namespace)'; a narrative is XHTML only (txt-1)")
            }
        }

        mutating func check(attribute: String, value: String, element: String) throws(Problem) {
            let lower = attribute.lowercased()
            if lower.hasPrefix("on") {
                throw Problem("the event handler attribute '\(attribute)' on <\(element)> is not allowed in a narrative (txt-1)")
            }
            guard NarrativeRules.attributes.contains(attribute) else {
                throw Problem("the attribute '\(attribute)' on <\(element)> is not allowed in a narrative (txt-1)")
            }
            // Browsers ignore whitespace and control characters inside a scheme ("java\tscript:").
            let folded = String(String.UnicodeScalarView(value.unicodeScalars.filter { $0.value > 0x20 })).lowercased()
            if NarrativeRules.urlAttributes.contains(attribute), NarrativeRules.executingSchemes.contains(where: { folded.hasPrefix($0) }) {
                throw Problem("the \(attribute) of <\(element)> names a URL scheme that runs code; a narrative may not (txt-1)")
            }
            if attribute == "style", ["expression(", "javascript:", "behavior:", "-moz-binding", "@import"].contains(where: { folded.contains($0) }) {
                throw Problem("the style of <\(element)> holds CSS that loads or runs code; a narrative may not (txt-1)")
            }
        }

        /// Text, comments and child elements up to `</name>`.
        mutating func content(of name: String) throws(Problem) {
            while true {
                guard !atEnd else { throw Problem("<\(name)> is never closed: the narrative is not well-formed XML") }
                if current == UInt8(ascii: "<") {
                    if starts(with: "</") {
                        index += 2
                        let closing = try self.name()
                        skipSpace()
                        guard !atEnd, current == UInt8(ascii: ">") else { throw Problem("the end tag </\(closing)> is not closed: the narrative is not well-formed XML") }
                        index += 1
                        guard closing == name else { throw Problem("</\(closing)> closes <\(name)>: the narrative is not well-formed XML") }
                        open.removeLast()
                        return
                    }
                    if starts(with: "<!--") {
                        try skip(past: "-->", what: "a comment")
                        continue
                    }
                    if starts(with: "<![CDATA[") {
                        index += 9
                        let start = index
                        try skip(past: "]]>", what: "a CDATA section")
                        if bytes[start..<index - 3].contains(where: { !isSpace($0) }) { hasContent = true }
                        continue
                    }
                    if starts(with: "<!") || starts(with: "<?") {
                        throw Problem("declarations and processing instructions are not allowed in a narrative (txt-1)")
                    }
                    try element(isRoot: false)
                    continue
                }
                if current == UInt8(ascii: "&") {
                    try entity()
                    hasContent = true
                    continue
                }
                if !isSpace(current) { hasContent = true }
                index += 1
            }
        }

        mutating func skip(past terminator: String, what: String) throws(Problem) {
            while !atEnd {
                if starts(with: terminator) { index += terminator.utf8.count; return }
                index += 1
            }
            throw Problem("\(what) is never closed: the narrative is not well-formed XML")
        }

        /// `&lt;` and the other four XML entities, or a character reference; HTML's named entities are not XML.
        mutating func entity() throws(Problem) {
            let start = index
            index += 1
            while !atEnd, current != UInt8(ascii: ";"), index - start < 12 { index += 1 }
            guard !atEnd, current == UInt8(ascii: ";") else {
                throw Problem("a '&' that starts no entity; write it as &amp;: the narrative is not well-formed XML")
            }
            let body = String(decoding: bytes[(start + 1)..<index], as: UTF8.self)
            index += 1
            if ["lt", "gt", "amp", "quot", "apos"].contains(body) { return }
            if body.hasPrefix("#x"), let value = UInt32(body.dropFirst(2), radix: 16), Unicode.Scalar(value) != nil { return }
            if body.hasPrefix("#"), let value = UInt32(body.dropFirst()), Unicode.Scalar(value) != nil { return }
            throw Problem("the entity &\(body); is not an XML entity; use a character reference such as &#160; (the narrative is not well-formed XML)")
        }

        mutating func quoted(attribute: String, element: String) throws(Problem) -> String {
            guard !atEnd, current == UInt8(ascii: "\"") || current == UInt8(ascii: "'") else {
                throw Problem("the value of '\(attribute)' on <\(element)> must be quoted: the narrative is not well-formed XML")
            }
            let quote = current
            index += 1
            var value: [UInt8] = []
            while !atEnd, current != quote {
                if current == UInt8(ascii: "<") { throw Problem("'<' inside the value of '\(attribute)' on <\(element)>: the narrative is not well-formed XML") }
                if current == UInt8(ascii: "&") {
                    let start = index
                    try entity()
                    value += decode(entity: Array(bytes[start..<index]))
                    continue
                }
                value.append(current)
                index += 1
            }
            guard !atEnd else { throw Problem("the value of '\(attribute)' on <\(element)> is never closed: the narrative is not well-formed XML") }
            index += 1
            return String(decoding: value, as: UTF8.self)
        }

        /// An entity's text, so `j&#97;vascript:` is seen as the scheme it is.
        func decode(entity: [UInt8]) -> [UInt8] {
            let body = String(decoding: entity.dropFirst().dropLast(), as: UTF8.self)
            switch body {
            case "lt": return Array("<".utf8)
            case "gt": return Array(">".utf8)
            case "amp": return Array("&".utf8)
            case "quot": return Array("\"".utf8)
            case "apos": return Array("'".utf8)
            default:
                let value = body.hasPrefix("#x") ? UInt32(body.dropFirst(2), radix: 16) : UInt32(body.dropFirst())
                guard let value, let scalar = Unicode.Scalar(value) else { return [] }
                return Array(String(Character(scalar)).utf8)
            }
        }

        /// An XML name: letters, digits, `-`, `_`, `.`, and `:` only in `xml:lang`.
        mutating func name() throws(Problem) -> String {
            let start = index
            while !atEnd, isNameByte(current) { index += 1 }
            guard index > start else { throw Problem("a tag or attribute without a name: the narrative is not well-formed XML") }
            let name = String(decoding: bytes[start..<index], as: UTF8.self)
            guard let first = name.unicodeScalars.first, first.properties.isAlphabetic || first == "_" else {
                throw Problem("'\(name)' is not an XML name: the narrative is not well-formed XML")
            }
            return name
        }

        func isNameByte(_ byte: UInt8) -> Bool {
            (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: ":") || byte >= 0x80
        }

        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }
    }
}
