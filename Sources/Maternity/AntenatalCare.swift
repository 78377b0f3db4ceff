public import Access
public import FHIRCore
import Foundation
public import StoreModel

/// Mödrahälsovård: registering a pregnancy instantiates the region's basprogram as a CarePlan (one activity per
/// visit, each with the weeks it is due in and what it holds); the unit's worklist shows what is due, overdue and
/// missing; the MHV1 risk assessment names its reasons and opens an individual care plan where they call for one.
public struct AntenatalCare: Sendable {
    public let programme: Basprogram
    public let questionnaires: QuestionnaireSet
    /// The SF-mått rules each visit's measurement is checked against.
    public let fundal: FundalHeightCheck
    let clock: @Sendable () -> Int64

    public init(programme: Basprogram, questionnaires: QuestionnaireSet, fundal: FundalHeightCheck, clock: @escaping @Sendable () -> Int64 = { Instant.now() }) {
        self.programme = programme
        self.questionnaires = questionnaires
        self.fundal = fundal
        self.clock = clock
    }

    var today: Int { SwedishTime.day(of: clock()) }

    /// What a midwife registers a pregnancy with (inskrivning).
    public struct Registration: Sendable {
        public var patientID: String
        public var unitID: String?
        public var lastMenstrualPeriod: Int?
        /// The due date from the dating ultrasound, which wins over the one from the last period.
        public var ultrasoundDueDate: Int?
        public var parity: Int
        public var gravidity: Int
        public var previousPregnancies: String?

        public init(patientID: String, unitID: String? = nil, lastMenstrualPeriod: Int? = nil, ultrasoundDueDate: Int? = nil, parity: Int = 0,
                    gravidity: Int = 0, previousPregnancies: String? = nil) {
            self.patientID = patientID
            self.unitID = unitID
            self.lastMenstrualPeriod = lastMenstrualPeriod
            self.ultrasoundDueDate = ultrasoundDueDate
            self.parity = parity
            self.gravidity = gravidity
            self.previousPregnancies = previousPregnancies
        }
    }

