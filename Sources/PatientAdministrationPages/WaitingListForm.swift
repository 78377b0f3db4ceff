import Access
import FHIRCore
import Foundation
import Hummingbird
import PatientAdministration
import StoreModel
import WebApp

/// Ställ på väntelista: from the chart, from the appointment book (by personnummer) and from an
/// accepted referral (its request and start day carried over), at the user's unit.
extension AdministrationPages {
    /// The form; `patientID` is nil when the patient is to be named by personnummer (the appointment book).
    func waitingListForm(patientID: String?, request: Request, _ user: User, values: [String: String] = [:], errors: [String: String] = [:],
                         status: HTTPResponse.Status = .ok) async throws -> Response {
        let query = Self.query(request)
        var values = values
        for name in ["remiss", "tillbaka"] where values[name] == nil { values[name] = query[name] ?? "" }
        var context = layout(user, title: "Ställ på väntelista", nav: "navWaiting")
        context["unitName"] = user.assignment?.unitName ?? ""
        if let patientID {
            let session = user.data(gateway, action: "waiting-list-form")
            let (banner, access) = try await header(patientID: patientID, session: session)
            guard let banner else { return try await accessPage(patientID: patientID, status: access, user: user, form: [:], errors: [:]) }
            context["banner"] = banner
            context["patientID"] = patientID
            context["action"] = "/patienter/\(Self.encoded(patientID))/vantelista"
        } else {
            context["askPatient"] = true
            context["action"] = "/vantelista"
        }
        context["visitChoices"] = VisitType.allCases.map { ["code": $0.rawValue, "name": $0.display, "selected": (values["visitType"] ?? "lakarbesok") == $0.rawValue] as [String: Any] }
        context["stageChoices"] = CareGuarantee.Stage.allCases.map {
            ["code": $0.rawValue, "name": $0.display, "selected": (values["stage"] ?? (values["remiss"]?.isEmpty == false ? "besok" : "bedomning")) == $0.rawValue] as [String: Any]
        }
        context["priorityChoices"] = (1...9).map { ["value": $0, "selected": (Int(values["priority"] ?? "") ?? 5) == $0] as [String: Any] }
        for (name, value) in values { context["v_\(name)"] = value }
        for (name, message) in errors { context["e_\(name)"] = message }
        if !errors.isEmpty { context["error"] = "Patienten ställdes inte på väntelistan. Rätta det som är markerat." }
        return pages.page("waiting-form", context, status: status)
    }

    /// Puts the patient on the unit's waiting list; a patient named by personnummer is looked up first.
    func addToWaitingList(patientID given: String?, request: Request, _ user: User) async throws -> Response {
        let form = user.form.mapValues { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        func refused(_ errors: [String: String], status: HTTPResponse.Status = .badRequest) async throws -> Response {
            try await waitingListForm(patientID: given, request: request, user, values: form, errors: errors, status: status)
        }
        let session = user.data(gateway, action: "waiting-list-add")
        var patientID = given
        if patientID == nil {
            let typed = form["patient"] ?? ""
            guard !typed.isEmpty else { return try await refused(["patient": "Ange patientens personnummer."]) }
            let found: [StoredResource]
            do {
                found = try await administration.registry.find(typed, limit: 2, session: session)
            } catch let error as FHIRError where error.category == .invalid {
                return try await refused(["patient": "Numret är inte giltigt. Skriv personnummer, samordningsnummer eller reservnummer."])
            }
            guard found.count == 1, SwedishPersonalIdentity.looksLikeNumber(typed) else {
                return try await refused(["patient": found.isEmpty ? "Ingen patient med det numret." : "Skriv patientens fullständiga personnummer."])
            }
            patientID = found[0].id
        }
        guard let patientID else { return try await refused(["patient": "Ange patientens personnummer."]) }
        guard let visitType = VisitType(rawValue: form["visitType"] ?? "") else { return try await refused(["visitType": "Välj besökstyp."]) }
        guard let stage = CareGuarantee.Stage(rawValue: form["stage"] ?? "") else { return try await refused(["stage": "Välj vårdgarantins steg."]) }
        guard let priority = Int(form["priority"] ?? ""), (1...9).contains(priority) else { return try await refused(["priority": "Välj prioritet 1–9."]) }
        var startDay: Int?
        if let text = form["startDay"], !text.isEmpty {
            guard let day = SwedishTime.parseDay(text) else { return try await refused(["startDay": "Skriv ett datum, till exempel 2026-12-01."]) }
            startDay = day
        }
        let referral = form["remiss"].flatMap { $0.isEmpty ? nil : $0 }
        do {
            _ = try await administration.waitingList.add(patientID: patientID, unitID: nil, visitType: visitType, priority: priority, stage: stage,
                                                         startDay: startDay, referralID: referral, comment: form["comment"], session: session)
        } catch let error as FHIRError where error.category == .invalid {
            return try await refused(["priority": Self.said(error)])
        }
        let notice = "Patienten står på väntelistan"
        if let back = WebApp<Context>.localPath(form["tillbaka"]) {
            return Self.redirect(back + (back.contains("?") ? "&" : "?") + "klar=" + Self.encoded(notice))
        }
        return Self.redirect("/vantelista?klar=" + Self.encoded(notice))
    }
}

extension SwedishPersonalIdentity {
    /// Whether a search text is a number (personnummer, samordningsnummer or reservnummer) rather than a name.
    static func looksLikeNumber(_ text: String) -> Bool { text.allSatisfy { $0.isNumber || $0 == "-" || $0 == "+" || $0 == " " } }
}
