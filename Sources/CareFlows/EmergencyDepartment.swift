public import Access
public import FHIRCore
import Foundation
public import StoreModel

/// The emergency department (akutmottagningen): arrival — an unidentified patient on a reservnummer in the same
/// step —, RETTS triage, the doctor, ready for decision and leaving, each step stamped in `statusHistory` with the
/// server's time and who took it. A step out of order needs a reason; every change tells the unit's open boards.
public struct EmergencyDepartment: Sendable {
    public let scoring: TriageScoring
    public let targets: EmergencyTargets
    public let events: BoardEvents
    /// The server's clock (tests set it).
    let clock: @Sendable () -> Int64

    public init(table: TriageTable, targets: EmergencyTargets = EmergencyTargets(), events: BoardEvents = BoardEvents(),
                clock: @escaping @Sendable () -> Int64 = { Instant.now() }) {
        scoring = TriageScoring(table: table)
        self.targets = targets
        self.events = events
        self.clock = clock
    }

    /// An unidentified patient's particulars at arrival.
    public struct Unidentified: Sendable {
        public var gender: String?
        public var estimatedBirthYear: Int?
        public var note: String?
        public init(gender: String?, estimatedBirthYear: Int?, note: String?) {
            self.gender = gender
            self.estimatedBirthYear = estimatedBirthYear
            self.note = note
        }
    }

    public static let arrivalModes: [(code: String, display: String)] = [("egen", "Egen ankomst"), ("ambulans", "Ambulans"), ("helikopter", "Helikopter"), ("polis", "Polis")]

    // MARK: Arrival

    /// Ankomstregistrering: the visit opens (arrived) at the unit, for a known patient or — when `patientID` is nil —
    /// a new unidentified one on a reservnummer.
    public func arrive(patientID: String?, unidentified: Unidentified?, unitID: String?, arrivalMode: String, complaint: String?,
                       session: PatientDataSession) async throws -> StoredResource {
        guard Self.arrivalModes.contains(where: { $0.code == arrivalMode }) else {
            throw FHIRError(.invalid, code: .value, "arrivalMode must be one of \(Self.arrivalModes.map(\.code).joined(separator: ", ")); got '\(arrivalMode)'",
                            expression: ["arrivalMode"], text: "Välj ankomstsätt i listan.")
        }
        let unit = try session.actingUnit(unitID)
        let records = Records(session: session)
        _ = try await records.require("Organization", unit, role: "unit")
        let patient: String
        var operations: [WriteOperation] = []
        if let patientID, !patientID.isEmpty {
            _ = try await records.require("Patient", patientID, role: "patient")
            patient = patientID
        } else if let unidentified {
            // The new patient and the visit in one commit: neither is written without the other.
            let new = try await UnidentifiedPatient.record(gender: unidentified.gender, estimatedBirthYear: unidentified.estimatedBirthYear,
                                                           note: unidentified.note, session: session)
            operations.append(.create(new.patient, type: "Patient", id: new.id))
            patient = new.id
        } else {
            throw FHIRError(.invalid, code: .required, "name the patient (patient), or register an unidentified one (unidentified=true)", expression: ["patient"],
                            text: "Ange personnummer eller välj okänd patient.")
        }
        let now = clock(), id = UUID().uuidString.lowercased()
        var encounter = JSONObject([
            ("resourceType", .string("Encounter")), ("id", .string(id)), ("status", .string("arrived")),
            ("statusHistory", .array([entry(.arrival, at: now, session: session, reason: nil)])),
            ("class", FHIR.coding(CareFlowCodes.actCode, "EMER", "emergency")),
            ("type", .array([FHIR.concept(CareFlowCodes.visitType, "akutbesok", "Akutbesök")])),
            ("subject", FHIR.reference("Patient", patient)),
            ("period", FHIR.object([("start", .string(SwedishTime.format(now)))])),
            ("serviceProvider", FHIR.reference("Organization", unit)),
        ])
        if let complaint = complaint?.trimmingCharacters(in: .whitespacesAndNewlines), !complaint.isEmpty {
            encounter["reasonCode"] = .array([FHIR.text(complaint)])
        }
        encounter.setExtension(CareFlowCodes.arrivalMode, "valueCoding", FHIR.coding(CareFlowCodes.careFlow, arrivalMode, Self.arrivalModes.first { $0.code == arrivalMode }?.display))
        session.tagForUnit(&encounter, unit: unit)
        operations.append(.create(encounter, type: "Encounter", id: id))
        let written = try await session.commit(operations)
        events.publish(unit: unit)
        if let version = written.last?.resource { return version }
        return try await records.require("Encounter", id)
    }

