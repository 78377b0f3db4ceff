import Access
import FHIRCore
import Foundation
import Hummingbird
import HTTPTypes
import Maternity
import StoreModel
import WebApp

/// Maternity's page handlers, over the shell's gateway, layout and helpers.
struct MaternityPages<Context: RequestContext>: ModulePages {
    let app: WebApp<Context>
    let maternity: Maternity

    var programme: Basprogram { maternity.antenatal.programme }

    // MARK: The midwife's worklist

    func worklist(_ user: User, notice: String? = nil) async throws -> Response {
        guard let unit = user.assignment?.unitID else {
            return message(user: user, heading: "Ingen enhet vald", text: "Arbetslistan visar mottagningen du arbetar på. Välj ett uppdrag där.", status: .badRequest)
        }
        let rows = try await maternity.antenatal.worklist(unitID: unit, session: user.data(gateway, action: "antenatal-worklist"))
        var context = layout(user, title: "Mödravård – \(user.assignment?.unitName ?? unit)", nav: "navMaternity")
        context["unitName"] = user.assignment?.unitName ?? unit
        if let notice { context["notice"] = notice }
        context["rows"] = rows.map { row -> [String: Any] in
            var line: [String: Any] = ["patientID": row.patientID, "name": row.patientName, "identifier": row.identifier, "age": row.gestationalAge,
                                       "dueDate": SwedishTime.formatDay(row.dueDate), "due": row.due.map(\.display).joined(separator: ", "),
                                       "next": row.delivered ? "Förlöst – eftervårdsbesök" : row.next.map { "\($0.display) från \(SwedishTime.formatDay($0.from))" } ?? "",
                                       "late": !row.overdue.isEmpty || !row.missing.isEmpty]
            // Mustache shows a section for an empty string: only what is there is set.
            line["overdue"] = row.overdue.map(\.display).joined(separator: ", ").nonEmpty
            line["missing"] = row.missing.joined(separator: ", ").nonEmpty
            return line
        }
        context["lateCount"] = rows.filter { !$0.overdue.isEmpty || !$0.missing.isEmpty }.count
        context["programmeNotice"] = programme.notice ?? ""
        return pages.page("mvc", context)
    }

    // MARK: The pregnancy

