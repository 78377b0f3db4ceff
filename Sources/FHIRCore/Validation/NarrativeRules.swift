/// The rules of the R4 Narrative page for `text.div` (invariants txt-1 and txt-2, narrative.html#xhtml):
/// well-formed XML, one `div` root in the XHTML namespace, only the basic formatting elements and
/// attributes, nothing that executes (scripts, event handlers, `javascript:` links, CSS expressions),
/// and some non-whitespace content. A narrative is shown to clinicians by every client that reads the
/// record, so what it may hold is decided here, on write.
///
/// The XML is read by `XMLTree`, the FHIR XML reader's strict subset (no DTD, no processing
/// instructions, only the five XML entities and character references).
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
        let bytes = Array(xhtml.utf8)
        guard let start = bytes.firstIndex(where: { !XMLTree.isSpace($0) }), bytes[start...].starts(with: Array("<div".utf8)) else {
            return "the narrative must be a single <div> element (txt-1)"
        }
        let root: XMLTree.Element
        do {
            root = try XMLTree.parse(bytes).root
        } catch {
            return "the narrative is not well-formed XML: \(error.message)"
        }
        guard root.attribute("xmlns") == xhtmlNamespace else {
            return "the narrative's <div> must declare the XHTML namespace xmlns=\"\(xhtmlNamespace)\" (txt-1)"
        }
        var hasContent = false
        if let problem = check(root, hasContent: &hasContent) { return problem }
        return hasContent ? nil : "the narrative must have some non-whitespace content (txt-2)"
    }

    /// The element's and its children's problem with the rules, noting whether any holds text or an image.
    static func check(_ element: XMLTree.Element, hasContent: inout Bool) -> String? {
        guard elements.contains(element.name) else {
            return "the element <\(element.name)> is not allowed in a narrative (txt-1: only basic formatting elements; no scripts, forms, objects or frames)"
        }
        if element.hasText || element.name == "img" { hasContent = true }
        for (attribute, value) in element.attributes {
            if attribute == "xmlns" {
                if value != xhtmlNamespace { return "<\(element.name)> declares the namespace '\(value)'; a narrative is XHTML only (txt-1)" }
                continue
            }
            if attribute.lowercased().hasPrefix("on") {
                return "the event handler attribute '\(attribute)' on <\(element.name)> is not allowed in a narrative (txt-1)"
            }
            guard attributes.contains(attribute) else {
                return "the attribute '\(attribute)' on <\(element.name)> is not allowed in a narrative (txt-1)"
            }
            // Browsers ignore whitespace and control characters inside a scheme ("java\tscript:").
            let folded = String(String.UnicodeScalarView(value.unicodeScalars.filter { $0.value > 0x20 })).lowercased()
            if urlAttributes.contains(attribute), executingSchemes.contains(where: { folded.hasPrefix($0) }) {
                return "the \(attribute) of <\(element.name)> names a URL scheme that runs code; a narrative may not (txt-1)"
            }
            if attribute == "style", ["expression(", "javascript:", "behavior:", "-moz-binding", "@import"].contains(where: { folded.contains($0) }) {
                return "the style of <\(element.name)> holds CSS that loads or runs code; a narrative may not (txt-1)"
            }
        }
        for child in element.children {
            if let problem = check(child, hasContent: &hasContent) { return problem }
        }
        return nil
    }
}
