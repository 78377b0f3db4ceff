public import Access
public import FHIRCore
import Foundation
public import StoreModel

/// What has been recorded in a pregnancy, by programme item: each value with its time, newest last.
public struct RecordedValues: Sendable {
    /// One recorded value.
    public struct Value: Sendable {
        public var item: String
        public var label: String
        /// The number for rules and curves (systolic for a blood pressure, the score for a form).
        public var number: Double?
        public var second: Double?
        public var text: String
        public var time: Int64
        public var observation: JSONObject
    }

    public var values: [Value]
    public var sources: [ResourceKey]

    public func all(_ item: String) -> [Value] { values.filter { $0.item == item } }
    public func first(_ item: String) -> Value? { values.first { $0.item == item } }
    public func latest(_ item: String) -> Value? { values.last { $0.item == item } }

    /// The pregnancy's Observations (those based on its programme plan), oldest first.
    public static func read(pregnancy: Pregnancy, session: PatientDataSession) async throws -> RecordedValues {
        guard let planID = pregnancy.carePlanID else { return RecordedValues([]) }
        let found = try await Records(session: session).all("Observation", [("based-on", "CarePlan/\(planID)"), ("_sort", "date")], maximum: 2_000)
        return RecordedValues(found.map(\.object))
    }

    public init(_ observations: [JSONObject]) {
        var values: [Value] = [], sources: [ResourceKey] = []
        for observation in observations {
            guard let item = observation.code("code", system: MaternityCodes.maternity),
                  let time = observation["effectiveDateTime"]?.stringValue.flatMap(Instant.parse) else { continue }
            let label = observation["code"]?.objectValue?["text"]?.stringValue ?? item
            if let id = observation["id"]?.stringValue { sources.append(ResourceKey(type: "Observation", id: id)) }
            var value = Value(item: item, label: label, number: nil, second: nil, text: "", time: time, observation: observation)
            if let quantity = observation["valueQuantity"]?.objectValue, let number = quantity["value"]?.numberText.flatMap(Double.init) {
                value.number = number
                value.text = number.swedish + (quantity["unit"]?.stringValue.map { " " + $0 } ?? "")
            } else if let score = observation["valueInteger"]?.numberText.flatMap(Double.init) {
                value.number = score
                value.text = score.fhirText + " poäng"
            } else if let concept = observation["valueCodeableConcept"]?.objectValue {
                value.text = concept["text"]?.stringValue ?? ""
            } else if let flag = observation["valueBoolean"]?.boolValue {
                value.text = flag ? "ja" : "nej"
            } else if let parts = observation["component"]?.arrayValue?.compactMap(\.objectValue), parts.count == 2 {
                let numbers = parts.map { $0["valueQuantity"]?.objectValue?["value"]?.numberText.flatMap(Double.init) }
                value.number = numbers[0]
                value.second = numbers[1]
                value.text = "\(numbers[0]?.fhirText ?? "?")/\(numbers[1]?.fhirText ?? "?")"
            }
            values.append(value)
        }
        self.values = values.sorted { $0.time < $1.time }
        self.sources = sources
    }
}

extension AntenatalCare {
    /// What a midwife records at a visit: the programme items' values (by item code), the forms' answers
    /// (by questionnaire and question), and the note's text.
    public struct VisitRecord: Sendable {
        public var visit: String
        public var values: [String: String]
        public var answers: [String: [String: String]]

        public init(visit: String, values: [String: String], answers: [String: [String: String]] = [:]) {
            self.visit = visit
            self.values = values
            self.answers = answers
        }

        /// From flat parameters: item codes as names, answers as `audit.1`.
        public static func parse(visit: String, _ parameters: [String: String], programme: Basprogram, questionnaires: QuestionnaireSet) -> VisitRecord {
            var values: [String: String] = [:], answers: [String: [String: String]] = [:]
            for (name, raw) in parameters {
                let text = raw.trimmingCharacters(in: .whitespacesAndNewlines)
                guard !text.isEmpty else { continue }
                let parts = name.split(separator: ".", maxSplits: 1).map(String.init)
                if parts.count == 2, questionnaires.forms[parts[0]] != nil {
                    answers[parts[0], default: [:]][parts[1]] = text
                } else if programme.item(name) != nil {
                    values[name] = text
                }
            }
            return VisitRecord(visit: visit, values: values, answers: answers)
        }
    }

