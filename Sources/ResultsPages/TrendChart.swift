import Foundation
import Results

/// A trend plot as server-rendered SVG: the values on a true time axis (a gap of a year is a year wide), the
/// reference range as a band behind them, and the accessible table beside it says the same in words.
enum TrendChart {
    static let width = 640.0, height = 240.0, left = 56.0, right = 16.0, top = 16.0, bottom = 36.0

    static func svg(_ analysis: ResultTable.Analysis, _ values: [ResultTable.Value], titleID: String) -> String {
        let points = values.compactMap { value -> (Date, Double, ResultTable.Value)? in
            guard let number = value.number, let date = Self.date(value.time) else { return nil }
            return (date, number, value)
        }
        guard let first = points.first, let last = points.last else { return "" }
        var lowest = points.map(\.1).min()!, highest = points.map(\.1).max()!
        if let low = analysis.low { lowest = min(lowest, low) }
        if let high = analysis.high { highest = max(highest, high) }
        let pad = max((highest - lowest) * 0.1, abs(highest) * 0.05, 0.1)
        lowest -= pad
        highest += pad
        let span = max(last.0.timeIntervalSince(first.0), 1)
        func x(_ date: Date) -> Double { left + (width - left - right) * (points.count == 1 ? 0.5 : date.timeIntervalSince(first.0) / span) }
        func y(_ value: Double) -> Double { top + (height - top - bottom) * (1 - (value - lowest) / (highest - lowest)) }
        func f(_ value: Double) -> String { String(format: "%.1f", value) }
        var svg = "<svg class=\"trend\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-labelledby=\"\(titleID)\" xmlns=\"http://www.w3.org/2000/svg\">"
        svg += "<title id=\"\(titleID)\">\(escape(analysis.name)): \(points.count) värden från \(day(first.0)) till \(day(last.0))"
        if let range = analysis.range { svg += ", referensintervall \(escape(range)) \(escape(analysis.unit))" }
        svg += "</title>"
        if analysis.low != nil || analysis.high != nil {
            let bandTop = y(analysis.high ?? highest), bandBottom = y(analysis.low ?? lowest)
            svg += "<rect class=\"band\" x=\"\(f(left))\" y=\"\(f(bandTop))\" width=\"\(f(width - left - right))\" height=\"\(f(bandBottom - bandTop))\"/>"
        }
        svg += "<line class=\"axis\" x1=\"\(f(left))\" y1=\"\(f(height - bottom))\" x2=\"\(f(width - right))\" y2=\"\(f(height - bottom))\"/>"
        svg += "<line class=\"axis\" x1=\"\(f(left))\" y1=\"\(f(top))\" x2=\"\(f(left))\" y2=\"\(f(height - bottom))\"/>"
        for value in [lowest + pad, highest - pad] {
            svg += "<text class=\"label\" x=\"\(f(left - 6))\" y=\"\(f(y(value) + 4))\" text-anchor=\"end\">\(ResultTable.decimal((value * 100).rounded() / 100))</text>"
        }
        svg += "<text class=\"label\" x=\"\(f(left))\" y=\"\(f(height - 12))\">\(day(first.0))</text>"
        if points.count > 1 { svg += "<text class=\"label\" x=\"\(f(width - right))\" y=\"\(f(height - 12))\" text-anchor=\"end\">\(day(last.0))</text>" }
        if points.count > 1 {
            svg += "<polyline class=\"line\" points=\"" + points.map { "\(f(x($0.0))),\(f(y($0.1)))" }.joined(separator: " ") + "\"/>"
        }
        for (date, number, value) in points {
            let flagged = value.flag != nil
            svg += "<circle class=\"point\(flagged ? " flagged" : "")\" cx=\"\(f(x(date)))\" cy=\"\(f(y(number)))\" r=\"\(flagged ? 5 : 3.5)\"/>"
        }
        return svg + "</svg>"
    }

    static func date(_ text: String) -> Date? {
        if let date = ISO8601DateFormatter().date(from: text) { return date }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "Europe/Stockholm")
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter.date(from: String(text.prefix(10)))
    }

    static func day(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "sv_SE")
        formatter.timeZone = TimeZone(identifier: "Europe/Stockholm")
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter.string(from: date)
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "\"", with: "&quot;")
    }
}
