import Access
@testable import BulkExport
import FHIRCore
import Foundation
import KarnaTesting
import Store
import StoreModel
import Testing

/// The patientregister delivery against a golden month: which encounters are reported, and every byte of the files.
@Suite("PAR: the patientregister delivery")
struct PARExportTests {
    static func json(_ members: [(String, JSONValue)]) -> JSONObject { JSONObject(members.map { (key: $0.0, value: $0.1) }) }
    static func ref(_ text: String) -> JSONValue { Fixtures.reference(text) }
    static func coded(_ system: String, _ code: String) -> JSONValue { .object(json([("coding", .array([.object(json([("system", .string(system)), ("code", .string(code))]))]))])) }
    static let icd = "urn:oid:1.2.752.116.1.1.1.1.3"

    static func encounter(_ id: String, _ kind: String, patient: String, unit: String, start: String, end: String?, status: String = "finished",
                          doctor: String? = nil, reason: String? = nil, steps: [(String, String)] = [], disposition: String? = nil, admitted: String? = nil) -> JSONObject {
        var period: [(String, JSONValue)] = [("start", .string(start))]
        if let end { period.append(("end", .string(end))) }
        var members: [(String, JSONValue)] = [("resourceType", .string("Encounter")), ("id", .string(id)), ("status", .string(status)),
                                              ("class", .object(json([("system", .string("http://terminology.hl7.org/CodeSystem/v3-ActCode")), ("code", .string(kind))]))),
                                              ("subject", ref("Patient/\(patient)")), ("period", .object(json(period))), ("serviceProvider", ref("Organization/\(unit)"))]
        if let doctor { members.append(("participant", .array([.object(json([("individual", ref("Practitioner/\(doctor)"))]))]))) }
        if let reason { members.append(("reasonCode", .array([coded(icd, reason)]))) }
        if !steps.isEmpty {
            members.append(("statusHistory", .array(steps.map { step, at in
                .object(json([("extension", .array([.object(json([("url", .string(EDTimes.stepExtension)), ("valueCode", .string(step))]))])),
                              ("status", .string("in-progress")), ("period", .object(json([("start", .string(at))])))]))
            })))
        }
        var hospitalization: [(String, JSONValue)] = []
        if let admitted { hospitalization.append(("admitSource", coded("https://karna.se/fhir/CodeSystem/inskrivningssatt", admitted))) }
        if let disposition { hospitalization.append(("dischargeDisposition", coded("https://karna.se/fhir/CodeSystem/akut-avslut", disposition))) }
        if !hospitalization.isEmpty { members.append(("hospitalization", .object(json(hospitalization)))) }
        return json(members)
    }

