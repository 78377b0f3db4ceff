import Access
import CareFlows
import FHIRCore
import Foundation
import KarnaTesting
import PatientAdministration
import Store
import StoreModel
import Synchronization
import Testing

/// A clock the test moves: the care flows stamp what they write with it.
final class TestClock: Sendable {
    private let now: Mutex<Int64>
    init(_ start: Int64) { now = Mutex(start) }
    var read: @Sendable () -> Int64 { { [self] in now.withLock { $0 } } }
    func set(_ millis: Int64) { now.withLock { $0 = millis } }
    func advance(minutes: Int) { now.withLock { $0 += Int64(minutes) * 60_000 } }
}

/// 08:00 Swedish time on 2026-12-01, a Tuesday.
let morning = SwedishTime.instant(day: SwedishTime.parseDay("2026-12-01")!, minuteOfDay: 8 * 60)

func careFlows(_ clock: TestClock, triage: TriageTable? = nil) throws -> CareFlows {
    CareFlows(triage: try triage ?? TriageTable.shipped(), news2: try EarlyWarningTable.shipped(), daySurgery: try DaySurgeryLists.shipped(), clock: clock.read)
}

@Suite("The emergency department: arrival to leaving, each step stamped; a skipped step needs a reason")
struct EmergencyFlowTests {
    static let normal = VitalSigns(respiratoryRate: 16, spo2: 98, temperature: 37.0, systolic: 130, diastolic: 80, pulse: 80, consciousness: "A", airway: "fri")

