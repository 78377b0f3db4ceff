import Access
import CareFlows
import FHIRCore
import Foundation
import Hummingbird
import HTTPTypes
import NIOCore
import ServiceLifecycle
import StoreModel
import WebApp

/// The care-flow pages' handlers, over the shell's gateway, layout and helpers.
struct CareFlowPages<Context: RequestContext>: ModulePages {
    let app: WebApp<Context>
    let flows: CareFlows
    let boardRefreshSeconds: Int
    let streamSeconds: Int

    var table: TriageTable { flows.emergency.scoring.table }

    // MARK: The tracking board

    func board(_ user: User, notice: String? = nil) async throws -> Response {
        guard let unit = user.assignment?.unitID else {
            return message(user: user, heading: "Ingen enhet vald", text: "Akuttavlan visar den akutmottagning du arbetar på. Välj ett uppdrag där.", status: .badRequest)
        }
        var context = layout(user, title: "Akuttavla – \(user.assignment?.unitName ?? unit)", nav: "navEmergency")
        context["unitName"] = user.assignment?.unitName ?? unit
        context.merge(try await rowsContext(user, unit: unit)) { _, new in new }
        context["targets"] = ["triage": flows.emergency.targets.triageMinutes, "doctor": flows.emergency.targets.doctorMinutes,
                              "stay": flows.emergency.targets.stayMinutes]
        context["demoTable"] = table.id.contains("demo")
        context["tableName"] = table.name
        if let notice { context["notice"] = notice }
        return pages.page("akut", context)
    }

    /// The board's rows alone, for the live refresh.
    func boardRows(_ user: User) async throws -> Response {
        guard let unit = user.assignment?.unitID else { return message(user: user, heading: "Ingen enhet vald", text: "Välj ett uppdrag.", status: .badRequest) }
        return pages.page("akut-rader", try await rowsContext(user, unit: unit))
    }

    func rowsContext(_ user: User, unit: String) async throws -> [String: Any] {
        let session = user.data(gateway, action: "ed-board")
        let rows = try await flows.board.rows(unitID: unit, session: session)
        let now = Instant.now()
        return ["rowsHTML": BoardRowsHTML.write(rows, now: now, stayTarget: flows.emergency.targets.stayMinutes), "count": rows.count, "empty": rows.isEmpty]
    }

