import Access
import FHIRCore
import Foundation

/// A unit's downtime list as one print-ready HTML page (A4, no scripts, no links out, readable from a file
/// when the server is gone).
public struct DowntimePrint: Sendable {
    let pages: PageRenderer

    /// Loads the shell's templates (the list is the shell's page, not a module's).
    public static func load() async throws -> DowntimePrint {
        DowntimePrint(pages: try await PageRenderer.load(modules: []))
    }

    public func html(_ list: UnitDowntimeList, generated: Int64) -> String {
        func minute(_ instant: Int64) -> String {
            let text = SwedishTime.format(instant)
            return String(text.prefix(10)) + " " + String(text.dropFirst(11).prefix(5))
        }
        let patients: [[String: Any]] = list.patients.map { patient in
            var row: [String: Any] = ["name": patient.name, "identity": patient.identity, "reasons": patient.reasons.joined(separator: " · ")]
            if !patient.birthDate.isEmpty { row["birthDate"] = patient.birthDate }
            row["sections"] = patient.sections.map { section -> [String: Any] in
                var drawn: [String: Any] = ["title": section.title, "hasLines": !section.lines.isEmpty, "emptyText": section.emptyText ?? "Inga."]
                drawn["lines"] = section.lines.map { line -> [String: Any] in
                    var item: [String: Any] = ["text": line.text, "alarm": line.alarm, "marks": line.marks.map { ["text": $0.text] }]
                    if let label = line.label, !label.isEmpty { item["label"] = label }
                    if !line.detail.isEmpty { item["detail"] = line.detail }
                    return item
                }
                return drawn
            }
            return row
        }
        return pages.render("driftstopp", ["unitName": list.unitName, "unitID": list.unitID, "generated": minute(generated), "from": minute(list.window.from),
                                           "to": minute(list.window.to), "count": list.patients.count, "patients": patients,
                                           "hasPatients": !list.patients.isEmpty])
    }
}