    /// A hospital with a ward and an emergency department, a vårdcentral, a doctor and a nurse, two patients, and the
    /// encounters of September–November 2026 that are (e1, e3, e6, e8) and are not (the rest) reported in December.
    static func golden() async throws -> (any ResourceStore, AccessGateway) {
        let store = try await StoreBackend.sqlite.makeStore()
        var hospital = Fixtures.organization("hosp", "Testsjukhuset", partOf: "reg")
        hospital["identifier"] = .array([.object(json([("system", .string("urn:oid:1.2.752.29.4.19")), ("value", .string("SE2321000999-1000"))]))])
        func practitioner(_ id: String, _ qualification: String) -> JSONObject {
            json([("resourceType", .string("Practitioner")), ("id", .string(id)),
                  ("qualification", .array([.object(json([("code", coded("urn:oid:1.2.752.29.23.1.6", qualification))]))]))])
        }
        func patient(_ id: String, _ pnr: String, _ gender: String, _ born: String) -> JSONObject {
            json([("resourceType", .string("Patient")), ("id", .string(id)), ("gender", .string(gender)), ("birthDate", .string(born)),
                  ("identifier", .array([.object(json([("system", .string(SwedishPersonalIdentity.personnummerSystem)), ("value", .string(pnr))]))]))])
        }
        func condition(_ id: String, _ code: String, encounter: String) -> JSONObject {
            json([("resourceType", .string("Condition")), ("id", .string(id)), ("code", coded(icd, code)), ("subject", ref("Patient/p1")), ("encounter", ref("Encounter/\(encounter)"))])
        }
        func given(_ id: String, _ atc: String, encounter: String, at: String, status: String = "completed") -> JSONObject {
            json([("resourceType", .string("MedicationAdministration")), ("id", .string(id)), ("status", .string(status)),
                  ("medicationCodeableConcept", coded("http://www.whocc.no/atc", atc)), ("subject", ref("Patient/p1")),
                  ("context", ref("Encounter/\(encounter)")), ("effectiveDateTime", .string(at))])
        }
        let records: [JSONObject] = [
            Fixtures.organization("reg", "Region Test", partOf: nil), hospital,
            Fixtures.organization("med", "Medicinavdelning 1, Testsjukhuset", partOf: "hosp"), Fixtures.organization("akut", "Akutmottagningen, Testsjukhuset", partOf: "hosp"),
            Fixtures.organization("vc", "Vårdcentralen Norr", partOf: "reg"),
            practitioner("doc", "LK"), practitioner("ssk", "SJ"),
            patient("p1", "198002142381", "female", "1980-02-14"), patient("p2", "19750709-1234", "male", "1975-07-09"),
            encounter("e1", "IMP", patient: "p1", unit: "med", start: "2026-10-02T08:00:00+02:00", end: "2026-10-05T11:00:00+02:00", disposition: "hem", admitted: "planerad"),
            condition("c1", "I50.9", encounter: "e1"), condition("c2", "E11.9", encounter: "e1"),
            json([("resourceType", .string("Procedure")), ("id", .string("pr1")), ("status", .string("completed")), ("code", coded("urn:oid:1.2.752.116.1.3.2.1.4", "DT016")),
                  ("subject", ref("Patient/p1")), ("encounter", ref("Encounter/e1")), ("performedDateTime", .string("2026-10-03T10:00:00+02:00"))]),
            // Läkemedelstillförsel: once per code and day; a dose not given, one in error and one at an unreported visit are not.
            given("ma1", "B01AB01", encounter: "e1", at: "2026-10-02T20:00:00+02:00"), given("ma2", "B01AB01", encounter: "e1", at: "2026-10-03T08:00:00+02:00"),
            given("ma3", "B01AB01", encounter: "e1", at: "2026-10-03T20:00:00+02:00"), given("ma4", "J01CF05", encounter: "e1", at: "2026-10-03T12:00:00+02:00", status: "not-done"),
            given("ma5", "A02BC01", encounter: "e1", at: "2026-10-03T07:00:00+02:00"), given("ma6", "N02BE01", encounter: "e1", at: "2026-10-04T07:00:00+02:00", status: "entered-in-error"),
            // After midnight in Sweden, still the 20th in UTC: the Swedish day is reported.
            given("ma7", "N02BE01", encounter: "e6", at: "2026-11-20T23:20:00Z"), given("ma8", "N02BE01", encounter: "e7", at: "2026-11-21T10:30:00+01:00"),
            // Discharged on 1 December: the next delivery's.
            encounter("e2", "IMP", patient: "p2", unit: "med", start: "2026-11-28T08:00:00+01:00", end: "2026-12-01T09:00:00+01:00"),
            encounter("e3", "AMB", patient: "p2", unit: "med", start: "2026-11-10T09:00:00+01:00", end: "2026-11-10T09:30:00+01:00", doctor: "doc", reason: "I10"),
            // Primary care, and a visit to a nurse: not reported.
            encounter("e4", "AMB", patient: "p1", unit: "vc", start: "2026-11-11T09:00:00+01:00", end: "2026-11-11T09:20:00+01:00", doctor: "doc", reason: "J06.9"),
            encounter("e5", "AMB", patient: "p1", unit: "med", start: "2026-11-12T09:00:00+01:00", end: "2026-11-12T09:20:00+01:00", doctor: "ssk", reason: "Z00.0"),
            // A doctor met by video (distanskontakt) is a visit too; one at the vårdcentral is primary care.
            encounter("e8", "VR", patient: "p1", unit: "med", start: "2026-11-15T10:00:00+01:00", end: "2026-11-15T10:20:00+01:00", doctor: "doc", reason: "E11.9"),
            encounter("e9", "VR", patient: "p1", unit: "vc", start: "2026-11-16T10:00:00+01:00", end: "2026-11-16T10:20:00+01:00", doctor: "doc", reason: "J06.9"),
            // The emergency department: left after the doctor (avbruten vård), and left before a doctor (not a reportable visit).
            encounter("e6", "EMER", patient: "p2", unit: "akut", start: "2026-11-20T22:30:00+01:00", end: "2026-11-21T01:10:00+01:00", reason: "R07.4",
                      steps: [("ankomst", "2026-11-20T22:30:00+01:00"), ("lakare", "2026-11-20T23:40:00+01:00"), ("utskriven", "2026-11-21T01:10:00+01:00")],
                      disposition: "avbruten"),
            encounter("e7", "EMER", patient: "p1", unit: "akut", start: "2026-11-21T10:00:00+01:00", end: "2026-11-21T11:00:00+01:00", reason: "R10.4",
                      steps: [("ankomst", "2026-11-21T10:00:00+01:00"), ("utskriven", "2026-11-21T11:00:00+01:00")], disposition: "lamnat-fore-lakare"),
        ]
        _ = try await store.commit(records.map { .update($0, type: $0.resourceType!, id: $0["id"]!.stringValue!) })
        return (store, AccessGateway(store: store, settings: AccessSettings(defaultProviderID: "reg")))
    }