    @Test("arrived → triaged → in progress (doctor) → ready for decision → left, each in statusHistory with server time and who", arguments: backends)
    func walk(_ backend: StoreBackend) async throws {
        let ward = try await Ward.make(backend)
        let clock = TestClock(morning), flows = try careFlows(clock)
        let nurse = try await ward.session("ednurse"), doctor = try await ward.session("edoc")
        let visit = try await flows.emergency.arrive(patientID: "p1", unidentified: nil, unitID: nil, arrivalMode: "ambulans", complaint: "Bröstsmärta", session: nurse)
        #expect(visit.object["status"]?.stringValue == "arrived")
        #expect(visit.object.code("class", system: CareFlowCodes.actCode) == "EMER" || visit.object["class"]?.objectValue?["code"]?.stringValue == "EMER")
        #expect(visit.object.referenceID("serviceProvider", type: "Organization") == "akut")
        clock.advance(minutes: 7)
        let triaged = try await flows.emergency.triage(encounterID: visit.id, signs: Self.normal, complaint: "005", level: "orange", session: nurse)
        #expect(triaged.encounter.object["status"]?.stringValue == "triaged")
        #expect(triaged.encounter.object.code("priority", system: CareFlowCodes.triagePriority) == "orange")
        clock.advance(minutes: 30)
        _ = try await flows.emergency.step(encounterID: visit.id, to: .doctor, reason: nil, session: doctor)
        clock.advance(minutes: 45)
        _ = try await flows.emergency.step(encounterID: visit.id, to: .decision, reason: nil, session: doctor)
        clock.advance(minutes: 20)
        let left = try await flows.emergency.leave(encounterID: visit.id, disposition: "hem", wardID: nil, note: "Åter vid försämring.", reason: nil, session: doctor)
        #expect(left.object["status"]?.stringValue == "finished")
        let history = (left.object["statusHistory"]?.arrayValue ?? []).compactMap(\.objectValue)
        #expect(history.map { $0["status"]?.stringValue ?? "" } == ["arrived", "triaged", "in-progress", "in-progress", "finished"])
        #expect(EmergencyDepartment.steps(left.object) == [.arrival, .triage, .doctor, .decision, .left])
        let times = EmergencyDepartment.stepTimes(left.object)
        #expect(times[.triage] == morning + 7 * 60_000 && times[.doctor] == morning + 37 * 60_000 && times[.left] == morning + 102 * 60_000)
        #expect(history[1].extensionValue(CareFlowCodes.performedBy)?.objectValue?["reference"]?.stringValue == "PractitionerRole/ednurse-role")
        #expect(history[2].extensionValue(CareFlowCodes.performedBy)?.objectValue?["reference"]?.stringValue == "PractitionerRole/edoc-role")
        // Each period ends where the next begins.
        #expect(history[0]["period"]?.objectValue?["end"]?.stringValue == history[1]["period"]?.objectValue?["start"]?.stringValue)
        #expect(EmergencyDepartment.participant(left.object, role: "lakare") == "edoc-role")
        // The advice given on leaving is kept with the visit.
        let advice = try await Records(session: doctor).search("Communication", [("encounter", "Encounter/\(visit.id)")])
        #expect(advice.first?.object["payload"]?.arrayValue?.first?.objectValue?["contentString"]?.stringValue == "Åter vid försämring.")
        // The visit is over: no step after leaving.
        #expect(await fails(.conflict, containing: "the visit is over") {
            _ = try await flows.emergency.triage(encounterID: visit.id, signs: Self.normal, complaint: nil, level: nil, session: nurse)
        })
    }

    @Test("a step that skips another needs a reason code, which is stamped; left before the doctor and avbruten vård are told apart", arguments: backends)
    func skipping(_ backend: StoreBackend) async throws {
        let ward = try await Ward.make(backend)
        let clock = TestClock(morning), flows = try careFlows(clock)
        let nurse = try await ward.session("ednurse"), doctor = try await ward.session("edoc")
        let visit = try await flows.emergency.arrive(patientID: "p1", unidentified: nil, unitID: nil, arrivalMode: "egen", complaint: nil, session: nurse)
        #expect(await fails(.invalid, containing: "skips triage: give a reason") {
            _ = try await flows.emergency.step(encounterID: visit.id, to: .doctor, reason: nil, session: doctor)
        })
        #expect(await fails(.invalid, containing: "reason must be one of") {
            _ = try await flows.emergency.step(encounterID: visit.id, to: .doctor, reason: "bråttom", session: doctor)
        })
        let seen = try await flows.emergency.step(encounterID: visit.id, to: .doctor, reason: "livshotande", session: doctor)
        let entry = try #require(seen.object["statusHistory"]?.arrayValue?.last?.objectValue)
        #expect(entry.extensionValue(CareFlowCodes.skipReason)?.objectValue?["code"]?.stringValue == "livshotande")
        #expect(seen.object["status"]?.stringValue == "in-progress")
        // Leaving without the decision step skips it: a reason is needed …
        #expect(await fails(.invalid, containing: "skips beslut") {
            _ = try await flows.emergency.leave(encounterID: visit.id, disposition: "hem", wardID: nil, note: nil, reason: nil, session: doctor)
        })
        // … and a patient who saw the doctor cannot have left "before the doctor".
        #expect(await fails(.conflict, containing: "choose avbruten") {
            _ = try await flows.emergency.leave(encounterID: visit.id, disposition: "lamnat-fore-lakare", wardID: nil, note: nil, reason: nil, session: doctor)
        })
        let abandoned = try await flows.emergency.leave(encounterID: visit.id, disposition: "avbruten", wardID: nil, note: nil, reason: nil, session: doctor)
        #expect(EmergencyTimes.Visit(abandoned.id, abandoned.object)?.disposition == "avbruten")
        // One who leaves before any doctor: not a doctor visit for the register.
        let walkout = try await flows.emergency.arrive(patientID: "p2", unidentified: nil, unitID: nil, arrivalMode: "egen", complaint: nil, session: nurse)
        #expect(await fails(.conflict, containing: "choose lamnat-fore-lakare") {
            _ = try await flows.emergency.leave(encounterID: walkout.id, disposition: "avbruten", wardID: nil, note: nil, reason: nil, session: nurse)
        })
        let gone = try await flows.emergency.leave(encounterID: walkout.id, disposition: "lamnat-fore-lakare", wardID: nil, note: nil, reason: nil, session: nurse)
        let lines = EmergencyTimes.registerLines([EmergencyTimes.Visit(gone.id, gone.object)!, EmergencyTimes.Visit(abandoned.id, abandoned.object)!])
        #expect(lines.count == 1 && lines[0].visit.id == abandoned.id && lines[0].abandoned)
    }

    @Test("an unidentified patient arrives in one step on a reservnummer, is triaged, admitted to a ward, and merged later with everything following",
          arguments: backends)
    func unidentified(_ backend: StoreBackend) async throws {
        let ward = try await Ward.make(backend)
        let clock = TestClock(Instant.now()), flows = try careFlows(clock)
        let nurse = try await ward.session("ednurse"), doctor = try await ward.session("edoc")
        let visit = try await flows.emergency.arrive(patientID: nil, unidentified: .init(gender: "male", estimatedBirthYear: 1960, note: "Tatuering vänster arm"),
                                                     unitID: nil, arrivalMode: "ambulans", complaint: "Medvetslös", session: nurse)
        let patientID = try #require(visit.object.referenceID("subject", type: "Patient"))
        let patient = try await Records(session: nurse).require("Patient", patientID)
        #expect(patient.object["identifier"]?.arrayValue?.first?.objectValue?["system"]?.stringValue == Reservnummer.system)
        _ = try await flows.emergency.triage(encounterID: visit.id, signs: VitalSigns(respiratoryRate: 6, spo2: 85, pulse: 40, consciousness: "U"),
                                             complaint: nil, level: nil, session: nurse)
        _ = try await flows.emergency.step(encounterID: visit.id, to: .doctor, reason: nil, session: doctor)
        _ = try await flows.emergency.step(encounterID: visit.id, to: .decision, reason: nil, session: doctor)
        #expect(await fails(.invalid, containing: "names the ward") {
            _ = try await flows.emergency.leave(encounterID: visit.id, disposition: "inlaggning", wardID: nil, note: nil, reason: nil, session: doctor)
        })
        _ = try await flows.emergency.leave(encounterID: visit.id, disposition: "inlaggning", wardID: "ward", note: "Misstänkt intoxikation", reason: nil, session: doctor)
        let bedRequest = try #require(try await Records(session: doctor).search("Task", [("encounter", "Encounter/\(visit.id)")]).first)
        #expect(bedRequest.object.referenceID("owner", type: "Organization") == "ward")
        #expect(try await PatientAdministration().contacts.bedRequests(wardUnitID: "ward", session: try await ward.session("wardoc")).map(\.id) == [bedRequest.id])
        // The ward admits from its own flow, from the emergency department; no second emergency visit appears.
        let administration = PatientAdministration()
        let stay = try await administration.contacts.admit(patientID: patientID, wardUnitID: nil, bedID: nil, planned: false, admitSource: "akuten",
                                                           expectedDischarge: nil, reason: "Från akuten", session: try await ward.session("wardoc"))
        #expect(stay.object["class"]?.objectValue?["code"]?.stringValue == "IMP")
        // The admission meets the bed request, in the same commit.
        let met = try await Records(session: doctor).require("Task", bedRequest.id).object
        #expect(met["status"]?.stringValue == "completed" && met["output"]?.arrayValue?.first?.objectValue?["valueReference"]?.objectValue?["reference"]?.stringValue == "Encounter/\(stay.id)")
        #expect(try await administration.contacts.bedRequests(wardUnitID: "ward", session: try await ward.session("wardoc")).isEmpty)
        // Identified: merged into the real record, the triage, vital signs and the bed request follow.
        _ = try await ward.store.commit([.update(JSONObject([
            ("resourceType", .string("Patient")), ("id", .string("p9")), ("active", .bool(true)),
            ("identifier", .array([.object(JSONObject([("system", .string(SwedishPersonalIdentity.personnummerSystem)), ("value", .string("196001019804"))]))])),
            ("name", .array([.object(JSONObject([("family", .string("Berg")), ("given", .array([.string("Sven")]))]))])),
        ]), type: "Patient", id: "p9")])
        _ = try await administration.registry.merge(sourceID: patientID, targetID: "p9", reason: "Identifierad av anhörig", session: doctor)
        let records = Records(session: doctor)
        let observations = try await records.search("Observation", [("encounter", "Encounter/\(visit.id)")], limit: 50)
        #expect(observations.count >= 5)
        #expect(observations.allSatisfy { $0.object.referenceID("subject", type: "Patient") == "p9" })
        #expect(try await records.require("Task", bedRequest.id).object.referenceID("for", type: "Patient") == "p9")
        #expect(try await records.require("Encounter", visit.id).object.referenceID("subject", type: "Patient") == "p9")
    }

    @Test("direct admission: an inpatient stay with its admit source and no emergency visit", arguments: backends)
    func directAdmission(_ backend: StoreBackend) async throws {
        let ward = try await Ward.make(backend)
        let stay = try await PatientAdministration().contacts.admit(patientID: "p2", wardUnitID: nil, bedID: nil, planned: false, admitSource: "direktinlaggning",
                                                                   expectedDischarge: nil, reason: "Pneumoni", session: try await ward.session("wardoc"))
        #expect(stay.object["class"]?.objectValue?["code"]?.stringValue == "IMP")
        #expect(stay.object["hospitalization"]?.objectValue?["admitSource"]?.objectValue?["coding"]?.arrayValue?.contains {
            $0.objectValue?["code"]?.stringValue == "direktinlaggning" } == true)
        let visits = try await Records(session: try await ward.session("wardoc")).search("Encounter", [("subject", "Patient/p2")])
        #expect(visits.count == 1 && !visits.contains { $0.object["class"]?.objectValue?["code"]?.stringValue == "EMER" })
    }
}