    func pregnancy(patientID: String, _ user: User, notice: String? = nil, error: String? = nil, values: [String: String] = [:],
                   status: HTTPResponse.Status = .ok) async throws -> Response {
        let session = user.data(gateway, action: "pregnancy")
        let (shown, access) = try await header(patientID: patientID, session: session)
        guard let banner = shown else { return try await accessPage(patientID: patientID, status: access, user: user, form: [:], errors: [:]) }
        var context = layout(user, title: "Graviditet – \(banner["name"] as? String ?? "")")
        context["banner"] = banner
        context["patientID"] = patientID
        context["patientTabs"] = patientTabs(current: "graviditet")
        context["formToken"] = user.formToken
        if let notice { context["notice"] = notice }
        if let error { context["error"] = error }
        let mayWrite = user.principal.permissions.mayWrite("EpisodeOfCare")
        let all = try await maternity.antenatal.pregnancies(patientID: patientID, session: session)
        context["earlier"] = all.filter { $0.status != "active" }.map { ["dueDate": SwedishTime.formatDay($0.dueDate), "delivered": $0.delivered.map { Display.time(SwedishTime.format($0)) } ?? "–"] }
        guard let pregnancy = all.first(where: { $0.status == "active" }) else {
            context["register"] = mayWrite
            context["form"] = ["lmp": values["lastMenstrualPeriod"] ?? "", "ultrasound": values["ultrasoundDueDate"] ?? "", "parity": values["parity"] ?? "0",
                               "gravidity": values["gravidity"] ?? "0", "previous": values["previousPregnancies"] ?? ""]
            return pages.page("graviditet", context, status: status)
        }
        let today = SwedishTime.today
        context["pregnancy"] = ["id": pregnancy.id, "age": pregnancy.gestationalAge(on: today), "dueDate": SwedishTime.formatDay(pregnancy.dueDate),
                                "method": pregnancy.dueDateMethod == "ultraljud" ? "ultraljud" : "sista mens",
                                "lmp": pregnancy.lastMenstrualPeriod.map(SwedishTime.formatDay) ?? "–", "parity": pregnancy.parity, "gravidity": pregnancy.gravidity,
                                "registered": SwedishTime.formatDay(pregnancy.registered)] as [String: Any]
        // Mustache shows a section for an empty string: what is not there is left out of the context.
        var shownPregnancy = context["pregnancy"] as? [String: Any] ?? [:]
        shownPregnancy["previous"] = pregnancy.previousPregnancies?.nonEmpty
        shownPregnancy["delivered"] = pregnancy.delivered.map { Display.time(SwedishTime.format($0)) }
        context["pregnancy"] = shownPregnancy
        context["mayWrite"] = mayWrite
        let plan = try await maternity.antenatal.plan(pregnancy, session: session)
        let state = plan.status(on: today)
        context["visits"] = plan.visits.map { visit -> [String: Any] in
            let word = visit.completed ? "Gjort" : state.overdue.contains { $0.code == visit.code } ? "Försenat" : state.due.contains { $0.code == visit.code } ? "Aktuellt" : "Planerat"
            return ["code": visit.code, "display": visit.display, "from": SwedishTime.formatDay(visit.from), "to": SwedishTime.formatDay(visit.to), "state": word,
                    "late": word == "Försenat", "open": !visit.completed,
                    "items": visit.planned.compactMap { programme.item($0)?.display }.joined(separator: ", ")]
        }
        context["missing"] = state.missing.compactMap { programme.item($0)?.display }.joined(separator: ", ").nonEmpty
        // The risk assessment: the latest with its reasons, and the form for a new one.
        if let risk = try await maternity.antenatal.latestRisk(pregnancy, session: session) {
            context["risk"] = ["time": Display.time(risk.object["occurrenceDateTime"]?.stringValue),
                               "reasons": (risk.object["prediction"]?.arrayValue ?? []).compactMap(\.objectValue).map { prediction in
                                   ["text": Display.concept(prediction["outcome"]), "why": prediction["rationale"]?.stringValue ?? ""]
                               }] as [String: Any]
        }
        if let individual = try await maternity.antenatal.individualPlan(pregnancy, session: session) {
            context["individual"] = ["description": individual.object["description"]?.stringValue ?? "",
                                     "actions": (individual.object["activity"]?.arrayValue ?? []).compactMap { $0.objectValue?["detail"]?.objectValue?["description"]?.stringValue }.map { ["text": $0] }] as [String: Any]
        }
        context["factors"] = programme.risk.filter { $0.when.chosen == true }.map { ["code": $0.code, "display": $0.display] }
        context["tasks"] = try await maternity.antenatal.openTasks(patientID: patientID, session: session).map { task -> [String: Any] in
            let due = task.object["restriction"]?.objectValue?["period"]?.objectValue?["end"]?.stringValue
            return ["id": task.id, "display": Display.concept(task.object["code"]), "description": task.object["description"]?.stringValue ?? "", "due": Display.time(due),
                    "overdue": (due.flatMap(Instant.parse) ?? .max) < Instant.now()]
        }
        let gravidogram = try await Gravidogram.read(pregnancy: pregnancy, maternity: maternity, session: session)
        context.merge(Charts.gravidogramContext(gravidogram, curves: maternity.curves)) { _, new in new }
        context["admission"] = pregnancy.deliveryID
        context["mayAdmit"] = user.principal.permissions.mayWrite("Encounter") && pregnancy.deliveryID == nil
        context["mayClose"] = mayWrite && pregnancy.delivered != nil
        context["children"] = pregnancy.childIDs.map { ["id": $0] }
        context["maySignFinal"] = mayWrite && pregnancy.delivered != nil && pregnancy.finalSigned == nil
        context["maySignArchive"] = mayWrite && pregnancy.finalSigned != nil && pregnancy.archiveSigned == nil
        return pages.page("graviditet", context, status: status)
    }

