import Access
import Documentation
import FHIRCore
import KarnaTesting
import Medication
import Store
import StoreModel
import Terminology
import Testing

/// A MedicationRequest from JSON text, with changes on top.
func resource(_ json: String, _ changes: [(String, JSONValue?)] = []) throws -> JSONObject {
    var object = try #require(try JSONParser.parse(json).objectValue)
    for (key, value) in changes { object[key] = value }
    return object
}

/// A complete inpatient ordination: ramipril 1 tablett morgon och 2 tabletter kväll, for hypertoni, by `doc`.
func ordination(patient: String = "p1", _ changes: [(String, JSONValue?)] = []) throws -> JSONObject {
    try resource("""
    {"resourceType": "MedicationRequest", "status": "active", "intent": "order",
     "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/medicationrequest-category", "code": "inpatient"}]}],
     "medicationCodeableConcept": {"coding": [{"system": "http://www.whocc.no/atc", "code": "C09AA05"}], "text": "Ramipril 5 mg tablett"},
     "subject": {"reference": "Patient/\(patient)"}, "requester": {"reference": "PractitionerRole/doc-role"},
     "reasonCode": [{"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-se", "code": "I10"}], "text": "Hypertoni"}],
     "dosageInstruction": [
       {"sequence": 1, "route": {"text": "Oralt"}, "timing": {"repeat": {"boundsPeriod": {"start": "2026-12-01"}, "when": ["MORN"]}},
        "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "tablett"}}]},
       {"sequence": 1, "route": {"text": "Oralt"}, "timing": {"repeat": {"boundsPeriod": {"start": "2026-12-01"}, "when": ["EVE"]}},
        "doseAndRate": [{"doseQuantity": {"value": 2, "unit": "tablett"}}]}]}
    """, changes)
}

@Suite("Ordinations: who may ordinate, what an ordination states, and how it ends")
struct OrdinationTests {
    /// A product from the drug catalogue (NPL-id) with its ATC code, as the ordination form writes it.
    static func product(_ nplID: String, atc: String, text: String) -> (String, JSONValue?) {
        ("medicationCodeableConcept", FHIR.object([
            ("coding", .array([FHIR.object([("system", .string(NPLCatalogue.system)), ("code", .string(nplID))]),
                               FHIR.object([("system", .string("http://www.whocc.no/atc")), ("code", .string(atc))])])),
            ("text", .string(text))]))
    }