@Suite("The tracking board: every open visit, not triaged first, then colour, then waiting time; breaches at the configured minute")
struct TrackingBoardTests {
    @Test("order, columns and breach times", arguments: backends)
    func board(_ backend: StoreBackend) async throws {
        let ward = try await Ward.make(backend)
        let clock = TestClock(morning), flows = try careFlows(clock)
        let nurse = try await ward.session("ednurse"), doctor = try await ward.session("edoc")
        for id in ["p3", "p4"] {
            _ = try await ward.store.commit([.update(JSONObject([("resourceType", .string("Patient")), ("id", .string(id)), ("active", .bool(true)),
                                                                  ("name", .array([.object(JSONObject([("family", .string("Test")), ("given", .array([.string(id)]))]))]))]),
                                                     type: "Patient", id: id)])
        }
        let green = try await flows.emergency.arrive(patientID: "p1", unidentified: nil, unitID: nil, arrivalMode: "egen", complaint: "Sår", session: nurse)
        clock.advance(minutes: 2)
        let orange = try await flows.emergency.arrive(patientID: "p2", unidentified: nil, unitID: nil, arrivalMode: "ambulans", complaint: "Bröstsmärta", session: nurse)
        clock.advance(minutes: 2)
        let waiting = try await flows.emergency.arrive(patientID: "p3", unidentified: nil, unitID: nil, arrivalMode: "egen", complaint: "Yrsel", session: nurse)
        clock.advance(minutes: 1)
        let otherGreen = try await flows.emergency.arrive(patientID: "p4", unidentified: nil, unitID: nil, arrivalMode: "egen", complaint: "Stukad fot", session: nurse)
        _ = try await flows.emergency.triage(encounterID: otherGreen.id, signs: EmergencyFlowTests.normal, complaint: "056", level: "gron", session: nurse)
        _ = try await flows.emergency.triage(encounterID: green.id, signs: EmergencyFlowTests.normal, complaint: "056", level: "gron", session: nurse)
        _ = try await flows.emergency.triage(encounterID: orange.id, signs: EmergencyFlowTests.normal, complaint: "005", level: "orange", session: nurse)
        _ = try await flows.emergency.assign(encounterID: orange.id, nurse: true, room: "Rum 3", session: nurse)
        _ = try await flows.emergency.step(encounterID: orange.id, to: .doctor, reason: nil, session: doctor)
        // A signal and an order since arrival show on the row.
        _ = try await ward.store.commit([.update(JSONObject([
            ("resourceType", .string("AllergyIntolerance")), ("id", .string("allergy-p2")), ("patient", Fixtures.reference("Patient/p2")),
            ("clinicalStatus", .object(JSONObject([("coding", .array([.object(JSONObject([("system", .string("http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical")), ("code", .string("active"))]))]))]))),
            ("code", .object(JSONObject([("text", .string("Penicillin"))]))),
        ]), type: "AllergyIntolerance", id: "allergy-p2"), .update(JSONObject([
            ("resourceType", .string("ServiceRequest")), ("id", .string("order-p2")), ("status", .string("active")), ("intent", .string("order")),
            ("subject", Fixtures.reference("Patient/p2")), ("authoredOn", .string(SwedishTime.format(morning + 10 * 60_000))),
            ("code", .object(JSONObject([("text", .string("Troponin T"))]))),
        ]), type: "ServiceRequest", id: "order-p2")])
        let rows = try await flows.board.rows(unitID: "akut", session: nurse)
        #expect(rows.map(\.encounterID) == [waiting.id, orange.id, green.id, otherGreen.id])
        let top = try #require(rows.first { $0.encounterID == orange.id })
        #expect(top.colour == "orange" && top.room == "Rum 3" && top.nurse == "ednurse" && top.doctor == "edoc" && top.step == .doctor)
        #expect(top.signals == ["Allergi"] && top.pendingOrders == 1)
        #expect(top.complaint == "005 Bröstsmärta")
        let untriaged = try #require(rows.first)
        // Breaches flip at the configured minute from arrival: triage 10, doctor 60, stay 240.
        #expect(untriaged.triageDue == morning + 4 * 60_000 + 10 * 60_000)
        #expect(untriaged.doctorDue == morning + 4 * 60_000 + 60 * 60_000 && untriaged.stayDue == morning + 4 * 60_000 + 240 * 60_000)
        #expect(top.triageDue == nil && top.doctorDue == nil)
        let shorter = CareFlows(triage: try TriageTable.shipped(), news2: try EarlyWarningTable.shipped(), daySurgery: try DaySurgeryLists.shipped(),
                                targets: EmergencyTargets(triageMinutes: 5), clock: clock.read)
        #expect(try await shorter.board.rows(unitID: "akut", session: nurse).first?.triageDue == morning + 4 * 60_000 + 5 * 60_000)
        // Finished visits leave the board.
        _ = try await flows.emergency.leave(encounterID: green.id, disposition: "lamnat-fore-lakare", wardID: nil, note: nil, reason: nil, session: nurse)
        #expect(try await flows.board.rows(unitID: "akut", session: nurse).count == 3)
    }

