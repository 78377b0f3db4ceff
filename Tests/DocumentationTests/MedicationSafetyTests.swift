import Access
import FHIRCore
import Foundation
import KarnaTesting
@testable import Medication
import Store
import StoreModel
import Testing

/// A draft MedicationRequest of one ATC substance (or, with `atc` nil, only a name).
func draft(_ id: String, atc: String?, name: String, patient: String = "p1") -> JSONValue {
    let coding = atc.map { "\"coding\": [{\"system\": \"http://www.whocc.no/atc\", \"code\": \"\($0)\"}], " } ?? ""
    return try! JSONParser.parse(#"""
        {"resource": {"resourceType": "MedicationRequest", "id": "\#(id)", "status": "draft", "intent": "order",
         "subject": {"reference": "Patient/\#(patient)"}, "medicationCodeableConcept": {\#(coding)"text": "\#(name)"}}}
        """#)
}

/// An order-sign (or order-select) call for `p1` with the given drafts.
func hook(_ hook: String = "order-sign", drafts: [JSONValue], selections: [String]? = nil, patient: String = "p1") -> HookCall {
    var context = JSONObject([("patientId", .string(patient)), ("userId", .string("Practitioner/doc")),
                              ("draftOrders", FHIR.object([("resourceType", .string("Bundle")), ("type", .string("collection")), ("entry", .array(drafts))]))])
    if let selections { context["selections"] = .array(selections.map(JSONValue.string)) }
    return HookCall(hook: hook, hookInstance: UUID().uuidString, context: context)
}

@Suite("Läkemedelskontroll (CDS Hooks services): interactions, allergy, duplicates, renal function, and checks that never pass silently")
struct MedicationSafetyTests {
    /// The shipped tables with a time limit a loaded test machine never reaches (the limit itself: `neverSilent`).
    static let rules: MedicationSafetyRules = {
        var rules = try! MedicationSafetyRules.shipped()
        rules.checkTimeoutMilliseconds = 60_000
        return rules
    }()

    static func service(_ hookName: String = "order-sign") throws -> any DecisionSupportService {
        try #require(Medication(safetyRules: .success(rules)).decisionSupport.first { $0.descriptor.hook == hookName })
    }

    /// A ward where `doc` has a care contact with p1 and has ordinated `atc` (active).
    static func ward(_ backend: StoreBackend, ordinated: [(id: String, atc: String, name: String)] = []) async throws -> (Ward, PatientDataSession) {
        let ward = try await Ward.make(backend)
        try await ward.contact("doc", patient: "p1")
        let doc = try await ward.session("doc")
        for drug in ordinated {
            let concept = FHIR.concept("http://www.whocc.no/atc", drug.atc, text: drug.name)
            _ = try await doc.commit(.create(try ordination([("medicationCodeableConcept", concept)]), type: "MedicationRequest", id: drug.id))
        }
        return (ward, doc)
    }

    @Test("class D is a critical card, C a warning, B information; each names the table and its version, and a drug without a partner gets none", arguments: backends)
    func interactions(backend: StoreBackend) async throws {
        let (_, doc) = try await Self.ward(backend, ordinated: [("rx-warfarin", "B01AA03", "Waran")])
        let service = try Self.service()
        let cards = try await service.call(hook(drafts: [draft("d1", atc: "M01AE01", name: "Ibuprofen"), draft("d2", atc: "N02BE01", name: "Alvedon"),
                                                         draft("d3", atc: "J01CE02", name: "Kåvepenin")]), session: doc)
        let interaction = cards.filter { $0.topic?.code == "interaktion" }
        #expect(interaction.map(\.indicator) == [.critical, .info], "\(interaction.map(\.summary))")
        let critical = try #require(interaction.first)
        #expect(critical.summary == "Interaktion D: Ibuprofen och Waran")
        #expect(critical.sourceLabel.contains("Kärna syntetisk interaktionstabell, version 2026-12-05"))
        #expect(critical.sourceLabel.contains("inte kliniskt innehåll"))
        #expect(critical.implicated == ["MedicationRequest/rx-warfarin"])
        #expect(!critical.overrideReasons.isEmpty)
        #expect(!interaction.contains { $0.summary.contains("Kåvepenin") })
        // Two drafts interact with each other too.
        let pair = try await service.call(hook(drafts: [draft("d4", atc: "B01AF02", name: "Eliquis"), draft("d5", atc: "M01AE01", name: "Ibuprofen")]), session: doc)
        #expect(pair.contains { $0.summary == "Interaktion C: Ibuprofen och Eliquis" && $0.indicator == .warning })
    }

    @Test("the card a user must decide on is stored as a preliminary DetectedIssue; an override of a critical card needs a reason and makes it final", arguments: backends)
    func decisionsStored(backend: StoreBackend) async throws {
        let (_, doc) = try await Self.ward(backend, ordinated: [("rx-warfarin", "B01AA03", "Waran")])
        let service = try Self.service()
        let cards = try await service.call(hook(drafts: [draft("d1", atc: "M01AE01", name: "Ibuprofen"), draft("d2", atc: "N02BE01", name: "Alvedon")]), session: doc)
        let critical = try #require(cards.first { $0.indicator == .critical })
        let info = try #require(cards.first { $0.indicator == .info })
        let stored = try #require(try await doc.read(type: "DetectedIssue", id: critical.uuid))
        #expect(stored.object["status"]?.stringValue == "preliminary")
        #expect(stored.object["severity"]?.stringValue == "high")
        #expect(stored.object["implicated"]?.arrayValue?.first?.objectValue?["reference"]?.stringValue == "MedicationRequest/rx-warfarin")
        #expect(try await doc.read(type: "DetectedIssue", id: info.uuid) == nil, "information needs no decision and is not stored")

        #expect(await fails(.invalid, containing: "only with a reason") {
            try await service.feedback([HookFeedback(card: critical.uuid, outcome: .overridden, outcomeTimestamp: "2026-12-05T10:00:00Z")], session: doc)
        })
        let reason = try #require(critical.overrideReasons.first)
        try await service.feedback([HookFeedback(card: critical.uuid, outcome: .overridden, overrideReason: (reason.system, reason.code, reason.display),
                                                 userComment: "Kort kur, följer Hb", outcomeTimestamp: "2026-12-05T10:00:00Z")], session: doc)
        let decided = try #require(try await doc.read(type: "DetectedIssue", id: critical.uuid))
        #expect(decided.object["status"]?.stringValue == "final")
        let mitigation = try #require(decided.object["mitigation"]?.arrayValue?.first?.objectValue)
        #expect(mitigation["action"]?.objectValue?["text"]?.stringValue == "Åsidosatt: \(reason.display): Kort kur, följer Hb")
        #expect(mitigation["author"]?.objectValue?["reference"]?.stringValue == "Practitioner/doc")
        #expect(decided.versionId == 2)
        #expect(await fails(.conflict, containing: "already recorded") {
            try await service.feedback([HookFeedback(card: critical.uuid, outcome: .accepted, outcomeTimestamp: "2026-12-05T10:01:00Z")], session: doc)
        })
        #expect(await fails(.notFound, containing: "no card") {
            try await service.feedback([HookFeedback(card: "no-such-card", outcome: .accepted, outcomeTimestamp: "2026-12-05T10:01:00Z")], session: doc)
        })
    }

    @Test("a confirmed allergy to the substance or its ATC group is critical, an unconfirmed one a warning, a refuted one nothing", arguments: backends)
    func allergy(backend: StoreBackend) async throws {
        let (_, doc) = try await Self.ward(backend)
        func allergy(_ id: String, atc: String, text: String, verification: String) throws -> JSONObject {
            try resource(#"""
                {"resourceType": "AllergyIntolerance", "patient": {"reference": "Patient/p1"},
                 "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active"}]},
                 "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", "code": "\#(verification)"}]},
                 "code": {"coding": [{"system": "http://www.whocc.no/atc", "code": "\#(atc)"}], "text": "\#(text)"},
                 "reaction": [{"description": "Urtikaria", "manifestation": [{"text": "Urtikaria"}]}]}
                """#)
        }
        _ = try await doc.commit(.create(try allergy("a1", atc: "J01CE", text: "Penicilliner", verification: "confirmed"), type: "AllergyIntolerance", id: "a1"))
        let service = try Self.service()
        let penicillin = try await service.call(hook(drafts: [draft("d1", atc: "J01CE02", name: "Kåvepenin")]), session: doc).filter { $0.topic?.code == "allergi" }
        #expect(penicillin.map(\.indicator) == [.critical])
        #expect(penicillin.first?.implicated == ["AllergyIntolerance/a1"])
        #expect(penicillin.first?.detail == "Urtikaria")
        _ = try await doc.commit(.update(try allergy("a1", atc: "J01CE", text: "Penicilliner", verification: "unconfirmed"), type: "AllergyIntolerance", id: "a1"))
        let unconfirmed = try await service.call(hook(drafts: [draft("d1", atc: "J01CE02", name: "Kåvepenin")]), session: doc).filter { $0.topic?.code == "allergi" }
        #expect(unconfirmed.map(\.indicator) == [.warning])
        #expect(unconfirmed.first?.summary.contains("obekräftad") == true)
        _ = try await doc.commit(.update(try allergy("a1", atc: "J01CE", text: "Penicilliner", verification: "refuted"), type: "AllergyIntolerance", id: "a1"))
        let refuted = try await service.call(hook(drafts: [draft("d1", atc: "J01CE02", name: "Kåvepenin")]), session: doc).filter { $0.topic?.code == "allergi" }
        #expect(refuted.isEmpty)
    }

    @Test("the same substance already on the list, or twice among the drafts, is a duplicate warning; the order being changed is not its own duplicate", arguments: backends)
    func duplicates(backend: StoreBackend) async throws {
        let (_, doc) = try await Self.ward(backend, ordinated: [("rx-ramipril", "C09AA05", "Ramipril")])
        let service = try Self.service()
        let again = try await service.call(hook(drafts: [draft("d1", atc: "C09AA05", name: "Ramipril")]), session: doc).filter { $0.topic?.code == "dubblett" }
        #expect(again.map(\.indicator) == [.warning])
        #expect(again.first?.implicated == ["MedicationRequest/rx-ramipril"])
        let changed = try await service.call(hook(drafts: [draft("rx-ramipril", atc: "C09AA05", name: "Ramipril")]), session: doc).filter { $0.topic?.code == "dubblett" }
        #expect(changed.isEmpty)
        let twice = try await service.call(hook(drafts: [draft("d2", atc: "N02BE01", name: "Alvedon"), draft("d3", atc: "N02BE01", name: "Panodil")]), session: doc)
            .filter { $0.topic?.code == "dubblett" }
        #expect(twice.map(\.summary) == ["Dubblett: Panodil finns redan bland ordinationerna som skrivs"])
    }

    @Test("renal limits use the latest eGFR within a year, and say so when there is none (naming the latest creatinine)", arguments: backends)
    func renal(backend: StoreBackend) async throws {
        let (_, doc) = try await Self.ward(backend)
        let service = try Self.service()
        let metformin = [draft("d1", atc: "A10BA02", name: "Metformin")]
        func renalCards() async throws -> [DecisionCard] { try await service.call(hook(drafts: metformin), session: doc).filter { $0.topic?.code == "njurfunktion" } }
        func observation(_ id: String, system: String, code: String, value: Int, unit: String, daysAgo: Int) throws -> JSONObject {
            try resource(#"""
                {"resourceType": "Observation", "status": "final", "subject": {"reference": "Patient/p1"},
                 "code": {"coding": [{"system": "\#(system)", "code": "\#(code)"}]},
                 "effectiveDateTime": "\#(SwedishTime.formatDay(SwedishTime.today - daysAgo))",
                 "valueQuantity": {"value": \#(value), "unit": "\#(unit)"}}
                """#)
        }
        let unknown = try await renalCards()
        #expect(unknown.map(\.summary) == ["Njurfunktion okänd: inget eGFR de senaste 365 dagarna"])
        #expect(unknown.first?.indicator == .warning)
        _ = try await doc.commit(.create(try observation("krea", system: "urn:oid:1.2.208.176.2.1", code: "NPU04998", value: 160, unit: "µmol/L", daysAgo: 3),
                                         type: "Observation", id: "krea"))
        _ = try await doc.commit(.create(try observation("old", system: "http://loinc.org", code: "62238-1", value: 20, unit: "mL/min/1,73 m2", daysAgo: 400),
                                         type: "Observation", id: "old"))
        let stillUnknown = try await renalCards()
        #expect(stillUnknown.first?.summary.hasPrefix("Njurfunktion okänd") == true, "an eGFR older than a year does not count")
        #expect(stillUnknown.first?.detail?.contains("Senaste kreatinin: 160 µmol/L") == true)
        _ = try await doc.commit(.create(try observation("e1", system: "http://loinc.org", code: "62238-1", value: 25, unit: "mL/min/1,73 m2", daysAgo: 10),
                                         type: "Observation", id: "e1"))
        #expect(try await renalCards().map(\.indicator) == [.critical])
        _ = try await doc.commit(.create(try observation("e2", system: "http://loinc.org", code: "62238-1", value: 40, unit: "mL/min/1,73 m2", daysAgo: 2),
                                         type: "Observation", id: "e2"))
        let moderate = try await renalCards()
        #expect(moderate.map(\.indicator) == [.warning], "the latest value counts, and the strictest limit it falls under")
        #expect(moderate.first?.implicated == ["Observation/e2"])
        _ = try await doc.commit(.create(try observation("e3", system: "http://loinc.org", code: "62238-1", value: 70, unit: "mL/min/1,73 m2", daysAgo: 1),
                                         type: "Observation", id: "e3"))
        #expect(try await renalCards().isEmpty)
        // A drug without a renal limit asks nothing of the kidneys.
        #expect(try await service.call(hook(drafts: [draft("d2", atc: "C07AB02", name: "Metoprolol")]), session: doc).allSatisfy { $0.topic?.code != "njurfunktion" })
    }

    /// A draft with a structured dose: `value` `unit` per dose, `perDay` times a day (nil: as needed).
    static func dosed(_ id: String, atc: String, name: String, value: Double, unit: String, perDay: Int?, patient: String) -> JSONValue {
        let timing = perDay.map { #""timing": {"repeat": {"frequency": \#($0), "period": 1, "periodUnit": "d"}}, "# } ?? #""asNeededBoolean": true, "#
        return try! JSONParser.parse(#"""
            {"resource": {"resourceType": "MedicationRequest", "id": "\#(id)", "status": "draft", "intent": "order",
             "subject": {"reference": "Patient/\#(patient)"},
             "medicationCodeableConcept": {"coding": [{"system": "http://www.whocc.no/atc", "code": "\#(atc)"}], "text": "\#(name)"},
             "dosageInstruction": [{\#(timing)"route": {"text": "Oralt"}, "doseAndRate": [{"doseQuantity": {"value": \#(value), "unit": "\#(unit)"}}]}]}}
            """#)
    }

    @Test("a child's weight-based dose needs a current weight; a dose per kg or per kg and day outside the table's range is critical; an adult is not checked", arguments: backends)
    func paediatricDoses(backend: StoreBackend) async throws {
        let (ward, doc) = try await Self.ward(backend)
        let born = SwedishTime.formatDay(SwedishTime.today - 6 * 366)
        _ = try await ward.store.commit([.update(JSONObject([("resourceType", .string("Patient")), ("id", .string("barn")), ("active", .bool(true)),
                                                            ("name", .array([.object(JSONObject([("family", .string("Ek")), ("given", .array([.string("Liten")]))]))])),
                                                            ("birthDate", .string(born))]), type: "Patient", id: "barn")])
        try await ward.contact("doc", patient: "barn")
        let service = try Self.service()
        func cards(_ value: Double, _ unit: String = "mg", perDay: Int? = 4, atc: String = "N02BE01", patient: String = "barn") async throws -> [DecisionCard] {
            let drafts = [Self.dosed("d1", atc: atc, name: "Paracetamol", value: value, unit: unit, perDay: perDay, patient: patient)]
            return try await service.call(hook(drafts: drafts, patient: patient), session: doc).filter { $0.topic?.code == "barndos" }
        }
        func weigh(_ id: String, kilograms: Double, daysAgo: Int) async throws {
            _ = try await doc.commit(.create(try resource(#"""
                {"resourceType": "Observation", "status": "final", "subject": {"reference": "Patient/barn"},
                 "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
                 "effectiveDateTime": "\#(SwedishTime.formatDay(SwedishTime.today - daysAgo))", "valueQuantity": {"value": \#(kilograms), "unit": "kg"}}
                """#), type: "Observation", id: id))
        }
        let unweighed = try await cards(250)
        #expect(unweighed.map(\.indicator) == [.critical])
        #expect(unweighed.first?.summary == "Aktuell vikt saknas: Paracetamol doseras per kg till barn (6 år)")
        #expect(unweighed.first?.sourceLabel.contains("Kärna syntetisk doseringstabell för barn, version 2026-12-06") == true)
        try await weigh("old", kilograms: 18, daysAgo: 40)
        #expect(try await cards(250).first?.summary.hasPrefix("Aktuell vikt saknas") == true, "a weight older than the table's 30 days is not current")
        try await weigh("w1", kilograms: 20, daysAgo: 3)
        #expect(try await cards(250).isEmpty, "12,5 mg/kg four times a day (50 mg/kg and day) is within the range")
        let high = try await cards(500)
        #expect(high.map(\.summary) == ["Dos per kg: Paracetamol 25 mg/kg per dos, utanför 10–15 mg/kg"])
        #expect(high.first?.indicator == .critical)
        #expect(high.first?.implicated == ["Observation/w1"])
        #expect(try await cards(100).first?.summary == "Dos per kg: Paracetamol 5 mg/kg per dos, utanför 10–15 mg/kg")
        #expect(try await cards(0.25, "g").isEmpty, "0,25 g is 250 mg")
        let daily = try await cards(250, perDay: 8)
        #expect(daily.map(\.summary) == ["Dygnsdos per kg: Paracetamol 100 mg/kg och dygn, över 75"])
        #expect(try await cards(250, perDay: nil).isEmpty, "as needed: the dose per kg is checked, a day's amount is not known")
        let counted = try await cards(1, "tablett")
        #expect(counted.map(\.indicator) == [.warning])
        #expect(counted.first?.summary == "Ej kontrollerat: dosen av Paracetamol kan inte räknas per kg")
        // A drug without a children's range, and an adult, are not weight-checked.
        #expect(try await cards(50, atc: "C07AB02").isEmpty)
        #expect(try await cards(1000, patient: "p1").isEmpty)
    }

    @Test("a check that fails or runs out of time says 'Kontroll ej utförd' while the others still answer; an uncoded drug is not passed", arguments: backends)
    func neverSilent(backend: StoreBackend) async throws {
        let (_, doc) = try await Self.ward(backend, ordinated: [("rx-warfarin", "B01AA03", "Waran")])
        var quick = Self.rules
        quick.checkTimeoutMilliseconds = 1_000
        struct Broken: Error {}
        let failing = MedicationCheck(title: "trasig kontroll") { _ in throw Broken() }
        let slow = MedicationCheck(title: "långsam kontroll") { _ in try await Task.sleep(for: .seconds(60)); return [] }
        let fine = MedicationCheck(title: "fungerande kontroll") { _ in [DecisionCard(summary: "Svar", indicator: .info, sourceLabel: "test")] }
        let service = MedicationSafetyService(hook: "order-sign", rules: .success(quick), checks: [failing, slow, fine])
        let started = ContinuousClock.now
        let cards = try await service.call(hook(drafts: [draft("d1", atc: "M01AE01", name: "Ibuprofen")]), session: doc)
        #expect(ContinuousClock.now - started < .seconds(30), "the slow check is cut off at its limit")
        #expect(cards.map(\.summary) == ["Kontroll ej utförd: trasig kontroll", "Kontroll ej utförd: långsam kontroll", "Svar"])
        #expect(cards[1].detail?.contains("1000 ms") == true)
        #expect(cards[0].indicator == .warning && cards[1].indicator == .warning)
        // Tables that could not be read: every call says so instead of answering nothing.
        let unread = MedicationSafetyService(hook: "order-sign", rules: .failure(RulesError(file: "x.json", problem: "cannot be read")))
        await #expect(throws: RulesError.self) { try await unread.call(hook(drafts: [draft("d1", atc: "M01AE01", name: "Ibuprofen")]), session: doc) }

        let uncoded = try await Self.service().call(hook(drafts: [draft("d2", atc: nil, name: "Huskur")]), session: doc)
        #expect(uncoded.map(\.summary) == ["Ej kontrollerat: Huskur saknar ATC-kod"])
    }

    @Test("order-select checks only the selected drafts; the caller needs the patient's care relationship", arguments: backends)
    func selections(backend: StoreBackend) async throws {
        let (ward, doc) = try await Self.ward(backend, ordinated: [("rx-warfarin", "B01AA03", "Waran")])
        let select = try Self.service("order-select")
        let drafts = [draft("d1", atc: "M01AE01", name: "Ibuprofen"), draft("d2", atc: "C07AB02", name: "Metoprolol")]
        #expect(try await select.call(hook("order-select", drafts: drafts, selections: ["MedicationRequest/d2"]), session: doc).isEmpty)
        #expect(try await select.call(hook("order-select", drafts: drafts, selections: ["MedicationRequest/d1"]), session: doc)
            .filter { $0.topic?.code == "interaktion" }.map(\.indicator) == [.critical])
        // A nurse at another unit without a care relationship is refused before any check runs.
        let stranger = try await ward.session("privdoc")
        #expect(await fails(.forbidden) { _ = try await select.call(hook("order-select", drafts: drafts, selections: ["MedicationRequest/d1"]), session: stranger) })
        #expect(await fails(.invalid, containing: "context.draftOrders") {
            _ = try await select.call(HookCall(hook: "order-select", hookInstance: "x", context: JSONObject([("patientId", .string("p1"))])), session: doc)
        })
    }

    @Test("a rules file with a wrong value stops with the file and the rule named")
    func rulesValidated() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("karna-rules-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let shipped = try #require(MedicationSafetyRules.shippedURL)
        let text = try String(contentsOf: shipped, encoding: .utf8)
        let bad = folder.appendingPathComponent("bad.json")
        try text.replacingOccurrences(of: #""class": "D", "level": 4"#, with: #""class": "E", "level": 4"#).write(to: bad, atomically: true, encoding: .utf8)
        #expect(throws: RulesError.self) { try MedicationSafetyRules.load(bad) }
        do { _ = try MedicationSafetyRules.load(bad) } catch let error as RulesError {
            #expect(error.description == "medication rules \(bad.path): interactions.rules[0].class must be A, B, C or D")
        }
        let missing = folder.appendingPathComponent("missing.json")
        try text.replacingOccurrences(of: #""maximumAgeDays": 365,"#, with: "").write(to: missing, atomically: true, encoding: .utf8)
        do { _ = try MedicationSafetyRules.load(missing); Issue.record("loaded without maximumAgeDays") } catch let error as RulesError {
            #expect(error.problem == "renal.maximumAgeDays is missing")
        }
    }
}