    @Test("the LT files report every ATC code given unless the layout lists prefixes, and then only those")
    func reportedMedication() throws {
        let every = PARLayout.Medication(atcSystem: "http://www.whocc.no/atc", atcPrefixes: [])
        let some = PARLayout.Medication(atcSystem: "http://www.whocc.no/atc", atcPrefixes: ["L01", "L04AB"])
        #expect(every.reports(atc: "N02BE01") && every.reports(atc: "L01XC02"))
        #expect(some.reports(atc: "L01XC02") && some.reports(atc: "L04AB02"))
        #expect(!some.reports(atc: "N02BE01") && !some.reports(atc: "L04AA01"))
        #expect(try PARExport().layout.medication.atcSystem == "http://www.whocc.no/atc", "par.json names the ATC system the medication module records")
    }

    @Test("a region's own layout file is used as given; one lacking a setting or not JSON is refused naming the file and the setting")
    func regionsLayout() async throws {
        var layout = try #require(try JSONParser.parse(Array(try JSONEncoder().encode(try PARExport().layout))).objectValue)
        layout["lanskod"] = .string("12")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("karna-par-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let own = folder.appendingPathComponent("par.json")
        try Data(JSONWriter.bytes(.object(layout))).write(to: own)
        let (store, gateway) = try await Self.golden()
        let files = try await PARExport(layoutFile: own).files(month: "2026-12", session: gateway.session(.job("par-export"), action: "par-export"))
        #expect(files.first?.name == "12_ov_20260901_20261130.txt")
        try await store.close()

        layout["medication"] = .object(JSONObject([("atcSystem", .string("http://www.whocc.no/atc"))]))
        try Data(JSONWriter.bytes(.object(layout))).write(to: own)
        let lacking = #expect(throws: FHIRError.self) { try PARExport(layoutFile: own) }
        #expect(lacking?.issues.first?.diagnostics == "the PAR layout \(own.path) lacks medication.atcPrefixes")
        try Data("lanskod: 12".utf8).write(to: own)
        let notJSON = #expect(throws: FHIRError.self) { try PARExport(layoutFile: own) }
        #expect(notJSON?.issues.first?.diagnostics.hasPrefix("the PAR layout \(own.path) is not JSON") == true)
        #expect(throws: FHIRError.self) { try PARExport(layoutFile: folder.appendingPathComponent("missing.json")) }
    }

    @Test("the December delivery holds September to November: the stay by its discharge, the hospital's doctor visits, the emergency visit seen by a doctor with its times and avbruten vård, a doctor met by video, the drugs given at them (LT); byte for byte, and again the same")
    func goldenMonth() async throws {
        let (store, gateway) = try await Self.golden()
        let export = try PARExport()
        let files = try await export.files(month: "2026-12", session: gateway.session(.job("par-export"), action: "par-export"))
        let text = Dictionary(uniqueKeysWithValues: files.map { ($0.name, $0.text) })
        #expect(files.map(\.name) == ["ov", "ov_dia", "ov_lt", "ov_op", "sv", "sv_dia", "sv_lt", "sv_op", "sv_psyk"].map { "99_\($0)_20260901_20261130.txt" })
        #expect(text["99_sv_20260901_20261130.txt"] == "1;198002142381;2;46;99001;101;20261002;20261005;3;1;1;I50.9\r\n")
        #expect(text["99_sv_dia_20260901_20261130.txt"] == "1;1;I50.9\r\n1;2;E11.9\r\n")
        #expect(text["99_sv_op_20260901_20261130.txt"] == "1;1;DT016;20261003\r\n")
        #expect(text["99_ov_20260901_20261130.txt"] == "1;197507091234;1;51;99001;101;20261110;;;;;;;I10\r\n"
            + "2;198002142381;2;46;99001;101;20261115;;;;;;1;E11.9\r\n"
            + "3;197507091234;1;51;99001;046;20261120;1;202611202230;202611202340;202611210110;1;;R07.4\r\n")
        #expect(text["99_ov_dia_20260901_20261130.txt"] == "1;1;I10\r\n2;1;E11.9\r\n3;1;R07.4\r\n")
        #expect(text["99_sv_lt_20260901_20261130.txt"] == "1;B01AB01;20261002\r\n1;A02BC01;20261003\r\n1;B01AB01;20261003\r\n")
        #expect(text["99_ov_lt_20260901_20261130.txt"] == "3;N02BE01;20261121\r\n")
        #expect(["99_ov_op_20260901_20261130.txt", "99_sv_psyk_20260901_20261130.txt"].allSatisfy { text[$0] == "" })
        let again = try await export.files(month: "2026-12", session: gateway.session(.job("par-export"), action: "par-export"))
        #expect(again.map(\.text) == files.map(\.text), "the same records give the same bytes")
        // The next delivery (October to December) has the October stay again and the one discharged on 1 December; a month that is not one is refused.
        let january = try await export.files(month: "2027-01", session: gateway.session(.job("par-export"), action: "par-export"))
        #expect(january.first { $0.name == "99_sv_20261001_20261231.txt" }?.text.hasSuffix("\r\n2;197507091234;1;51;99001;101;20261128;20261201;3;;;\r\n") == true)
        await #expect(throws: FHIRError.self) { _ = try await export.files(month: "2026-13", session: gateway.session(.job("par-export"), action: "par-export")) }
        try await store.close()
    }
}