    @Test("a change on the board is announced to the unit's open boards, and only theirs")
    func events() async throws {
        let events = BoardEvents()
        let stream = events.subscribe(unit: "akut")
        let other = events.subscribe(unit: "annan")
        #expect(events.listeners(unit: "akut") == 1)
        events.publish(unit: "akut")
        var iterator = stream.makeAsyncIterator()
        #expect(await iterator.next() != nil)
        var otherIterator = other.makeAsyncIterator()
        events.publish(unit: "annan")
        #expect(await otherIterator.next() != nil)
    }
}

@Suite("The region's ED times from statusHistory, checked against hand-computed figures")
struct EmergencyTimesTests {
    /// 22 visits on 2026-12-01 (minutes after 08:00): arrival, then minutes from arrival to triage, doctor and leaving.
    static let visits: [(arrival: Int, triage: Int?, doctor: Int?, left: Int?, disposition: String?, patient: String)] = [
        (0, 5, 30, 120, "hem", "a"), (10, 12, 70, 200, "hem", "b"), (20, 8, 45, 250, "inlaggning", "c"), (30, 3, 20, 90, "hem", "d"),
        (40, 15, 90, 300, "inlaggning", "e"), (50, 9, 60, 240, "hem", "f"), (60, 10, 61, 241, "hem", "g"), (70, 2, nil, 40, "lamnat-fore-lakare", "h"),
        (80, 11, 50, 180, "hem", "i"), (90, 4, 25, 100, "hem", "j"), (100, 7, 35, 150, "avbruten", "k"), (110, 6, 40, 130, "hem", "l"),
        (120, 20, 120, 360, "inlaggning", "m"), (130, 1, 15, 60, "hem", "n"), (140, 9, 55, 210, "hem", "o"), (150, 13, 75, 230, "hem", "p"),
        (160, 5, nil, 30, "lamnat-fore-lakare", "q"), (170, 8, 42, 170, "hem", "r"), (180, 10, 58, 239, "hem", "s"), (190, 3, 33, 110, "hem", "t"),
        (200, 6, 48, nil, nil, "u"), (210, nil, nil, nil, nil, "v"),
    ]
    /// Returns: a comes back 48 h after leaving, b 71 h 59 min after (both count), d 72 h 1 min after (too late).
    static let returns: [(patient: String, minutesAfterLeaving: Int, of: Int)] = [("a", 48 * 60, 0), ("b", 72 * 60 - 1, 1), ("d", 72 * 60 + 1, 3)]