    /// Registers the pregnancy at the unit (the caller's unless named), with the caller as responsible midwife, and
    /// the programme's CarePlan with every visit dated from the due date — one write, so neither exists without the other.
    public func register(_ registration: Registration, session: PatientDataSession) async throws -> Pregnancy {
        let records = Records(session: session)
        _ = try await records.require("Patient", registration.patientID, role: "patient")
        let unit = try session.actingUnit(registration.unitID)
        _ = try await records.require("Organization", unit, role: "unit")
        let today = self.today
        if let lmp = registration.lastMenstrualPeriod, lmp > today {
            throw FHIRError(.invalid, code: .value, "lastMenstrualPeriod \(SwedishTime.formatDay(lmp)) is in the future", expression: ["lastMenstrualPeriod"],
                            text: "Sista mens kan inte vara i framtiden.")
        }
        guard let due = registration.ultrasoundDueDate ?? registration.lastMenstrualPeriod.map({ $0 + 280 }) else {
            throw FHIRError(.invalid, code: .required, "give lastMenstrualPeriod or ultrasoundDueDate", expression: ["lastMenstrualPeriod"],
                            text: "Ange sista mens eller beräknad partus från ultraljud.")
        }
        let days = today - (due - 280)
        guard (0...(43 * 7)).contains(days) else {
            throw FHIRError(.invalid, code: .value, "the dates give gestational age \(Pregnancy.format(days: days)) today; a registration must be within weeks 0–43",
                            expression: [registration.ultrasoundDueDate == nil ? "lastMenstrualPeriod" : "ultrasoundDueDate"],
                            text: "Datumen ger graviditetslängd \(Pregnancy.format(days: days)) i dag – kontrollera sista mens och partus.")
        }
        guard (0...20).contains(registration.parity), (0...30).contains(registration.gravidity), registration.gravidity >= registration.parity else {
            throw FHIRError(.invalid, code: .value, "parity must be 0–20 and gravidity 0–30 and at least the parity", expression: ["parity"],
                            text: "Paritet och tidigare graviditeter stämmer inte.")
        }
        if try await current(patientID: registration.patientID, session: session) != nil {
            throw refused("Patient/\(registration.patientID) already has an active pregnancy", expression: ["patient"],
                          text: "Patienten har redan en pågående graviditet inskriven.")
        }
        let episodeID = UUID().uuidString.lowercased(), planID = UUID().uuidString.lowercased()
        var episode = JSONObject([
            ("resourceType", .string("EpisodeOfCare")), ("id", .string(episodeID)), ("status", .string("active")),
            ("type", .array([FHIR.concept(MaternityCodes.maternity, MaternityCodes.pregnancy, "Graviditet")])),
            ("patient", FHIR.reference("Patient", registration.patientID)),
            ("managingOrganization", FHIR.reference("Organization", unit)),
            ("period", FHIR.object([("start", .string(SwedishTime.formatDay(today)))])),
        ])
        if let role = session.principal.assignment?.id { episode["careManager"] = FHIR.reference("PractitionerRole", role) }
        if let lmp = registration.lastMenstrualPeriod { episode.setExtension(MaternityCodes.lastMenstrualPeriod, "valueDate", .string(SwedishTime.formatDay(lmp))) }
        episode.setExtension(MaternityCodes.dueDate, "valueDate", .string(SwedishTime.formatDay(due)))
        episode.setExtension(MaternityCodes.dueDateMethod, "valueCode", .string(registration.ultrasoundDueDate == nil ? "sista-mens" : "ultraljud"))
        episode.setExtension(MaternityCodes.parity, "valueUnsignedInt", .number(String(registration.parity)))
        episode.setExtension(MaternityCodes.gravidity, "valueUnsignedInt", .number(String(registration.gravidity)))
        if let text = registration.previousPregnancies?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty {
            episode.setExtension(MaternityCodes.previousPregnancies, "valueString", .string(text))
        }
        episode.setExtension(MaternityCodes.programmePlan, "valueReference", FHIR.reference("CarePlan", planID))
        session.tagForUnit(&episode, unit: unit)
        var plan = carePlan(id: planID, episodeID: episodeID, patientID: registration.patientID, dayZero: due - 280, today: today)
        if let role = session.principal.assignment?.id { plan["author"] = FHIR.reference("PractitionerRole", role) }
        session.tagForUnit(&plan, unit: unit)
        _ = try await session.commit([.create(episode, type: "EpisodeOfCare", id: episodeID), .create(plan, type: "CarePlan", id: planID)])
        return try await pregnancy(episodeID, session: session)
    }

    /// The programme as the woman's plan: each visit an activity with its weeks as dates and its contents.
    func carePlan(id: String, episodeID: String, patientID: String, dayZero: Int, today: Int) -> JSONObject {
        let activities: [JSONValue] = programme.visits.map { visit in
            var detail = JSONObject([
                ("code", FHIR.concept(MaternityCodes.maternity, visit.code, visit.display)),
                ("status", .string("not-started")),
                ("scheduledPeriod", FHIR.object([("start", .string(SwedishTime.formatDay(dayZero + visit.fromWeek * 7))),
                                                 ("end", .string(SwedishTime.formatDay(dayZero + visit.toWeek * 7 + 6)))])),
                ("description", .string(visit.items.compactMap { programme.item($0)?.display }.joined(separator: ", "))),
            ])
            detail["extension"] = .array(visit.items.map { FHIR.object([("url", .string(MaternityCodes.planned)), ("valueCode", .string($0))]) })
            return FHIR.object([("detail", .object(detail))])
        }
        return JSONObject([
            ("resourceType", .string("CarePlan")), ("id", .string(id)), ("status", .string("active")), ("intent", .string("plan")),
            ("instantiatesCanonical", .array([.string("https://karna.se/fhir/PlanDefinition/\(programme.id)")])),
            ("category", .array([FHIR.concept(MaternityCodes.maternity, MaternityCodes.basprogramCategory, "Basprogram mödrahälsovård")])),
            ("title", .string(programme.name)),
            ("subject", FHIR.reference("Patient", patientID)),
            ("period", FHIR.object([("start", .string(SwedishTime.formatDay(today))), ("end", .string(SwedishTime.formatDay(dayZero + 43 * 7)))])),
            ("created", .string(SwedishTime.format(clock()))),
            ("supportingInfo", .array([FHIR.reference("EpisodeOfCare", episodeID)])),
            ("activity", .array(activities)),
        ])
    }