    @Test("a product withdrawn from the catalogue is not ordered anew; an ordination made before the withdrawal still stops", arguments: backends)
    func withdrawnProducts(backend: StoreBackend) async throws {
        let ward = try await Ward.make(backend)
        try await ward.contact("doc", patient: "p1")
        let doc = try await ward.session("doc")
        // The demo catalogue's morfin tablet is sales-stopped.
        #expect(await fails(.invalid, containing: "is inactive in Läkemedelskatalog (NPL)") {
            _ = try await doc.commit(.create(try ordination([Self.product("19990101000123", atc: "N02AA01", text: "Morfin Kärna tablett 10 mg")]),
                                             type: "MedicationRequest", id: "rx-morfin"))
        })
        let warfarin = Self.product("19990101000048", atc: "B01AA03", text: "Warfarin Kärna tablett 2,5 mg")
        _ = try await doc.commit(.create(try ordination([warfarin]), type: "MedicationRequest", id: "rx-warfarin"))
        // The next NPL delta stops warfarin's sales.
        let terminology = ward.documentation.terminology
        var export = NPLCatalogue.Export(kind: .delta, date: "2026-12-03", products: [])
        let catalogue = try #require(terminology.codeSystem(NPLCatalogue.system))
        let product = NPLCatalogue.Product(nplID: "19990101000048", name: "Warfarin Kärna", form: "tablett", strength: "2,5 mg", atc: "B01AA03",
                                               substances: ["warfarinnatrium"], packages: [], withdrawn: true)
        export.products = [product]
        terminology.register(try NPLCatalogue.apply(export, to: catalogue).catalogue)
        let stopped = try ordination([warfarin, ("status", .string("stopped")), ("statusReason", FHIR.object([("text", .string("Utgått ur sortimentet"))]))])
        _ = try await doc.commit(.update(stopped, type: "MedicationRequest", id: "rx-warfarin"))
        #expect(await fails(.invalid, containing: "is inactive") {
            _ = try await doc.commit(.create(try ordination([warfarin]), type: "MedicationRequest", id: "rx-warfarin-2"))
        })
    }

    @Test("a doctor ordinates; a nurse and a patient may not; the chart shows the Swedish dosage text", arguments: backends)
    func rights(backend: StoreBackend) async throws {
        let ward = try await Ward.make(backend)
        try await ward.contact("doc", patient: "p1")
        try await ward.contact("nurse", patient: "p1")
        let doc = try await ward.session("doc")
        let nurse = try await ward.session("nurse")
        #expect(await fails(.forbidden, containing: "ordination rights") {
            _ = try await nurse.commit(.create(try ordination(), type: "MedicationRequest", id: "rx-nurse"))
        })
        _ = try await doc.commit(.create(try ordination(), type: "MedicationRequest", id: "rx-1"))
        // A nurse does not stop it either.
        let stopped = try ordination([("status", .string("stopped")), ("statusReason", .object(JSONObject([("text", .string("Biverkan"))])))])
        #expect(await fails(.forbidden, containing: "ordination rights") {
            _ = try await nurse.commit(.update(stopped, type: "MedicationRequest", id: "rx-1"))
        })
        // A patient-reported drug (MedicationStatement) and a proposal are not ordinations: the nurse records them.
        _ = try await nurse.commit(.create(try ordination([("intent", .string("proposal"))]), type: "MedicationRequest", id: "rx-proposal"))
        let patient = ward.gateway.session(Principal(kind: .patient, id: "p1", displayName: "p1", assignment: nil, scopes: ScopeSet("patient/*.cruds"), clientID: "portal"),
                                           action: "test")
        #expect(await fails(.forbidden, containing: "a patient does not ordinate") {
            _ = try await patient.commit(.create(try ordination(), type: "MedicationRequest", id: "rx-patient"))
        })
        let chart = try await ward.gateway.overview.chart(patientID: "p1", session: doc)
        let line = try #require(chart.parts.flatMap(\.entries).first { $0.record.id == "rx-1" })
        #expect(line.line.detail == "1 tablett morgon och 2 tabletter kväll · Ordination, slutenvård")
    }

    @Test("an ordination in force states drug, route, dose, times, start, ordinationsorsak and ordinator; the first missing is named",
          arguments: backends)
    func complete(backend: StoreBackend) async throws {
        let ward = try await Ward.make(backend)
        try await ward.contact("doc", patient: "p1")
        let doc = try await ward.session("doc")
        var dosage = try #require(try ordination()["dosageInstruction"]?.arrayValue?.first?.objectValue)
        func without(_ key: String) -> JSONValue { var d = dosage; d[key] = nil; return .array([.object(d)]) }
        let cases: [(String, [(String, JSONValue?)])] = [
            ("MedicationRequest.medication[x]", [("medicationCodeableConcept", nil)]),
            ("MedicationRequest.dosageInstruction", [("dosageInstruction", nil)]),
            ("MedicationRequest.dosageInstruction[0].route", [("dosageInstruction", without("route"))]),
            ("MedicationRequest.dosageInstruction[0].doseAndRate", [("dosageInstruction", without("doseAndRate"))]),
            ("MedicationRequest.dosageInstruction[0].timing", [("dosageInstruction", without("timing"))]),
            ("MedicationRequest.reasonCode", [("reasonCode", nil)]),
            ("MedicationRequest.requester", [("requester", nil)]),
        ]
        for (index, (path, changes)) in cases.enumerated() {
            do {
                _ = try await doc.commit(.create(try ordination(changes), type: "MedicationRequest", id: "rx-\(index)"))
                Issue.record("an ordination without \(path) was written")
            } catch let error as FHIRError {
                #expect(error.category == .invalid && error.issues.first?.expression == [path], "\(path): \(error)")
                #expect(error.issues.first?.text?.hasPrefix("Ordinationen saknar") == true)
            }
        }
        // Without a start the ordination is refused; a draft may be incomplete (it is not in force).
        var unstarted = dosage
        unstarted["timing"] = .object(JSONObject([("repeat", .object(JSONObject([("when", .array([.string("MORN")]))])))]))
        #expect(await fails(.invalid, containing: "when it starts") {
            _ = try await doc.commit(.create(try ordination([("dosageInstruction", .array([.object(unstarted)]))]), type: "MedicationRequest", id: "rx-unstarted"))
        })
        _ = try await doc.commit(.create(try ordination([("status", .string("draft")), ("reasonCode", nil)]), type: "MedicationRequest", id: "rx-draft"))
        // Vid behov: the indication and a maximum per period.
        dosage["timing"] = .object(JSONObject([("repeat", .object(JSONObject([("boundsPeriod", .object(JSONObject([("start", .string("2026-12-01"))])))])))]))
        dosage["asNeededBoolean"] = .bool(true)
        #expect(await fails(.invalid, containing: "indication of a vid behov dose") {
            _ = try await doc.commit(.create(try ordination([("dosageInstruction", .array([.object(dosage)]))]), type: "MedicationRequest", id: "rx-prn"))
        })
        dosage["asNeededBoolean"] = nil
        dosage["asNeededCodeableConcept"] = .object(JSONObject([("text", .string("Smärta"))]))
        #expect(await fails(.invalid, containing: "the most a vid behov dose may give") {
            _ = try await doc.commit(.create(try ordination([("dosageInstruction", .array([.object(dosage)]))]), type: "MedicationRequest", id: "rx-prn"))
        })
        dosage["maxDosePerPeriod"] = try JSONParser.parse("""
            {"numerator": {"value": 4, "unit": "tablett"}, "denominator": {"value": 1, "code": "d", "system": "http://unitsofmeasure.org"}}
            """)
        _ = try await doc.commit(.create(try ordination([("dosageInstruction", .array([.object(dosage)]))]), type: "MedicationRequest", id: "rx-prn"))
        let written = try #require(try await ward.store.read(type: "MedicationRequest", id: "rx-prn"))
        #expect(DosageText.swedish(written.object["dosageInstruction"]?.arrayValue ?? []) == "1 tablett, vid behov mot smärta, högst 4 tabletter per dygn")
    }

    @Test("stopping and changing need a reason; an ended ordination is not reopened; an import never changes a status", arguments: backends)
    func ending(backend: StoreBackend) async throws {
        let ward = try await Ward.make(backend)
        try await ward.contact("doc", patient: "p1")
        let doc = try await ward.session("doc")
        _ = try await doc.commit(.create(try ordination(), type: "MedicationRequest", id: "rx-1"))
        #expect(await fails(.invalid, containing: "needs a reason") {
            _ = try await doc.commit(.update(try ordination([("status", .string("stopped"))]), type: "MedicationRequest", id: "rx-1"))
        })
        let stopped = try ordination([("status", .string("stopped")),
                                      ("statusReason", .object(JSONObject([("text", .string("Hosta, byts mot ARB"))])))])
        _ = try await doc.commit(.update(stopped, type: "MedicationRequest", id: "rx-1"))
        #expect(await fails(.conflict, containing: "ordinate anew") {
            _ = try await doc.commit(.update(try ordination(), type: "MedicationRequest", id: "rx-1"))
        })
        let history = try await ward.store.history(HistoryQuery(type: "MedicationRequest", id: "rx-1"))
        // A change of dose to an ordination in force gives its reason (ändringsorsak).
        _ = try await doc.commit(.create(try ordination(), type: "MedicationRequest", id: "rx-3"))
        var doubled = try ordination()
        doubled["dosageInstruction"] = try JSONParser.parse("""
            [{"route": {"text": "Oralt"}, "timing": {"repeat": {"boundsPeriod": {"start": "2026-12-01"}, "when": ["MORN", "EVE"]}},
              "doseAndRate": [{"doseQuantity": {"value": 2, "unit": "tablett"}}]}]
            """)
        #expect(await fails(.invalid, containing: "gives its reason") {
            _ = try await doc.commit(.update(doubled, type: "MedicationRequest", id: "rx-3"))
        })
        doubled["extension"] = .array([.object(JSONObject([("url", .string("https://karna.se/fhir/StructureDefinition/andringsorsak")),
                                                           ("valueString", .string("Otillräcklig effekt"))]))])
        _ = try await doc.commit(.update(doubled, type: "MedicationRequest", id: "rx-3"))
        #expect(history.count == 2, "the stop is a new version; the ordination as it was is kept")
        // An import records what another system sent, but does not stop or restart an ordination.
        _ = try await doc.commit(.create(try ordination(), type: "MedicationRequest", id: "rx-2"))
        let importer = ward.gateway.session(.job("karna-import"), action: "import")
        #expect(await fails(.conflict, containing: "an import does not change an ordination's status") {
            _ = try await importer.commit(.update(stopped, type: "MedicationRequest", id: "rx-2"))
        })
        _ = try await importer.commit(.create(try resource("""
            {"resourceType": "MedicationRequest", "status": "active", "intent": "order", "subject": {"reference": "Patient/p2"},
             "medicationCodeableConcept": {"coding": [{"system": "http://www.whocc.no/atc", "code": "C09AA05"}]}}
            """), type: "MedicationRequest", id: "rx-imported"))
    }
}