    @Test("22 visits walked through the real flow; medians, shares, returns within 72 h and the walk-outs match the figures worked out by hand",
          arguments: backends)
    func handComputed(_ backend: StoreBackend) async throws {
        let ward = try await Ward.make(backend)
        let clock = TestClock(morning), flows = try careFlows(clock)
        let nurse = try await ward.session("ednurse"), doctor = try await ward.session("edoc")
        var patients: [JSONObject] = []
        for visit in Self.visits {
            patients.append(JSONObject([("resourceType", .string("Patient")), ("id", .string("t-\(visit.patient)")), ("active", .bool(true))]))
        }
        _ = try await ward.store.commit(patients.map { .update($0, type: "Patient", id: $0["id"]!.stringValue!) })
        // Every step in time order, the clock at its minute.
        enum Action { case arrive, triage, doctor, decide, leave }
        var steps: [(minute: Int, index: Int, action: Action)] = []
        for (index, visit) in Self.visits.enumerated() {
            steps.append((visit.arrival, index, .arrive))
            if let triage = visit.triage { steps.append((visit.arrival + triage, index, .triage)) }
            if let doctor = visit.doctor { steps.append((visit.arrival + doctor, index, .doctor)) }
            if let left = visit.left {
                if visit.doctor != nil, visit.disposition != "avbruten" { steps.append((visit.arrival + left - 1, index, .decide)) }
                steps.append((visit.arrival + left, index, .leave))
            }
        }
        for (index, ret) in Self.returns.enumerated() {
            let visit = Self.visits[ret.of]
            steps.append((visit.arrival + visit.left! + ret.minutesAfterLeaving, Self.visits.count + index, .arrive))
        }
        steps.sort { $0.minute != $1.minute ? $0.minute < $1.minute : $0.index < $1.index }
        var ids: [Int: String] = [:]
        for step in steps {
            clock.set(morning + Int64(step.minute) * 60_000)
            switch step.action {
            case .arrive:
                let patient = step.index < Self.visits.count ? Self.visits[step.index].patient : Self.returns[step.index - Self.visits.count].patient
                ids[step.index] = try await flows.emergency.arrive(patientID: "t-\(patient)", unidentified: nil, unitID: nil, arrivalMode: "egen", complaint: nil, session: nurse).id
            case .triage:
                _ = try await flows.emergency.triage(encounterID: ids[step.index]!, signs: EmergencyFlowTests.normal, complaint: nil, level: nil, session: nurse)
            case .doctor:
                _ = try await flows.emergency.step(encounterID: ids[step.index]!, to: .doctor, reason: nil, session: doctor)
            case .decide:
                _ = try await flows.emergency.step(encounterID: ids[step.index]!, to: .decision, reason: nil, session: doctor)
            case .leave:
                let disposition = Self.visits[step.index].disposition!
                _ = try await flows.emergency.leave(encounterID: ids[step.index]!, disposition: disposition, wardID: disposition == "inlaggning" ? "ward" : nil,
                                                    note: nil, reason: nil, session: disposition == "lamnat-fore-lakare" ? nurse : doctor)
            }
        }
        let day = SwedishTime.parseDay("2026-12-01")!
        let (visits, report) = try await EmergencyTimes.day(day, unitID: "akut", targets: flows.emergency.targets, session: nurse)
        #expect(visits.count == 22 && report.visits == 22 && report.open == 2)
        // By hand: TTT sorted 1,2,3,3,4,5,5,6,6,7,8,8,9,9,10,10,11,12,13,15,20 → median 8, 16 of 21 within 10 min.
        #expect(report.toTriage == EmergencyTimes.Measure(count: 21, medianMinutes: 8, withinTarget: 16))
        // TTL over the 19 seen by a doctor: 15 … 120 → median 48, 14 within 60 min (60 counts, 61 does not).
        #expect(report.toDoctor == EmergencyTimes.Measure(count: 19, medianMinutes: 48, withinTarget: 14))
        // TVT over the 18 doctor visits that left: median (180 + 200) / 2 = 190, 14 within 240 min.
        #expect(report.stay == EmergencyTimes.Measure(count: 18, medianMinutes: 190, withinTarget: 14))
        #expect(report.leftBeforeDoctor == 2 && report.abandonedAfterDoctor == 1)
        #expect(report.returns == 2 && report.returnBase == 18)
        // The register's lines: the 19 doctor visits, avbruten vård on one.
        let lines = EmergencyTimes.registerLines(visits)
        #expect(lines.count == 19 && lines.filter(\.abandoned).count == 1)
        // Another day counts its own arrivals: on 3 December only a's return.
        #expect(try await EmergencyTimes.day(day + 2, unitID: "akut", targets: flows.emergency.targets, session: nurse).report.visits == 1)
    }
}

