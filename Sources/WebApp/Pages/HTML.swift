/// HTML escaping for markup written in Swift rather than in a template.
enum HTML {
    /// The text with `& < > " '` as character references, as the templates escape them.
    static func escaped(_ text: String) -> String {
        // Most values (names, times, codes) need nothing: one pass over the bytes finds that.
        guard text.utf8.contains(where: { $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 || $0 == 0x27 }) else { return text }
        var result = ""
        result.reserveCapacity(text.utf8.count + 16)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }
}