extension OrdinationTests {
    static let unconfirmed = JSONValue.object(JSONObject([("tag", .array([.object(JSONObject([
        ("system", .string("https://karna.se/fhir/CodeSystem/ordinationsstatus")), ("code", .string("obekraftad"))]))]))]))
    static let byTelephone = JSONValue.array([.object(JSONObject([
        ("url", .string("https://karna.se/fhir/StructureDefinition/muntlig-ordination")), ("valueCode", .string("telefon"))]))])

    @Test("a nurse records a telephone order with its ordinator; it is on the ordinator's list; only that ordinator confirms it; it stays marked",
          arguments: backends)
    func verbalOrder(backend: StoreBackend) async throws {
        let ward = try await Ward.make(backend)
        for person in ["doc", "doc2", "nurse"] { try await ward.contact(person, patient: "p1") }
        let (doc, doc2, nurse) = (try await ward.session("doc"), try await ward.session("doc2"), try await ward.session("nurse"))
        let recorded: [(String, JSONValue?)] = [("extension", Self.byTelephone), ("meta", Self.unconfirmed),
                                                ("recorder", Fixtures.reference("PractitionerRole/nurse-role"))]
        // The ordinator is someone who may ordinate, not the nurse herself or a secretary.
        #expect(await fails(.forbidden, containing: "ordination rights") {
            _ = try await nurse.commit(.create(try ordination(recorded + [("requester", Fixtures.reference("PractitionerRole/nurse-role"))]),
                                               type: "MedicationRequest", id: "rx-self"))
        })
        #expect(await fails(.invalid, containing: "names its ordinator") {
            _ = try await nurse.commit(.create(try ordination(recorded + [("requester", Fixtures.reference("PractitionerRole/secretary-role"))]),
                                               type: "MedicationRequest", id: "rx-secretary"))
        })
        _ = try await nurse.commit(.create(try ordination(recorded), type: "MedicationRequest", id: "rx-phone"))
        // The ordinator's list of unconfirmed orders is a search.
        let list = try await ward.store.search(try SearchQuery.parse(type: "MedicationRequest", parameters: [
            ("requester", "PractitionerRole/doc-role"), ("_tag", "https://karna.se/fhir/CodeSystem/ordinationsstatus|obekraftad")], strict: true), limit: 10)
        #expect(list == ["rx-phone"])
        // The ordinator's list says who recorded it and when, and alarms once it has waited past the configured time.
        let rules = try MedicationSafetyRules.shipped().administration
        let waiting = try await VerbalOrders.read(roleID: "doc-role", session: doc, rules: rules)
        #expect(waiting.items.map(\.order.id) == ["rx-phone"])
        #expect(waiting.items.first?.kind == "telefon" && waiting.items.first?.overdue == false && waiting.overdueCount == 0)
        let later = Instant.now() + Int64(rules.verbalOrderConfirmMinutes + 1) * 60_000
        #expect(try await VerbalOrders.read(roleID: "doc-role", now: later, session: doc, rules: rules).overdueCount == 1)
        #expect(try await VerbalOrders.read(roleID: "doc2-role", session: doc2, rules: rules).items.isEmpty, "another doctor's list does not hold it")
        // Another doctor does not confirm it; the nurse changes nothing more; the ordinator confirms.
        let confirmed = try ordination([("extension", Self.byTelephone), ("recorder", Fixtures.reference("PractitionerRole/nurse-role"))])
        #expect(await fails(.forbidden, containing: "only the ordinator") {
            _ = try await doc2.commit(.update(confirmed, type: "MedicationRequest", id: "rx-phone"))
        })
        #expect(await fails(.forbidden, containing: "ordination rights") {
            _ = try await nurse.commit(.update(confirmed, type: "MedicationRequest", id: "rx-phone"))
        })
        _ = try await doc.commit(.update(confirmed, type: "MedicationRequest", id: "rx-phone"))
        #expect(try await VerbalOrders.read(roleID: "doc-role", now: later, session: doc, rules: rules).items.isEmpty, "confirmed: off the list")
        // Confirmed stays confirmed; how it was given stays on it.
        #expect(await fails(.conflict, containing: "not made unconfirmed again") {
            _ = try await doc.commit(.update(try ordination(recorded), type: "MedicationRequest", id: "rx-phone"))
        })
        #expect(await fails(.conflict, containing: "stays marked as a telefon ordination") {
            _ = try await doc.commit(.update(try ordination(), type: "MedicationRequest", id: "rx-phone"))
        })
        // Only a verbal order awaits confirmation.
        #expect(await fails(.invalid, containing: "only a verbal order") {
            _ = try await doc.commit(.create(try ordination([("meta", Self.unconfirmed)]), type: "MedicationRequest", id: "rx-tagged"))
        })
    }
}