    /// What a recorded visit wrote, and the SF findings with the tasks they raised.
    public struct RecordedVisit: Sendable {
        public var encounter: StoredResource
        public var observations: [StoredResource]
        public var responses: [StoredResource]
        public var findings: [FundalHeightCheck.Finding]
        public var tasks: [StoredResource]
    }

    /// Records a visit of the programme: a care contact (Encounter) at the unit, each value as an Observation based on
    /// the plan (BMI derived from weight and height), each form as a QuestionnaireResponse with its score as an
    /// Observation, the plan's activity completed with what was recorded — and the SF rules run on a new SF-mått,
    /// each finding's actions a task owned by the responsible midwife. One write.
    public func recordVisit(pregnancyID: String, _ record: VisitRecord, session: PatientDataSession) async throws -> RecordedVisit {
        let pregnancy = try await self.pregnancy(pregnancyID, session: session)
        guard pregnancy.status == "active" else {
            throw refused("EpisodeOfCare/\(pregnancyID) is \(pregnancy.status): visits are recorded on an active pregnancy", text: "Graviditeten är avslutad.")
        }
        let stored = try await plan(pregnancy, session: session)
        guard let visit = stored.visits.first(where: { $0.code == record.visit }) else {
            throw FHIRError(.invalid, code: .value, "visit '\(record.visit)' is not in the programme (\(stored.visits.map(\.code).joined(separator: ", ")))",
                            expression: ["visit"], text: "Okänt besök.")
        }
        guard !visit.completed else {
            throw refused("the visit \(visit.code) is already recorded", expression: ["visit"], text: "Besöket \(visit.display) är redan registrerat.")
        }
        // A visit with nothing planned (a group visit) is recorded as made; one with planned items needs at least one of them.
        guard !record.values.isEmpty || !record.answers.isEmpty || visit.planned.isEmpty else {
            throw FHIRError(.invalid, code: .required, "record at least one value", expression: ["visit"], text: "Fyll i minst ett värde.")
        }
        let now = clock(), role = session.principal.assignment?.id, patientID = pregnancy.patientID, planID = stored.stored.id
        let encounterID = UUID().uuidString.lowercased()
        var encounter = JSONObject([
            ("resourceType", .string("Encounter")), ("id", .string(encounterID)), ("status", .string("finished")),
            ("class", FHIR.coding(MaternityCodes.actCode, "AMB", "ambulatory")),
            ("type", .array([FHIR.concept(MaternityCodes.visitType, "mhv-besok", "Besök på barnmorskemottagning")])),
            ("serviceType", FHIR.concept(MaternityCodes.maternity, visit.code, visit.display)),
            ("subject", FHIR.reference("Patient", patientID)),
            ("episodeOfCare", .array([FHIR.reference("EpisodeOfCare", pregnancy.id)])),
            ("basedOn", .array([FHIR.reference("CarePlan", planID)])),
            ("period", FHIR.object([("start", .string(SwedishTime.format(now))), ("end", .string(SwedishTime.format(now)))])),
            ("serviceProvider", FHIR.reference("Organization", pregnancy.unitID)),
        ])
        if let role { encounter["participant"] = .array([FHIR.object([("individual", FHIR.reference("PractitionerRole", role))])]) }
        var operations: [WriteOperation] = [.create(encounter, type: "Encounter", id: encounterID)]
        var recordedItems: [String] = []
        func observation(_ item: Basprogram.Item, _ value: (String, JSONValue)?, components: [JSONValue]? = nil, derivedFrom: [JSONValue] = []) -> String {
            let id = UUID().uuidString.lowercased()
            var resource = Recording.observation(id: id, code: item.code, display: item.display, loinc: item.loinc,
                                                 category: FHIR.concept(MaternityCodes.observationCategory, item.category), patientID: patientID,
                                                 encounterID: encounterID, time: now, performer: role, value: value)
            resource["basedOn"] = .array([FHIR.reference("CarePlan", planID)])
            if let components { resource["component"] = .array(components) }
            if !derivedFrom.isEmpty { resource["derivedFrom"] = .array(derivedFrom) }
            operations.append(.create(resource, type: "Observation", id: id))
            recordedItems.append(item.code)
            return id
        }
        let quantity = Recording.quantity
        var ids: [String: String] = [:], numbers: [String: Double] = [:]
        for code in record.values.keys.sorted() {
            guard let raw = record.values[code], let item = programme.item(code) else { continue }
            switch item.valueType {
            case "quantity":
                guard let number = Double(raw.replacingOccurrences(of: ",", with: ".")) else {
                    throw FHIRError(.invalid, code: .value, "\(code) must be a number; got '\(raw)'", expression: [code], text: "\(item.display): ange ett tal.")
                }
                if let minimum = item.minimum, let maximum = item.maximum, !(minimum...maximum).contains(number) {
                    throw FHIRError(.invalid, code: .value, "\(code) must be \(minimum.fhirText)–\(maximum.fhirText) \(item.unit ?? ""); got \(raw)", expression: [code],
                                    text: "\(item.display) ska vara \(minimum.swedish)–\(maximum.swedish) \(item.unit ?? "").")
                }
                numbers[code] = number
                ids[code] = observation(item, ("valueQuantity", quantity(number, item.unit ?? "1")))
            case "bloodPressure":
                let parts = raw.split(separator: "/").map { Double($0.trimmingCharacters(in: .whitespaces)) }
                guard parts.count == 2, let systolic = parts[0], let diastolic = parts[1], systolic > diastolic,
                      (item.minimum ?? 0)...(item.maximum ?? 400) ~= systolic, (item.minimum ?? 0)...(item.maximum ?? 400) ~= diastolic else {
                    throw FHIRError(.invalid, code: .value, "\(code) must be systolic/diastolic, such as 120/80; got '\(raw)'", expression: [code],
                                    text: "Blodtryck skrivs som 120/80.")
                }
                _ = observation(item, nil, components: [
                    FHIR.object([("code", FHIR.concept(MaternityCodes.loinc, "8480-6", "Systolic blood pressure")), ("valueQuantity", quantity(systolic, "mm[Hg]"))]),
                    FHIR.object([("code", FHIR.concept(MaternityCodes.loinc, "8462-4", "Diastolic blood pressure")), ("valueQuantity", quantity(diastolic, "mm[Hg]"))]),
                ])
            case "code":
                guard let option = item.options?.first(where: { $0.caseInsensitiveCompare(raw) == .orderedSame }) else {
                    throw FHIRError(.invalid, code: .value, "\(code) must be one of \(item.options?.joined(separator: ", ") ?? ""); got '\(raw)'", expression: [code],
                                    text: "\(item.display): välj ett av alternativen.")
                }
                _ = observation(item, ("valueCodeableConcept", FHIR.text(option)))
            case "boolean":
                guard let flag = ["ja": true, "true": true, "nej": false, "false": false][raw.lowercased()] else {
                    throw FHIRError(.invalid, code: .value, "\(code) must be ja or nej; got '\(raw)'", expression: [code])
                }
                _ = observation(item, ("valueBoolean", .bool(flag)))
            default:
                throw FHIRError(.invalid, code: .value, "\(code) is \(item.valueType == "derived" ? "computed" : "a form"): it is not given as a value", expression: [code])
            }
        }
        // BMI from this weight and this visit's or the pregnancy's height.
        let earlier = try await RecordedValues.read(pregnancy: pregnancy, session: session)
        if let weight = numbers["vikt"], let height = numbers["langd"] ?? earlier.latest("langd")?.number, let bmiItem = programme.item("bmi") {
            let bmi = (weight / pow(height / 100, 2) * 10).rounded() / 10
            _ = observation(bmiItem, ("valueQuantity", quantity(bmi, bmiItem.unit ?? "kg/m2")), derivedFrom: [ids["vikt"]].compactMap { $0 }.map { FHIR.reference("Observation", $0) })
        }
        var responses: [String] = []
        for formID in record.answers.keys.sorted() {
            guard let form = questionnaires.forms[formID], let item = programme.items.first(where: { $0.questionnaire == formID }) else {
                throw FHIRError(.invalid, code: .value, "'\(formID)' is not a form of the programme", expression: [formID])
            }
            let given = record.answers[formID] ?? [:]
            var answered: [JSONValue] = [], total = 0.0
            for question in form.questions {
                guard let code = given[question.linkId] else {
                    throw FHIRError(.invalid, code: .required, "\(formID): question \(question.linkId) is not answered", expression: ["\(formID).\(question.linkId)"],
                                    text: "\(form.title): fråga \(question.linkId) är inte besvarad.")
                }
                guard let option = question.options.first(where: { $0.code == code }) else {
                    throw FHIRError(.invalid, code: .value, "\(formID): question \(question.linkId) has no answer '\(code)'", expression: ["\(formID).\(question.linkId)"])
                }
                total += option.points
                answered.append(FHIR.object([("linkId", .string(question.linkId)), ("text", .string(question.text)),
                                             ("answer", .array([FHIR.object([("valueCoding", FHIR.object([("system", .string("https://karna.se/fhir/CodeSystem/formularsvar")),
                                                                                                          ("code", .string(option.code)), ("display", .string(option.display))]))])]))]))
            }
            let responseID = UUID().uuidString.lowercased()
            var response = JSONObject([
                ("resourceType", .string("QuestionnaireResponse")), ("id", .string(responseID)),
                ("questionnaire", .string(form.url)), ("status", .string("completed")),
                ("basedOn", .array([FHIR.reference("CarePlan", planID)])),
                ("subject", FHIR.reference("Patient", patientID)), ("encounter", FHIR.reference("Encounter", encounterID)),
                ("authored", .string(SwedishTime.format(now))), ("item", .array(answered)),
            ])
            if let role { response["author"] = FHIR.reference("PractitionerRole", role) }
            operations.append(.create(response, type: "QuestionnaireResponse", id: responseID))
            responses.append(responseID)
            // The score, an Observation like the others, derived from the answers.
            var scoreItem = item
            if let loinc = form.loinc { scoreItem.loinc = loinc.code }
            _ = observation(scoreItem, ("valueInteger", .number(total.fhirText)), derivedFrom: [FHIR.reference("QuestionnaireResponse", responseID)])
        }
        // The SF rules on the new measure, with the pregnancy's earlier ones as history.
        var findings: [FundalHeightCheck.Finding] = [], taskIDs: [String] = []
        if let sf = numbers["sf"] {
            let history = earlier.all("sf").compactMap { value in
                value.number.map { FundalHeightCheck.Measurement(week: pregnancy.gestationalWeeks(on: SwedishTime.day(of: value.time)), centimetres: $0) }
            }
            findings = fundal.findings(history + [.init(week: pregnancy.gestationalWeeks(on: SwedishTime.day(of: now)), centimetres: sf)])
            for action in FundalHeightCheck.actions(findings) {
                let taskID = UUID().uuidString.lowercased()
                let reasons = findings.filter { $0.actions.contains { $0.code == action.code } }
                var task = JSONObject([
                    ("resourceType", .string("Task")), ("id", .string(taskID)), ("status", .string("requested")), ("intent", .string("plan")),
                    ("priority", .string("urgent")),
                    ("code", FHIR.concept(MaternityCodes.maternity, "sf-" + action.code, action.display)),
                    ("description", .string(action.display + ". " + reasons.map { $0.rule.display + ": " + $0.reason }.joined(separator: " "))),
                    ("focus", FHIR.reference("Observation", ids["sf"] ?? "")), ("for", FHIR.reference("Patient", patientID)),
                    ("encounter", FHIR.reference("Encounter", encounterID)),
                    ("authoredOn", .string(SwedishTime.format(now))),
                    ("owner", pregnancy.midwifeID.map { FHIR.reference("PractitionerRole", $0) } ?? FHIR.reference("Organization", pregnancy.unitID)),
                    ("reasonCode", FHIR.text(reasons.map(\.rule.display).joined(separator: "; "))),
                    ("restriction", FHIR.object([("period", FHIR.object([("end", .string(SwedishTime.format(now + Int64(action.dueDays) * 86_400_000)))]))])),
                ])
                if let role { task["requester"] = FHIR.reference("PractitionerRole", role) }
                session.tagForUnit(&task, unit: pregnancy.unitID)
                operations.append(.create(task, type: "Task", id: taskID))
                taskIDs.append(taskID)
            }
        }
        // The plan: this visit done, with what was recorded; an item recorded now also fills an earlier visit's gap.
        var plan = stored.stored.object.forUpdate
        var activities = plan["activity"]?.arrayValue ?? []
        if var activity = activities[visit.index].objectValue, var detail = activity["detail"]?.objectValue {
            detail["status"] = .string("completed")
            var extensions = detail["extension"]?.arrayValue ?? []
            for item in Set(recordedItems).sorted() { extensions.append(FHIR.object([("url", .string(MaternityCodes.recorded)), ("valueCode", .string(item))])) }
            detail["extension"] = .array(extensions)
            activity["detail"] = .object(detail)
            activity["outcomeReference"] = .array([FHIR.reference("Encounter", encounterID)])
            activities[visit.index] = .object(activity)
        }
        plan["activity"] = .array(activities)
        operations.append(.update(plan, type: "CarePlan", id: planID, ifMatch: stored.stored.versionId))
        let written = try await session.commit(operations)
        let resources = written.compactMap(\.resource)
        let records = Records(session: session)
        return RecordedVisit(encounter: try await records.require("Encounter", encounterID),
                             observations: resources.filter { $0.type == "Observation" },
                             responses: resources.filter { $0.type == "QuestionnaireResponse" && responses.contains($0.id) },
                             findings: findings, tasks: resources.filter { $0.type == "Task" && taskIDs.contains($0.id) })
    }

