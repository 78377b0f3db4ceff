public import Access
public import FHIRCore
import Foundation
import StoreModel

/// Maternity care (mödrahälsovård and förlossning): the pregnancy record with the region's basprogram as a plan,
/// the visits with AUDIT and EPDS, the MHV1 risk assessment, the gravidogram with the SF rules, the delivery with
/// its partogram, the newborn, and the register reports. The programme, the reference curves, the SF rules, the
/// partogram lines, the forms and the register mapping are data files (MaternityData), loaded at start.
public struct Maternity: ClinicalModule {
    public let antenatal: AntenatalCare
    public let delivery: Delivery
    public var fundal: FundalHeightCheck { antenatal.fundal }
    public let curves: ReferenceCurves
    public let registers: MaternityRegisters
    let clock: @Sendable () -> Int64

    public init(programme: Basprogram, questionnaires: QuestionnaireSet, curves: ReferenceCurves, sfRules: FundalHeightRules, partogram: PartogramLines,
                registers: RegisterMapping, clock: @escaping @Sendable () -> Int64 = { Instant.now() }) throws {
        guard let sf = curves.curves["sf"] else { throw MaternityTableError(description: "the reference table has no sf curve") }
        antenatal = AntenatalCare(programme: programme, questionnaires: questionnaires, fundal: FundalHeightCheck(rules: sfRules, curve: sf), clock: clock)
        delivery = Delivery(lines: partogram, antenatal: antenatal, clock: clock)
        self.curves = curves
        self.registers = MaternityRegisters(mapping: registers)
        self.clock = clock
        for item in programme.items where item.valueType == "questionnaire" {
            guard let form = item.questionnaire, questionnaires.forms[form] != nil else {
                throw MaternityTableError(description: "the programme's item \(item.code) names questionnaire '\(item.questionnaire ?? "")', which is not loaded")
            }
        }
    }

    /// The module with the shipped tables (the programme after, the curves and the register mapping are demonstrations).
    public static func shipped(clock: @escaping @Sendable () -> Int64 = { Instant.now() }) throws -> Maternity {
        try Maternity(programme: .shipped(), questionnaires: .shipped(), curves: .shipped(), sfRules: .shipped(), partogram: .shipped(),
                      registers: .shipped(), clock: clock)
    }

    public var name: String { "Maternity" }

    public var chart: [ChartPart] {
        [.list("pregnancy", title: "Graviditet", emptyText: nil, rank: 15,
               search: { patientID throws(FHIRError) in
                   try ChartSearch("EpisodeOfCare", patientID: patientID, [("type", "\(MaternityCodes.maternity)|\(MaternityCodes.pregnancy)"), ("status", "active")], limit: 1)
               },
               line: { episode in
                   let due = episode.extensionValue(MaternityCodes.dueDate)?.stringValue ?? ""
                   let days = SwedishTime.parseDay(due).map { SwedishTime.today - ($0 - 280) } ?? -1
                   return ChartLine("Gravid \(Pregnancy.format(days: days))", detail: "Beräknad förlossning \(due)")
               }),
         // A newborn's chart names the mother (the link written at birth); her record is read, as any, through the gateway.
         .list("mother", title: "Mor", emptyText: nil, rank: 16,
               search: { patientID throws(FHIRError) in
                   try ChartSearch("RelatedPerson", patientID: patientID, [("relationship", "\(MaternityCodes.roleCode)|MTH")], limit: 1)
               },
               line: { related in
                   ChartLine(Display.name(related), detail: related["identifier"]?.arrayValue?.first?.objectValue?["value"]?.stringValue ?? "")
               })]
    }