    // MARK: Triage

    /// What a triage wrote: the visit, the priority Observation and the vital signs.
    public struct Triaged: Sendable {
        public var encounter: StoredResource
        public var priority: JSONObject
        public var outcome: TriageScoring.Outcome
    }

    /// Triage or retriage: the vital signs and the priority as Observations (the earlier ones stay), the colour on
    /// the visit; the first triage moves the visit to triaged.
    public func triage(encounterID: String, signs: VitalSigns, complaint: String?, level: String?, session: PatientDataSession) async throws -> Triaged {
        let records = Records(session: session)
        let stored = try await records.require("Encounter", encounterID)
        var encounter = try Self.openVisit(stored)
        guard let patientID = encounter.referenceID("subject", type: "Patient") else { throw refused("Encounter/\(encounterID) has no patient") }
        let outcome = try scoring.triage(signs, complaint: complaint, level: level)
        let now = clock(), performer = session.principal.assignment?.id
        let unit = encounter.referenceID("serviceProvider", type: "Organization") ?? ""
        let vitals = signs.observations(patientID: patientID, encounterID: encounterID, at: now, performer: performer)
        let table = scoring.table
        let priorityID = UUID().uuidString.lowercased()
        var components: [JSONValue] = [FHIR.object([("code", FHIR.concept(CareFlowCodes.careFlow, "vitalparameterfarg", "Färg enligt vitalparametrar")),
                                                    ("valueCodeableConcept", FHIR.concept(CareFlowCodes.triagePriority, outcome.vitalColour, table.display(outcome.vitalColour)))])]
        var card: TriageTable.Complaint?
        if let code = complaint, let found = table.complaint(code), let colour = outcome.complaintColour {
            card = found
            components.append(FHIR.object([("code", FHIR.concept(CareFlowCodes.careFlow, "sokorsaksfarg", "Färg enligt sökorsak")),
                                           ("valueCodeableConcept", FHIR.concept(CareFlowCodes.triagePriority, colour, table.display(colour)))]))
            components.append(FHIR.object([("code", FHIR.concept(CareFlowCodes.careFlow, "sokorsak", "Sökorsak (ESS)")),
                                           ("valueCodeableConcept", Self.complaintConcept(found, table: table))]))
        }
        var priority = JSONObject([
            ("resourceType", .string("Observation")), ("id", .string(priorityID)), ("status", .string("final")),
            ("category", .array([FHIR.concept(CareFlowCodes.observationCategory, "survey", "Survey")])),
            ("code", FHIR.concept(CareFlowCodes.careFlow, "triageprioritet", "Triageprioritet")),
            ("subject", FHIR.reference("Patient", patientID)), ("encounter", FHIR.reference("Encounter", encounterID)),
            ("effectiveDateTime", .string(SwedishTime.format(now))),
            ("valueCodeableConcept", FHIR.concept(CareFlowCodes.triagePriority, outcome.colour, table.display(outcome.colour))),
            ("method", FHIR.concept(CareFlowCodes.careFlow, table.id, table.name)),
            ("component", .array(components)),
            ("hasMember", .array(vitals.map { FHIR.reference("Observation", $0.id) })),
        ])
        if let performer { priority["performer"] = .array([FHIR.reference("PractitionerRole", performer)]) }
        if !outcome.vitalReasons.isEmpty { priority["note"] = .array([FHIR.text("Vitalparametrar som gav färgen: " + outcome.vitalReasons.joined(separator: ", "))]) }
        encounter["priority"] = FHIR.concept(CareFlowCodes.triagePriority, outcome.colour, table.display(outcome.colour))
        if let card {
            var reasons = (encounter["reasonCode"]?.arrayValue ?? []).filter { $0.objectValue?["coding"] == nil }
            reasons.insert(Self.complaintConcept(card, table: table), at: 0)
            encounter["reasonCode"] = .array(reasons)
        }
        if encounter["status"]?.stringValue == "arrived" { Self.append(&encounter, entry(.triage, at: now, session: session, reason: nil)) }
        var operations: [WriteOperation] = vitals.map { .create($0.resource, type: "Observation", id: $0.id) }
        var tagged = priority
        session.tagForUnit(&tagged, unit: unit)
        operations.append(.create(tagged, type: "Observation", id: priorityID))
        operations.append(.update(encounter, type: "Encounter", id: encounterID, ifMatch: stored.versionId))
        let written = try await session.commit(operations)
        events.publish(unit: unit)
        let version: StoredResource
        if let last = written.last?.resource { version = last } else { version = try await records.require("Encounter", encounterID) }
        return Triaged(encounter: version, priority: priority, outcome: outcome)
    }