    /// A pregnancy by id with its delivery, or a 404 naming it.
    public func pregnancy(_ id: String, session: PatientDataSession) async throws -> Pregnancy {
        let stored = try await Records(session: session).require("EpisodeOfCare", id, role: "pregnancy")
        guard var pregnancy = Pregnancy(stored) else { throw refused("EpisodeOfCare/\(id) is not a pregnancy", expression: ["EpisodeOfCare.type"]) }
        if let delivery = try await deliveries([id], session: session)[id] { pregnancy.apply(delivery: delivery) }
        return pregnancy
    }

    /// The patient's pregnancies with their deliveries, the newest first.
    public func pregnancies(patientID: String, session: PatientDataSession) async throws -> [Pregnancy] {
        var found = try await Records(session: session).search("EpisodeOfCare", [("patient", "Patient/\(patientID)"), ("type", "\(MaternityCodes.maternity)|\(MaternityCodes.pregnancy)")],
                                                               limit: 50).compactMap(Pregnancy.init)
        let deliveries = try await deliveries(found.map(\.id), session: session)
        for index in found.indices { if let delivery = deliveries[found[index].id] { found[index].apply(delivery: delivery) } }
        return found.sorted { $0.registered > $1.registered }
    }

    /// The delivery admissions of pregnancies, by pregnancy (the one with a birth, else the latest), in one search per hundred.
    public func deliveries(_ pregnancyIDs: [String], session: PatientDataSession) async throws -> [String: StoredResource] {
        var found: [String: StoredResource] = [:]
        for start in stride(from: 0, to: pregnancyIDs.count, by: 100) {
            let chunk = pregnancyIDs[start..<min(start + 100, pregnancyIDs.count)]
            let admissions = try await Records(session: session).search("Encounter", [("episode-of-care", chunk.map { "EpisodeOfCare/\($0)" }.joined(separator: ",")),
                                                                                      ("type", "\(MaternityCodes.visitType)|\(Delivery.deliveryType)")], limit: 1_000)
            for admission in admissions {
                guard let pregnancy = Pregnancy.linked(admission.object) else { continue }
                let born = admission.object.extensionValue(MaternityCodes.delivered) != nil
                if let earlier = found[pregnancy], earlier.object.extensionValue(MaternityCodes.delivered) != nil, !born { continue }
                found[pregnancy] = admission
            }
        }
        return found
    }

    /// The patient's ongoing pregnancy, if any.
    public func current(patientID: String, session: PatientDataSession) async throws -> Pregnancy? {
        try await pregnancies(patientID: patientID, session: session).first { $0.status == "active" }
    }

    /// The pregnancy's programme plan.
    public func plan(_ pregnancy: Pregnancy, session: PatientDataSession) async throws -> ProgrammePlan {
        guard let id = pregnancy.carePlanID else { throw refused("EpisodeOfCare/\(pregnancy.id) has no programme plan") }
        return ProgrammePlan(try await Records(session: session).require("CarePlan", id))
    }

    // MARK: The worklist