    public var operations: [OperationDescriptor] {
        let items = antenatal.programme.items.filter { !["derived", "questionnaire"].contains($0.valueType) }.map { "\($0.code):string" }
        let answers = antenatal.questionnaires.forms.values.sorted { $0.id < $1.id }.flatMap { form in form.questions.map { "\(form.id).\($0.linkId):code" } }
        return [
            .type("EpisodeOfCare", "register-pregnancy", post: true, "patient:id!", "unit:id", "lastMenstrualPeriod:date", "ultrasoundDueDate:date", "parity:integer",
                  "gravidity:integer", "previousPregnancies:string", module: name,
                  "Inskrivning: a pregnancy (EpisodeOfCare) at the antenatal unit with the region's basprogram as its CarePlan, each visit dated by gestational week"),
            OperationDescriptor(name: "antenatal-visit", resourceType: "EpisodeOfCare", level: .instance, affectsState: true,
                                parameters: ["visit:code!"] + items + answers, documentation:
                                    "A visit of the programme: values as Observations, AUDIT and EPDS as QuestionnaireResponses with their scores, the plan's visit done; a new SF-mått runs the SF rules and raises their tasks",
                                module: name),
            .instance("EpisodeOfCare", "risk-assessment", post: true, "factor:code*", "note:string", module: name,
                      "The MHV1 risk assessment from what is recorded and the factors chosen: a RiskAssessment with each reason, and an individual care plan where a factor calls for one"),
            .type("EpisodeOfCare", "antenatal-worklist", post: false, "unit:id", module: name,
                  "The unit's ongoing pregnancies with the visits due and overdue and the items missing"),
            .instance("EpisodeOfCare", "gravidogram", post: false, module: name,
                      "The gravidogram's series (SF-mått, weight gain, blood pressure) by gestational week with the reference curve's mean and ±2 SD"),
            .instance("Patient", "delivery-admit", post: true, "unit:id", module: name,
                      "Admission to the delivery ward: an inpatient Encounter (the ward's care relationship), linked to her ongoing pregnancy"),
            .instance("Encounter", "partogram-record", post: true, "time:dateTime", "cervix:decimal", "nedtrangning:decimal", "varkar:decimal", "fosterljud:decimal",
                      "puls:decimal", "systoliskt:decimal", "diastoliskt:decimal", "temperatur:decimal", module: name,
                      "Partogram values at a time; a dilatation right of the action line raises a Flag"),
            .instance("Encounter", "partogram", post: false, module: name, "The partogram: each part over time, the alert and action lines, each examination's position"),
            .instance("Encounter", "register-birth", post: true, "bornAt:dateTime", "gender:code!", "weight:decimal!", "length:decimal!", "head:decimal!",
                      "apgar1:integer!", "apgar5:integer!", "apgar10:integer", "mode:code!", module: name,
                      "The birth: the newborn as a patient on a reservnummer linked to the mother, Apgar and measures, the mode of delivery"),
            .instance("EpisodeOfCare", "sign-record", post: true, "level:code!", module: name,
                      "Slutsignering (level slut) or arkivsignering (level arkiv) of the pregnancy's delivery record"),
            .instance("EpisodeOfCare", "close-pregnancy", post: true, module: name, "The antenatal unit closes the pregnancy after the birth: the episode and its plans end"),
            .instance("EpisodeOfCare", "mfr-sheets", post: false, module: name, "The Medicinska födelseregistret sheets MHV1, MHV2, FV1 and FV2 from stored data"),
            .type("EpisodeOfCare", "graviditetsregistret", post: false, "date:date", module: name,
                  "The Graviditetsregistret extract of a day (text/csv): each pregnancy delivered, final-signed or archive-signed that day"),
            .instance("Task", "complete-maternity-task", post: true, "note:string", module: name, "A task the SF rules raised is done"),
        ]
    }

