import Access
import FHIRCore
import Foundation
import Hummingbird
import WebApp
import PatientAdministration
import StoreModel

/// Avdelningsöversikt: the ward's beds (free, occupied, on leave) with who lies where, admitted
/// and expected discharge; admitting into a free bed by personnummer, moving to another bed or
/// ward, leave and return, and discharge with a destination; planned admissions, planned ahead and
/// written in on the day into a free bed. The care-contact module does each.
extension AdministrationPages {
    /// `problem` is said at the row its form came from: a bed's id, or "plan-" and a planned stay's id.
    func wardPage(_ request: Request, _ user: User, problem: (bedID: String, text: String, values: [String: String])? = nil,
                  planning: (values: [String: String], errors: [String: String])? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        guard let assignment = user.assignment else { throw FHIRError(.forbidden, code: .forbidden, "no assignment was chosen at login") }
        let session = user.data(gateway, action: "ward-overview")
        // Asked together, so the gateway looks up the access facts of both lists' patients in one batch.
        async let overview = administration.contacts.wardOverview(wardUnitID: assignment.unitID, session: session)
        async let plannedStays = administration.contacts.plannedAdmissions(wardUnitID: assignment.unitID, session: session)
        let (beds, withoutBed) = try await overview
        let freeBeds = beds.filter(\.isFree)
        let wards = try await gateway.directory.careUnits().filter { $0.id != assignment.unitID }
        var context = layout(user, title: "Avdelningsöversikt", nav: "navWard")
        context["unitName"] = assignment.unitName
        context["occupied"] = beds.count - freeBeds.count
        context["free"] = freeBeds.count
        context["onLeave"] = beds.filter(\.onLeave).count
        context["withoutBed"] = withoutBed.count
        if let notice = Self.query(request)["klar"] { context["notice"] = notice }
        // The same choices on every row, written once as escaped HTML: a select's options cannot be shared between
        // rows, and drawing the region's wards through the template for every bed was most of the page's time at
        // 100,000 patients (docs/performance.md).
        func options(_ choices: [(id: String, name: String)]) -> String {
            choices.map { "<option value=\"\($0.id.htmlEscaped)\">\($0.name.htmlEscaped)</option>" }.joined()
        }
        let bedChoices = options(freeBeds.map { ($0.bedID, $0.name) }), wardChoices = options(wards.map { ($0.id, $0.name) })
        // What a ward round glances at on each row, from the modules' row parts in one store call: attention
        // signals (allergies first) and the diagnosis; the care contact is the row itself.
        let readable = beds.compactMap { $0.patient == nil ? nil : $0.patientID }
        let summaries = try await gateway.overview.rows(patientIDs: readable, session: session, places: [.banner, .row], excluding: ["currentContact"])
        let responsible = try await responsibleNames(Set(beds.compactMap(\.responsible)), session: session)
        let today = SwedishTime.today
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
                if let admitted = bed.admitted.flatMap(Instant.parse).map(SwedishTime.day(of:)) { row["dayOfStay"] = "dag \(max(1, today - admitted + 1))" }
                row["responsible"] = bed.responsible.flatMap { responsible[$0] } ?? ""
                let parts = bed.patientID.flatMap { summaries[$0] } ?? []
                row["signals"] = parts.filter { $0.part.place == .banner }.flatMap(\.entries).map { entry -> [String: Any] in
                    ["label": entry.line.label ?? entry.line.text, "text": entry.line.text, "alarm": entry.line.alarm]
                }
                row["diagnosis"] = parts.filter { $0.part.place == .row }.flatMap(\.entries).first.map { $0.line.detail.isEmpty ? $0.line.text : "\($0.line.text) (\($0.line.detail))" } ?? ""
                row["bedOptions"] = bedChoices
                row["wardOptions"] = wardChoices
            }
            if let problem, problem.bedID == bed.bedID {
                row["error"] = problem.text
                row["typed"] = problem.values["patient"] ?? ""
                row["reasonValue"] = problem.values["reason"] ?? ""
            }
            return row
        }
        let planned = try await plannedStays
        let plannedPatients = Dictionary(try await session.read(keys: Set(planned.compactMap { $0.object.referenceID("subject", type: "Patient") })
            .map { ResourceKey(type: "Patient", id: $0) }).map { ($0.id, $0.object) }, uniquingKeysWith: { a, _ in a })
        context["planned"] = planned.map { stay -> [String: Any] in
            let object = stay.object, patientID = object.referenceID("subject", type: "Patient") ?? ""
            var row: [String: Any] = ["encounterID": stay.id, "patientID": patientID,
                                      "patientName": plannedPatients[patientID].map(Display.name) ?? "Patient utan åtkomst",
                                      "identity": plannedPatients[patientID].flatMap(Display.identity)?.value ?? "",
                                      "day": Display.time(object["period"]?.objectValue?["start"]?.stringValue),
                                      "reason": Display.concept(object["reasonCode"]?.arrayValue?.first),
                                      "expected": object.extensionValue(AdministrationCodes.expectedDischarge)?.stringValue ?? "",
                                      "bedOptions": bedChoices]
            if let problem, problem.bedID == "plan-\(stay.id)" { row["error"] = problem.text }
            return row
        }
        // Bed requests from the emergency department: the ward admits the patient into a free bed above (source: akuten).
        let requests = try await administration.contacts.bedRequests(wardUnitID: assignment.unitID, session: session)
        let requested = Dictionary(try await session.read(keys: Set(requests.compactMap { $0.object.referenceID("for", type: "Patient") })
            .map { ResourceKey(type: "Patient", id: $0) }).map { ($0.id, $0.object) }, uniquingKeysWith: { a, _ in a })
        context["bedRequests"] = requests.map { task -> [String: Any] in
            let patientID = task.object.referenceID("for", type: "Patient") ?? ""
            return ["patientID": patientID, "patientName": requested[patientID].map(Display.name) ?? "Patient utan åtkomst",
                    "identity": requested[patientID].flatMap(Display.identity)?.value ?? "",
                    "requested": Display.time(task.object["authoredOn"]?.stringValue), "note": task.object["description"]?.stringValue ?? ""]
        }
        for (field, value) in planning?.values ?? [:] { context["p_\(field)"] = value }
        for (field, message) in planning?.errors ?? [:] { context["pe_\(field)"] = message }
        context["planOpen"] = planning != nil
        context["today"] = SwedishTime.formatDay(SwedishTime.today)
        return pages.page("ward", context, status: status)
    }

    /// The names of the stays' responsible staff by assignment: "Anna Lindqvist, läkare".
    private func responsibleNames(_ roles: Set<String>, session: PatientDataSession) async throws -> [String: String] {
        var assignments: [String: Assignment] = [:]
        for role in roles { if let assignment = try await gateway.directory.assignment(id: role) { assignments[role] = assignment } }
        let people = Dictionary(try await session.read(keys: Set(assignments.values.map(\.practitionerID)).sorted().map { ResourceKey(type: "Practitioner", id: $0) })
            .map { ($0.id, $0.object) }, uniquingKeysWith: { a, _ in a })
        return assignments.mapValues { assignment in
            let name = people[assignment.practitionerID].flatMap { $0["name"] == nil ? nil : Display.name($0) } ?? Display.named("Practitioner/\(assignment.practitionerID)")
            return "\(name), \(assignment.position.display.lowercased())"
        }
    }

    /// The one patient a typed personnummer or reservnummer names, or what to tell the user.
    private func patient(numbered typed: String, session: PatientDataSession) async throws -> Result<StoredResource, WardProblem> {
        guard !typed.isEmpty else { return .failure(WardProblem("Ange patientens personnummer eller reservnummer.")) }
        let found: [StoredResource]
        do {
            found = try await administration.registry.find(typed, limit: 2, session: session)
        } catch let error as FHIRError where error.category == .invalid {
            return .failure(WardProblem("Numret är inte giltigt: " + Self.said(error)))
        }
        guard found.count == 1, Display.identity(found[0].object) != nil else {
            return .failure(WardProblem(found.isEmpty ? "Ingen patient med det numret. Registrera patienten först (reservnummer om identiteten är okänd)." : "Ange ett nummer, inte ett namn."))
        }
        return .success(found[0])
    }

    /// What the ward page says next to a field.
    struct WardProblem: Error {
        let text: String
        init(_ text: String) { self.text = text }
    }

    /// Plans an admission (planerad inskrivning) to the user's ward for a day, by personnummer; it is
    /// written in on the day, into a free bed, from the list of planned admissions.
    func planAdmission(_ request: Request, _ user: User) async throws -> Response {
        let form = user.form.mapValues { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        let session = user.data(gateway, action: "plan-admission")
        var errors: [String: String] = [:]
        let patient: StoredResource?
        switch try await self.patient(numbered: form["patient"] ?? "", session: session) {
        case .success(let found): patient = found
        case .failure(let problem): patient = nil; errors["patient"] = problem.text
        }
        let day = SwedishTime.parseDay(form["plannedDate"] ?? "")
        if day == nil { errors["plannedDate"] = "Ange dagen för inskrivningen." } else if let day, day < SwedishTime.today { errors["plannedDate"] = "Dagen har redan varit." }
        if let expected = form["expected"], !expected.isEmpty, let day, (SwedishTime.parseDay(expected) ?? .min) < day {
            errors["expected"] = "Beräknad utskrivning kan inte vara före inskrivningen."
        }
        guard errors.isEmpty, let patient, let day else { return try await wardPage(request, user, planning: (form, errors), status: .badRequest) }
        do {
            _ = try await administration.contacts.admit(patientID: patient.id, wardUnitID: nil, bedID: nil, planned: true, plannedDay: day, admitSource: "planerad",
                                                        expectedDischarge: form["expected"].flatMap { $0.isEmpty ? nil : $0 },
                                                        reason: form["reason"].flatMap { $0.isEmpty ? nil : $0 }, session: session)
        } catch let error as FHIRError where error.category == .invalid || error.category == .conflict {
            return try await wardPage(request, user, planning: (form, ["patient": Self.said(error)]), status: .badRequest)
        }
        let text = "Planerad inskrivning \(SwedishTime.formatDay(day)): \(Display.name(patient.object))"
        return Self.redirect("/avdelning?klar=" + (text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""))
    }

    /// Inskrivning into a free bed, by personnummer; the stay starts at once (direktinläggning or from the emergency department).
    func admitToBed(_ request: Request, _ user: User) async throws -> Response {
        let form = user.form.mapValues { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        let bedID = form["bed"] ?? ""
        let session = user.data(gateway, action: "admit")
        func problem(_ text: String) async throws -> Response { try await wardPage(request, user, problem: (bedID, text, form), status: .badRequest) }
        let found: StoredResource
        switch try await patient(numbered: form["patient"] ?? "", session: session) {
        case .success(let patient): found = patient
        case .failure(let refusal): return try await problem(refusal.text)
        }
        do {
            _ = try await administration.contacts.admit(patientID: found.id, wardUnitID: nil, bedID: bedID, planned: false,
                                                        admitSource: form["source"] ?? "direktinlaggning",
                                                        expectedDischarge: form["expected"].flatMap { $0.isEmpty ? nil : $0 },
                                                        reason: form["reason"].flatMap { $0.isEmpty ? nil : $0 }, session: session)
        } catch let error as FHIRError where error.category == .invalid || error.category == .conflict {
            return try await problem(Self.said(error))
        }
        return Self.redirect("/avdelning?klar=" + ("Inskriven: \(Display.name(found.object))".addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""))
    }

    /// Transfer, leave, return or discharge of a stay on the ward.
    func wardStep(encounterID: String, step: String, _ request: Request, _ user: User) async throws -> Response {
        let form = user.form.mapValues { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        let events: [String: (EncounterWorkflow.Event, String)] = ["flytta": (.transfer, "Flyttad"), "permission": (.leave, "Permission registrerad"),
                                                                    "ater": (.return, "Åter från permission"), "skriv-ut": (.finish, "Utskriven"),
                                                                    "skriv-in": (.start, "Inskriven"), "avboka": (.cancel, "Den planerade inskrivningen är avbokad")]
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
