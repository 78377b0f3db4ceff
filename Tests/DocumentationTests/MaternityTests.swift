import Access
import FHIRCore
import Foundation
import KarnaTesting
import Maternity
import Store
import StoreModel
import Testing

/// 10:00 on a day when m1 is in gestational week `week`+0 by a due date 280 days after `lmp`.
private let registrationDay = SwedishTime.parseDay("2026-06-01")!
private func at(day: Int, hour: Int = 10) -> Int64 { SwedishTime.instant(day: day, minuteOfDay: hour * 60) }
/// The last period that makes `registrationDay` week 8+0.
private let lmp = registrationDay - 56

private func maternity(_ clock: TestClock) throws -> Maternity { try Maternity.shipped(clock: clock.read) }

private func register(_ module: Maternity, _ session: PatientDataSession) async throws -> Pregnancy {
    try await module.antenatal.register(.init(patientID: "m1", lastMenstrualPeriod: lmp, parity: 0, gravidity: 0), session: session)
}

/// The shipped form's answers that give `points` in total.
private func audit(points: Int, _ module: Maternity) -> [String: String] { module.antenatal.questionnaires.forms["audit"]!.answers(totalling: points) }
private func epds(points: Int, _ module: Maternity) -> [String: String] { module.antenatal.questionnaires.forms["epds"]!.answers(totalling: points) }