    /// Server-sent events: "changed" whenever the unit's board changed here, and at the refresh interval for changes
    /// made elsewhere; the stream ends after a while and the browser reconnects (so the server can always stop).
    func boardEvents(_ user: User) throws -> Response {
        guard let unit = user.assignment?.unitID else { return message(user: user, heading: "Ingen enhet vald", text: "Välj ett uppdrag.", status: .badRequest) }
        let events = flows.emergency.events, refresh = boardRefreshSeconds, lifetime = streamSeconds
        let body = ResponseBody { writer in
            let (ticks, tick) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
            let changes = events.subscribe(unit: unit)
            let forward = Task { for await _ in changes { tick.yield() } }
            let timer = Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(refresh))
                    tick.yield()
                }
            }
            let end = Task {
                try? await Task.sleep(for: .seconds(lifetime))
                tick.finish()
            }
            defer { forward.cancel(); timer.cancel(); end.cancel() }
            try await writer.write(ByteBuffer(string: "retry: 2000\n: akuttavla \(unit)\n\n"))
            // A stopping server ends the stream at once (the browser reconnects to the next one).
            try await withGracefulShutdownHandler {
                for await _ in ticks {
                    try await writer.write(ByteBuffer(string: "event: changed\ndata: \(Instant.now())\n\n"))
                }
            } onGracefulShutdown: {
                tick.finish()
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-store"], body: body)
    }

    // MARK: Arrival

    func arrivalForm(_ user: User, values: [String: String], errors: [String: String] = [:], status: HTTPResponse.Status = .ok) async throws -> Response {
        var context = layout(user, title: "Ankomst till akuten", nav: "navEmergency")
        context["formToken"] = user.formToken
        if let patientID = values["patient"], !patientID.isEmpty {
            let session = user.data(gateway, action: "ed-arrival-form")
            let (shown, access) = try await header(patientID: patientID, session: session)
            guard let banner = shown else { return try await accessPage(patientID: patientID, status: access, user: user, form: [:], errors: [:]) }
            context["banner"] = banner
            context["patientID"] = patientID
        }
        context["number"] = values["number"] ?? ""
        context["unidentified"] = values["unidentified"] == "ja"
        context["complaint"] = values["complaint"] ?? ""
        context["note"] = values["note"] ?? ""
        context["birthYear"] = values["birthYear"] ?? ""
        let mode = values["mode"] ?? "egen"
        context["modes"] = EmergencyDepartment.arrivalModes.map { ["code": $0.code, "display": $0.display, "checked": $0.code == mode] as [String: Any] }
        let gender = values["gender"] ?? "unknown"
        context["genders"] = [("unknown", "Okänt"), ("female", "Kvinna"), ("male", "Man"), ("other", "Annat")].map {
            ["code": $0.0, "display": $0.1, "selected": $0.0 == gender] as [String: Any]
        }
        context["errors"] = errors
        context["errorList"] = errors.sorted { $0.key < $1.key }.map { ["field": $0.key, "text": $0.value] }
        return pages.page("akut-ankomst", context, status: status)
    }

    func arrive(_ user: User) async throws -> Response {
        let form = user.form.mapValues { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        let session = user.data(gateway, action: "ed-arrive")
        var patientID = form["patient"]?.nonEmpty
        var unidentified: EmergencyDepartment.Unidentified?
        if patientID == nil {
            if form["unidentified"] == "ja" {
                let year = form["birthYear"]?.nonEmpty
                if let year, Int(year) == nil { return try await arrivalForm(user, values: form, errors: ["birthYear": "Födelseåret ska vara ett årtal, till exempel 1960."], status: .badRequest) }
                unidentified = .init(gender: form["gender"], estimatedBirthYear: year.flatMap { Int($0) }, note: form["note"])
            } else {
                switch try await Self.patient(numbered: form["number"] ?? "", session: session) {
                case .success(let found): patientID = found.id
                case .failure(let problem): return try await arrivalForm(user, values: form, errors: ["number": problem.text], status: .badRequest)
                }
            }
        }
        let visit: StoredResource
        do {
            visit = try await flows.emergency.arrive(patientID: patientID, unidentified: unidentified, unitID: nil, arrivalMode: form["mode"] ?? "egen",
                                                     complaint: form["complaint"], session: session)
        } catch let error as FHIRError where error.category == .invalid || error.category == .conflict {
            return try await arrivalForm(user, values: form, errors: [error.issues.first?.expression.first ?? "number": Self.said(error)], status: .badRequest)
        }
        return Self.redirect("/akut/besok/\(Self.encoded(visit.id))?klar=" + Self.encoded("Ankomsten är registrerad. Triagera patienten."))
    }

    struct Problem: Error { let text: String }

    /// A patient by personnummer, samordningsnummer or reservnummer.
    static func patient(numbered typed: String, session: PatientDataSession) async throws -> Result<StoredResource, Problem> {
        guard !typed.isEmpty else { return .failure(Problem(text: "Ange personnummer eller reservnummer, eller välj okänd patient.")) }
        let value: String
        if let reserve = try? Reservnummer(typed) { value = "\(Reservnummer.system)|\(reserve.canonical)" }
        else if let identity = try? SwedishPersonalIdentity(typed) { value = identity.canonical }
        else { return .failure(Problem(text: "Numret är varken ett giltigt personnummer, samordningsnummer eller reservnummer (ÅÅÅÅMMDD-NNNN).")) }
        let found = try await Records(session: session).search("Patient", [("identifier", value)], limit: 2)
        guard found.count == 1 else {
            return .failure(Problem(text: found.isEmpty ? "Ingen patient med det numret. Välj okänd patient för att registrera med reservnummer." : "Numret hör till flera patienter."))
        }
        return .success(found[0])
    }

    // MARK: The live triage colour

    /// The colour the triage form's values give now (JSON for the form's script).
    func liveColour(_ user: User) -> Response {
        let form = user.form
        var text: String, className = "triage none"
        do {
            let signs: VitalSigns
            do { signs = try VitalSigns.parse(form) } catch let error where error.has(.required) && error.issues.first?.expression == ["respiratoryRate"] { signs = VitalSigns() }
            let (complaint, level) = Self.complaintLevel(form["complaintLevel"])
            let outcome = try flows.emergency.scoring.triage(signs, complaint: complaint, level: level)
            text = "Prioritet: \(table.display(outcome.colour))"
            var sources = ["vitalparametrar \(table.display(outcome.vitalColour).lowercased())"]
            if let colour = outcome.complaintColour { sources.append("sökorsak \(table.display(colour).lowercased())") }
            text += " (" + sources.joined(separator: ", ") + ")"
            className = "triage \(outcome.colour)"
        } catch {
            text = Self.said(error)
        }
        let body = JSONValue.object(JSONObject([("text", .string(text)), ("className", .string(className))]))
        return Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: JSONWriter.bytes(body))))
    }

    /// `005|orange` → (card, level).
    static func complaintLevel(_ value: String?) -> (String?, String?) {
        guard let value, !value.isEmpty else { return (nil, nil) }
        let parts = value.split(separator: "|", maxSplits: 1).map(String.init)
        return (parts.first, parts.count > 1 ? parts[1] : nil)
    }

    // MARK: The visit

    func visit(_ id: String, _ user: User, notice: String? = nil, error: String? = nil, values: [String: String] = [:], status: HTTPResponse.Status = .ok) async throws -> Response {
        let session = user.data(gateway, action: "ed-visit")
        let records = Records(session: session)
        let stored = try await records.require("Encounter", id)
        let encounter = stored.object
        guard let patientID = encounter.referenceID("subject", type: "Patient") else {
            return message(user: user, heading: "Besöket saknar patient", text: "Besöket är inte kopplat till någon patient.", status: .notFound)
        }
        let (shown, access) = try await header(patientID: patientID, session: session)
        guard let banner = shown else { return try await accessPage(patientID: patientID, status: access, user: user, form: [:], errors: [:]) }
        var context = layout(user, title: "Akutbesök – \(banner["name"] as? String ?? "")", nav: "navEmergency")
        context["banner"] = banner
        context["patientID"] = patientID
        // The chart's actions here too: an unknown patient on a reservnummer gets blood, lab and imaging orders from the visit.
        context["actions"] = patientActions(patientID: patientID, user)
        context["id"] = id
        context["formToken"] = user.formToken
        if let notice { context["notice"] = notice }
        if let error { context["error"] = error }
        let state = encounter["status"]?.stringValue ?? ""
        let open = ["arrived", "triaged", "in-progress"].contains(state)
        context["open"] = open
        let colour = encounter.code("priority", system: CareFlowCodes.triagePriority)
        context["colourClass"] = colour ?? "none"
        context["colourText"] = colour.map(table.display) ?? "Ej triagerad"
        context["complaint"] = (encounter["reasonCode"]?.arrayValue ?? []).compactMap { $0.objectValue?["text"]?.stringValue }.joined(separator: " · ")
        context["room"] = TrackingBoard.room(encounter) ?? ""
        context["doctor"] = TrackingBoard.participantName(encounter, role: "lakare") ?? ""
        context["nurse"] = TrackingBoard.participantName(encounter, role: "sjukskoterska") ?? ""
        context["steps"] = (encounter["statusHistory"]?.arrayValue ?? []).compactMap(\.objectValue).compactMap { entry -> [String: Any]? in
            guard let step = entry.extensionValue(CareFlowCodes.edStep)?.stringValue.flatMap(EmergencyStep.init(rawValue:)) else { return nil }
            return ["step": step.display, "time": Display.time(entry["period"]?.objectValue?["start"]?.stringValue),
                    "by": entry.extensionValue(CareFlowCodes.performedBy)?.objectValue?["display"]?.stringValue ?? "",
                    "reason": entry.extensionValue(CareFlowCodes.skipReason)?.objectValue?["display"]?.stringValue ?? ""]
        }
        if let disposition = encounter["hospitalization"]?.objectValue?["dischargeDisposition"] { context["disposition"] = Display.concept(disposition) }
        let triages = try await records.search("Observation", [("encounter", "Encounter/\(id)"), ("code", "\(CareFlowCodes.careFlow)|triageprioritet"), ("_sort", "-date")], limit: 20)
        context["triages"] = triages.map { stored -> [String: Any] in
            let observation = stored.object
            let parts = (observation["component"]?.arrayValue ?? []).compactMap(\.objectValue).map { Display.concept($0["code"]) + ": " + Display.concept($0["valueCodeableConcept"]) }
            return ["time": Display.time(observation["effectiveDateTime"]?.stringValue), "colour": Display.concept(observation["valueCodeableConcept"]),
                    "colourClass": observation.code("valueCodeableConcept", system: CareFlowCodes.triagePriority) ?? "none", "parts": parts.joined(separator: " · ")]
        }
        let done = EmergencyDepartment.steps(encounter)
        if open {
            context["triageForm"] = triageForm(values: values)
            context["mayTakeAsDoctor"] = !done.contains(.doctor) && user.principal.permissions.prescribe
            context["mayDecide"] = done.contains(.doctor) && !done.contains(.decision)
            context["needsReasonForDoctor"] = !done.contains(.triage)
            context["reasons"] = EmergencyStep.skipReasons.map { ["code": $0.code, "display": $0.display] }
            let chosen = values["disposition"] ?? ""
            context["dispositions"] = EmergencyStep.dispositions.map { ["code": $0.code, "display": $0.display, "checked": $0.code == chosen] as [String: Any] }
            context["wards"] = try await wards(near: encounter, session: session)
            context["note"] = values["note"] ?? ""
        }
        return pages.page("akut-besok", context, status: status)
    }

    func triageForm(values: [String: String]) -> [String: Any] {
        let chosen = values["complaintLevel"] ?? ""
        return [
            "fields": [("respiratoryRate", "Andningsfrekvens (/min)"), ("spo2", "Saturation (%)"), ("oxygenFlow", "Syrgas (l/min, tomt = luft)"),
                       ("pulse", "Puls (/min)"), ("systolic", "Systoliskt blodtryck (mmHg)"), ("diastolic", "Diastoliskt blodtryck (mmHg)"),
                       ("temperature", "Temperatur (°C)")].map { ["key": $0.0, "label": $0.1, "value": values[$0.0] ?? ""] },
            "consciousness": VitalSigns.consciousnessLevels.map { ["code": $0.code, "display": $0.display, "selected": values["consciousness"] == $0.code] as [String: Any] },
            "airway": VitalSigns.airwayStates.map { ["code": $0.code, "display": $0.display, "selected": (values["airway"] ?? "fri") == $0.code] as [String: Any] },
            "cards": table.complaints.map { card -> [String: Any] in
                ["label": "\(card.code) \(card.display)",
                 "levels": table.colours.filter { card.levels[$0.code] != nil }.map { colour -> [String: Any] in
                     let value = "\(card.code)|\(colour.code)"
                     return ["value": value, "text": "\(colour.display) – \(card.levels[colour.code] ?? "")", "selected": value == chosen]
                 }]
            },
            "tableName": table.name, "demo": table.id.contains("demo"), "notice": table.notice ?? "",
        ]
    }

    /// The wards a patient may be admitted to from this emergency department: the units of the same hospital with beds.
    func wards(near encounter: JSONObject, session: PatientDataSession) async throws -> [[String: Any]] {
        let records = Records(session: session)
        guard let unit = encounter.referenceID("serviceProvider", type: "Organization"),
              let hospital = try await records.optional("Organization", unit)?.object.referenceID("partOf", type: "Organization") else { return [] }
        let siblings = try await records.search("Organization", [("partof", "Organization/\(hospital)")], limit: 100)
        return siblings.filter { $0.id != unit }.map { ["id": $0.id, "name": $0.object["name"]?.stringValue ?? $0.id] }
    }

    func visitAction(_ id: String, action: String, _ user: User) async throws -> Response {
        let form = user.form.mapValues { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        let session = user.data(gateway, action: "ed-\(action)")
        let emergency = flows.emergency
        var notice: String
        do {
            switch action {
            case "triage":
                let (complaint, level) = Self.complaintLevel(form["complaintLevel"])
                let triaged = try await emergency.triage(encounterID: id, signs: try VitalSigns.parse(form), complaint: complaint, level: level, session: session)
                notice = "Triage sparad: \(table.display(triaged.outcome.colour))."
            case "lakare":
                _ = try await emergency.step(encounterID: id, to: .doctor, reason: form["reason"]?.nonEmpty, session: session)
                notice = "Du är ansvarig läkare."
            case "beslut":
                _ = try await emergency.step(encounterID: id, to: .decision, reason: form["reason"]?.nonEmpty, session: session)
                notice = "Patienten är klar för beslut."
            case "sjukskoterska":
                _ = try await emergency.assign(encounterID: id, nurse: true, room: nil, session: session)
                notice = "Du är ansvarig sjuksköterska."
            case "rum":
                _ = try await emergency.assign(encounterID: id, nurse: false, room: form["room"], session: session)
                notice = "Rummet är registrerat."
            case "avsluta":
                let disposition = form["disposition"] ?? ""
                _ = try await emergency.leave(encounterID: id, disposition: disposition, wardID: form["ward"]?.nonEmpty, note: form["note"],
                                              reason: form["reason"]?.nonEmpty, session: session)
                let word = EmergencyStep.dispositions.first { $0.code == disposition }?.display ?? disposition
                let text = disposition == "inlaggning" ? "Besöket är avslutat: \(word). Vårdplats är beställd; avdelningen skriver in patienten." : "Besöket är avslutat: \(word)."
                return Self.redirect("/akut?klar=" + Self.encoded(text))
            default:
                throw HTTPError(.notFound)
            }
        } catch let error as FHIRError where error.category == .invalid || error.category == .conflict {
            return try await visit(id, user, error: Self.said(error), values: form, status: .badRequest)
        }
        return Self.redirect("/akut/besok/\(Self.encoded(id))?klar=" + Self.encoded(notice))
    }

    // MARK: The ED times

    func times(_ user: User, query: [String: String]) async throws -> Response {
        guard let unit = user.assignment?.unitID else { return message(user: user, heading: "Ingen enhet vald", text: "Välj ett uppdrag.", status: .badRequest) }
        let day = query["dag"].flatMap(SwedishTime.parseDay) ?? SwedishTime.today
        let targets = flows.emergency.targets
        let (visits, report) = try await EmergencyTimes.day(day, unitID: unit, targets: targets, session: user.data(gateway, action: "ed-times"))
        var context = layout(user, title: "Akutens ledtider \(SwedishTime.formatDay(day))", nav: "navEmergency")
        context["day"] = SwedishTime.formatDay(day)
        context["previous"] = SwedishTime.formatDay(day - 1)
        context["next"] = SwedishTime.formatDay(day + 1)
        func minutes(_ value: Double?) -> String { value.map { String(format: "%.0f min", $0.rounded(.down)) } ?? "–" }
        func share(_ measure: EmergencyTimes.Measure) -> String { measure.share.map { String(format: "%.0f %%", $0 * 100) } ?? "–" }
        context["measures"] = [("Tid till triage (TTT)", report.toTriage, targets.triageMinutes), ("Tid till läkare (TTL)", report.toDoctor, targets.doctorMinutes),
                               ("Total vistelsetid (TVT)", report.stay, targets.stayMinutes)].map { name, measure, target -> [String: Any] in
            ["name": name, "count": measure.count, "median": minutes(measure.medianMinutes), "target": target, "within": measure.withinTarget, "share": share(measure)]
        }
        context["visits"] = report.visits
        context["open"] = report.open
        context["leftBeforeDoctor"] = report.leftBeforeDoctor
        context["abandoned"] = report.abandonedAfterDoctor
        context["returns"] = report.returns
        context["returnBase"] = report.returnBase
        context["returnHours"] = targets.returnHours
        context["lines"] = visits.map { visit -> [String: Any] in
            ["arrival": Display.clock(SwedishTime.format(visit.arrival)), "triage": visit.triage.map { Display.clock(SwedishTime.format($0)) } ?? "–",
             "doctor": visit.doctor.map { Display.clock(SwedishTime.format($0)) } ?? "–", "left": visit.left.map { Display.clock(SwedishTime.format($0)) } ?? "pågår",
             "disposition": EmergencyStep.dispositions.first { $0.code == visit.disposition }?.display ?? "", "reportable": visit.seenByDoctor]
        }
        return pages.page("akut-ledtider", context)
    }
}
