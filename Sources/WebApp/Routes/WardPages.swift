import Access
import FHIRCore
import Foundation
import Hummingbird
import PatientAdministration
import Store

/// Avdelningsöversikt: the ward's beds (free, occupied, on leave) with who lies where, admitted
/// and expected discharge; admitting into a free bed by personnummer, moving to another bed or
/// ward, leave and return, and discharge with a destination. The care-contact module does each.
extension WebApp {
    func wardPage(_ request: Request, _ user: User, problem: (bedID: String, text: String, values: [String: String])? = nil,
                  status: HTTPResponse.Status = .ok) async throws -> Response {
        guard let assignment = user.assignment else { throw FHIRError(.forbidden, code: "forbidden", "no assignment was chosen at login") }
        let session = user.data(gateway, action: "ward-overview")
        let (beds, withoutBed) = try await administration.contacts.wardOverview(wardUnitID: assignment.unitID, session: session)
        let freeBeds = beds.filter(\.isFree)
        let wards = try await gateway.directory.careUnits().filter { $0.id != assignment.unitID }
        var context = layout(user, title: "Avdelningsöversikt", nav: "navWard")
        context["unitName"] = assignment.unitName
        context["occupied"] = beds.count - freeBeds.count
        context["free"] = freeBeds.count
        context["onLeave"] = beds.filter(\.onLeave).count
        context["withoutBed"] = withoutBed.count
        if let notice = Self.query(request)["klar"] { context["notice"] = notice }
        context["beds"] = beds.map { bed -> [String: Any] in
            var row: [String: Any] = ["bedID": bed.bedID, "name": bed.name, "room": bed.room ?? "", "free": bed.isFree, "onLeave": bed.onLeave]
            if let encounterID = bed.encounterID {
                let patient = bed.patient
                row["encounterID"] = encounterID
                row["patientID"] = bed.patientID ?? ""
                row["patientName"] = patient.map(Display.name) ?? bed.patientName ?? "Patient utan åtkomst"
                row["identity"] = patient.flatMap(Display.identity)?.value ?? ""
                row["admitted"] = Display.time(bed.admitted)
                row["expected"] = bed.expectedDischarge ?? ""
                row["freeBeds"] = freeBeds.map { ["id": $0.bedID, "name": $0.name] }
                row["wards"] = wards.map { ["id": $0.id, "name": $0.name] }
            }
            if let problem, problem.bedID == bed.bedID {
                row["error"] = problem.text
                row["typed"] = problem.values["patient"] ?? ""
                row["reasonValue"] = problem.values["reason"] ?? ""
            }
            return row
        }
        return pages.page("ward", context, status: status)
    }

    /// Inskrivning into a free bed, by personnummer; the stay starts at once (direktinläggning or from the emergency department).
    func admitToBed(_ request: Request, _ user: User) async throws -> Response {
        let form = user.form.mapValues { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        let bedID = form["bed"] ?? ""
        let session = user.data(gateway, action: "admit")
        func problem(_ text: String) async throws -> Response { try await wardPage(request, user, problem: (bedID, text, form), status: .badRequest) }
        let typed = form["patient"] ?? ""
        guard !typed.isEmpty else { return try await problem("Ange patientens personnummer eller reservnummer.") }
        let found: [StoredResource]
        do {
            found = try await administration.registry.find(typed, limit: 2, session: session)
        } catch let error as FHIRError where error.category == .invalid {
            return try await problem("Numret är inte giltigt: " + Self.said(error))
        }
        guard found.count == 1, Display.identity(found[0].object) != nil else {
            return try await problem(found.isEmpty ? "Ingen patient med det numret. Registrera patienten först (reservnummer om identiteten är okänd)." : "Ange ett nummer, inte ett namn.")
        }
        do {
            _ = try await administration.contacts.admit(patientID: found[0].id, wardUnitID: nil, bedID: bedID, planned: false,
                                                        admitSource: form["source"] ?? "direktinlaggning",
                                                        expectedDischarge: form["expected"].flatMap { $0.isEmpty ? nil : $0 },
                                                        reason: form["reason"].flatMap { $0.isEmpty ? nil : $0 }, session: session)
        } catch let error as FHIRError where error.category == .invalid || error.category == .conflict {
            return try await problem(Self.said(error))
        }
        return Self.redirect("/avdelning?klar=" + ("Inskriven: \(Display.name(found[0].object))".addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""))
    }

    /// Transfer, leave, return or discharge of a stay on the ward.
    func wardStep(encounterID: String, step: String, _ request: Request, _ user: User) async throws -> Response {
        let form = user.form.mapValues { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        let events: [String: (EncounterWorkflow.Event, String)] = ["flytta": (.transfer, "Flyttad"), "permission": (.leave, "Permission registrerad"),
                                                                    "ater": (.return, "Åter från permission"), "skriv-ut": (.finish, "Utskriven")]
        guard let (event, done) = events[step] else { throw HTTPError(.notFound) }
        do {
            _ = try await administration.contacts.transition(encounterID: encounterID, event: event,
                                                             toWard: form["ward"].flatMap { $0.isEmpty ? nil : $0 }, toBed: form["toBed"].flatMap { $0.isEmpty ? nil : $0 },
                                                             dischargeDisposition: form["destination"].flatMap { $0.isEmpty ? nil : $0 },
                                                             reason: form["reason"].flatMap { $0.isEmpty ? nil : $0 }, session: user.data(gateway, action: "ward-\(step)"))
        } catch let error as FHIRError where error.category == .invalid || error.category == .conflict {
            return try await wardPage(request, user, problem: (form["bed"] ?? "", Self.said(error), form), status: .badRequest)
        }
        return Self.redirect("/avdelning?klar=" + (done.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""))
    }
}