    static func complaintConcept(_ card: TriageTable.Complaint, table: TriageTable) -> JSONValue {
        FHIR.object([("coding", .array([FHIR.object([("system", .string(CareFlowCodes.complaintCard)), ("version", .string(table.id)),
                                                     ("code", .string(card.code)), ("display", .string(card.display))])])),
                     ("text", .string("\(card.code) \(card.display)"))])
    }

    // MARK: Steps

    /// The doctor takes the patient (läkarbedömning: in progress, the caller responsible), or the visit is ready
    /// for decision. Not the next step needs `reason` (a code of `EmergencyStep.skipReasons`).
    public func step(encounterID: String, to step: EmergencyStep, reason: String?, session: PatientDataSession) async throws -> StoredResource {
        guard step == .doctor || step == .decision else {
            throw FHIRError(.invalid, code: .value, "step must be lakare or beslut (arrival, triage and leaving have their own operations)", expression: ["step"])
        }
        let records = Records(session: session)
        let stored = try await records.require("Encounter", encounterID)
        var encounter = try Self.openVisit(stored)
        let done = Self.steps(encounter)
        guard !done.contains(step) else {
            throw refused("Encounter/\(encounterID) has already had the step \(step.rawValue)", expression: ["step"], text: "Steget är redan gjort.")
        }
        let previous = done.max() ?? .arrival
        let skipped = EmergencyStep.allCases.filter { $0 > previous && $0 < step }
        let reason = try Self.checkReason(reason, skipped: skipped, to: step)
        let now = clock()
        if step == .doctor {
            guard let assignment = session.principal.assignment else {
                throw FHIRError(.invalid, code: .required, "the doctor taking the patient acts under an assignment", expression: ["step"])
            }
            Self.setParticipant(&encounter, role: "lakare", display: "Ansvarig läkare", assignment: assignment.id, name: session.principal.displayName, at: now)
        }
        Self.append(&encounter, entry(step, at: now, session: session, reason: reason))
        let written = try await session.commit(.update(encounter, type: "Encounter", id: encounterID, ifMatch: stored.versionId))
        events.publish(unit: encounter.referenceID("serviceProvider", type: "Organization") ?? "")
        if let version = written.resource { return version }
        return try await records.require("Encounter", encounterID)
    }

    /// The caller becomes the responsible nurse, and/or the patient is given a room.
    public func assign(encounterID: String, nurse: Bool, room: String?, session: PatientDataSession) async throws -> StoredResource {
        let records = Records(session: session)
        let stored = try await records.require("Encounter", encounterID)
        var encounter = try Self.openVisit(stored)
        let now = clock()
        if nurse {
            guard let assignment = session.principal.assignment else { throw FHIRError(.invalid, code: .required, "a responsible nurse acts under an assignment") }
            Self.setParticipant(&encounter, role: "sjukskoterska", display: "Ansvarig sjuksköterska", assignment: assignment.id, name: session.principal.displayName, at: now)
        }
        if let room = room?.trimmingCharacters(in: .whitespaces), !room.isEmpty {
            guard room.count <= 40 else { throw FHIRError(.invalid, code: .value, "room is at most 40 characters", expression: ["room"], text: "Rummets namn är för långt.") }
            var locations = (encounter["location"]?.arrayValue ?? []).compactMap(\.objectValue)
            for i in locations.indices where locations[i]["status"]?.stringValue == "active" {
                locations[i]["status"] = .string("completed")
                var period = locations[i]["period"]?.objectValue ?? JSONObject()
                period["end"] = .string(SwedishTime.format(now))
                locations[i]["period"] = .object(period)
            }
            locations.append(JSONObject([("location", FHIR.object([("display", .string(room))])), ("status", .string("active")),
                                         ("period", FHIR.object([("start", .string(SwedishTime.format(now)))]))]))
            encounter["location"] = .array(locations.map { .object($0) })
        }
        guard nurse || room != nil else { throw FHIRError(.invalid, code: .required, "give nurse=true or a room", expression: ["room"]) }
        let written = try await session.commit(.update(encounter, type: "Encounter", id: encounterID, ifMatch: stored.versionId))
        events.publish(unit: encounter.referenceID("serviceProvider", type: "Organization") ?? "")
        if let version = written.resource { return version }
        return try await records.require("Encounter", encounterID)
    }