@Suite("The Swedish dosage text")
struct DosageTextTests {
    func text(_ json: String) throws -> String {
        DosageText.swedish(try #require(try JSONParser.parse(json).arrayValue))
    }

    @Test("times of day, frequencies, intervals, units, sequences and free text read as a Swedish dosage text")
    func texts() throws {
        #expect(try text(#"[{"timing": {"repeat": {"frequency": 3, "period": 1, "periodUnit": "d"}}, "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "kapsel"}}]}]"#)
                == "1 kapsel 3 gånger dagligen")
        #expect(try text(#"[{"timing": {"repeat": {"frequency": 1, "period": 8, "periodUnit": "h"}}, "doseAndRate": [{"doseQuantity": {"value": 0.5, "unit": "ml"}}]}]"#)
                == "0,5 ml var 8:e timme")
        #expect(try text(#"[{"timing": {"repeat": {"frequency": 1, "period": 2, "periodUnit": "d"}}, "doseAndRate": [{"doseQuantity": {"value": 2, "unit": "tablett"}}]}]"#)
                == "2 tabletter varannan dag")
        #expect(try text(#"[{"timing": {"repeat": {"timeOfDay": ["08:00:00", "20:00:00"]}}, "doseAndRate": [{"doseQuantity": {"value": 8, "code": "[iU]", "system": "http://unitsofmeasure.org"}}]}]"#)
                == "8 E kl. 08.00 och kl. 20.00", "internationella enheter are written E")
        #expect(try text(#"[{"sequence": 1, "timing": {"repeat": {"when": ["MORN", "NOON", "EVE"], "boundsDuration": {"value": 5, "code": "d"}}}, "doseAndRate": [{"doseQuantity": {"value": 2, "unit": "tablett"}}]}, {"sequence": 2, "timing": {"repeat": {"when": ["MORN"]}}, "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "tablett"}}]}]"#)
                == "2 tabletter morgon, middag och kväll i 5 dagar, därefter 1 tablett morgon")
        #expect(try text(#"[{"doseAndRate": [{"rateQuantity": {"value": 100, "unit": "ml/h"}}]}]"#) == "med hastigheten 100 ml/h")
        #expect(try text(#"[{"text": "Enligt särskilt schema"}]"#) == "Enligt särskilt schema", "fritextdosering is shown as written")
        #expect(try text(#"[{"timing": {"repeat": {"frequency": 1, "period": 21, "periodUnit": "d"}}, "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "ampull"}}]}]"#)
                == "1 ampull var 21:a dag")
        #expect(try text(#"[{"timing": {"repeat": {"frequency": 1, "period": 12, "periodUnit": "h"}}, "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "dos"}}]}]"#)
                == "1 dos var 12:e timme")
        #expect(try text(#"[{"timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "wk"}}, "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "tablett"}}]}]"#)
                == "1 tablett 2 gånger per vecka")
    }

    @Test("an engångsdos says once and when, in Swedish time; a counted dosage says how many doses")
    func once() throws {
        #expect(try text(#"[{"timing": {"repeat": {"count": 1, "boundsPeriod": {"start": "2026-12-08T07:00:00Z"}}}, "doseAndRate": [{"doseQuantity": {"value": 2, "unit": "tablett"}}]}]"#)
                == "2 tabletter en gång 2026-12-08 kl. 08.00", "07:00 UTC is 08:00 in Sweden in December")
        #expect(try text(#"[{"timing": {"repeat": {"count": 1, "boundsPeriod": {"start": "2026-07-01T06:30:00Z"}}}, "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "tablett"}}]}]"#)
                == "1 tablett en gång 2026-07-01 kl. 08.30", "summer time")
        #expect(try text(#"[{"timing": {"repeat": {"count": 1, "boundsPeriod": {"start": "2026-12-08"}}}, "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "tablett"}}]}]"#)
                == "1 tablett en gång 2026-12-08")
        #expect(try text(#"[{"timing": {"repeat": {"count": 3, "frequency": 1, "period": 8, "periodUnit": "h"}}, "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "g"}}]}]"#)
                == "1 g var 8:e timme (3 doser)")
    }
}
