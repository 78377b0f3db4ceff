import Access
import FHIRCore
import Foundation
import Hummingbird
import PatientAdministration
import WebApp

/// The fee schedule (taxa) among the administration pages: the fee per visit type, the ages that pay
/// nothing, the högkostnadsskydd's period and ceilings, checked by the cashier module when saved.
extension AdministrationPages {
    func feesPage(_ user: User, values: [String: String] = [:], errors: [String: String] = [:], notice: String? = nil,
                  status: HTTPResponse.Status = .ok) async throws -> Response {
        var context = try adminContext(user, section: "taxa", values: values, errors: errors, notice: notice)
        let schedule = try await administration.cashier.schedule(session: user.data(gateway, action: "administration"))
        context["feeFields"] = VisitType.allCases.map { type -> [String: Any] in
            ["code": type.rawValue, "display": type.display, "value": values["fee-\(type.rawValue)"] ?? String(schedule.fees[type.rawValue] ?? 0),
             "error": errors["fee-\(type.rawValue)"] ?? ""]
        }
        context["freeBelowAge"] = values["freeBelowAge"] ?? String(schedule.freeBelowAge)
        context["freeFromAge"] = values["freeFromAge"] ?? String(schedule.freeFromAge)
        context["periodMonths"] = values["periodMonths"] ?? String(schedule.periodMonths)
        context["ceilings"] = values["ceilings"] ?? schedule.ceilings.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
        context["source"] = schedule.source
        return pages.page("admin-fees", context, status: status)
    }

    func saveFees(_ user: User) async throws -> Response {
        let form = user.form.mapValues { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        let session = user.data(gateway, action: "administration")
        func refused(_ errors: [String: String]) async throws -> Response {
            try await feesPage(user, values: form, errors: errors, status: .badRequest)
        }
        // Only a systemförvaltare saves the taxa; anyone else gets the shell's refusal page, before anything is read.
        try requireAdministrator(user)
        var errors: [String: String] = [:]
        var fees: [String: Int] = [:]
        for type in VisitType.allCases {
            if let fee = Int(form["fee-\(type.rawValue)"] ?? "") { fees[type.rawValue] = fee } else { errors["fee-\(type.rawValue)"] = "Ange ett belopp i hela kronor." }
        }
        var ceilings: [String: Int] = [:]
        for part in (form["ceilings"] ?? "").split(separator: ",") {
            let pair = part.split(separator: "=").map { $0.trimmingCharacters(in: .whitespaces) }
            if pair.count == 2, Int(pair[0]) != nil, let amount = Int(pair[1]) { ceilings[pair[0]] = amount } else { errors["ceilings"] = "Skriv år=belopp, till exempel 2026=1450." }
        }
        let below = Int(form["freeBelowAge"] ?? ""), from = Int(form["freeFromAge"] ?? ""), months = Int(form["periodMonths"] ?? "")
        if below == nil { errors["freeBelowAge"] = "Ange en ålder." }
        if from == nil { errors["freeFromAge"] = "Ange en ålder." }
        if months == nil { errors["periodMonths"] = "Ange antal månader." }
        guard errors.isEmpty, let below, let from, let months else { return try await refused(errors) }
        var schedule = FeeSchedule.defaults
        schedule.source = "Regionens taxa, ändrad i Kärna av \(user.principal.displayName)"
        (schedule.fees, schedule.freeBelowAge, schedule.freeFromAge, schedule.ceilings, schedule.periodMonths) = (fees, below, from, ceilings, months)
        do {
            try await administration.cashier.configure(schedule, session: session)
        } catch let error as FHIRError where error.category == .invalid {
            let field = (error.issues.first?.expression.first ?? "").replacingOccurrences(of: "fees.", with: "fee-")
            return try await refused([field.isEmpty ? "ceilings" : field: Self.said(error)])
        }
        return Self.redirect("/admin/taxa?klar=Taxan%20%C3%A4r%20sparad")
    }
}
