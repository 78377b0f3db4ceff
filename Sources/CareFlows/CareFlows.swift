public import Access
public import FHIRCore
import Foundation
import StoreModel

/// The care-flow module (vårdflöden): the emergency department from arrival to leaving with RETTS triage and
/// the tracking board, the region's ED times, day surgery with its checklists and follow-up call, and vital
/// signs with NEWS2 on the chart and the ward. Direct admission is patient administration's ward flow
/// (`Encounter/$admit`, admitSource direktinlaggning); the primary-care visit is its appointment book and cashier.
public struct CareFlows: ClinicalModule {
    public let emergency: EmergencyDepartment
    public let board: TrackingBoard
    public let vitalSigns: VitalSignRecords
    public let daySurgery: DaySurgery

    public init(triage: TriageTable, news2: EarlyWarningTable, daySurgery: DaySurgeryLists, targets: EmergencyTargets = EmergencyTargets(),
                events: BoardEvents = BoardEvents(), clock: @escaping @Sendable () -> Int64 = { Instant.now() }) {
        emergency = EmergencyDepartment(table: triage, targets: targets, events: events, clock: clock)
        board = TrackingBoard(department: emergency)
        vitalSigns = VitalSignRecords(table: news2, clock: clock)
        self.daySurgery = DaySurgery(lists: daySurgery, clock: clock)
    }

    /// The module with the shipped tables (the RETTS table a demonstration, not clinical content).
    public static func shipped(targets: EmergencyTargets = EmergencyTargets()) throws -> CareFlows {
        CareFlows(triage: try TriageTable.shipped(), news2: try EarlyWarningTable.shipped(), daySurgery: try DaySurgeryLists.shipped(), targets: targets)
    }

    public var name: String { "CareFlows" }

    public var chart: [ChartPart] {
        [.list("news2", title: "NEWS2", emptyText: "Ingen NEWS2 registrerad.", rank: 25,
               search: { patientID throws(FHIRError) in
                   try ChartSearch("Observation", patientID: patientID, [("code", "\(CareFlowCodes.snomed)|\(VitalSignRecords.news2Code)"), ("_sort", "-date")], limit: 3)
               },
               line: { observation in
                   let entry = VitalSignRecords.entry(observation)
                   return ChartLine("NEWS2 \(entry?.total ?? 0)", detail: [entry.map { "Responsnivå: \($0.response)" } ?? "",
                                                                         Display.time(observation["effectiveDateTime"]?.stringValue)].filter { !$0.isEmpty }.joined(separator: " · "))
               })]
    }

    static let vitalParameters = ["respiratoryRate:decimal", "spo2:decimal", "oxygenFlow:decimal", "temperature:decimal", "systolic:decimal", "diastolic:decimal",
                                  "pulse:decimal", "consciousness:code", "airway:code", "spo2Scale:code"]

