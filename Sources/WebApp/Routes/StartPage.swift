import Access
import FHIRCore
import Foundation
import Hummingbird

/// The start page of an assignment: the unit and the day, then each module's worklists for the user
/// (today's visits, unsigned notes, the referral inbox, the waiting list past the care guarantee).
extension WebApp {
    func startPage(_ user: User) async throws -> Response {
        guard let assignment = user.assignment else {
            return message(user: user, heading: "Inget medarbetaruppdrag", text: "Logga in igen och välj ett medarbetaruppdrag.", status: .forbidden)
        }
        // The modules' sections in parallel; each reads through the user's session, so each is audited with the page.
        let sections = try await withThrowingTaskGroup(of: (Int, [StartSection]).self) { group in
            for (index, module) in modules.enumerated() {
                group.addTask { (index, try await module.startSections(for: user, app: self)) }
            }
            var all: [(Int, [StartSection])] = []
            for try await part in group { all.append(part) }
            return all.sorted { $0.0 < $1.0 }.flatMap(\.1)
        }
        var context = layout(user, title: "Start", nav: "navStart")
        context["unitName"] = assignment.unitName
        context["positionName"] = assignment.position.display
        context["today"] = SwedishTime.formatDay(SwedishTime.today)
        // A downtime that ended this week: what was on paper is to be entered, and the list shows what has been.
        if let last = gateway.readOnly.periods.last, Instant.now() - last.to < 7 * 86_400_000 {
            let text = SwedishTime.format(last.to)
            context["backEntry"] = "Ett driftstopp slutade \(text.prefix(10)) \(text.dropFirst(11).prefix(5)). För in det som dokumenterades på papper, med tiden det hände."
        }
        context["sections"] = sections.enumerated().sorted { ($0.element.rank, $0.offset) < ($1.element.rank, $1.offset) }.map { ["html": $0.element.html] }
        return pages.page("start", context)
    }
}