    /// The visit ends: home (with what the patient was told), admitted to a ward (a bed request the ward admits from),
    /// transferred, left before the doctor or after (avbruten vård), or died. Leaving before the decision needs a reason.
    public func leave(encounterID: String, disposition: String, wardID: String?, note: String?, reason: String?,
                      session: PatientDataSession) async throws -> StoredResource {
        guard let chosen = EmergencyStep.dispositions.first(where: { $0.code == disposition }) else {
            throw FHIRError(.invalid, code: .value, "disposition must be one of \(EmergencyStep.dispositions.map(\.code).joined(separator: ", ")); got '\(disposition)'",
                            expression: ["disposition"], text: "Välj hur besöket avslutas.")
        }
        let records = Records(session: session)
        let stored = try await records.require("Encounter", encounterID)
        var encounter = try Self.openVisit(stored)
        let done = Self.steps(encounter)
        let seenByDoctor = done.contains(.doctor)
        if disposition == "lamnat-fore-lakare", seenByDoctor {
            throw refused("the patient was seen by a doctor: choose avbruten (left after the doctor) instead", expression: ["disposition"],
                          text: "Patienten har träffat läkare: välj Avbruten vård.")
        }
        if disposition == "avbruten", !seenByDoctor {
            throw refused("the patient was not seen by a doctor: choose lamnat-fore-lakare instead", expression: ["disposition"],
                          text: "Patienten har inte träffat läkare: välj Lämnade före läkarbedömning.")
        }
        let leftEarly = disposition == "lamnat-fore-lakare" || disposition == "avbruten"
        let skipped = EmergencyStep.allCases.filter { $0 > (done.max() ?? .arrival) && $0 < .left }
        let stepReason = leftEarly ? (reason?.nonEmpty ?? "avvek") : try Self.checkReason(reason, skipped: skipped, to: .left)
        let patientID = encounter.referenceID("subject", type: "Patient") ?? ""
        let unit = encounter.referenceID("serviceProvider", type: "Organization") ?? ""
        let now = clock()
        var operations: [WriteOperation] = []
        var hospitalization = encounter["hospitalization"]?.objectValue ?? JSONObject()
        hospitalization["dischargeDisposition"] = FHIR.concept(CareFlowCodes.disposition, chosen.code, chosen.display)
        if disposition == "inlaggning" {
            guard let wardID, !wardID.isEmpty else {
                throw FHIRError(.invalid, code: .required, "an admission names the ward (ward)", expression: ["ward"], text: "Välj avdelning för inläggningen.")
            }
            _ = try await records.require("Organization", wardID, role: "ward")
            encounter.setExtension(CareFlowCodes.admitTo, "valueReference", FHIR.reference("Organization", wardID))
            // The bed request (vårdplatsbeställning): the ward owns it and admits from its own flow (source: akuten).
            let taskID = UUID().uuidString.lowercased()
            var task = JSONObject([
                ("resourceType", .string("Task")), ("id", .string(taskID)), ("status", .string("requested")), ("intent", .string("order")),
                ("priority", .string("urgent")),
                ("code", FHIR.concept(CareFlowCodes.careFlow, "vardplatsbestallning", "Vårdplatsbeställning")),
                ("for", FHIR.reference("Patient", patientID)), ("encounter", FHIR.reference("Encounter", encounterID)),
                ("authoredOn", .string(SwedishTime.format(now))), ("owner", FHIR.reference("Organization", wardID)),
            ])
            if let role = session.principal.assignment?.id { task["requester"] = FHIR.reference("PractitionerRole", role) }
            if let note = note?.nonEmpty { task["description"] = .string(note) }
            session.tagForUnit(&task, unit: unit)
            operations.append(.create(task, type: "Task", id: taskID))
        } else if let note = note?.trimmingCharacters(in: .whitespacesAndNewlines), !note.isEmpty {
            // What the patient was told on leaving (råd vid hemgång), kept with the visit.
            let id = UUID().uuidString.lowercased()
            var message = JSONObject([
                ("resourceType", .string("Communication")), ("id", .string(id)), ("status", .string("completed")),
                ("category", .array([FHIR.concept(CareFlowCodes.careFlow, "rad-vid-hemgang", "Råd vid hemgång")])),
                ("subject", FHIR.reference("Patient", patientID)), ("encounter", FHIR.reference("Encounter", encounterID)),
                ("sent", .string(SwedishTime.format(now))), ("recipient", .array([FHIR.reference("Patient", patientID)])),
                ("payload", .array([FHIR.object([("contentString", .string(note))])])),
            ])
            if let role = session.principal.assignment?.id { message["sender"] = FHIR.reference("PractitionerRole", role) }
            session.tagForUnit(&message, unit: unit)
            operations.append(.create(message, type: "Communication", id: id))
        }
        encounter["hospitalization"] = .object(hospitalization)
        var period = encounter["period"]?.objectValue ?? JSONObject()
        period["end"] = .string(SwedishTime.format(now))
        encounter["period"] = .object(period)
        var locations = (encounter["location"]?.arrayValue ?? []).compactMap(\.objectValue)
        for i in locations.indices where locations[i]["status"]?.stringValue == "active" { locations[i]["status"] = .string("completed") }
        if !locations.isEmpty { encounter["location"] = .array(locations.map { .object($0) }) }
        Self.append(&encounter, entry(.left, at: now, session: session, reason: stepReason))
        operations.insert(.update(encounter, type: "Encounter", id: encounterID, ifMatch: stored.versionId), at: 0)
        let written = try await session.commit(operations)
        events.publish(unit: unit)
        if let version = written.first?.resource { return version }
        return try await records.require("Encounter", encounterID)
    }