    public var operations: [OperationDescriptor] {
        [.type("Encounter", "ed-arrive", post: true, "patient:id", "unidentified:boolean", "gender:code", "estimatedBirthYear:integer", "note:string", "unit:id",
               "arrivalMode:code", "complaint:string", module: name,
               "Ankomstregistrering at the emergency department: an EMER Encounter, arrived, for the patient — or, with unidentified=true, for a new patient on a reservnummer in the same call"),
         .instance("Encounter", "ed-triage", post: true, "respiratoryRate:decimal", "spo2:decimal", "oxygenFlow:decimal", "temperature:decimal", "systolic:decimal",
                   "diastolic:decimal", "pulse:decimal", "consciousness:code", "airway:code", "complaint:code", "level:code", module: name,
                   "Triage or retriage by the loaded RETTS table: the vital signs and the priority as Observations, the colour (the higher of the vital-parameter and complaint colours) on the visit"),
         .type("Encounter", "triage-colour", post: false, "respiratoryRate:decimal", "spo2:decimal", "oxygenFlow:decimal", "temperature:decimal", "systolic:decimal",
               "diastolic:decimal", "pulse:decimal", "consciousness:code", "airway:code", "complaint:code", "level:code", module: name,
               "The colour a triage would give, without writing anything (the triage form's live colour)"),
         .instance("Encounter", "ed-step", post: true, "step:code!", "reason:code", module: name,
                   "Next step of the emergency visit: lakare (the caller takes the patient) or beslut (ready for decision); a skipped step needs a reason"),
         .instance("Encounter", "ed-assign", post: true, "nurse:boolean", "room:string", module: name,
                   "The caller becomes the responsible nurse, and/or the patient is given a room"),
         .instance("Encounter", "ed-leave", post: true, "disposition:code!", "ward:id", "note:string", "reason:code", module: name,
                   "The visit ends: hem (with the advice given), inlaggning (a bed request to the ward), overflyttning, lamnat-fore-lakare, avbruten, avliden"),
         .type("Encounter", "ed-board", post: false, "unit:id", module: name,
               "The tracking board: the unit's open emergency visits, not triaged first, then by colour and waiting time, with the targets' breach times"),
         .type("Encounter", "ed-times", post: false, "unit:id", "date:date", module: name,
               "The region's ED times for the visits that arrived on a day: TTT, TTL, TVT (medians, share within target), returns within the window, left before a doctor"),
         .instance("Patient", "vital-signs", post: true, "respiratoryRate:decimal", "spo2:decimal", "oxygenFlow:decimal", "temperature:decimal", "systolic:decimal",
                   "diastolic:decimal", "pulse:decimal", "consciousness:code", "spo2Scale:code", "encounter:id", module: name,
                   "Save a set of vital signs (LOINC Observations); a complete set also gets its NEWS2 with the clinical response level"),
         .instance("Patient", "book-day-surgery", post: true, "date:date!", "procedure:string!", "unit:id", module: name,
                   "Book a day-surgery admission (a short-stay Encounter, planned) for a day"),
         .instance("Encounter", "day-surgery-arrive", post: true, module: name, "The day-surgery patient has come"),
         .instance("Encounter", "day-surgery-check", post: true, "list:code!", "item:code", module: name,
                   "Record checklist items (list preop or utskrivning) as done"),
         .instance("Encounter", "day-surgery-discharge", post: true, module: name,
                   "Send the day-surgery patient home: refused until every discharge criterion is recorded; creates tomorrow's telephone follow-up"),
         .type("Task", "follow-ups", post: false, "unit:id", module: name, "The unit's telephone follow-ups not yet made, overdue first"),
         .instance("Task", "complete-follow-up", post: true, "note:string", module: name, "The follow-up call is made")]
    }

    static func signs(_ input: OperationInput) throws(FHIRError) -> VitalSigns {
        try VitalSigns.parse(input.values)
    }