    func register(patientID: String, _ user: User) async throws -> Response {
        let form = user.form.mapValues { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        let session = user.data(gateway, action: "register-pregnancy")
        do {
            func day(_ name: String) throws(FHIRError) -> Int? {
                guard let text = form[name]?.nonEmpty else { return nil }
                guard let day = SwedishTime.parseDay(text) else { throw FHIRError(.invalid, code: .value, "\(name) must be a date", expression: [name], text: "Ange datum som ÅÅÅÅ-MM-DD.") }
                return day
            }
            func count(_ name: String) throws(FHIRError) -> Int {
                guard let text = form[name]?.nonEmpty else { return 0 }
                guard let value = Int(text) else { throw FHIRError(.invalid, code: .value, "\(name) must be a whole number", expression: [name], text: "Ange ett heltal.") }
                return value
            }
            _ = try await maternity.antenatal.register(.init(patientID: patientID, lastMenstrualPeriod: try day("lastMenstrualPeriod"),
                                                             ultrasoundDueDate: try day("ultrasoundDueDate"), parity: try count("parity"),
                                                             gravidity: try count("gravidity"), previousPregnancies: form["previousPregnancies"]), session: session)
        } catch let error as FHIRError where error.category == .invalid || error.category == .conflict {
            return try await pregnancy(patientID: patientID, user, error: Self.said(error), values: form, status: .badRequest)
        }
        return Self.redirect("/patienter/\(Self.encoded(patientID))/graviditet?klar=" + Self.encoded("Graviditeten är inskriven och basprogrammet lagt som vårdplan."))
    }

    /// Risk assessment, delivery admission, signing.
    func pregnancyAction(pregnancyID: String, action: String, _ user: User) async throws -> Response {
        let audited = ["risk": "assess-pregnancy-risk", "avsluta": "close-pregnancy", "slutsignera": "sign-delivery-record", "arkivsignera": "sign-delivery-record"]
        guard let name = audited[action] else { throw HTTPError(.notFound) }
        let session = user.data(gateway, action: name)
        let pregnancy = try await maternity.antenatal.pregnancy(pregnancyID, session: session)
        let back = "/patienter/\(Self.encoded(pregnancy.patientID))/graviditet?klar="
        do {
            switch action {
            case "risk":
                let chosen = user.form.compactMap { $0.key.hasPrefix("factor-") && $0.value == "ja" ? String($0.key.dropFirst("factor-".count)) : nil }.sorted()
                let outcome = try await maternity.antenatal.assessRisk(pregnancyID: pregnancyID, chosen: chosen, note: user.form["note"], session: session)
                let text = outcome.factors.isEmpty ? "Riskbedömningen är sparad: inga riskfaktorer, basprogram."
                    : "Riskbedömningen är sparad: " + outcome.factors.map(\.factor.display).joined(separator: "; ") + "."
                        + (outcome.individualPlan != nil ? " En individuell vårdplan är öppnad." : "")
                return Self.redirect(back + Self.encoded(text))
            case "avsluta":
                _ = try await maternity.antenatal.close(pregnancyID: pregnancyID, session: session)
                return Self.redirect(back + Self.encoded("Graviditeten är avslutad."))
            case "slutsignera", "arkivsignera":
                _ = try await maternity.delivery.sign(pregnancyID: pregnancyID, action == "slutsignera" ? .final : .archive, session: session)
                return Self.redirect(back + Self.encoded(action == "slutsignera" ? "Förlossningsjournalen är slutsignerad." : "Förlossningsjournalen är arkivsignerad."))
            default:
                throw HTTPError(.notFound)
            }
        } catch let error as FHIRError where error.category == .invalid || error.category == .conflict {
            return try await self.pregnancy(patientID: pregnancy.patientID, user, error: Self.said(error), status: .badRequest)
        }
    }

    func completeTask(_ id: String, _ user: User) async throws -> Response {
        let session = user.data(gateway, action: "complete-maternity-task")
        let task = try await maternity.antenatal.completeTask(taskID: id, note: user.form["note"], session: session)
        let patientID = task.object.referenceID("for", type: "Patient") ?? ""
        return Self.redirect("/patienter/\(Self.encoded(patientID))/graviditet?klar=" + Self.encoded("Uppgiften är klar."))
    }

    // MARK: The visit

    func visitForm(pregnancyID: String, _ user: User, values: [String: String], error: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        let session = user.data(gateway, action: "antenatal-visit")
        let pregnancy = try await maternity.antenatal.pregnancy(pregnancyID, session: session)
        let (shown, access) = try await header(patientID: pregnancy.patientID, session: session)
        guard let banner = shown else { return try await accessPage(patientID: pregnancy.patientID, status: access, user: user, form: [:], errors: [:]) }
        let plan = try await maternity.antenatal.plan(pregnancy, session: session)
        let open = plan.visits.filter { !$0.completed }
        let state = plan.status(on: SwedishTime.today)
        let chosen = open.first { $0.code == values["visit"] } ?? state.due.first ?? state.overdue.first ?? open.first
        var context = layout(user, title: "Besök – \(banner["name"] as? String ?? "")")
        context["banner"] = banner
        context["pregnancyID"] = pregnancyID
        context["patientID"] = pregnancy.patientID
        context["formToken"] = user.formToken
        context["age"] = pregnancy.gestationalAge(on: SwedishTime.today)
        if let error { context["error"] = error }
        context["visits"] = open.map { ["code": $0.code, "display": $0.display, "selected": $0.code == chosen?.code] }
        guard let chosen else {
            context["allDone"] = true
            return pages.page("mvc-besok", context, status: status)
        }
        context["visitCode"] = chosen.code
        context["visitDisplay"] = chosen.display
        // The visit's items first, then the rest of the programme's items for anything else measured.
        let planned = chosen.planned.compactMap(programme.item), others = programme.items.filter { !chosen.planned.contains($0.code) }
        func field(_ item: Basprogram.Item) -> [String: Any]? {
            guard !["derived", "questionnaire"].contains(item.valueType) else { return nil }
            return ["code": item.code, "display": item.display + (item.unit.map { " (\($0))" } ?? ""), "value": values[item.code] ?? "",
                    "coded": item.valueType == "code" || item.valueType == "boolean",
                    "options": (item.valueType == "boolean" ? ["ja", "nej"] : item.options ?? []).map { ["option": $0, "selected": values[item.code] == $0] },
                    "hint": item.valueType == "bloodPressure" ? "t.ex. 120/80" : ""]
        }
        context["planned"] = planned.compactMap(field)
        context["others"] = others.compactMap(field)
        context["forms"] = planned.filter { $0.valueType == "questionnaire" }.compactMap { item -> [String: Any]? in
            guard let formID = item.questionnaire, let form = maternity.antenatal.questionnaires.forms[formID] else { return nil }
            return ["id": form.id, "title": form.title, "questions": form.questions.map { question in
                ["name": "\(form.id).\(question.linkId)", "linkId": question.linkId, "text": question.text,
                 "options": question.options.map { ["code": $0.code, "display": $0.display, "points": $0.points.rounded() == $0.points ? String(Int($0.points)) : String($0.points),
                                                    "checked": values["\(form.id).\(question.linkId)"] == $0.code] }] as [String: Any]
            }]
        }
        context["formsNotice"] = maternity.antenatal.questionnaires.notice ?? ""
        return pages.page("mvc-besok", context, status: status)
    }

    func recordVisit(pregnancyID: String, _ user: User) async throws -> Response {
        let form = user.form.mapValues { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        let session = user.data(gateway, action: "record-antenatal-visit")
        let saved: AntenatalCare.RecordedVisit
        do {
            let record = AntenatalCare.VisitRecord.parse(visit: form["visit"] ?? "", form, programme: programme, questionnaires: maternity.antenatal.questionnaires)
            saved = try await maternity.antenatal.recordVisit(pregnancyID: pregnancyID, record, session: session)
        } catch let error as FHIRError where error.category == .invalid || error.category == .conflict {
            return try await visitForm(pregnancyID: pregnancyID, user, values: form, error: Self.said(error), status: .badRequest)
        }
        var text = "Besöket är registrerat."
        if !saved.findings.isEmpty {
            text += " SF-måttet: " + saved.findings.map(\.rule.display).joined(separator: "; ") + ". Uppgift: "
                + FundalHeightCheck.actions(saved.findings).map(\.display).joined(separator: "; ") + "."
        }
        let patientID = saved.encounter.object.referenceID("subject", type: "Patient") ?? ""
        return Self.redirect("/patienter/\(Self.encoded(patientID))/graviditet?klar=" + Self.encoded(text))
    }

    // MARK: The delivery

    /// The admission form: the patient's name (demographics need no care relationship) and the caller's unit.
    func admissionForm(patientID: String, _ user: User, error: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        guard let unit = user.assignment?.unitID else { return message(user: user, heading: "Ingen enhet vald", text: "Välj ett uppdrag på förlossningen.", status: .badRequest) }
        let session = user.data(gateway, action: "delivery-admission")
        let patient = try await Records(session: session).require("Patient", patientID, role: "patient")
        var context = layout(user, title: "Inskrivning på förlossningen")
        context["patientID"] = patientID
        context["name"] = Display.name(patient.object)
        context["identifier"] = Display.identity(patient.object)?.value ?? ""
        context["unitName"] = user.assignment?.unitName ?? unit
        context["formToken"] = user.formToken
        if let error { context["error"] = error }
        return pages.page("forlossning-ny", context, status: status)
    }

    func admit(_ user: User) async throws -> Response {
        let patientID = user.form["patient"] ?? ""
        let admission: StoredResource
        do {
            admission = try await maternity.delivery.admit(patientID: patientID, unitID: nil, session: user.data(gateway, action: "delivery-admission"))
        } catch let error as FHIRError where error.category == .invalid || error.category == .conflict {
            return try await admissionForm(patientID: patientID, user, error: Self.said(error), status: .badRequest)
        }
        let linked = admission.object["episodeOfCare"] != nil
        return Self.redirect("/forlossning/\(Self.encoded(admission.id))?klar=" + Self.encoded(linked ? "Inskriven på förlossningen, graviditeten är kopplad."
                                                                                                 : "Inskriven på förlossningen. Ingen inskriven graviditet hittades."))
    }

    func partogram(encounterID: String, _ user: User, notice: String? = nil, error: String? = nil, values: [String: String] = [:],
                   status: HTTPResponse.Status = .ok) async throws -> Response {
        let session = user.data(gateway, action: "partogram")
        let chart = try await maternity.delivery.chart(encounterID: encounterID, session: session)
        let patientID = chart.pregnancy.patientID
        let (shown, access) = try await header(patientID: patientID, session: session)
        guard let banner = shown else { return try await accessPage(patientID: patientID, status: access, user: user, form: [:], errors: [:]) }
        var context = layout(user, title: "Förlossning – \(banner["name"] as? String ?? "")")
        context["banner"] = banner
        context["encounterID"] = encounterID
        context["patientID"] = patientID
        context["formToken"] = user.formToken
        if let notice { context["notice"] = notice }
        if let error { context["error"] = error }
        let lines = maternity.delivery.check.lines
        context["linesName"] = lines.name
        context["inProgress"] = chart.encounter.object["status"]?.stringValue == "in-progress"
        context["delivered"] = chart.pregnancy.delivered.map { Display.time(SwedishTime.format($0)) }
        context["children"] = chart.pregnancy.childIDs.map { ["id": $0] }
        context["flag"] = chart.flag.map { Display.concept($0.object["code"]) }
        context["svg"] = Charts.partogram(chart, lines: lines)
        context["otherCharts"] = Charts.partogramParts(chart).map { ["title": $0.title, "svg": $0.svg] }
        context["parts"] = lines.parts.map { ["code": $0.code, "display": "\($0.display) (\($0.unit))", "value": values[$0.code] ?? ""] }
        // The table: one row per time, every part in its column.
        let times = Set(chart.series.values.flatMap { $0.map(\.time) }).sorted()
        context["columns"] = lines.parts.map { ["display": $0.display] }
        let positions = Dictionary(chart.positions.map { (chart.start + Int64($0.examination.minutes * 60_000), $0.position) }, uniquingKeysWith: { a, _ in a })
        context["rows"] = times.map { time -> [String: Any] in
            ["time": Display.time(SwedishTime.format(time)),
             "cells": lines.parts.map { part in ["value": chart.series[part.code]?.first { $0.time == time }.map { $0.value.rounded() == $0.value ? String(Int($0.value)) : String($0.value) } ?? ""] },
             "position": positions[time].map(Charts.positionText) ?? ""]
        }
        context["modes"] = MaternityCodes.deliveryModes.map { ["code": $0.code, "display": $0.display] }
        return pages.page("forlossning", context, status: status)
    }

    func recordPartogram(encounterID: String, _ user: User) async throws -> Response {
        let form = user.form.mapValues { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        let session = user.data(gateway, action: "record-partogram")
        let chart: Delivery.Chart
        do {
            var values: [String: Double] = [:]
            for part in maternity.delivery.check.lines.parts {
                guard let text = form[part.code]?.nonEmpty else { continue }
                guard let value = Double(text.replacingOccurrences(of: ",", with: ".")) else {
                    throw FHIRError(.invalid, code: .value, "\(part.code) must be a number", expression: [part.code], text: "\(part.display): ange ett tal.")
                }
                values[part.code] = value
            }
            chart = try await maternity.delivery.record(encounterID: encounterID, values: values, at: nil, session: session)
        } catch let error as FHIRError where error.category == .invalid || error.category == .conflict {
            return try await partogram(encounterID: encounterID, user, error: Self.said(error), values: form, status: .badRequest)
        }
        let text = chart.flag != nil ? "Sparat. Öppningen ligger till höger om aktionslinjen – bedöm förloppet." : "Sparat."
        return Self.redirect("/forlossning/\(Self.encoded(encounterID))?klar=" + Self.encoded(text))
    }

    func registerBirth(encounterID: String, _ user: User) async throws -> Response {
        let form = user.form.mapValues { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        let session = user.data(gateway, action: "register-birth")
        let born: (child: StoredResource, pregnancy: Pregnancy)
        do {
            func number(_ name: String, _ label: String) throws(FHIRError) -> Double {
                guard let value = form[name].flatMap({ Double($0.replacingOccurrences(of: ",", with: ".")) }) else {
                    throw FHIRError(.invalid, code: .required, "\(name) must be a number", expression: [name], text: "\(label): ange ett tal.")
                }
                return value
            }
            let birth = Delivery.Birth(gender: form["gender"] ?? "unknown", weightGrams: try number("weight", "Vikt"), lengthCm: try number("length", "Längd"),
                                       headCm: try number("head", "Huvudomfång"), apgar1: Int(try number("apgar1", "Apgar 1 min")),
                                       apgar5: Int(try number("apgar5", "Apgar 5 min")), apgar10: form["apgar10"]?.nonEmpty.flatMap { Int($0) }, mode: form["mode"] ?? "")
            born = try await maternity.delivery.registerBirth(encounterID: encounterID, birth, session: session)
        } catch let error as FHIRError where error.category == .invalid || error.category == .conflict {
            return try await partogram(encounterID: encounterID, user, error: Self.said(error), values: form, status: .badRequest)
        }
        let identity = Display.identity(born.child.object)?.value ?? ""
        return Self.redirect("/forlossning/\(Self.encoded(encounterID))?klar=" + Self.encoded("Barnet är registrerat med reservnummer \(identity)."))
    }

    // MARK: The register sheets

    func sheets(pregnancyID: String, _ user: User) async throws -> Response {
        let session = user.data(gateway, action: "mfr-sheets")
        let pregnancy = try await maternity.antenatal.pregnancy(pregnancyID, session: session)
        let (shown, access) = try await header(patientID: pregnancy.patientID, session: session)
        guard let banner = shown else { return try await accessPage(patientID: pregnancy.patientID, status: access, user: user, form: [:], errors: [:]) }
        let (sheets, due) = try await maternity.registers.sheets(pregnancyID: pregnancyID, maternity: maternity, session: session)
        var context = layout(user, title: "Journalblad till Medicinska födelseregistret – \(banner["name"] as? String ?? "")")
        context["banner"] = banner
        context["patientID"] = pregnancy.patientID
        context["due"] = due.map(SwedishTime.formatDay) ?? ""
        context["notice"] = maternity.registers.mapping.notice ?? ""
        // The register reads codes; a person reads their names.
        var units: [String: String] = [:]
        for line in sheets.flatMap(\.lines) where line.fact.hasSuffix(".unit") && !line.value.isEmpty && units[line.value] == nil {
            units[line.value] = try await Records(session: session).optional("Organization", line.value)?.object["name"]?.stringValue
        }
        func readable(_ fact: String, _ value: String) -> String {
            guard !value.isEmpty else { return "–" }
            switch fact {
            case "delivery.mode": return MaternityCodes.deliveryModes.first { $0.code == value }?.display ?? value
            case "child.gender": return ["female": "Flicka", "male": "Pojke"][value] ?? "Ej fastställt"
            case "pregnancy.eddMethod": return value == "ultraljud" ? "Ultraljud" : "Sista mens"
            case "pregnancy.unit", "delivery.unit": return units[value] ?? value
            case "risk.factors":
                return value.split(separator: ",").map { code in programme.risk.first { $0.code == code }?.display ?? String(code) }.joined(separator: "; ")
            default: return value
            }
        }
        context["sheets"] = sheets.map { sheet in
            ["code": sheet.code, "display": sheet.display, "lines": sheet.lines.map { ["name": $0.name, "value": readable($0.fact, $0.value)] }] as [String: Any]
        }
        return pages.page("mfr", context)
    }
}
