import CareFlows
import FHIRCore

/// The tracking board's table rows as HTML, written here rather than by the template engine: sixty rows of
/// thirty values each were most of the board's time in Mustache's dynamic lookups (the log review's table does
/// the same). Every value is HTML-escaped; the template keeps the page and the table around the rows.
enum BoardRowsHTML {
    static func write(_ rows: [TrackingBoard.Row], now: Int64, stayTarget: Int) -> String {
        var html = ""
        html.reserveCapacity(rows.count * 1_400)
        for row in rows {
            let id = row.encounterID.htmlEscaped
            let colour = (row.colour ?? "none").htmlEscaped
            html += "<tr id=\"visit-\(id)\" data-colour=\"\(colour)\">\n"
            html += "  <td><span class=\"triage \(colour)\">\((row.colourDisplay ?? "Ej triagerad").htmlEscaped)</span></td>\n"
            html += "  <td><a href=\"/akut/besok/\(id)\">\(row.patientName.htmlEscaped)</a> <span class=\"meta\">\(row.identifier.htmlEscaped)</span>"
            if row.unidentified { html += " <span class=\"tag warn\">okänd identitet</span>" }
            html += "</td>\n  <td>\(row.complaint.htmlEscaped)</td>\n  <td>\((row.room ?? "").htmlEscaped)</td>\n"
            html += "  <td>\(Display.clock(SwedishTime.format(row.arrival)).htmlEscaped) <span class=\"meta\">\(row.arrivalMode.htmlEscaped)</span></td>\n"
            html += "  <td><span class=\"since\(now >= row.stayDue ? " breached" : "")\" data-due=\"\(row.stayDue)\"><span data-since=\"\(row.arrival)\">"
            html += "\(row.minutes(since: row.arrival, now: now) ?? 0) min</span><span class=\"due-note\"> över \(stayTarget) min</span></span>"
            if let due = row.triageDue {
                html += "<br><span class=\"\(now >= due ? "breached" : "")\" data-due=\"\(due)\">ej triagerad<span class=\"due-note\"> – över målet</span></span>"
            }
            if let due = row.doctorDue {
                html += "<br><span class=\"\(now >= due ? "breached" : "")\" data-due=\"\(due)\">väntar på läkare<span class=\"due-note\"> – över målet</span></span>"
            }
            html += "</td>\n  <td>"
            if let triaged = row.triaged { html += "<span data-since=\"\(triaged)\">\(row.minutes(since: triaged, now: now) ?? 0) min</span>" }
            html += "</td>\n  <td>\((row.doctor ?? "").htmlEscaped)</td>\n  <td>\((row.nurse ?? "").htmlEscaped)</td>\n  <td>"
            if row.pendingOrders > 0 { html += "<span class=\"tag\">\(row.pendingOrders) väntar på svar</span> " }
            if row.results > 0 { html += "<span class=\"tag ok\">\(row.results) svar</span>" }
            html += "</td>\n  <td>"
            for signal in row.signals { html += "<span class=\"tag alarm\">\(signal.htmlEscaped)</span> " }
            html += "</td>\n  <td>\(row.step.display.htmlEscaped)</td>\n</tr>\n"
        }
        return html
    }
}