    public func answer(_ call: OperationCall) async throws -> OperationAnswer {
        let input = call.input, session = call.session
        switch (call.resourceType, call.id, call.name) {
        case ("Encounter", nil, "ed-arrive"):
            try call.requirePost()
            let unidentified = try input.bool("unidentified", default: false)
            let visit = try await emergency.arrive(
                patientID: try input.id("patient"),
                unidentified: unidentified ? .init(gender: input["gender"], estimatedBirthYear: try input.int("estimatedBirthYear"), note: input["note"]) : nil,
                unitID: try input.id("unit"), arrivalMode: input["arrivalMode"] ?? "egen", complaint: input["complaint"], session: session)
            return .resource(visit, status: 201)
        case ("Encounter", let id?, "ed-triage"):
            try call.requirePost()
            let triaged = try await emergency.triage(encounterID: id, signs: try Self.signs(input), complaint: input["complaint"], level: input["level"], session: session)
            return .resource(triaged.encounter)
        case ("Encounter", nil, "triage-colour"):
            let outcome = try emergency.scoring.triage(try Self.signs(input), complaint: input["complaint"], level: input["level"])
            var answer = ParametersBuilder()
            answer.add("colour", outcome.colour)
            answer.add("display", emergency.scoring.table.display(outcome.colour))
            answer.add("vitalColour", outcome.vitalColour)
            answer.add("complaintColour", outcome.complaintColour)
            for reason in outcome.vitalReasons { answer.add("vitalReason", reason) }
            answer.add("table", emergency.scoring.table.name)
            return .parameters(answer)
        case ("Encounter", let id?, "ed-step"):
            try call.requirePost()
            let step = try input.required("step")
            guard let chosen = EmergencyStep(rawValue: step) else {
                throw FHIRError(.invalid, code: .value, "step must be lakare or beslut; got '\(step)'", expression: ["step"])
            }
            return .resource(try await emergency.step(encounterID: id, to: chosen, reason: input["reason"], session: session))
        case ("Encounter", let id?, "ed-assign"):
            try call.requirePost()
            return .resource(try await emergency.assign(encounterID: id, nurse: try input.bool("nurse", default: false), room: input["room"], session: session))
        case ("Encounter", let id?, "ed-leave"):
            try call.requirePost()
            return .resource(try await emergency.leave(encounterID: id, disposition: try input.required("disposition"), wardID: try input.id("ward"),
                                                       note: input["note"], reason: input["reason"], session: session))
        case ("Encounter", nil, "ed-board"):
            let unit = try session.actingUnit(try input.id("unit"))
            let now = emergency.clock()
            var answer = ParametersBuilder()
            for row in try await board.rows(unitID: unit, session: session) {
                var part = ParametersBuilder()
                part.add("encounter", reference: "Encounter/\(row.encounterID)")
                part.add("patient", reference: "Patient/\(row.patientID)")
                part.add("name", row.patientName)
                part.add("identifier", row.identifier)
                part.add("colour", row.colour)
                part.add("complaint", row.complaint)
                part.add("room", row.room)
                part.add("doctor", row.doctor)
                part.add("nurse", row.nurse)
                part.add("step", row.step.rawValue)
                part.add("arrival", SwedishTime.format(row.arrival))
                part.add("minutesSinceArrival", int: row.minutes(since: row.arrival, now: now))
                part.add("minutesSinceTriage", int: row.minutes(since: row.triaged, now: now))
                part.add("pendingOrders", int: row.pendingOrders)
                part.add("results", int: row.results)
                for signal in row.signals { part.add("signal", signal) }
                part.add("triageBreached", bool: row.triageDue.map { now >= $0 } ?? false)
                part.add("doctorBreached", bool: row.doctorDue.map { now >= $0 } ?? false)
                part.add("stayBreached", bool: now >= row.stayDue)
                answer.add("visit", part: part)
            }
            return .parameters(answer)
        case ("Encounter", nil, "ed-times"):
            let unit = try session.actingUnit(try input.id("unit"))
            let day = try input.day("date").flatMap(SwedishTime.parseDay) ?? SwedishTime.day(of: emergency.clock())
            let (visits, report) = try await EmergencyTimes.day(day, unitID: unit, targets: emergency.targets, session: session)
            return .parameters(Self.timesAnswer(report, visits: visits, day: day, targets: emergency.targets))
        case ("Patient", let id?, "vital-signs"):
            try call.requirePost()
            let saved = try await vitalSigns.record(patientID: id, encounterID: try input.id("encounter"), signs: try Self.signs(input), session: session)
            var answer = ParametersBuilder()
            for observation in saved.observations { answer.add("observation", resource: observation) }
            if let score = saved.score {
                answer.add("news2", int: score.total)
                answer.add("response", score.response.code)
                answer.add("action", score.response.action)
            }
            for missing in saved.missing { answer.add("missing", missing) }
            return .parameters(answer, status: 201)
        case ("Patient", let id?, "book-day-surgery"):
            try call.requirePost()
            guard let day = try input.day("date").flatMap(SwedishTime.parseDay) else {
                throw FHIRError(.invalid, code: .required, "date is required", expression: ["date"])
            }
            return .resource(try await daySurgery.book(patientID: id, unitID: try input.id("unit"), day: day, procedure: try input.required("procedure"), session: session),
                             status: 201)
        case ("Encounter", let id?, "day-surgery-arrive"):
            try call.requirePost()
            return .resource(try await daySurgery.arrive(encounterID: id, session: session))
        case ("Encounter", let id?, "day-surgery-check"):
            try call.requirePost()
            let listName = try input.required("list")
            guard let list = DaySurgery.List(rawValue: listName) else {
                throw FHIRError(.invalid, code: .value, "list must be preop or utskrivning; got '\(listName)'", expression: ["list"])
            }
            return .resources(try await daySurgery.check(encounterID: id, list: list, items: input.strings("item"), session: session))
        case ("Encounter", let id?, "day-surgery-discharge"):
            try call.requirePost()
            let done = try await daySurgery.discharge(encounterID: id, session: session)
            return .resources([done.encounter, done.followUp])
        case ("Task", nil, "follow-ups"):
            let unit = try session.actingUnit(try input.id("unit"))
            return .resources(try await daySurgery.followUps(unitID: unit, session: session).map(\.task))
        case ("Task", let id?, "complete-follow-up"):
            try call.requirePost()
            return .resource(try await daySurgery.completeFollowUp(taskID: id, note: input["note"], session: session))
        default:
            throw call.unsupported()
        }
    }

