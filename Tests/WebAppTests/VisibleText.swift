import FHIRCore
import Foundation

/// The text a person sees on a rendered page (and what a screen reader says: labels, alt texts,
/// placeholders), and the two ways it goes wrong that no page may show: an English sentence in the
/// Swedish interface, and a raw reference ("Organization/vc-karnstad") where a name belongs.
enum VisibleText {
    /// The visible text of an HTML page, one entry per text run between tags, entities decoded.
    static func runs(_ html: String) -> [String] {
        var text = html
        for element in ["script", "style", "title"] {
            text = text.replacingOccurrences(of: "(?s)<\(element)[^>]*>.*?</\(element)>", with: " ", options: [.regularExpression, .caseInsensitive])
        }
        // Text marked as English (a technical description folded away for support) is said to be English, not mistaken for Swedish.
        text = text.replacingOccurrences(of: #"(?s)<(\w+)[^>]*\blang="en"[^>]*>.*?</\1>"#, with: " ", options: .regularExpression)
        // Attribute texts a person reads or hears count as text of their own.
        var spoken: [String] = []
        let attributes = attributePattern
        for match in attributes.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
            if let range = Range(match.range(at: 1), in: text) { spoken.append(String(text[range])) }
        }
        let runs = text.components(separatedBy: "<").map { part in part.firstIndex(of: ">").map { String(part[part.index(after: $0)...]) } ?? part }
        return (runs + spoken).map(decoded).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
    }

    /// All the visible text, runs joined by spaces (what a test searches for words in).
    static func of(_ html: String) -> String { runs(html).joined(separator: " ") }

    static func decoded(_ text: String) -> String {
        var text = text
        for (entity, character) in [("&lt;", "<"), ("&gt;", ">"), ("&quot;", "\""), ("&#39;", "'"), ("&#x27;", "'"), ("&nbsp;", " "), ("&amp;", "&")] {
            text = text.replacingOccurrences(of: entity, with: character)
        }
        return text
    }

    /// English words that are not Swedish words: two of them in one run make it an English sentence.
    static let englishWords: Set<String> = [
        "the", "does", "not", "exist", "exists", "must", "should", "cannot", "can't", "is", "are", "was", "were", "has", "have",
        "with", "and", "of", "to", "be", "this", "that", "which", "missing", "invalid", "required", "panel", "blood", "pressure",
        "check", "digit", "wrong", "found", "unknown", "type", "visit", "no", "field", "value", "error", "failed", "section", "sections",
        "signed", "sign", "before", "because", "rate", "heart", "body", "weight", "height", "temperature", "respiratory", "oxygen",
        "saturation", "rule", "please", "patient's", "contact", "charge", "date", "from", "only",
    ]

    /// The English sentences among a page's runs.
    static func englishSentences(_ html: String) -> [String] {
        runs(html).filter { run in
            let words = run.lowercased().split { !$0.isLetter && $0 != "'" }.map(String.init)
            return Set(words).intersection(englishWords).count >= 2
        }
    }

    /// Raw references (`Type/id` of a FHIR resource type) in a page's visible text.
    static let referencePattern = try! NSRegularExpression(pattern: "\\b(?:\(Definitions.r4.resourceTypes.joined(separator: "|")))/[A-Za-z0-9\\-.]{1,64}")
    static let attributePattern = try! NSRegularExpression(pattern: #"\b(?:aria-label|placeholder|alt|title|data-confirm)="([^"]*)""#)

    static func rawReferences(_ html: String) -> [String] {
        let pattern = referencePattern
        return runs(html).flatMap { run in
            pattern.matches(in: run, range: NSRange(run.startIndex..., in: run)).compactMap { Range($0.range, in: run).map { String(run[$0]) } }
        }
    }

    /// Text runs with an empty pair of brackets: a template printed the frame of a value that was not there.
    static func emptyBrackets(_ html: String) -> [String] { runs(html).filter { $0.contains("()") || $0.contains("( )") } }

    /// What breaks a page for a screen reader or a keyboard, found in its markup: an id used twice (a label then
    /// names the wrong field), a label for a field that is not there, a link with no text to say where it goes.
    static func markupProblems(_ html: String) -> [String] {
        var problems: [String] = []
        let ids = html.matches(of: /\sid="([^"]+)"/).map { String($0.1) }
        var seen = Set<String>()
        for id in ids where !seen.insert(id).inserted { problems.append("the id \"\(id)\" is used twice") }
        for label in html.matches(of: /<label[^>]*\bfor="([^"]+)"/) where !seen.contains(String(label.1)) {
            problems.append("a label for \"\(label.1)\", which no element has as its id")
        }
        for link in html.matches(of: /(?s)<a\b([^>]*)>(.*?)<\/a>/) {
            let text = link.2.replacingOccurrences(of: "<[^>]+>", with: "", options: .regularExpression).trimmingCharacters(in: .whitespacesAndNewlines)
            if text.isEmpty && !link.1.contains("aria-label=") { problems.append("a link without text: <a\(link.1)>") }
        }
        return problems
    }
}
