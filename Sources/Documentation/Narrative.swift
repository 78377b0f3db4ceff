import FHIRCore
import Foundation

/// Plain text in and out of a section's XHTML narrative: notes are written as text, stored as FHIR requires.
enum Narrative {
    static func div(_ text: String) -> String {
        let escaped = text.replacingOccurrences(of: "\r", with: "").htmlEscaped.replacingOccurrences(of: "\n", with: "<br/>")
        return "<div xmlns=\"http://www.w3.org/1999/xhtml\">\(escaped)</div>"
    }

    /// The text of a narrative: line breaks kept, other markup dropped, entities decoded.
    static func text(_ div: String) -> String {
        var text = div.replacingOccurrences(of: "<br/>", with: "\n").replacingOccurrences(of: "<br>", with: "\n")
            .replacingOccurrences(of: "</p>", with: "\n")
        while let open = text.range(of: "<"), let close = text.range(of: ">", range: open.upperBound..<text.endIndex) {
            text.removeSubrange(open.lowerBound..<close.upperBound)
        }
        for (entity, character) in [("&lt;", "<"), ("&gt;", ">"), ("&quot;", "\""), ("&#39;", "'"), ("&amp;", "&")] {
            text = text.replacingOccurrences(of: entity, with: character)
        }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