@Suite("RETTS triage: the priority is the higher of the vital-parameter and complaint colours, by the loaded table alone")
struct TriageScoringTests {
    /// A value inside a band, for the table-driven check.
    static func inside(_ band: ScoringBand) -> (number: Double?, code: String?) {
        if let values = band.values { return (nil, values[0]) }
        if let min = band.min { return (min, nil) }
        if let max = band.max { return (max, nil) }
        if let above = band.above { return (above + 0.5, nil) }
        return ((band.below ?? 0) - 0.5, nil)
    }

    static func signs(_ parameter: VitalParameter, _ value: (number: Double?, code: String?)) -> VitalSigns {
        var signs = VitalSigns()
        switch parameter {
        case .airway: signs.airway = value.code
        case .respiratoryRate: signs.respiratoryRate = value.number
        case .spo2Air: signs.spo2 = value.number
        case .spo2Oxygen: signs.spo2 = value.number; signs.oxygenFlow = 2
        case .pulse: signs.pulse = value.number
        case .systolic: signs.systolic = value.number; signs.diastolic = 10
        case .consciousness: signs.consciousness = value.code
        case .temperature: signs.temperature = value.number
        default: break
        }
        return signs
    }

    @Test("every band of the shipped table, read from the file: a value inside it gives at least its colour, and alone the band's colour when no more urgent band overlaps")
    func everyBand() throws {
        let table = try TriageTable.shipped()
        let scoring = TriageScoring(table: table)
        var checked = 0
        for (name, bands) in table.vitalParameters {
            let parameter = try #require(VitalParameter(rawValue: name))
            for band in bands {
                let value = Self.inside(band)
                let colour = scoring.vitalColour(Self.signs(parameter, value)).colour
                let expected = bands.filter { $0.matches(number: value.number, code: value.code) }.map { table.rank($0.colour!) }.min()!
                #expect(table.rank(colour) == expected, "\(name) \(value): \(colour)")
                #expect(table.rank(colour) <= table.rank(band.colour!))
                checked += 1
            }
        }
        #expect(checked >= 20)
        #expect(scoring.vitalColour(EmergencyFlowTests.normal).colour == table.vitalDefault)
    }

    @Test("the higher colour wins, table-driven", arguments: [
        (VitalSigns(respiratoryRate: 16, spo2: 98, pulse: 80), "006", "gul", "gul"),   // normal vitals, yellow card
        (VitalSigns(respiratoryRate: 32, spo2: 98, pulse: 80), "006", "gron", "rod"),  // RR > 30 beats a green card
        (VitalSigns(respiratoryRate: 16, spo2: 89, pulse: 80), "047", "bla", "orange"), // SpO₂ 88–90 on air
        (VitalSigns(respiratoryRate: 16, spo2: 89, oxygenFlow: 3, pulse: 80), "047", "bla", "rod"), // the same on oxygen is < 90
        (VitalSigns(respiratoryRate: 16, spo2: 98, pulse: 80, airway: "ofri"), nil, nil, "rod"),
        (VitalSigns(temperature: 38.5), nil, nil, "gron"),                              // 38.5 is not above 38.5
        (VitalSigns(temperature: 38.6), nil, nil, "gul"),
        (VitalSigns(pulse: 120), nil, nil, "orange"),                                   // 120 is in both gul and orange: the higher
        (VitalSigns(consciousness: "V"), "019", "rod", "rod"),
    ] as [(VitalSigns, String?, String?, String)])
    func higherWins(_ signs: VitalSigns, _ card: String?, _ level: String?, _ expected: String) throws {
        let outcome = try TriageScoring(table: try TriageTable.shipped()).triage(signs, complaint: card, level: level)
        #expect(outcome.colour == expected)
    }