    /// One pregnancy on the unit's worklist.
    public struct WorklistRow: Sendable {
        public var pregnancyID: String
        public var patientID: String
        public var patientName: String
        public var identifier: String
        public var gestationalAge: String
        public var dueDate: Int
        /// The visit due now (its window open), if not yet made.
        public var due: [ProgrammePlan.Visit]
        /// Visits whose window has closed without being made.
        public var overdue: [ProgrammePlan.Visit]
        /// Items of visits whose window has closed that were never recorded (AUDIT, tobacco, EPDS …).
        public var missing: [String]
        /// The next visit not yet open.
        public var next: ProgrammePlan.Visit?
        /// Born: waiting for the after-care visit that closes the pregnancy.
        public var delivered: Bool
    }

    /// The unit's ongoing pregnancies with what is due, overdue and missing; those with something overdue or missing first.
    public func worklist(unitID: String, session: PatientDataSession) async throws -> [WorklistRow] {
        let records = Records(session: session)
        let plans = try await records.all("CarePlan", [("_tag", "\(RecordTags.careUnit)|\(unitID)"), ("status", "active"),
                                                       ("category", "\(MaternityCodes.maternity)|\(MaternityCodes.basprogramCategory)")], maximum: 2_000)
        let patientIDs = Array(Set(plans.compactMap { $0.object.referenceID("subject", type: "Patient") }))
        let patients = Dictionary(try await session.read(keys: patientIDs.map { ResourceKey(type: "Patient", id: $0) }).map { ($0.id, $0.object) },
                                  uniquingKeysWith: { a, _ in a })
        let today = self.today
        let deliveries = try await deliveries(plans.compactMap { ProgrammePlan($0).episodeID }, session: session)
        var rows: [WorklistRow] = []
        for stored in plans {
            let plan = ProgrammePlan(stored)
            guard let patientID = plan.patientID, let patient = patients[patientID], let episodeID = plan.episodeID else { continue }
            // After the birth the programme's remaining visits are not late: the after-care visit closes the pregnancy.
            let delivered = deliveries[episodeID]?.object.extensionValue(MaternityCodes.delivered) != nil
            var status = plan.status(on: today)
            if delivered { status = (due: [], overdue: [], missing: [], next: nil) }
            rows.append(WorklistRow(pregnancyID: episodeID, patientID: patientID, patientName: Display.name(patient),
                                    identifier: Display.identity(patient)?.value ?? "", gestationalAge: Pregnancy.format(days: today - plan.dayZero),
                                    dueDate: plan.dayZero + 280, due: status.due, overdue: status.overdue,
                                    missing: status.missing.map { programme.item($0)?.display ?? $0 }, next: status.next, delivered: delivered))
        }
        return rows.sorted { a, b in
            let (aLate, bLate) = (!a.overdue.isEmpty || !a.missing.isEmpty, !b.overdue.isEmpty || !b.missing.isEmpty)
            if aLate != bLate { return aLate }
            return (a.dueDate, a.patientName) < (b.dueDate, b.patientName)
        }
    }

    // MARK: Risk assessment (MHV1)

    /// The outcome of a risk assessment: the factors found, each with why, and whether an individual plan is needed.
    public struct RiskOutcome: Sendable {
        public var factors: [(factor: Basprogram.RiskFactor, reason: String)]
        public var assessment: StoredResource
        public var individualPlan: StoredResource?
        public var needsIndividualPlan: Bool { factors.contains { $0.factor.individualPlan } }
    }

