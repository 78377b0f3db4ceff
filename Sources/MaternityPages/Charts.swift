import FHIRCore
import Foundation
import Maternity

/// The gravidogram and the partogram as SVG drawn on the server (no script), each with a table of the same values
/// beside it for screen readers and for reading exact numbers.
enum Charts {
    /// A plot area: the data ranges and how they map to the picture.
    struct Plot {
        var xRange: ClosedRange<Double>
        var yRange: ClosedRange<Double>
        let width = 640.0, height = 260.0, left = 44.0, right = 12.0, top = 12.0, bottom = 30.0

        func x(_ value: Double) -> Double { left + (width - left - right) * (value - xRange.lowerBound) / (xRange.upperBound - xRange.lowerBound) }
        func y(_ value: Double) -> Double { top + (height - top - bottom) * (1 - (value - yRange.lowerBound) / (yRange.upperBound - yRange.lowerBound)) }
        func point(_ x: Double, _ y: Double) -> String { String(format: "%.1f,%.1f", self.x(x), self.y(y)) }

        /// The frame with grid lines and labels.
        func frame(titleID: String, title: String, xLabel: String, xStep: Double, yStep: Double) -> String {
            var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-labelledby=\"\(titleID)\" class=\"trend\">"
            svg += "<title id=\"\(titleID)\">\(escape(title))</title>"
            var value = yRange.lowerBound
            while value <= yRange.upperBound + 0.001 {
                svg += "<line x1=\"\(left)\" x2=\"\(width - right)\" y1=\"\(y(value))\" y2=\"\(y(value))\" stroke=\"#e1e4e8\"/>"
                svg += "<text x=\"4\" y=\"\(y(value) + 4)\" font-size=\"11\" fill=\"#4a4f55\">\(Int(value))</text>"
                value += yStep
            }
            value = xRange.lowerBound
            while value <= xRange.upperBound + 0.001 {
                svg += "<text x=\"\(x(value) - 6)\" y=\"\(height - 12)\" font-size=\"11\" fill=\"#4a4f55\">\(Int(value))</text>"
                value += xStep
            }
            svg += "<text x=\"\(width - right - 80)\" y=\"\(height - 1)\" font-size=\"11\" fill=\"#4a4f55\">\(escape(xLabel))</text>"
            return svg
        }
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "\"", with: "&quot;")
    }

    static func number(_ value: Double, places: Int = 1) -> String {
        let text = String(format: "%.\(places)f", value)
        return (places > 0 && text.hasSuffix(String(repeating: "0", count: places)) ? String(text.dropLast(places + 1)) : text).replacingOccurrences(of: ".", with: ",")
    }

    static func week(_ week: Double) -> String {
        let days = Int((week * 7).rounded())
        return "\(days / 7)+\(days % 7)"
    }

    // MARK: The gravidogram

    /// The page's gravidogram: one chart per measure (the reference band where the table has one) and the tables.
    static func gravidogramContext(_ gravidogram: Gravidogram, curves: ReferenceCurves) -> [String: Any] {
        var charts: [[String: Any]] = []
        for series in gravidogram.series {
            let rows = series.points.map { point -> [String: Any] in
                var row: [String: Any] = ["week": week(point.week), "value": series.code == "blodtryck" ? "\(Int(point.value))/\(Int(point.second ?? 0))" : number(point.value),
                                          "date": SwedishTime.formatDay(SwedishTime.day(of: point.time))]
                if let reference = point.reference {
                    row["reference"] = "\(number(reference.mean - 2 * reference.sd)) – \(number(reference.mean)) – \(number(reference.mean + 2 * reference.sd))"
                    let z = (point.value - reference.mean) / reference.sd
                    row["outside"] = abs(z) > 2
                    row["sd"] = (z >= 0 ? "+" : "−") + number(abs(z))
                }
                return row
            }
            charts.append(["code": series.code, "display": series.display, "unit": series.unit, "svg": svg(series, curves: curves),
                           "rows": rows, "hasReference": series.curve != nil, "empty": series.points.isEmpty])
        }
        return ["charts": charts, "demoCurves": curves.isDemonstration, "curvesName": curves.name, "curvesNotice": curves.notice ?? "",
                "findings": gravidogram.findings.map { ["display": $0.rule.display, "reason": $0.reason, "actions": $0.actions.map(\.display).joined(separator: "; ")] }]
    }

    static func svg(_ series: Gravidogram.Series, curves: ReferenceCurves) -> String {
        let values = series.points.flatMap { [$0.value] + ($0.second.map { [$0] } ?? []) }
        let reference = series.curve?.points ?? []
        let xLow = min(series.code == "sf" ? 20 : 8, series.points.map(\.week).min() ?? 40).rounded(.down)
        let xHigh = max(42, series.points.map(\.week).max() ?? 0).rounded(.up)
        let bandLow = reference.map { $0.mean - 2 * $0.sd }, bandHigh = reference.map { $0.mean + 2 * $0.sd }
        var yLow = ((values + bandLow).min() ?? 0) - 2, yHigh = ((values + bandHigh).max() ?? 10) + 2
        if series.code == "blodtryck" { yLow = min(yLow, 40); yHigh = max(yHigh, curves.bloodPressureLines.systolic + 20) }
        let step = Swift.max(1, ((yHigh - yLow) / 6).rounded())
        yLow = (yLow / step).rounded(.down) * step
        let plot = Plot(xRange: xLow...xHigh, yRange: yLow...Swift.max(yHigh, yLow + step))
        let title = "\(series.display) per graviditetsvecka, \(series.points.count) mätningar" + (series.curve != nil ? ", med referenskurvans medelvärde och ±2 SD" : "")
        var svg = plot.frame(titleID: "gravidogram-\(series.code)-title", title: title, xLabel: "Graviditetsvecka", xStep: 2, yStep: step)
        if !reference.isEmpty {
            let upper = reference.map { plot.point($0.week, $0.mean + 2 * $0.sd) }, lower = reference.reversed().map { plot.point($0.week, $0.mean - 2 * $0.sd) }
            svg += "<polygon points=\"\((upper + lower).joined(separator: " "))\" fill=\"#dbe9f6\" stroke=\"#7aa6cf\" stroke-width=\"1\"/>"
            svg += "<polyline fill=\"none\" stroke=\"#7aa6cf\" stroke-dasharray=\"4 3\" points=\"\(reference.map { plot.point($0.week, $0.mean) }.joined(separator: " "))\"/>"
        }
        if series.code == "blodtryck" {
            for limit in [curves.bloodPressureLines.systolic, curves.bloodPressureLines.diastolic] {
                svg += "<line x1=\"\(plot.left)\" x2=\"\(plot.width - plot.right)\" y1=\"\(plot.y(limit))\" y2=\"\(plot.y(limit))\" stroke=\"#a00000\" stroke-dasharray=\"6 3\"/>"
            }
        }
        if !series.points.isEmpty {
            svg += "<polyline fill=\"none\" stroke=\"#004b87\" stroke-width=\"2\" points=\"\(series.points.map { plot.point($0.week, $0.value) }.joined(separator: " "))\"/>"
            for point in series.points {
                let outside = point.reference.map { abs(point.value - $0.mean) > 2 * $0.sd } ?? false
                svg += "<circle cx=\"\(plot.x(point.week))\" cy=\"\(plot.y(point.value))\" r=\"4\" fill=\"\(outside ? "#a00000" : "#004b87")\"/>"
                if let second = point.second { svg += "<circle cx=\"\(plot.x(point.week))\" cy=\"\(plot.y(second))\" r=\"3.5\" fill=\"#2d6a2d\"/>" }
            }
        }
        return svg + "</svg>"
    }

    // MARK: The partogram

    static func positionText(_ position: PartogramCheck.Position) -> String {
        switch position {
        case .latent: "Latensfas"
        case .onTrack: "Enligt förväntat"
        case .rightOfAlert: "Höger om varningslinjen"
        case .rightOfAction: "Höger om aktionslinjen"
        }
    }

    /// Dilatation (cm) against hours since admission, with the alert and action lines from the first active-phase examination.
    static func partogram(_ chart: Delivery.Chart, lines: PartogramLines) -> String {
        let hours = chart.positions.map { $0.examination.minutes / 60 }
        let span = Swift.max(12, ((hours.max() ?? 0) + 2).rounded(.up))
        let plot = Plot(xRange: 0...span, yRange: 0...lines.fullDilatationCm)
        var svg = plot.frame(titleID: "partogram-title",
                             title: "Partogram: öppning i cm per timme sedan inskrivningen, \(chart.positions.count) undersökningar, med varnings- och aktionslinje",
                             xLabel: "Timmar", xStep: 2, yStep: 2)
        if let start = chart.activeStart {
            let startHour = start.minutes / 60
            let reach = (lines.fullDilatationCm - start.centimetres) / lines.rateCmPerHour
            svg += "<line x1=\"\(plot.x(startHour))\" y1=\"\(plot.y(start.centimetres))\" x2=\"\(plot.x(Swift.min(span, startHour + reach)))\" y2=\"\(plot.y(Swift.min(lines.fullDilatationCm, start.centimetres + (span - startHour) * lines.rateCmPerHour)))\" stroke=\"#b26b00\" stroke-width=\"2\"/>"
            let actionStart = startHour + lines.actionOffsetHours
            if actionStart < span {
                svg += "<line x1=\"\(plot.x(actionStart))\" y1=\"\(plot.y(start.centimetres))\" x2=\"\(plot.x(Swift.min(span, actionStart + reach)))\" y2=\"\(plot.y(Swift.min(lines.fullDilatationCm, start.centimetres + (span - actionStart) * lines.rateCmPerHour)))\" stroke=\"#a00000\" stroke-width=\"2\" stroke-dasharray=\"6 3\"/>"
            }
            svg += "<text x=\"\(plot.x(startHour) + 4)\" y=\"\(plot.y(start.centimetres) - 6)\" font-size=\"11\" fill=\"#b26b00\">Varningslinje</text>"
            if actionStart < span { svg += "<text x=\"\(plot.x(actionStart) + 4)\" y=\"\(plot.y(start.centimetres) + 14)\" font-size=\"11\" fill=\"#a00000\">Aktionslinje</text>" }
        }
        // Descent in fifths above the brim, drawn on the same grid (5/5 at 10, 0/5 at 0) as open circles.
        for point in chart.series["nedtrangning"] ?? [] {
            let hour = Double(point.time - chart.start) / 3_600_000
            svg += "<circle cx=\"\(plot.x(hour))\" cy=\"\(plot.y(point.value * 2))\" r=\"4.5\" fill=\"none\" stroke=\"#2d6a2d\" stroke-width=\"2\"/>"
        }
        if !chart.positions.isEmpty {
            svg += "<polyline fill=\"none\" stroke=\"#004b87\" stroke-width=\"2\" points=\"\(chart.positions.map { plot.point($0.examination.minutes / 60, $0.examination.centimetres) }.joined(separator: " "))\"/>"
            for (examination, position) in chart.positions {
                let colour = position == .rightOfAction ? "#a00000" : position == .rightOfAlert ? "#b26b00" : "#004b87"
                svg += "<circle cx=\"\(plot.x(examination.minutes / 60))\" cy=\"\(plot.y(examination.centimetres))\" r=\"4.5\" fill=\"\(colour)\"/>"
            }
        }
        return svg + "</svg>"
    }

    /// The other parts against the same hours: fetal heart rate and the mother's pulse, and contractions per ten minutes.
    static func partogramParts(_ chart: Delivery.Chart) -> [(title: String, svg: String)] {
        let hours = (chart.series.values.flatMap { $0.map { Double($0.time - chart.start) / 3_600_000 } }).max() ?? 0
        let span = Swift.max(12, (hours + 2).rounded(.up))
        var charts: [(title: String, svg: String)] = []
        let groups: [(id: String, title: String, parts: [(code: String, colour: String)], range: ClosedRange<Double>, step: Double)] = [
            ("partogram-heart", "Fosterljud (rött) och moderns puls (blått) per minut", [("fosterljud", "#a00000"), ("puls", "#004b87")], 40...200, 20),
            ("partogram-contractions", "Värkar per 10 minuter", [("varkar", "#6b3fa0")], 0...6, 1),
        ]
        for group in groups where group.parts.contains(where: { !(chart.series[$0.code] ?? []).isEmpty }) {
            let plot = Plot(xRange: 0...span, yRange: group.range)
            let count = group.parts.map { chart.series[$0.code]?.count ?? 0 }.reduce(0, +)
            var svg = plot.frame(titleID: group.id + "-title", title: "\(group.title), \(count) värden, per timme sedan inskrivningen", xLabel: "Timmar", xStep: 2, yStep: group.step)
            for part in group.parts {
                let points = (chart.series[part.code] ?? []).map { (Double($0.time - chart.start) / 3_600_000, $0.value) }
                guard !points.isEmpty else { continue }
                svg += "<polyline fill=\"none\" stroke=\"\(part.colour)\" stroke-width=\"2\" points=\"\(points.map { plot.point($0.0, Swift.min($0.1, group.range.upperBound)) }.joined(separator: " "))\"/>"
                for point in points {
                    svg += "<circle cx=\"\(plot.x(point.0))\" cy=\"\(plot.y(Swift.min(point.1, group.range.upperBound)))\" r=\"3.5\" fill=\"\(part.colour)\"/>"
                }
            }
            charts.append((group.title, svg + "</svg>"))
        }
        return charts
    }
}
