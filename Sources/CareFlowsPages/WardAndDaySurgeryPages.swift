import Access
import CareFlows
import FHIRCore
import Foundation
import Hummingbird
import HTTPTypes
import StoreModel
import WebApp

extension CareFlowPages {
    // MARK: Vital signs and NEWS2 on the chart

    func vitalSigns(patientID: String, _ user: User, notice: String? = nil, error: String? = nil, values: [String: String] = [:],
                    status: HTTPResponse.Status = .ok) async throws -> Response {
        let session = user.data(gateway, action: "vital-signs")
        let (shown, access) = try await header(patientID: patientID, session: session)
        guard let banner = shown else { return try await accessPage(patientID: patientID, status: access, user: user, form: [:], errors: [:]) }
        var context = layout(user, title: "Vitalparametrar – \(banner["name"] as? String ?? "")")
        context["banner"] = banner
        context["patientID"] = patientID
        context["patientTabs"] = patientTabs(current: "vitalparametrar")
        context["formToken"] = user.formToken
        if let notice { context["notice"] = notice }
        if let error { context["error"] = error }
        context["mayRecord"] = user.principal.permissions.mayWrite("Observation")
        var form = triageForm(values: values)
        form["scale2"] = values["spo2Scale"] == "2"
        context["form"] = form
        let scores = try await flows.vitalSigns.news2(patientID: patientID, limit: 30, session: session)
        if let latest = scores.first {
            context["latest"] = ["total": latest.total, "response": latest.response, "time": Display.time(latest.time), "className": Self.news2Class(latest.responseCode),
                                 "action": latest.observation["note"]?.arrayValue?.first?.objectValue?["text"]?.stringValue ?? ""] as [String: Any]
        }
        if scores.count >= 2 {
            context["trend"] = Self.news2Trend(scores.reversed(), titleID: "news2-trend-title")
        }
        // The table: one row per time a set was taken, newest first.
        let series = try await flows.vitalSigns.series(patientID: patientID, limit: 300, session: session)
        let byTime = Dictionary(grouping: series) { $0["effectiveDateTime"]?.stringValue ?? "" }
        let newsByTime = Dictionary(scores.map { ($0.time, $0.total) }, uniquingKeysWith: { a, _ in a })
        context["rows"] = byTime.keys.sorted(by: >).prefix(20).map { time -> [String: Any] in
            let signs = VitalSigns.read(byTime[time] ?? [])
            func text(_ value: Double?) -> String { value.map { $0.rounded() == $0 ? String(Int($0)) : String($0) } ?? "" }
            return ["time": Display.time(time), "rr": text(signs.respiratoryRate), "spo2": text(signs.spo2), "oxygen": text(signs.oxygenFlow),
                    "bp": signs.systolic.map { "\(text($0))/\(text(signs.diastolic))" } ?? "", "pulse": text(signs.pulse), "temperature": text(signs.temperature),
                    "acvpu": signs.consciousness ?? "", "news2": newsByTime[time].map(String.init) ?? ""]
        }
        return pages.page("vitalparametrar", context, status: status)
    }