    /// Assesses the risk from what is recorded (BMI, AUDIT, EPDS, tobacco, blood pressure, age) and the factors the
    /// midwife chose, by the programme's rules; writes a RiskAssessment naming each reason, and an individual care
    /// plan (draft, for the midwife and doctor to complete) when a factor calls for one and none exists.
    public func assessRisk(pregnancyID: String, chosen: [String], note: String?, session: PatientDataSession) async throws -> RiskOutcome {
        let pregnancy = try await self.pregnancy(pregnancyID, session: session)
        let records = Records(session: session)
        let patient = try await records.require("Patient", pregnancy.patientID)
        for code in chosen where !programme.risk.contains(where: { $0.code == code && $0.when.chosen == true }) {
            throw FHIRError(.invalid, code: .value, "factor '\(code)' is not a factor the midwife chooses (\(programme.risk.filter { $0.when.chosen == true }.map(\.code).joined(separator: ", ")))",
                            expression: ["factor"])
        }
        let values = try await RecordedValues.read(pregnancy: pregnancy, session: session)
        var found: [(Basprogram.RiskFactor, String)] = []
        for factor in programme.risk {
            if factor.when.chosen == true {
                if chosen.contains(factor.code) { found.append((factor, "Angiven av barnmorskan")) }
            } else if let age = factor.when.ageAtLeast {
                if let years = Display.age(patient.object), years >= age { found.append((factor, "Ålder \(years) år")) }
            } else if let item = factor.when.item, let value = values.latest(item) {
                if let number = value.number {
                    if let limit = factor.when.atLeast, number >= limit { found.append((factor, "\(value.label): \(value.text)")) }
                    if let limit = factor.when.below, number < limit { found.append((factor, "\(value.label): \(value.text)")) }
                }
                if let answers = factor.when.in, answers.contains(value.text) { found.append((factor, "\(value.label): \(value.text)")) }
            }
        }
        let now = clock(), id = UUID().uuidString.lowercased()
        var assessment = JSONObject([
            ("resourceType", .string("RiskAssessment")), ("id", .string(id)), ("status", .string("final")),
            ("method", FHIR.concept(MaternityCodes.maternity, "mhv1", "Riskbedömning MHV1 (\(programme.name))")),
            ("code", FHIR.concept(MaternityCodes.maternity, "graviditetsrisk", "Riskbedömning under graviditet")),
            ("subject", FHIR.reference("Patient", pregnancy.patientID)),
            ("occurrenceDateTime", .string(SwedishTime.format(now))),
            ("basis", .array([FHIR.reference("EpisodeOfCare", pregnancy.id)] + values.sources.map { FHIR.reference($0.type, $0.id) })),
            ("prediction", .array(found.isEmpty
                ? [FHIR.object([("outcome", FHIR.text("Ingen riskfaktor: basprogram")), ("qualitativeRisk", FHIR.concept("http://terminology.hl7.org/CodeSystem/risk-probability", "negligible", "Negligible likelihood"))])]
                : found.map { factor, reason in
                    FHIR.object([("outcome", FHIR.concept(MaternityCodes.maternity, factor.code, factor.display)),
                                 ("qualitativeRisk", FHIR.concept("http://terminology.hl7.org/CodeSystem/risk-probability", "moderate", "Moderate likelihood")),
                                 ("rationale", .string(reason))])
                })),
            ("mitigation", .string(found.isEmpty ? "Basprogram." : found.map(\.0.action).joined(separator: " "))),
        ])
        if let role = session.principal.assignment?.id { assessment["performer"] = FHIR.reference("PractitionerRole", role) }
        if let note = note?.trimmingCharacters(in: .whitespacesAndNewlines), !note.isEmpty { assessment["note"] = .array([FHIR.text(note)]) }
        session.tagForUnit(&assessment, unit: pregnancy.unitID)
        var operations: [WriteOperation] = [.create(assessment, type: "RiskAssessment", id: id)]
        let calling = found.filter { $0.0.individualPlan }
        var planID: String?
        if !calling.isEmpty, try await individualPlan(pregnancy, session: session) == nil {
            let newID = UUID().uuidString.lowercased()
            var plan = JSONObject([
                ("resourceType", .string("CarePlan")), ("id", .string(newID)), ("status", .string("draft")), ("intent", .string("plan")),
                ("category", .array([FHIR.concept(MaternityCodes.maternity, MaternityCodes.individualPlanCategory, "Individuell vårdplan (MHV3)")])),
                ("title", .string("Individuell vårdplan")),
                ("description", .string("Riskfaktorer: " + calling.map(\.0.display).joined(separator: "; ") + ".")),
                ("subject", FHIR.reference("Patient", pregnancy.patientID)), ("created", .string(SwedishTime.format(now))),
                ("supportingInfo", .array([FHIR.reference("EpisodeOfCare", pregnancy.id), FHIR.reference("RiskAssessment", id)])),
                ("activity", .array(calling.map { factor, _ in
                    FHIR.object([("detail", FHIR.object([("code", FHIR.concept(MaternityCodes.maternity, factor.code, factor.display)),
                                                         ("status", .string("not-started")), ("description", .string(factor.action))]))])
                })),
            ])
            if let role = session.principal.assignment?.id { plan["author"] = FHIR.reference("PractitionerRole", role) }
            session.tagForUnit(&plan, unit: pregnancy.unitID)
            operations.append(.create(plan, type: "CarePlan", id: newID))
            planID = newID
        }
        let written = try await session.commit(operations)
        let stored: StoredResource
        if let first = written.first?.resource { stored = first } else { stored = try await records.require("RiskAssessment", id) }
        let individual: StoredResource? = if let planID { try await records.optional("CarePlan", planID) } else { nil }
        return RiskOutcome(factors: found.map { ($0.0, $0.1) }, assessment: stored, individualPlan: individual)
    }