    /// The tasks the pregnancy's rules raised and not yet done, the earliest due first.
    public func openTasks(patientID: String, session: PatientDataSession) async throws -> [StoredResource] {
        try await Records(session: session).search("Task", [("patient", "Patient/\(patientID)"), ("status", "requested,in-progress")], limit: 100)
            .filter { ($0.object.code("code", system: MaternityCodes.maternity) ?? "").hasPrefix("sf-") }
            .sorted { ($0.object["restriction"]?.objectValue?["period"]?.objectValue?["end"]?.stringValue ?? "") < ($1.object["restriction"]?.objectValue?["period"]?.objectValue?["end"]?.stringValue ?? "") }
    }

    /// The task is done.
    public func completeTask(taskID: String, note: String?, session: PatientDataSession) async throws -> StoredResource {
        let records = Records(session: session)
        let stored = try await records.require("Task", taskID)
        guard (stored.object.code("code", system: MaternityCodes.maternity) ?? "").hasPrefix("sf-") else { throw refused("Task/\(taskID) is not a maternity task") }
        guard ["requested", "in-progress"].contains(stored.object["status"]?.stringValue ?? "") else {
            throw refused("Task/\(taskID) is already \(stored.object["status"]?.stringValue ?? "")", text: "Uppgiften är redan klar.")
        }
        var task = stored.object.forUpdate
        task["status"] = .string("completed")
        task["executionPeriod"] = FHIR.object([("end", .string(SwedishTime.format(clock())))])
        if let note = note?.nonEmpty { task["note"] = .array([FHIR.object([("text", .string(note)), ("time", .string(SwedishTime.format(clock())))])]) }
        _ = try await session.commit(.update(task, type: "Task", id: taskID, ifMatch: stored.versionId))
        return try await records.require("Task", taskID)
    }
}