    public func answer(_ call: OperationCall) async throws -> OperationAnswer {
        let input = call.input, session = call.session
        switch (call.resourceType, call.id, call.name) {
        case ("EpisodeOfCare", nil, "register-pregnancy"):
            try call.requirePost()
            let registration = AntenatalCare.Registration(
                patientID: try input.requiredID("patient"), unitID: try input.id("unit"),
                lastMenstrualPeriod: try input.day("lastMenstrualPeriod").flatMap(SwedishTime.parseDay),
                ultrasoundDueDate: try input.day("ultrasoundDueDate").flatMap(SwedishTime.parseDay),
                parity: try input.int("parity") ?? 0, gravidity: try input.int("gravidity") ?? 0, previousPregnancies: input["previousPregnancies"])
            let pregnancy = try await antenatal.register(registration, session: session)
            return .resource(try await Records(session: session).require("EpisodeOfCare", pregnancy.id), status: 201)
        case ("EpisodeOfCare", let id?, "antenatal-visit"):
            try call.requirePost()
            let record = AntenatalCare.VisitRecord.parse(visit: try input.required("visit"), input.values, programme: antenatal.programme,
                                                         questionnaires: antenatal.questionnaires)
            let saved = try await antenatal.recordVisit(pregnancyID: id, record, session: session)
            var answer = ParametersBuilder()
            answer.add("encounter", resource: saved.encounter)
            for observation in saved.observations { answer.add("observation", resource: observation) }
            for response in saved.responses { answer.add("questionnaireResponse", resource: response) }
            for finding in saved.findings {
                var part = ParametersBuilder()
                part.add("rule", finding.rule.code)
                part.add("display", finding.rule.display)
                part.add("reason", finding.reason)
                for action in finding.actions { part.add("action", action.code) }
                answer.add("finding", part: part)
            }
            for task in saved.tasks { answer.add("task", resource: task) }
            return .parameters(answer, status: 201)
        case ("EpisodeOfCare", let id?, "risk-assessment"):
            try call.requirePost()
            let outcome = try await antenatal.assessRisk(pregnancyID: id, chosen: input.strings("factor"), note: input["note"], session: session)
            var answer = ParametersBuilder()
            answer.add("riskAssessment", resource: outcome.assessment)
            for (factor, reason) in outcome.factors {
                var part = ParametersBuilder()
                part.add("code", factor.code)
                part.add("display", factor.display)
                part.add("reason", reason)
                part.add("individualPlan", bool: factor.individualPlan)
                answer.add("factor", part: part)
            }
            answer.add("needsIndividualPlan", bool: outcome.needsIndividualPlan)
            if let plan = outcome.individualPlan { answer.add("individualPlan", resource: plan) }
            return .parameters(answer, status: 201)
        case ("EpisodeOfCare", nil, "antenatal-worklist"):
            let unit = try session.actingUnit(try input.id("unit"))
            var answer = ParametersBuilder()
            for row in try await antenatal.worklist(unitID: unit, session: session) {
                var part = ParametersBuilder()
                part.add("pregnancy", reference: "EpisodeOfCare/\(row.pregnancyID)")
                part.add("patient", reference: "Patient/\(row.patientID)")
                part.add("name", row.patientName)
                part.add("gestationalAge", row.gestationalAge)
                part.add("dueDate", SwedishTime.formatDay(row.dueDate))
                for visit in row.due { part.add("due", visit.code) }
                for visit in row.overdue { part.add("overdue", visit.code) }
                for item in row.missing { part.add("missing", item) }
                if let next = row.next { part.add("next", next.code) }
                answer.add("pregnancy", part: part)
            }
            return .parameters(answer)
        case ("EpisodeOfCare", let id?, "gravidogram"):
            let gravidogram = try await Gravidogram.read(pregnancyID: id, maternity: self, session: session)
            var answer = ParametersBuilder()
            answer.add("reference", curves.name)
            for series in gravidogram.series {
                for point in series.points {
                    var part = ParametersBuilder()
                    part.add("measure", series.code)
                    part.add("week", decimal: point.week, places: 2)
                    part.add("value", decimal: point.value, places: 1)
                    if let second = point.second { part.add("second", decimal: second, places: 0) }
                    if let reference = point.reference {
                        part.add("mean", decimal: reference.mean, places: 1)
                        part.add("lower", decimal: reference.mean - 2 * reference.sd, places: 1)
                        part.add("upper", decimal: reference.mean + 2 * reference.sd, places: 1)
                    }
                    answer.add("point", part: part)
                }
            }
            return .parameters(answer)
        case ("Patient", let id?, "delivery-admit"):
            try call.requirePost()
            return .resource(try await delivery.admit(patientID: id, unitID: try input.id("unit"), session: session), status: 201)
        case ("Encounter", let id?, "partogram-record"):
            try call.requirePost()
            var values: [String: Double] = [:]
            for part in delivery.check.lines.parts {
                guard let text = input[part.code]?.nonEmpty else { continue }
                guard let value = Double(text.replacingOccurrences(of: ",", with: ".")) else {
                    throw FHIRError(.invalid, code: .value, "\(part.code) must be a number; got '\(text)'", expression: [part.code])
                }
                values[part.code] = value
            }
            let chart = try await delivery.record(encounterID: id, values: values, at: try input.instant("time"), session: session)
            return .parameters(partogramAnswer(chart), status: 201)
        case ("Encounter", let id?, "partogram"):
            return .parameters(partogramAnswer(try await delivery.chart(encounterID: id, session: session)))
        case ("Encounter", let id?, "register-birth"):
            try call.requirePost()
            func number(_ name: String) throws(FHIRError) -> Double {
                let text = try input.required(name)
                guard let value = Double(text.replacingOccurrences(of: ",", with: ".")) else {
                    throw FHIRError(.invalid, code: .value, "\(name) must be a number; got '\(text)'", expression: [name])
                }
                return value
            }
            let birth = Delivery.Birth(bornAt: try input.instant("bornAt"), gender: try input.required("gender"), weightGrams: try number("weight"),
                                       lengthCm: try number("length"), headCm: try number("head"), apgar1: Int(try number("apgar1")),
                                       apgar5: Int(try number("apgar5")), apgar10: try input.int("apgar10"), mode: try input.required("mode"))
            let born = try await delivery.registerBirth(encounterID: id, birth, session: session)
            return .resource(born.child, status: 201)
        case ("EpisodeOfCare", let id?, "sign-record"):
            try call.requirePost()
            let level = try input.required("level")
            guard let signing = Delivery.Signing(rawValue: level) else {
                throw FHIRError(.invalid, code: .value, "level must be slut or arkiv; got '\(level)'", expression: ["level"])
            }
            let signed = try await delivery.sign(pregnancyID: id, signing, session: session)
            return .resource(try await Records(session: session).require("EpisodeOfCare", signed.id))
        case ("EpisodeOfCare", let id?, "close-pregnancy"):
            try call.requirePost()
            let closed = try await antenatal.close(pregnancyID: id, session: session)
            return .resource(try await Records(session: session).require("EpisodeOfCare", closed.id))
        case ("EpisodeOfCare", let id?, "mfr-sheets"):
            let (sheets, due) = try await registers.sheets(pregnancyID: id, maternity: self, session: session)
            var answer = ParametersBuilder()
            answer.add("due", due.map(SwedishTime.formatDay))
            for sheet in sheets {
                var part = ParametersBuilder()
                part.add("code", sheet.code)
                part.add("display", sheet.display)
                for line in sheet.lines {
                    var variable = ParametersBuilder()
                    variable.add("name", line.name)
                    variable.add("value", line.value)
                    part.add("variable", part: variable)
                }
                answer.add("sheet", part: part)
            }
            return .parameters(answer)
        case ("EpisodeOfCare", nil, "graviditetsregistret"):
            let day = try input.day("date").flatMap(SwedishTime.parseDay) ?? SwedishTime.day(of: clock()) - 1
            let extract = try await registers.graviditetsregistret(day: day, maternity: self, session: session)
            return .text(extract.text, contentType: "text/csv; charset=utf-8")
        case ("Task", let id?, "complete-maternity-task"):
            try call.requirePost()
            return .resource(try await antenatal.completeTask(taskID: id, note: input["note"], session: session))
        default:
            throw call.unsupported()
        }
    }

    func partogramAnswer(_ chart: Delivery.Chart) -> ParametersBuilder {
        var answer = ParametersBuilder()
        answer.add("encounter", reference: "Encounter/\(chart.encounter.id)")
        answer.add("lines", delivery.check.lines.name)
        for (code, points) in chart.series.sorted(by: { $0.key < $1.key }) {
            for point in points {
                var part = ParametersBuilder()
                part.add("part", code)
                part.add("time", SwedishTime.format(point.time))
                part.add("value", decimal: point.value, places: 1)
                answer.add("value", part: part)
            }
        }
        for (examination, position) in chart.positions {
            var part = ParametersBuilder()
            part.add("minutes", decimal: examination.minutes, places: 0)
            part.add("cervix", decimal: examination.centimetres, places: 1)
            part.add("position", position.rawValue)
            answer.add("examination", part: part)
        }
        answer.add("actionLineCrossed", bool: chart.flag != nil)
        if let flag = chart.flag { answer.add("flag", resource: flag) }
        return answer
    }
}