    func saveVitalSigns(patientID: String, _ user: User) async throws -> Response {
        let form = user.form.mapValues { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        let session = user.data(gateway, action: "record-vital-signs")
        let saved: VitalSignRecords.Saved
        do {
            saved = try await flows.vitalSigns.record(patientID: patientID, encounterID: nil, signs: try VitalSigns.parse(form), session: session)
        } catch let error as FHIRError where error.category == .invalid || error.category == .conflict {
            return try await vitalSigns(patientID: patientID, user, error: Self.said(error), values: form, status: .badRequest)
        }
        let text: String
        if let score = saved.score {
            text = "Vitalparametrarna är sparade. NEWS2 \(score.total) – responsnivå \(score.response.display.lowercased()): \(score.response.action)"
        } else {
            text = "Vitalparametrarna är sparade. NEWS2 räknas inte ut, det saknas: \(saved.missing.joined(separator: ", "))."
        }
        return Self.redirect("/patienter/\(Self.encoded(patientID))/vitalparametrar?klar=" + Self.encoded(text))
    }

    static func news2Class(_ response: String) -> String {
        switch response {
        case "hog": "news2-high"
        case "medel", "lag-medel": "news2-medium"
        default: ""
        }
    }

    /// NEWS2 over time as SVG (0–20 on the y axis), drawn on the server so the page needs no script.
    static func news2Trend(_ scores: [VitalSignRecords.News2Entry], titleID: String) -> String {
        let width = 640.0, height = 200.0, left = 36.0, bottom = 24.0, top = 10.0
        let maximum = Double(max(20, scores.map(\.total).max() ?? 0))
        let count = Double(max(scores.count - 1, 1))
        func x(_ index: Int) -> Double { left + (width - left - 10) * Double(index) / count }
        func y(_ value: Int) -> Double { top + (height - top - bottom) * (1 - Double(value) / maximum) }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-labelledby=\"\(titleID)\" class=\"trend\">"
        svg += "<title id=\"\(titleID)\">NEWS2 över tid, \(scores.count) mätningar, senast \(scores.last?.total ?? 0)</title>"
        for level in [0, 5, 7, 10, 15, 20] where Double(level) <= maximum {
            svg += "<line x1=\"\(left)\" x2=\"\(width - 10)\" y1=\"\(y(level))\" y2=\"\(y(level))\" stroke=\"#c9cdd2\"/>"
            svg += "<text x=\"4\" y=\"\(y(level) + 4)\" font-size=\"11\" fill=\"#4a4f55\">\(level)</text>"
        }
        let points = scores.enumerated().map { "\(x($0.offset)),\(y($0.element.total))" }.joined(separator: " ")
        svg += "<polyline fill=\"none\" stroke=\"#004b87\" stroke-width=\"2\" points=\"\(points)\"/>"
        for (index, score) in scores.enumerated() {
            svg += "<circle cx=\"\(x(index))\" cy=\"\(y(score.total))\" r=\"3.5\" fill=\"\(score.total >= 5 ? "#a00000" : "#004b87")\"/>"
        }
        return svg + "</svg>"
    }

    // MARK: The ward's NEWS2 overview

    func wardNews2(_ user: User) async throws -> Response {
        guard let unit = user.assignment?.unitID else { return message(user: user, heading: "Ingen enhet vald", text: "Välj ett uppdrag på en avdelning.", status: .badRequest) }
        let session = user.data(gateway, action: "ward-news2")
        let records = Records(session: session)
        let stays = try await records.all("Encounter", [("service-provider", "Organization/\(unit)"), ("status", "in-progress,onleave"),
                                                        ("class", "\(CareFlowCodes.actCode)|IMP")], maximum: 500)
        let patientIDs = Array(Set(stays.compactMap { $0.object.referenceID("subject", type: "Patient") }))
        let patients = Dictionary(try await session.read(keys: patientIDs.map { ResourceKey(type: "Patient", id: $0) }).map { ($0.id, $0.object) }, uniquingKeysWith: { a, _ in a })
        let latest = try await flows.vitalSigns.latestNews2(patientIDs: patientIDs, session: session)
        var signals: [String: [String]] = [:], diagnoses: [String: String] = [:]
        for chunk in TrackingBoard.chunks(patientIDs) {
            let subjects = chunk.map { "Patient/\($0)" }.joined(separator: ",")
            let found = try await session.search(together: [
                (try SearchQuery.parse(type: "AllergyIntolerance", parameters: [("patient", subjects), ("clinical-status", "active")], strict: true), 500),
                (try SearchQuery.parse(type: "Flag", parameters: [("patient", subjects)], strict: true), 500),
                (try SearchQuery.parse(type: "Condition", parameters: [("subject", subjects), ("clinical-status", "active"), ("_sort", "-recorded-date")], strict: true), 500),
            ])
            signals.merge(TrackingBoard.signals(allergies: found[0], flags: found[1])) { a, _ in a }
            for condition in found[2] { if let id = condition.object.referenceID("subject", type: "Patient"), diagnoses[id] == nil { diagnoses[id] = Display.concept(condition.object["code"]) } }
        }
        let today = SwedishTime.today
        var rows: [(total: Int, line: [String: Any])] = []
        for stay in stays {
            guard let patientID = stay.object.referenceID("subject", type: "Patient") else { continue }
            let start = stay.object["period"]?.objectValue?["start"]?.stringValue.flatMap(Instant.parse)
            let news = latest[patientID]
            var line: [String: Any] = ["patientID": patientID, "name": patients[patientID].map(Display.name) ?? patientID,
                                       "identifier": patients[patientID].flatMap(Display.identity)?.value ?? "",
                                       "diagnosis": diagnoses[patientID] ?? (stay.object["reasonCode"]?.arrayValue?.first.map { Display.concept($0) } ?? ""),
                                       "responsible": (stay.object["participant"]?.arrayValue ?? []).compactMap(\.objectValue).first?["individual"]?.objectValue?["display"]?.stringValue ?? "",
                                       "day": start.map { today - SwedishTime.day(of: $0) + 1 } ?? 0,
                                       "signals": (signals[patientID] ?? []).map { ["text": $0] }, "onLeave": stay.object["status"]?.stringValue == "onleave"]
            if let news {
                line["news2"] = ["total": news.total, "response": news.response, "time": Display.time(news.time), "className": Self.news2Class(news.responseCode)] as [String: Any]
            }
            rows.append((news?.total ?? -1, line))
        }
        var context = layout(user, title: "NEWS2 på avdelningen – \(user.assignment?.unitName ?? unit)", nav: "navNews2")
        context["unitName"] = user.assignment?.unitName ?? unit
        context["rows"] = rows.sorted { $0.total > $1.total }.map(\.line)
        context["empty"] = rows.isEmpty
        return pages.page("avdelning-news2", context)
    }

    // MARK: Day surgery

    func daySurgery(_ user: User, query: [String: String], notice: String? = nil) async throws -> Response {
        guard let unit = user.assignment?.unitID else { return message(user: user, heading: "Ingen enhet vald", text: "Välj ett uppdrag.", status: .badRequest) }
        let session = user.data(gateway, action: "day-surgery")
        let day = query["dag"].flatMap(SwedishTime.parseDay) ?? SwedishTime.today
        let visits = try await flows.daySurgery.day(day, unitID: unit, session: session)
        let patients = Dictionary(try await session.read(keys: Set(visits.compactMap { $0.object.referenceID("subject", type: "Patient") }).map { ResourceKey(type: "Patient", id: $0) })
            .map { ($0.id, $0.object) }, uniquingKeysWith: { a, _ in a })
        var context = layout(user, title: "Dagkirurgi \(SwedishTime.formatDay(day))", nav: "navDaySurgery")
        context["day"] = SwedishTime.formatDay(day)
        context["previous"] = SwedishTime.formatDay(day - 1)
        context["next"] = SwedishTime.formatDay(day + 1)
        context["formToken"] = user.formToken
        if let notice = notice ?? query["klar"] { context["notice"] = notice }
        let words = ["planned": "Bokad", "in-progress": "På plats", "finished": "Hemgången", "cancelled": "Avbokad"]
        context["visits"] = visits.map { visit -> [String: Any] in
            let patientID = visit.object.referenceID("subject", type: "Patient") ?? ""
            return ["id": visit.id, "name": patients[patientID].map(Display.name) ?? patientID, "identifier": patients[patientID].flatMap(Display.identity)?.value ?? "",
                    "procedure": Display.concept(visit.object["reasonCode"]?.arrayValue?.first), "status": words[visit.object["status"]?.stringValue ?? ""] ?? "",
                    "planned": visit.object["status"]?.stringValue == "planned"]
        }
        context["noVisits"] = visits.isEmpty
        let followUps = try await flows.daySurgery.followUps(unitID: unit, session: session)
        let followPatients = Dictionary(try await session.read(keys: Set(followUps.compactMap { $0.task.object.referenceID("for", type: "Patient") }).map { ResourceKey(type: "Patient", id: $0) })
            .map { ($0.id, $0.object) }, uniquingKeysWith: { a, _ in a })
        context["followUps"] = followUps.map { item -> [String: Any] in
            let patientID = item.task.object.referenceID("for", type: "Patient") ?? ""
            return ["id": item.task.id, "name": followPatients[patientID].map(Display.name) ?? patientID, "due": Display.time(SwedishTime.format(item.due)), "overdue": item.overdue,
                    "patientID": patientID]
        }
        context["overdueCount"] = followUps.filter(\.overdue).count
        return pages.page("dagkirurgi", context)
    }

    func daySurgeryVisit(_ id: String, _ user: User, notice: String? = nil, error: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        let session = user.data(gateway, action: "day-surgery-visit")
        let stored = try await Records(session: session).require("Encounter", id)
        guard let patientID = stored.object.referenceID("subject", type: "Patient") else { throw HTTPError(.notFound) }
        let (shown, access) = try await header(patientID: patientID, session: session)
        guard let banner = shown else { return try await accessPage(patientID: patientID, status: access, user: user, form: [:], errors: [:]) }
        var context = layout(user, title: "Dagkirurgi – \(banner["name"] as? String ?? "")", nav: "navDaySurgery")
        context["banner"] = banner
        context["id"] = id
        context["formToken"] = user.formToken
        if let notice { context["notice"] = notice }
        if let error { context["error"] = error }
        let state = stored.object["status"]?.stringValue ?? ""
        context["procedure"] = Display.concept(stored.object["reasonCode"]?.arrayValue?.first)
        context["planned"] = state == "planned"
        context["inProgress"] = state == "in-progress"
        context["finished"] = state == "finished"
        let lists = flows.daySurgery.lists
        let preop = try await flows.daySurgery.checked(encounterID: id, list: .preoperative, session: session)
        let discharge = try await flows.daySurgery.checked(encounterID: id, list: .discharge, session: session)
        context["preop"] = lists.preoperative.map { ["code": $0.code, "display": $0.display, "done": preop.contains($0.code)] as [String: Any] }
        context["discharge"] = lists.discharge.map { ["code": $0.code, "display": $0.display, "done": discharge.contains($0.code)] as [String: Any] }
        context["missing"] = lists.discharge.filter { !discharge.contains($0.code) }.count
        return pages.page("dagkirurgi-besok", context, status: status)
    }

    func daySurgeryAction(_ id: String, action: String, _ user: User) async throws -> Response {
        let session = user.data(gateway, action: "day-surgery-\(action)")
        let items = user.form.filter { $0.key.hasPrefix("item_") && $0.value == "ja" }.map { String($0.key.dropFirst("item_".count)) }.sorted()
        do {
            switch action {
            case "ankomst":
                _ = try await flows.daySurgery.arrive(encounterID: id, session: session)
                return Self.redirect("/dagkirurgi/\(Self.encoded(id))?klar=" + Self.encoded("Patienten är på plats."))
            case "preop", "utskrivning":
                _ = try await flows.daySurgery.check(encounterID: id, list: action == "preop" ? .preoperative : .discharge, items: items, session: session)
                return Self.redirect("/dagkirurgi/\(Self.encoded(id))?klar=" + Self.encoded("Checklistan är uppdaterad."))
            case "skriv-ut":
                _ = try await flows.daySurgery.discharge(encounterID: id, session: session)
                return Self.redirect("/dagkirurgi?klar=" + Self.encoded("Patienten är hemgången. Telefonuppföljning i morgon ligger på enhetens lista."))
            default:
                throw HTTPError(.notFound)
            }
        } catch let error as FHIRError where error.category == .invalid || error.category == .conflict {
            return try await daySurgeryVisit(id, user, error: Self.said(error), status: .badRequest)
        }
    }

    func completeFollowUp(_ id: String, _ user: User) async throws -> Response {
        do {
            _ = try await flows.daySurgery.completeFollowUp(taskID: id, note: user.form["note"], session: user.data(gateway, action: "complete-follow-up"))
        } catch let error as FHIRError where error.category == .invalid || error.category == .conflict {
            return Self.redirect("/dagkirurgi?klar=" + Self.encoded(Self.said(error)))
        }
        return Self.redirect("/dagkirurgi?klar=" + Self.encoded("Uppföljningen är gjord."))
    }

    func bookingForm(patientID: String, _ user: User, values: [String: String] = [:], error: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        let session = user.data(gateway, action: "day-surgery-booking")
        let (shown, access) = try await header(patientID: patientID, session: session)
        guard let banner = shown else { return try await accessPage(patientID: patientID, status: access, user: user, form: [:], errors: [:]) }
        var context = layout(user, title: "Boka dagkirurgi – \(banner["name"] as? String ?? "")", nav: "navDaySurgery")
        context["banner"] = banner
        context["patientID"] = patientID
        context["formToken"] = user.formToken
        context["date"] = values["date"] ?? SwedishTime.formatDay(SwedishTime.today + 1)
        context["procedure"] = values["procedure"] ?? ""
        context["unitName"] = user.assignment?.unitName ?? ""
        if let error { context["error"] = error }
        return pages.page("dagkirurgi-boka", context, status: status)
    }

    func book(patientID: String, _ user: User) async throws -> Response {
        let form = user.form.mapValues { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        guard let day = SwedishTime.parseDay(form["date"] ?? "") else {
            return try await bookingForm(patientID: patientID, user, values: form, error: "Ange dagen som ÅÅÅÅ-MM-DD.", status: .badRequest)
        }
        do {
            _ = try await flows.daySurgery.book(patientID: patientID, unitID: nil, day: day, procedure: form["procedure"] ?? "", session: user.data(gateway, action: "book-day-surgery"))
        } catch let error as FHIRError where error.category == .invalid || error.category == .conflict {
            return try await bookingForm(patientID: patientID, user, values: form, error: Self.said(error), status: .badRequest)
        }
        return Self.redirect(Self.link("/dagkirurgi", [("dag", SwedishTime.formatDay(day)), ("klar", "Dagkirurgin är bokad.")]))
    }

    // MARK: The start page

    func startSections(_ user: User) async throws -> [StartSection] {
        guard let unit = user.assignment?.unitID, user.principal.permissions.mayWrite("Observation") else { return [] }
        let overdue = try await flows.daySurgery.followUps(unitID: unit, session: user.data(gateway, action: "start-page")).filter(\.overdue)
        guard !overdue.isEmpty else { return [] }
        return [StartSection(rank: 14, html: pages.render("start-uppfoljning", ["count": overdue.count]))]
    }
}
