import Access
import FHIRCore
import KarnaTesting
@testable import Medication
import Store
import StoreModel
import Testing

@Suite("The MAR's due doses: planned from the ordination's timing, matched with the doses recorded, late and missed when left open")
struct DoseScheduleTests {
    static let rules = try! MedicationSafetyRules.shipped().administration
    static let yesterday = SwedishTime.today - 1

    static func at(_ hour: Int, _ minute: Int = 0, day: Int = yesterday) -> Int64 { SwedishTime.instant(day: day, minuteOfDay: hour * 60 + minute) }

    static func timing(_ repeatRule: String, dose: Int = 1, asNeeded: Bool = false) throws -> JSONValue {
        try JSONParser.parse("""
            [{"route": {"text": "Oralt"}, "timing": {"repeat": \(repeatRule)}, "doseAndRate": [{"doseQuantity": {"value": \(dose), "unit": "tablett"}}]
              \(asNeeded ? #", "asNeededCodeableConcept": {"text": "Smärta"}, "maxDosePerPeriod": {"numerator": {"value": 4, "unit": "tablett"}, "denominator": {"value": 1, "code": "d"}}"# : "")}]
            """)
    }

    @Test("morning and evening, three a day, every eight hours, vid behov and an end date plan the doses a nurse expects")
    func planned() throws {
        let day = (Self.at(0), Self.at(0, day: Self.yesterday + 1))
        let ramipril = try ordination()
        #expect(DoseSchedule.times(ramipril, from: day.0, to: day.1, rules: Self.rules).map { SwedishTime.format($0.0).dropFirst(11).prefix(5) + " " + $0.1 }
                == ["08:00 1 tablett", "18:00 2 tabletter"])
        let thrice = try ordination([("dosageInstruction", try Self.timing(#"{"frequency": 3, "period": 1, "periodUnit": "d"}"#))])
        #expect(DoseSchedule.times(thrice, from: day.0, to: day.1, rules: Self.rules).map { String(SwedishTime.format($0.0).dropFirst(11).prefix(5)) }
                == ["08:00", "14:00", "20:00"])
        let start = SwedishTime.format(Self.at(6))
        let eightHourly = try ordination([("dosageInstruction", try Self.timing(#"{"frequency": 1, "period": 8, "periodUnit": "h", "boundsPeriod": {"start": "\#(start)"}}"#))])
        #expect(DoseSchedule.times(eightHourly, from: day.0, to: day.1, rules: Self.rules).map { String(SwedishTime.format($0.0).dropFirst(11).prefix(5)) }
                == ["06:00", "14:00", "22:00"])
        let prn = try ordination([("dosageInstruction", try Self.timing(#"{"frequency": 1, "period": 1, "periodUnit": "d"}"#, asNeeded: true))])
        #expect(DoseSchedule.times(prn, from: day.0, to: day.1, rules: Self.rules).isEmpty, "vid behov has no planned doses")
        let ending = try ordination([("dosageInstruction", try Self.timing(#"{"when": ["MORN"], "boundsPeriod": {"start": "2026-01-01", "end": "\#(SwedishTime.formatDay(Self.yesterday - 1))"}}"#))])
        #expect(DoseSchedule.times(ending, from: day.0, to: day.1, rules: Self.rules).isEmpty, "nothing after the planned end")
    }

    @Test("an engångsdos is planned once, at its time, whatever window is asked for; a counted interval stops after its count")
    func counted() throws {
        let once = try ordination([("dosageInstruction", try Self.timing(#"{"count": 1, "boundsPeriod": {"start": "\#(SwedishTime.format(Self.at(10, 30)))"}}"#, dose: 2))])
        let planned = DoseSchedule.times(once, from: Self.at(0), to: Self.at(0, day: Self.yesterday + 2), rules: Self.rules)
        #expect(planned.map { SwedishTime.format($0.0) } == [SwedishTime.format(Self.at(10, 30))] && planned.first?.1 == "2 tabletter")
        #expect(DoseSchedule.times(once, from: Self.at(11), to: Self.at(0, day: Self.yesterday + 2), rules: Self.rules).isEmpty, "not again after it")
        let three = try ordination([("dosageInstruction", try Self.timing(#"{"count": 3, "frequency": 1, "period": 8, "periodUnit": "h", "boundsPeriod": {"start": "\#(SwedishTime.format(Self.at(6)))"}}"#))])
        #expect(DoseSchedule.times(three, from: Self.at(0), to: Self.at(0, day: Self.yesterday + 3), rules: Self.rules).map { SwedishTime.format($0.0) }
                == [Self.at(6), Self.at(14), Self.at(22)].map(SwedishTime.format))
        #expect(DoseSchedule.times(three, from: Self.at(13), to: Self.at(0, day: Self.yesterday + 3), rules: Self.rules).map { SwedishTime.format($0.0) }
                == [Self.at(14), Self.at(22)].map(SwedishTime.format), "counted from the start, not from the window")
    }

    @Test("a dose recorded near its time answers it; one left open is due, late, then missed; a struck one answers nothing", arguments: backends)
    func states(backend: StoreBackend) async throws {
        let ward = try await Ward.make(backend)
        for person in ["doc", "nurse"] { try await ward.contact(person, patient: "p1") }
        _ = try await ward.session("doc").commit(.create(try ordination(), type: "MedicationRequest", id: "rx-1"))
        let nurse = try await ward.session("nurse")
        _ = try await nurse.commit(.create(dose(order: "rx-1", at: Self.at(8, 10)), type: "MedicationAdministration", id: "ma-morning"))
        func states(at now: Int64) async throws -> [String] {
            try await DoseSchedule.read(patientIDs: ["p1"], from: Self.at(0), to: Self.at(0, day: Self.yesterday + 1), now: now, session: nurse, rules: Self.rules)
                .map { "\(SwedishTime.format($0.time).dropFirst(11).prefix(5)) \($0.state.rawValue)" }
        }
        #expect(try await states(at: Self.at(17)) == ["08:00 given", "18:00 planned"])
        #expect(try await states(at: Self.at(18, 10)) == ["08:00 given", "18:00 due"])
        #expect(try await states(at: Self.at(18, 45)) == ["08:00 given", "18:00 late"])
        #expect(try await states(at: Self.at(21)) == ["08:00 given", "18:00 missed"])
        // Struck as entered in error: the morning dose is open again, and long past.
        var struck = dose(order: "rx-1", at: Self.at(8, 10))
        struck["status"] = .string("entered-in-error")
        struck["statusReason"] = .array([FHIR.text("Fel patient")])
        _ = try await nurse.commit(.update(struck, type: "MedicationAdministration", id: "ma-morning"))
        #expect(try await states(at: Self.at(21)) == ["08:00 missed", "18:00 missed"])
        // A dose given late, recorded for its planned time, answers that time even outside the window.
        var late = dose(order: "rx-1", at: Self.at(20, 30))
        late.setExtension(DoseSchedule.plannedTimeExtension, "valueDateTime", .string(SwedishTime.format(Self.at(18))))
        _ = try await nurse.commit(.create(late, type: "MedicationAdministration", id: "ma-evening"))
        var notGiven = dose(order: "rx-1", status: "not-done", at: Self.at(8, 30))
        notGiven["statusReason"] = .array([FHIR.text("Fastande inför operation")])
        _ = try await nurse.commit(.create(notGiven, type: "MedicationAdministration", id: "ma-fasting"))
        let marked = try await DoseSchedule.read(patientIDs: ["p1"], from: Self.at(0), to: Self.at(0, day: Self.yesterday + 1), now: Self.at(21),
                                                 session: nurse, rules: Self.rules)
        #expect(marked.map(\.state) == [.notGiven, .given])
        #expect(marked.map(\.administration) == ["ma-fasting", "ma-evening"])
        #expect(marked.map(\.state.swedish) == ["Ej given", "Given"])
    }
}