    @Test("a changed file changes the colour without a rebuild; a bad file is refused naming the place")
    func fromFile() throws {
        let shipped = CareFlowFiles.retts
        var json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: shipped)) as? [String: Any])
        var parameters = try #require(json["vitalParameters"] as? [String: Any])
        parameters["pulse"] = [["above": 100, "colour": "rod"]]
        json["vitalParameters"] = parameters
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("retts-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let changed = folder.appendingPathComponent("retts.json")
        try JSONSerialization.data(withJSONObject: json).write(to: changed)
        let before = try TriageScoring(table: try TriageTable.shipped()).vitalColour(VitalSigns(pulse: 105)).colour
        let after = try TriageScoring(table: try TriageTable.load(from: changed)).vitalColour(VitalSigns(pulse: 105)).colour
        #expect(before == "gron" && after == "rod")
        parameters["pulse"] = [["above": 100, "colour": "lila"]]
        json["vitalParameters"] = parameters
        try JSONSerialization.data(withJSONObject: json).write(to: changed)
        #expect(throws: CareFlowRuleError.self) { try TriageTable.load(from: changed) }
        do { _ = try TriageTable.load(from: changed) } catch { #expect("\(error)".contains("vitalParameters.pulse[0]")) }
    }

    @Test("no clinical threshold is a literal in the care-flow sources: they are in CareFlowsData")
    func noThresholdLiterals() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Sources/CareFlows").standardized
        for name in ["Scoring.swift", "TrackingBoard.swift", "EmergencyDepartment.swift"] {
            let text = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
            for literal in ["> 30", "< 8", ">= 25", "38.5", "<= 91", "> 130"] {
                #expect(!text.contains(literal), "\(name) contains \(literal)")
            }
        }
    }
}

/// Where the shipped rule files are, for tests that copy and change them.
enum CareFlowFiles {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Sources/CareFlows/CareFlowsData").standardized
    static var retts: URL { folder.appendingPathComponent("retts-demo.json") }
}

@Suite("NEWS2 by the RCP 2017 chart as data: both SpO₂ scales and the clinical response")
struct EarlyWarningTests {
    @Test("scores worked out by hand from the chart", arguments: [
        // RR 24 (2), SpO₂ 94 scale 1 (1), oxygen (2), SBP 105 (1), pulse 115 (2), A (0), 38.5 (1) = 9: high.
        (VitalSigns(respiratoryRate: 24, spo2: 94, oxygenFlow: 2, temperature: 38.5, systolic: 105, diastolic: 60, pulse: 115, consciousness: "A"), 9, "hog"),
        // Every parameter normal on air: 0.
        (VitalSigns(respiratoryRate: 16, spo2: 97, temperature: 37.0, systolic: 125, diastolic: 80, pulse: 70, consciousness: "A"), 0, "ingen"),
        // RR 25 alone scores 3: low-medium by the single-parameter rule though the total is 3.
        (VitalSigns(respiratoryRate: 25, spo2: 97, temperature: 37.0, systolic: 125, diastolic: 80, pulse: 70, consciousness: "A"), 3, "lag-medel"),
        // New confusion alone: 3, low-medium.
        (VitalSigns(respiratoryRate: 16, spo2: 97, temperature: 37.0, systolic: 125, diastolic: 80, pulse: 70, consciousness: "C"), 3, "lag-medel"),
        // RR 21 (2), pulse 95 (1), 39.1 (2) = 5: medium.
        (VitalSigns(respiratoryRate: 21, spo2: 96, temperature: 39.1, systolic: 120, diastolic: 80, pulse: 95, consciousness: "A"), 5, "medel"),
        // Scale 2 on oxygen: 97 % scores 3 (over target) plus oxygen 2 = 5; on air 88 % scores 0.
        (VitalSigns(respiratoryRate: 16, spo2: 97, oxygenFlow: 2, temperature: 37.0, systolic: 125, diastolic: 80, pulse: 70, consciousness: "A", spo2Scale2: true), 5, "medel"),
        (VitalSigns(respiratoryRate: 16, spo2: 88, temperature: 37.0, systolic: 125, diastolic: 80, pulse: 70, consciousness: "A", spo2Scale2: true), 0, "ingen"),
        // Temperature 35.0 scores 3 and 35.1 scores 1 (decimal edges).
        (VitalSigns(respiratoryRate: 16, spo2: 97, temperature: 35.0, systolic: 125, diastolic: 80, pulse: 70, consciousness: "A"), 3, "lag-medel"),
        (VitalSigns(respiratoryRate: 16, spo2: 97, temperature: 35.1, systolic: 125, diastolic: 80, pulse: 70, consciousness: "A"), 1, "lag"),
        // SBP 220 scores 3, 219 scores 0.
        (VitalSigns(respiratoryRate: 16, spo2: 97, temperature: 37.0, systolic: 220, diastolic: 90, pulse: 70, consciousness: "A"), 3, "lag-medel"),
    ] as [(VitalSigns, Int, String)])
    func score(_ signs: VitalSigns, _ total: Int, _ response: String) throws {
        let score = try #require(EarlyWarningScoring(table: try EarlyWarningTable.shipped()).score(signs))
        #expect(score.total == total && score.response.code == response, "\(score.parts)")
    }