    static func timesAnswer(_ report: EmergencyTimes.Report, visits: [EmergencyTimes.Visit], day: Int, targets: EmergencyTargets) -> ParametersBuilder {
        var answer = ParametersBuilder()
        answer.add("date", SwedishTime.formatDay(day))
        answer.add("visits", int: report.visits)
        answer.add("open", int: report.open)
        for (name, measure, target) in [("toTriage", report.toTriage, targets.triageMinutes), ("toDoctor", report.toDoctor, targets.doctorMinutes),
                                        ("stay", report.stay, targets.stayMinutes)] {
            var part = ParametersBuilder()
            part.add("count", int: measure.count)
            part.add("medianMinutes", decimal: measure.medianMinutes)
            part.add("targetMinutes", int: target)
            part.add("withinTarget", int: measure.withinTarget)
            part.add("share", decimal: measure.share.map { $0 * 100 }, places: 1)
            answer.add(name, part: part)
        }
        answer.add("leftBeforeDoctor", int: report.leftBeforeDoctor)
        answer.add("abandonedAfterDoctor", int: report.abandonedAfterDoctor)
        answer.add("returnsWithinWindow", int: report.returns)
        answer.add("returnBase", int: report.returnBase)
        for (visit, abandoned) in EmergencyTimes.registerLines(visits) {
            var line = ParametersBuilder()
            line.add("encounter", reference: "Encounter/\(visit.id)")
            line.add("arrival", SwedishTime.format(visit.arrival))
            line.add("doctor", visit.doctor.map(SwedishTime.format))
            line.add("left", visit.left.map(SwedishTime.format))
            line.add("avbrutenVard", int: abandoned ? 1 : 0)
            answer.add("registerLine", part: line)
        }
        return answer
    }

    // MARK: Demo

    public func seedDemo(_ demo: DemoContext) async throws -> [String] {
        guard !demo.emergencyUnit.isEmpty, demo.patients >= 20,
              let nurse = try await demo.practitioner(assignmentID: "demo-sjukskoterska-uppdrag-3", name: "Erik Sandberg", action: "demo-emergency") else { return [] }
        // Once: the board has visits already when a seed ran before.
        if try await !Records(session: nurse).search("Encounter", [("service-provider", "Organization/\(demo.emergencyUnit)"), ("class", "\(CareFlowCodes.actCode)|EMER")], limit: 1).isEmpty {
            return []
        }
        let visits: [(patient: String, mode: String, complaint: String, signs: VitalSigns, card: String, level: String)] = [
            ("pat-11", "ambulans", "Bröstsmärta sedan en timme", VitalSigns(respiratoryRate: 22, spo2: 93, temperature: 37.1, systolic: 150, diastolic: 90, pulse: 105, consciousness: "A"), "005", "orange"),
            ("pat-12", "egen", "Buksmärta", VitalSigns(respiratoryRate: 16, spo2: 98, temperature: 38.7, systolic: 125, diastolic: 80, pulse: 95, consciousness: "A"), "006", "gul"),
            ("pat-13", "egen", "Sårskada på handen", VitalSigns(respiratoryRate: 14, spo2: 99, temperature: 36.8, systolic: 130, diastolic: 85, pulse: 72, consciousness: "A"), "056", "gron"),
            ("pat-14", "ambulans", "Andningsbesvär", VitalSigns(respiratoryRate: 28, spo2: 89, temperature: 38.2, systolic: 110, diastolic: 70, pulse: 118, consciousness: "A"), "004", "orange"),
        ]
        for (index, visit) in visits.enumerated() {
            let arrived = try await emergency.arrive(patientID: visit.patient, unidentified: nil, unitID: demo.emergencyUnit, arrivalMode: visit.mode,
                                                     complaint: visit.complaint, session: nurse)
            if index < 3 { _ = try await emergency.triage(encounterID: arrived.id, signs: visit.signs, complaint: visit.card, level: visit.level, session: nurse) }
        }
        return ["Akutmottagningen (\(demo.emergencyUnit)): \(visits.count) öppna besök på akuttavlan, tre triagerade"]
    }
}