    // MARK: The visit's record

    /// The steps a visit has had, from its statusHistory.
    public static func steps(_ encounter: JSONObject) -> [EmergencyStep] {
        (encounter["statusHistory"]?.arrayValue ?? []).compactMap { $0.objectValue?.extensionValue(CareFlowCodes.edStep)?.stringValue.flatMap(EmergencyStep.init(rawValue:)) }
    }

    /// When each step was first taken (milliseconds), from statusHistory.
    public static func stepTimes(_ encounter: JSONObject) -> [EmergencyStep: Int64] {
        var times: [EmergencyStep: Int64] = [:]
        for entry in encounter["statusHistory"]?.arrayValue ?? [] {
            guard let entry = entry.objectValue, let step = entry.extensionValue(CareFlowCodes.edStep)?.stringValue.flatMap(EmergencyStep.init(rawValue:)),
                  times[step] == nil, let start = entry["period"]?.objectValue?["start"]?.stringValue.flatMap(Instant.parse) else { continue }
            times[step] = start
        }
        return times
    }

    static func openVisit(_ stored: StoredResource) throws -> JSONObject {
        let encounter = stored.object.forUpdate
        guard encounter.code("class", system: CareFlowCodes.actCode) == "EMER" || encounter["class"]?.objectValue?["code"]?.stringValue == "EMER" else {
            throw refused("Encounter/\(stored.id) is not an emergency visit (class EMER)", expression: ["Encounter.class"])
        }
        guard ["arrived", "triaged", "in-progress"].contains(encounter["status"]?.stringValue ?? "") else {
            throw refused("Encounter/\(stored.id) is \(encounter["status"]?.stringValue ?? "unknown"): the visit is over", expression: ["Encounter.status"],
                          text: "Besöket är redan avslutat.")
        }
        return encounter
    }

    static func checkReason(_ reason: String?, skipped: [EmergencyStep], to step: EmergencyStep) throws(FHIRError) -> String? {
        let given = reason?.trimmingCharacters(in: .whitespaces).nonEmpty
        if let given, !EmergencyStep.skipReasons.contains(where: { $0.code == given }) {
            throw FHIRError(.invalid, code: .value, "reason must be one of \(EmergencyStep.skipReasons.map(\.code).joined(separator: ", ")); got '\(given)'",
                            expression: ["reason"], text: "Välj orsak i listan.")
        }
        guard skipped.isEmpty || given != nil else {
            throw FHIRError(.invalid, code: .required,
                            "going to \(step.rawValue) skips \(skipped.map(\.rawValue).joined(separator: ", ")): give a reason (\(EmergencyStep.skipReasons.map(\.code).joined(separator: ", ")))",
                            expression: ["reason"], text: "Steget hoppar över \(skipped.map(\.display).joined(separator: " och ").lowercased()): ange orsak.")
        }
        return skipped.isEmpty ? nil : given
    }