@Suite("Maternity: the pregnancy, its basprogram plan and the unit's worklist")
struct PregnancyTests {
    @Test("registering a pregnancy instantiates the programme as a CarePlan dated by gestational week, once per pregnancy", arguments: backends)
    func registration(_ backend: StoreBackend) async throws {
        let ward = try await Ward.make(backend)
        let clock = TestClock(at(day: registrationDay)), module = try maternity(clock)
        let midwife = try await ward.session("midwife")
        let pregnancy = try await register(module, midwife)
        #expect(pregnancy.dueDate == lmp + 280 && pregnancy.dueDateMethod == "sista-mens")
        #expect(pregnancy.unitID == "mvc" && pregnancy.midwifeID == "midwife-role")
        #expect(pregnancy.gestationalAge(on: registrationDay) == "v 8+0")
        let plan = try await module.antenatal.plan(pregnancy, session: midwife)
        #expect(plan.visits.map(\.code) == module.antenatal.programme.visits.map(\.code))
        let v25 = try #require(plan.visits.first { $0.code == "v25" })
        #expect(v25.from == lmp + 24 * 7 && v25.to == lmp + 26 * 7 + 6)
        #expect(v25.planned.contains("sf"))
        #expect(plan.episodeID == pregnancy.id && plan.dayZero == pregnancy.dayZero)
        // An ultrasound due date wins over the period.
        #expect(await fails(.conflict, containing: "already has an active pregnancy") { _ = try await register(module, midwife) })
        let other = try await module.antenatal.register(.init(patientID: "p2", lastMenstrualPeriod: lmp, ultrasoundDueDate: lmp + 284), session: midwife)
        #expect(other.dueDate == lmp + 284 && other.dueDateMethod == "ultraljud")
        // Bad dates are refused, naming what is wrong.
        #expect(await fails(.invalid, containing: "give lastMenstrualPeriod or ultrasoundDueDate") {
            _ = try await module.antenatal.register(.init(patientID: "p1"), session: midwife)
        })
        #expect(await fails(.invalid, containing: "is in the future") {
            _ = try await module.antenatal.register(.init(patientID: "p1", lastMenstrualPeriod: registrationDay + 3), session: midwife)
        })
        #expect(await fails(.invalid, containing: "within weeks 0–43") {
            _ = try await module.antenatal.register(.init(patientID: "p1", lastMenstrualPeriod: registrationDay - 50 * 7), session: midwife)
        })
    }

    @Test("the worklist shows the visit due, the overdue visit and the missing AUDIT, tobacco and EPDS", arguments: backends)
    func worklist(_ backend: StoreBackend) async throws {
        let ward = try await Ward.make(backend)
        let clock = TestClock(at(day: registrationDay)), module = try maternity(clock)
        let midwife = try await ward.session("midwife")
        let pregnancy = try await register(module, midwife)
        var row = try #require(try await module.antenatal.worklist(unitID: "mvc", session: midwife).first)
        #expect(row.pregnancyID == pregnancy.id && row.gestationalAge == "v 8+0")
        #expect(row.due.map(\.code) == ["inskrivning"] && row.overdue.isEmpty && row.missing.isEmpty)
        // Week 14: the registration visit's window has closed unmade.
        clock.set(at(day: lmp + 14 * 7))
        row = try #require(try await module.antenatal.worklist(unitID: "mvc", session: midwife).first)
        #expect(row.overdue.map(\.code) == ["inskrivning"] && row.due.isEmpty)
        #expect(row.missing.contains("AUDIT (alkohol senaste året)") && row.missing.contains("Tobak och nikotin"))
        // Made late without AUDIT and tobacco: those two stay missing.
        _ = try await module.antenatal.recordVisit(pregnancyID: pregnancy.id, .init(visit: "inskrivning", values: ["hb": "125", "vikt": "64", "langd": "168",
                                                                                                                 "blodtryck": "115/70", "folsyra": "ja"]), session: midwife)
        row = try #require(try await module.antenatal.worklist(unitID: "mvc", session: midwife).first)
        #expect(row.overdue.isEmpty)
        #expect(row.missing.contains("AUDIT (alkohol senaste året)") && row.missing.contains("Tobak och nikotin") && !row.missing.contains("Hb"))
        // Week 16: the v16 visit is due; at week 19 it is overdue and its EPDS is missing.
        clock.set(at(day: lmp + 16 * 7))
        row = try #require(try await module.antenatal.worklist(unitID: "mvc", session: midwife).first)
        #expect(row.due.map(\.code) == ["v16"])
        clock.set(at(day: lmp + 19 * 7))
        row = try #require(try await module.antenatal.worklist(unitID: "mvc", session: midwife).first)
        #expect(row.overdue.map(\.code) == ["v16"] && row.missing.contains("EPDS (nedstämdhet)"))
        // Another unit's worklist does not show her.
        #expect(try await module.antenatal.worklist(unitID: "vc", session: try await ward.session("doc")).isEmpty)
    }

    @Test("AUDIT and EPDS are QuestionnaireResponses with their item answers and the computed score; an unanswered question is named and nothing is written",
          arguments: backends)
    func forms(_ backend: StoreBackend) async throws {
        let ward = try await Ward.make(backend)
        let clock = TestClock(at(day: registrationDay)), module = try maternity(clock)
        let midwife = try await ward.session("midwife")
        let pregnancy = try await register(module, midwife)
        var partial = audit(points: 7, module)
        partial["4"] = nil
        #expect(await fails(.invalid, containing: "audit: question 4 is not answered") {
            _ = try await module.antenatal.recordVisit(pregnancyID: pregnancy.id, .init(visit: "inskrivning", values: ["hb": "130"], answers: ["audit": partial]), session: midwife)
        })
        #expect(await fails(.invalid, containing: "hb must be 30–250") {
            _ = try await module.antenatal.recordVisit(pregnancyID: pregnancy.id, .init(visit: "inskrivning", values: ["hb": "13"]), session: midwife)
        })
        #expect(await fails(.invalid, containing: "tobak must be one of") {
            _ = try await module.antenatal.recordVisit(pregnancyID: pregnancy.id, .init(visit: "inskrivning", values: ["tobak": "ibland"]), session: midwife)
        })
        #expect(try await RecordedValues.read(pregnancy: pregnancy, session: midwife).values.isEmpty)
        let saved = try await module.antenatal.recordVisit(pregnancyID: pregnancy.id, .init(visit: "inskrivning", values: ["vikt": "92", "langd": "170", "tobak": "aldrig"],
                                                                                            answers: ["audit": audit(points: 7, module)]), session: midwife)
        let response = try #require(saved.responses.first)
        #expect(response.object["item"]?.arrayValue?.count == 10)
        #expect(response.object["questionnaire"]?.stringValue == "https://karna.se/fhir/Questionnaire/audit")
        let values = try await RecordedValues.read(pregnancy: pregnancy, session: midwife)
        #expect(values.latest("audit")?.number == 7)
        #expect(values.latest("audit")?.observation["derivedFrom"]?.arrayValue?.first?.objectValue?["reference"]?.stringValue == "QuestionnaireResponse/\(response.id)")
        // BMI derived from this weight and height: 92 / 1.70² = 31.8.
        #expect(values.latest("bmi")?.number == 31.8)
        #expect(saved.encounter.object["serviceProvider"]?.objectValue?["reference"]?.stringValue == "Organization/mvc")
        // The visit is done on the plan, with what was recorded.
        let plan = try await module.antenatal.plan(pregnancy, session: midwife)
        let visit = try #require(plan.visits.first { $0.code == "inskrivning" })
        #expect(visit.completed && Set(visit.recorded) == ["vikt", "langd", "bmi", "tobak", "audit"])
        #expect(await fails(.conflict, containing: "already recorded") {
            _ = try await module.antenatal.recordVisit(pregnancyID: pregnancy.id, .init(visit: "inskrivning", values: ["hb": "120"]), session: midwife)
        })
        // EPDS at v16 with the reversed items scored from the form's data.
        clock.set(at(day: lmp + 16 * 7))
        _ = try await module.antenatal.recordVisit(pregnancyID: pregnancy.id, .init(visit: "v16", values: [:], answers: ["epds": epds(points: 13, module)]), session: midwife)
        #expect(try await RecordedValues.read(pregnancy: pregnancy, session: midwife).latest("epds")?.number == 13)
    }

    @Test("the MHV1 risk assessment names each reason from recorded values, age and the midwife's choice, and opens one individual care plan", arguments: backends)
    func risk(_ backend: StoreBackend) async throws {
        let ward = try await Ward.make(backend)
        let clock = TestClock(at(day: registrationDay)), module = try maternity(clock)
        let midwife = try await ward.session("midwife")
        let pregnancy = try await register(module, midwife)
        let none = try await module.antenatal.assessRisk(pregnancyID: pregnancy.id, chosen: [], note: nil, session: midwife)
        #expect(none.factors.isEmpty && none.individualPlan == nil && !none.needsIndividualPlan)
        _ = try await module.antenatal.recordVisit(pregnancyID: pregnancy.id, .init(visit: "inskrivning", values: ["vikt": "92", "langd": "170", "tobak": "röker"],
                                                                                   answers: ["audit": audit(points: 3, module)]), session: midwife)
        let outcome = try await module.antenatal.assessRisk(pregnancyID: pregnancy.id, chosen: ["tidigare-kejsarsnitt"], note: "Sectio 2022.", session: midwife)
        #expect(outcome.factors.map(\.factor.code) == ["bmi-30", "rokning", "tidigare-kejsarsnitt"])
        #expect(outcome.factors.first?.reason == "BMI: 31,8 kg/m2")
        let plan = try #require(outcome.individualPlan)
        #expect(plan.object["status"]?.stringValue == "draft")
        #expect(plan.object["activity"]?.arrayValue?.count == 2)
        let predictions = outcome.assessment.object["prediction"]?.arrayValue ?? []
        #expect(predictions.count == 3 && predictions[1].objectValue?["rationale"]?.stringValue == "Tobak och nikotin: röker")
        // A second assessment keeps the one plan.
        let again = try await module.antenatal.assessRisk(pregnancyID: pregnancy.id, chosen: [], note: nil, session: midwife)
        #expect(again.individualPlan == nil && again.needsIndividualPlan)
        #expect(try await module.antenatal.individualPlan(pregnancy, session: midwife)?.id == plan.id)
        #expect(await fails(.invalid, containing: "is not a factor the midwife chooses") {
            _ = try await module.antenatal.assessRisk(pregnancyID: pregnancy.id, chosen: ["bmi-30"], note: nil, session: midwife)
        })
    }

    @Test("an SF-mått below −2 SD at the first measurement raises a growth-ultrasound task owned by the responsible midwife", arguments: backends)
    func fundalTask(_ backend: StoreBackend) async throws {
        let ward = try await Ward.make(backend)
        let clock = TestClock(at(day: registrationDay)), module = try maternity(clock)
        let midwife = try await ward.session("midwife"), colleague = try await ward.session("midwife2")
        let pregnancy = try await register(module, midwife)
        clock.set(at(day: lmp + 25 * 7))
        let reference = try #require(module.fundal.curve.at(25))
        let low = ((reference.mean - 2.5 * reference.sd) * 10).rounded() / 10
        let saved = try await module.antenatal.recordVisit(pregnancyID: pregnancy.id, .init(visit: "v25", values: ["sf": String(low), "blodtryck": "120/75"]), session: colleague)
        #expect(saved.findings.map(\.rule.code) == ["forsta-under"])
        let task = try #require(saved.tasks.first)
        #expect(saved.tasks.count == 1)
        #expect(task.object.code("code", system: MaternityCodes.maternity) == "sf-tillvaxtultraljud")
        #expect(task.object["owner"]?.objectValue?["reference"]?.stringValue == "PractitionerRole/midwife-role")
        #expect(task.object["focus"]?.objectValue?["reference"]?.stringValue?.hasPrefix("Observation/") == true)
        #expect(try await module.antenatal.openTasks(patientID: "m1", session: midwife).map(\.id) == [task.id])
        let gravidogram = try await Gravidogram.read(pregnancyID: pregnancy.id, maternity: module, session: midwife)
        #expect(gravidogram.series("sf")?.points.first?.week == 25)
        #expect(gravidogram.findings.map(\.rule.code) == ["forsta-under"])
        _ = try await module.antenatal.completeTask(taskID: task.id, note: "Remiss skickad.", session: midwife)
        #expect(try await module.antenatal.openTasks(patientID: "m1", session: midwife).isEmpty)
    }
}