    /// The antenatal unit closes the pregnancy at the after-care visit (eftervårdsbesök), which is recorded as the
    /// unit's care contact: the episode finished, its plans completed — one write.
    public func close(pregnancyID: String, session: PatientDataSession) async throws -> Pregnancy {
        let pregnancy = try await self.pregnancy(pregnancyID, session: session)
        guard pregnancy.status == "active" else { throw refused("EpisodeOfCare/\(pregnancyID) is already \(pregnancy.status)", text: "Graviditeten är redan avslutad.") }
        guard pregnancy.delivered != nil else { throw refused("the pregnancy has no registered birth", text: "Ingen förlossning är registrerad.") }
        var episode = pregnancy.object.forUpdate
        episode["status"] = .string("finished")
        var period = episode["period"]?.objectValue ?? JSONObject()
        period["end"] = .string(SwedishTime.formatDay(today))
        episode["period"] = .object(period)
        let now = clock(), visitID = UUID().uuidString.lowercased()
        var visit = JSONObject([
            ("resourceType", .string("Encounter")), ("id", .string(visitID)), ("status", .string("finished")),
            ("class", FHIR.coding(MaternityCodes.actCode, "AMB", "ambulatory")),
            ("type", .array([FHIR.concept(MaternityCodes.visitType, "mhv-eftervard", "Eftervårdsbesök på barnmorskemottagning")])),
            ("subject", FHIR.reference("Patient", pregnancy.patientID)),
            ("episodeOfCare", .array([FHIR.reference("EpisodeOfCare", pregnancy.id)])),
            ("period", FHIR.object([("start", .string(SwedishTime.format(now))), ("end", .string(SwedishTime.format(now)))])),
            ("serviceProvider", FHIR.reference("Organization", pregnancy.unitID)),
        ])
        if let role = session.principal.assignment?.id { visit["participant"] = .array([FHIR.object([("individual", FHIR.reference("PractitionerRole", role))])]) }
        var operations: [WriteOperation] = [.create(visit, type: "Encounter", id: visitID),
                                            .update(episode, type: "EpisodeOfCare", id: pregnancyID, ifMatch: pregnancy.versionId)]
        for plan in [try await self.plan(pregnancy, session: session).stored, try await individualPlan(pregnancy, session: session)].compactMap({ $0 })
        where ["active", "draft"].contains(plan.object["status"]?.stringValue ?? "") {
            var closed = plan.object.forUpdate
            closed["status"] = .string(plan.object["status"]?.stringValue == "draft" ? "revoked" : "completed")
            operations.append(.update(closed, type: "CarePlan", id: plan.id, ifMatch: plan.versionId))
        }
        _ = try await session.commit(operations)
        return try await self.pregnancy(pregnancyID, session: session)
    }