    @Test("an incomplete set gets no score, and says what it lacks")
    func incomplete() throws {
        let scoring = EarlyWarningScoring(table: try EarlyWarningTable.shipped())
        #expect(scoring.score(VitalSigns(respiratoryRate: 16, pulse: 70)) == nil)
        #expect(scoring.missing(VitalSigns(respiratoryRate: 16, pulse: 70)) == ["saturation", "systoliskt blodtryck", "medvetandegrad", "temperatur"])
    }

    @Test("a set saved on the chart: LOINC Observations and the NEWS2 derived from them", arguments: backends)
    func saved(_ backend: StoreBackend) async throws {
        let ward = try await Ward.make(backend)
        try await ward.contact("wardoc", patient: "p1")
        let flows = try careFlows(TestClock(Instant.now()))
        let signs = try VitalSigns.parse(["respiratoryRate": "24", "spo2": "94", "oxygenFlow": "2", "temperature": "38,5", "systolic": "105", "diastolic": "60",
                                          "pulse": "115", "consciousness": "A"])
        let saved = try await flows.vitalSigns.record(patientID: "p1", encounterID: nil, signs: signs, session: try await ward.session("wardoc"))
        #expect(saved.score?.total == 9 && saved.missing.isEmpty)
        let codes = Set(saved.observations.compactMap { $0.object.code("code", system: CareFlowCodes.loinc) })
        #expect(codes == ["9279-1", "59408-5", "3151-8", "8310-5", "85354-9", "8867-4", "67775-7"])
        let news = try await flows.vitalSigns.news2(patientID: "p1", limit: 5, session: try await ward.session("wardoc"))
        #expect(news.first?.total == 9 && news.first?.responseCode == "hog")
        #expect(news.first?.observation["derivedFrom"]?.arrayValue?.count == 7)
        #expect(throws: FHIRError.self) { try VitalSigns.parse(["pulse": "abc"]) }
        #expect(throws: FHIRError.self) { try VitalSigns.parse(["systolic": "80", "diastolic": "120"]) }
    }
}

@Suite("Day surgery: discharge blocked until the criteria are recorded; tomorrow's follow-up call owned and overdue-alarmed")
struct DaySurgeryTests {
    @Test("the flow from booking to the follow-up call", arguments: backends)
    func flow(_ backend: StoreBackend) async throws {
        let ward = try await Ward.make(backend)
        let clock = TestClock(morning), flows = try careFlows(clock)
        let nurse = try await ward.session("nurse")
        let booked = try await flows.daySurgery.book(patientID: "p1", unitID: nil, day: SwedishTime.day(of: morning), procedure: "Ljumskbråck, KVÅ JAB30", session: nurse)
        #expect(booked.object["status"]?.stringValue == "planned" && booked.object["class"]?.objectValue?["code"]?.stringValue == "SS")
        #expect(try await flows.daySurgery.day(SwedishTime.day(of: morning), unitID: "vc", session: nurse).map(\.id) == [booked.id])
        #expect(await fails(.conflict, containing: "not in progress") {
            _ = try await flows.daySurgery.check(encounterID: booked.id, list: .preoperative, items: ["fastande"], session: nurse)
        })
        _ = try await flows.daySurgery.arrive(encounterID: booked.id, session: nurse)
        _ = try await flows.daySurgery.check(encounterID: booked.id, list: .preoperative, items: ["fastande", "hamtas"], session: nurse)
        #expect(await fails(.invalid, containing: "not on the utskrivning list") {
            _ = try await flows.daySurgery.check(encounterID: booked.id, list: .discharge, items: ["fastande"], session: nurse)
        })
        let all = flows.daySurgery.lists.discharge.map(\.code)
        _ = try await flows.daySurgery.check(encounterID: booked.id, list: .discharge, items: Array(all.dropLast()), session: nurse)
        #expect(await fails(.conflict, containing: all.last!) { _ = try await flows.daySurgery.discharge(encounterID: booked.id, session: nurse) })
        _ = try await flows.daySurgery.check(encounterID: booked.id, list: .discharge, items: [all.last!], session: nurse)
        clock.advance(minutes: 5 * 60)
        let done = try await flows.daySurgery.discharge(encounterID: booked.id, session: nurse)
        #expect(done.encounter.object["status"]?.stringValue == "finished")
        let task = done.followUp.object
        #expect(task.referenceID("owner", type: "Organization") == "vc")
        let due = SwedishTime.instant(day: SwedishTime.day(of: morning) + 1, minuteOfDay: 16 * 60)
        #expect(task["restriction"]?.objectValue?["period"]?.objectValue?["end"]?.stringValue == SwedishTime.format(due))
        #expect(try await flows.daySurgery.followUps(unitID: "vc", session: nurse).map(\.overdue) == [false])
        clock.set(due + 60_000)
        #expect(try await flows.daySurgery.followUps(unitID: "vc", session: nurse).map(\.overdue) == [true])
        _ = try await flows.daySurgery.completeFollowUp(taskID: done.followUp.id, note: "Mår bra", session: nurse)
        #expect(try await flows.daySurgery.followUps(unitID: "vc", session: nurse).isEmpty)
    }
}