    func entry(_ step: EmergencyStep, at time: Int64, session: PatientDataSession, reason: String?) -> JSONValue {
        var extensions: [JSONValue] = [FHIR.object([("url", .string(CareFlowCodes.edStep)), ("valueCode", .string(step.rawValue))])]
        if let role = session.principal.assignment?.id {
            extensions.append(FHIR.object([("url", .string(CareFlowCodes.performedBy)),
                                           ("valueReference", FHIR.reference("PractitionerRole", role, display: session.principal.displayName))]))
        }
        if let reason {
            extensions.append(FHIR.object([("url", .string(CareFlowCodes.skipReason)), ("valueCoding", FHIR.coding(CareFlowCodes.skipReasons, reason,
                                                                                                                    EmergencyStep.skipReasons.first { $0.code == reason }?.display))]))
        }
        return FHIR.object([("extension", .array(extensions)), ("status", .string(step.status)),
                            ("period", FHIR.object([("start", .string(SwedishTime.format(time)))]))])
    }

    /// Closes the last status period and opens the next (the visit's status follows the step).
    static func append(_ encounter: inout JSONObject, _ entry: JSONValue) {
        var history = encounter["statusHistory"]?.arrayValue ?? []
        let start = entry.objectValue?["period"]?.objectValue?["start"] ?? .null
        if let last = history.indices.last, var previous = history[last].objectValue {
            var period = previous["period"]?.objectValue ?? JSONObject()
            period["end"] = start
            previous["period"] = .object(period)
            history[last] = .object(previous)
        }
        history.append(entry)
        encounter["statusHistory"] = .array(history)
        encounter["status"] = entry.objectValue?["status"] ?? .string("unknown")
    }

    static func setParticipant(_ encounter: inout JSONObject, role: String, display: String, assignment: String, name: String?, at time: Int64) {
        var participants = (encounter["participant"]?.arrayValue ?? []).compactMap(\.objectValue)
        for i in participants.indices where participants[i].code("type", system: CareFlowCodes.participantRole) == role && participants[i]["period"]?.objectValue?["end"] == nil {
            var period = participants[i]["period"]?.objectValue ?? JSONObject()
            period["end"] = .string(SwedishTime.format(time))
            participants[i]["period"] = .object(period)
        }
        participants.append(JSONObject([("type", .array([FHIR.concept(CareFlowCodes.participantRole, role, display)])),
                                        ("period", FHIR.object([("start", .string(SwedishTime.format(time)))])),
                                        ("individual", FHIR.reference("PractitionerRole", assignment, display: name))]))
        encounter["participant"] = .array(participants.map { .object($0) })
    }

    /// The current holder of a role on the visit (an assignment id).
    public static func participant(_ encounter: JSONObject, role: String) -> String? {
        currentParticipation(encounter, role: role)?.referenceID("individual", type: "PractitionerRole")
    }

    /// The role's participation on the visit that has not ended (the last given); an ended one is no longer theirs.
    static func currentParticipation(_ encounter: JSONObject, role: String) -> JSONObject? {
        (encounter["participant"]?.arrayValue ?? []).compactMap(\.objectValue).last {
            $0.code("type", system: CareFlowCodes.participantRole) == role && $0["period"]?.objectValue?["end"] == nil
        }
    }
}

/// The region's targets for the emergency department, in minutes from arrival (TTT, TTL, TVT), and the return window.
public struct EmergencyTargets: Sendable, Equatable {
    public var triageMinutes: Int
    public var doctorMinutes: Int
    public var stayMinutes: Int
    public var returnHours: Int

    public init(triageMinutes: Int = 10, doctorMinutes: Int = 60, stayMinutes: Int = 240, returnHours: Int = 72) {
        self.triageMinutes = triageMinutes
        self.doctorMinutes = doctorMinutes
        self.stayMinutes = stayMinutes
        self.returnHours = returnHours
    }
}