@Suite("Maternity: delivery, partogram, birth and the register reports")
struct DeliveryTests {
    @Test("a dilatation right of the action line raises one Flag; the newborn is a patient on a reservnummer linked to the mother", arguments: backends)
    func delivery(_ backend: StoreBackend) async throws {
        let ward = try await Ward.make(backend)
        let start = at(day: lmp + 39 * 7, hour: 8)
        let clock = TestClock(at(day: registrationDay)), module = try maternity(clock)
        let midwife = try await ward.session("midwife"), delivering = try await ward.session("delmidwife")
        let pregnancy = try await register(module, midwife)
        clock.set(start)
        // The delivery ward has no care relationship until the admission makes one; then the pregnancy is linked.
        #expect(await fails(.forbidden) { _ = try await module.antenatal.pregnancy(pregnancy.id, session: delivering) })
        let admission = try await module.delivery.admit(patientID: "m1", unitID: nil, session: delivering)
        #expect(admission.object.referenceID("serviceProvider", type: "Organization") == "forl")
        #expect(admission.object["episodeOfCare"]?.arrayValue?.first?.objectValue?["reference"]?.stringValue == "EpisodeOfCare/\(pregnancy.id)")
        #expect(await fails(.conflict, containing: "already has an ongoing delivery") {
            _ = try await module.delivery.admit(patientID: "m1", unitID: nil, session: delivering)
        })
        // 4 cm at 08:00, 6 cm at 11:00 (right of the alert line, left of the action line), 7 cm at 16:00 (right of the action line: due by 15:00).
        _ = try await module.delivery.record(encounterID: admission.id, values: ["cervix": 4, "fosterljud": 140], at: start, session: delivering)
        clock.set(start + 3 * 3_600_000)
        var chart = try await module.delivery.record(encounterID: admission.id, values: ["cervix": 6], at: nil, session: delivering)
        #expect(chart.positions.map(\.position) == [.onTrack, .rightOfAlert] && chart.flag == nil)
        #expect(await fails(.invalid, containing: "cervix must be 0–10") {
            _ = try await module.delivery.record(encounterID: admission.id, values: ["cervix": 12], at: nil, session: delivering)
        })
        clock.set(start + 8 * 3_600_000)
        chart = try await module.delivery.record(encounterID: admission.id, values: ["cervix": 7], at: nil, session: delivering)
        let flag = try #require(chart.flag)
        #expect(chart.positions.last?.position == .rightOfAction)
        chart = try await module.delivery.record(encounterID: admission.id, values: ["cervix": 8], at: nil, session: delivering)
        #expect(chart.flag?.id == flag.id)
        #expect(try await Records(session: delivering).search("Flag", [("patient", "Patient/m1")]).count == 1)
        // The birth.
        clock.set(start + 10 * 3_600_000)
        #expect(await fails(.invalid, containing: "mode must be one of") {
            _ = try await module.delivery.registerBirth(encounterID: admission.id, .init(gender: "female", weightGrams: 3_400, lengthCm: 50, headCm: 35, apgar1: 8, apgar5: 9,
                                                                                         mode: "hemma"), session: delivering)
        })
        let born = try await module.delivery.registerBirth(encounterID: admission.id, .init(gender: "female", weightGrams: 3_400, lengthCm: 50, headCm: 35,
                                                                                            apgar1: 8, apgar5: 9, apgar10: 10, mode: "vakuum"), session: delivering)
        #expect(born.child.object["identifier"]?.arrayValue?.first?.objectValue?["system"]?.stringValue == Reservnummer.system)
        #expect(Delivery.motherID(born.child.object) == "m1")
        #expect(born.pregnancy.childIDs == [born.child.id] && born.pregnancy.deliveryMode == "vakuum" && born.pregnancy.delivered == start + 10 * 3_600_000)
        let apgar = try await Records(session: delivering).search("Observation", [("subject", "Patient/\(born.child.id)"), ("code", "http://loinc.org|9274-2")])
        #expect(apgar.first?.object["valueInteger"]?.numberText == "9")
        // Someone with no care relationship to either reads neither (the link leaks nothing).
        let outsider = try await ward.session("doc")
        let seen = try? await Records(session: outsider).search("Observation", [("subject", "Patient/\(born.child.id)")])
        #expect(seen?.isEmpty ?? true)
        #expect(try await Records(session: delivering).search("Observation", [("subject", "Patient/\(born.child.id)")]).count == 6)
    }

    @Test("the MFR sheets come from stored data; the Graviditetsregistret extract sends at delivery, final and archive signing, byte-identical on a rerun",
          arguments: backends)
    func registers(_ backend: StoreBackend) async throws {
        let ward = try await Ward.make(backend)
        let clock = TestClock(at(day: registrationDay)), module = try maternity(clock)
        let midwife = try await ward.session("midwife"), delivering = try await ward.session("delmidwife")
        let pregnancy = try await register(module, midwife)
        _ = try await module.antenatal.recordVisit(pregnancyID: pregnancy.id, .init(visit: "inskrivning", values: ["vikt": "64", "langd": "168", "tobak": "aldrig"],
                                                                                   answers: ["audit": audit(points: 2, module)]), session: midwife)
        let birthDay = lmp + 40 * 7
        clock.set(at(day: birthDay, hour: 6))
        let admission = try await module.delivery.admit(patientID: "m1", unitID: nil, session: delivering)
        clock.set(at(day: birthDay, hour: 9))
        _ = try await module.delivery.registerBirth(encounterID: admission.id, .init(gender: "male", weightGrams: 3_650, lengthCm: 51, headCm: 35, apgar1: 9, apgar5: 10,
                                                                                     mode: "vaginal"), session: delivering)
        let job = ward.gateway.session(.job("graviditetsregistret"), action: "register-export")
        let (sheets, due) = try await module.registers.sheets(pregnancyID: pregnancy.id, maternity: module, session: job)
        #expect(sheets.map(\.code) == ["MHV1", "MHV2", "FV1", "FV2"] && due == birthDay + 30)
        func value(_ sheet: String, _ name: String) -> String? { sheets.first { $0.code == sheet }?.lines.first { $0.name == name }?.value }
        #expect(value("MHV1", "Personnummer") == "199103152386" && value("MHV1", "BMI") == "22.7" && value("MHV1", "AUDIT-poäng") == "2")
        #expect(value("MHV2", "Individuell vårdplan") == "nej" && value("MHV2", "Antal besök") == "1")
        #expect(value("FV1", "Förlossningssätt") == "vaginal" && value("FV1", "Graviditetslängd") == "40+0" && value("FV1", "Förlossningsdatum") == SwedishTime.formatDay(birthDay))
        #expect(value("FV2", "Födelsevikt (g)") == "3650" && value("FV2", "Apgar 5 min") == "10")
        // The extract of the birth day: one line, stage forlossning; a rerun gives the same bytes.
        let first = try await module.registers.graviditetsregistret(day: birthDay, maternity: module, session: job)
        #expect(first.lines == 1 && first.text.split(separator: "\r\n")[1].hasPrefix("forlossning;199103152386;mvc;"))
        #expect(first.fileName == "graviditetsregistret-\(SwedishTime.formatDay(birthDay).replacingOccurrences(of: "-", with: "")).csv")
        #expect(try await module.registers.graviditetsregistret(day: birthDay, maternity: module, session: job).text == first.text)
        #expect(try await module.registers.graviditetsregistret(day: birthDay - 1, maternity: module, session: job).lines == 0)
        // Final signing two days later, archive signing a week later: each day's extract has its stage.
        #expect(await fails(.conflict, containing: "final-sign the record before") { _ = try await module.delivery.sign(pregnancyID: pregnancy.id, .archive, session: delivering) })
        clock.set(at(day: birthDay + 2))
        _ = try await module.delivery.sign(pregnancyID: pregnancy.id, .final, session: delivering)
        clock.set(at(day: birthDay + 9))
        let signed = try await module.delivery.sign(pregnancyID: pregnancy.id, .archive, session: delivering)
        #expect(signed.archiveSigned == at(day: birthDay + 9) && signed.status == "active")
        // The delivered pregnancy waits on the worklist for the after-care visit, not late; the antenatal unit closes it.
        let row = try #require(try await module.antenatal.worklist(unitID: "mvc", session: midwife).first)
        #expect(row.delivered && row.overdue.isEmpty && row.missing.isEmpty)
        #expect(await fails(.forbidden) { _ = try await module.antenatal.close(pregnancyID: pregnancy.id, session: delivering) })
        #expect(try await module.antenatal.close(pregnancyID: pregnancy.id, session: midwife).status == "finished")
        #expect(try await module.antenatal.worklist(unitID: "mvc", session: midwife).isEmpty)
        let final = try await module.registers.graviditetsregistret(day: birthDay + 2, maternity: module, session: job)
        #expect(final.lines == 1 && final.text.contains("\r\nslutsignering;"))
        let archive = try await module.registers.graviditetsregistret(day: birthDay + 9, maternity: module, session: job)
        #expect(archive.lines == 1 && archive.text.contains("\r\narkivsignering;"))
        // The delivery day's extract is still the same bytes after the later signings (they are not that day's).
        #expect(try await module.registers.graviditetsregistret(day: birthDay, maternity: module, session: job).text == first.text)
    }
}