    /// The pregnancy's individual care plan, if one was opened.
    public func individualPlan(_ pregnancy: Pregnancy, session: PatientDataSession) async throws -> StoredResource? {
        try await Records(session: session).search("CarePlan", [("subject", "Patient/\(pregnancy.patientID)"),
                                                                ("category", "\(MaternityCodes.maternity)|\(MaternityCodes.individualPlanCategory)")], limit: 20)
            .first { $0.object["supportingInfo"]?.arrayValue?.contains { $0.objectValue?["reference"]?.stringValue == "EpisodeOfCare/\(pregnancy.id)" } ?? false }
    }

    /// The pregnancy's latest risk assessment.
    public func latestRisk(_ pregnancy: Pregnancy, session: PatientDataSession) async throws -> StoredResource? {
        try await Records(session: session).search("RiskAssessment", [("subject", "Patient/\(pregnancy.patientID)"), ("date", "ge" + SwedishTime.dayStart(pregnancy.registered)),
                                                                      ("_sort", "-date")], limit: 1).first
    }
}

/// The basprogram as the woman's CarePlan, read: the visits with their dates, what each holds and what was recorded.
public struct ProgrammePlan: Sendable {
    /// One visit of the plan.
    public struct Visit: Sendable {
        public var index: Int
        public var code: String
        public var display: String
        public var from: Int
        public var to: Int
        public var completed: Bool
        public var planned: [String]
        public var recorded: [String]
    }

    public var stored: StoredResource
    public var visits: [Visit]
    public var patientID: String? { stored.object.referenceID("subject", type: "Patient") }
    public var episodeID: String? {
        stored.object["supportingInfo"]?.arrayValue?.compactMap { $0.objectValue?["reference"]?.stringValue.flatMap(ResourceKey.init(reference:)) }.first { $0.type == "EpisodeOfCare" }?.id
    }
    /// Day zero of the pregnancy (280 days before the due date): the plan ends at week 43 by construction.
    public var dayZero: Int {
        (stored.object["period"]?.objectValue?["end"]?.stringValue.flatMap(SwedishTime.parseDay) ?? 0) - 43 * 7
    }

    public init(_ stored: StoredResource) {
        self.stored = stored
        visits = (stored.object["activity"]?.arrayValue ?? []).enumerated().compactMap { index, activity in
            guard let detail = activity.objectValue?["detail"]?.objectValue, let coding = detail["code"]?.objectValue?["coding"]?.arrayValue?.first?.objectValue,
                  let code = coding["code"]?.stringValue else { return nil }
            let period = detail["scheduledPeriod"]?.objectValue
            func codes(_ url: String) -> [String] {
                (detail["extension"]?.arrayValue ?? []).compactMap { item in
                    item.objectValue?["url"]?.stringValue == url ? item.objectValue?["valueCode"]?.stringValue : nil
                }
            }
            return Visit(index: index, code: code, display: coding["display"]?.stringValue ?? code,
                         from: period?["start"]?.stringValue.flatMap(SwedishTime.parseDay) ?? 0, to: period?["end"]?.stringValue.flatMap(SwedishTime.parseDay) ?? 0,
                         completed: detail["status"]?.stringValue == "completed", planned: codes(MaternityCodes.planned), recorded: codes(MaternityCodes.recorded))
        }
    }

    /// What is due, overdue and missing on a day.
    public func status(on day: Int) -> (due: [Visit], overdue: [Visit], missing: [String], next: Visit?) {
        let recorded = Set(visits.flatMap(\.recorded))
        let due = visits.filter { !$0.completed && $0.from <= day && day <= $0.to }
        let overdue = visits.filter { !$0.completed && $0.to < day }
        var missing: [String] = []
        for visit in visits where visit.to < day || visit.completed {
            for item in visit.planned where !recorded.contains(item) && !missing.contains(item) { missing.append(item) }
        }
        let next = visits.first { !$0.completed && $0.from > day }
        return (due, overdue, missing, next)
    }
}
