import Access
import FHIRCore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import KarnaTesting
import Medication
import NLLClient
import Store
import StoreModel
import Terminology
import Testing

/// A prescription draft as the prescriber gives it: ramipril 5 mg, 1 kapsel morgon, 3 uttag of 100.
func prescriptionDraft(_ changes: [(String, JSONValue?)] = [], product: (String, String, String) = ("19990101000079", "C09AA05", "Ramipril Kärna kapsel 5 mg"),
                       extensions: [(String, String, JSONValue)]? = nil) throws -> JSONObject {
    var draft = try resource("""
    {"resourceType": "MedicationRequest",
     "medicationCodeableConcept": {"coding": [{"system": "\(Prescription.nplID)", "code": "\(product.0)"},
                                              {"system": "http://www.whocc.no/atc", "code": "\(product.1)"}], "text": "\(product.2)"},
     "reasonCode": [{"coding": [{"system": "http://snomed.info/sct", "code": "38341003"}], "text": "Hypertoni"}],
     "dosageInstruction": [{"sequence": 1, "route": {"text": "Oralt"},
        "timing": {"repeat": {"boundsPeriod": {"start": "2026-12-06"}, "when": ["MORN"]}},
        "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "kapsel"}}]}],
     "dispenseRequest": {"numberOfRepeatsAllowed": 2, "quantity": {"value": 100, "unit": "kapsel"},
                         "validityPeriod": {"start": "2026-12-06", "end": "2027-12-05"}}}
    """, changes)
    for (url, key, value) in extensions ?? [(Prescription.purposeExtension, "valueString", .string("mot förhöjt blodtryck")),
                                            (Prescription.followUpExtension, "valueDate", .string("2027-06-01"))] {
        draft.setExtension(url, key, value)
    }
    return draft
}

/// A network that records what would have been sent, for the test that nothing is sent without a header.
struct RecordingTransport: NLLTransport {
    let sent = Counter()
    final class Counter: @unchecked Sendable { var value = 0 }
    func send(_ request: URLRequest) async throws -> (status: Int, headers: [String: String], body: Data) {
        sent.value += 1
        return (200, [:], Data("{}".utf8))
    }
}

@Suite("Prescribing to Nationella läkemedelslistan, against the NLL-simulator (a test component)")
struct PrescribingTests {
    /// A ward whose medication module talks to `simulator`, with the server's clock at `now`.
    static func ward(_ backend: StoreBackend, _ simulator: NLLSimulator?, now: String = "2026-12-06T10:00:00+01:00",
                     timeout: Double = 5, alarmMinutes: Int = 30) async throws -> (Ward, Medication) {
        let clock = Instant.parse(now)!
        let settings = PrescribingSettings(nll: simulator.map { NLLClient(baseURL: $0.url, timeoutSeconds: timeout) }, token: "test-token",
                                           userAgent: "Karna-test/1", unsentAlarmMinutes: alarmMinutes, clock: { clock })
        let medication = Medication(prescribing: settings, terminology: TerminologyService.shipped())
        let ward = try await Ward.make(backend, medication: medication)
        try await ward.contact("doc", patient: "p1")
        return (ward, medication)
    }

    static func prescribe(_ medication: Medication, _ session: PatientDataSession, _ draft: JSONObject, patient: String = "p1",
                          override: String? = nil, nllDrugs: [NLLRow] = []) async throws -> Prescribing.Outcome {
        try await medication.prescribing.prescribe(draft, patientID: patient, overrideReason: override, nllDrugs: nllDrugs,
                                                   decisionSupport: medication.decisionSupport, session: session)
    }

    @Test("the client refuses to send a call that lacks a header NLL requires; nothing leaves")
    func clientRefusesMissingHeaders() async throws {
        let transport = RecordingTransport()
        let client = NLLClient(baseURL: URL(string: "http://127.0.0.1:1")!, transport: transport)
        let provenance = NLLClient.provenance(author: ("Anna", "SE1"), enterer: ("Erik", "SE2"), activity: "CREATE", reason: nil,
                                              target: "MedicationRequest/x", recorded: "2026-12-06T10:00:00+01:00")
        let good = NLLCallContext(token: "t", access: .consent, provenance: provenance, contextID: "c", organisation: "reg/vc", userAgent: "Karna")
        let read = NLLRequest(.get, "MedicationRequest", query: [("patient", "198002142381")])
        let write = NLLRequest(.post, "MedicationRequest", body: JSONObject())
        var onlyAuthor = provenance
        onlyAuthor["agent"] = .array(Array((provenance["agent"]?.arrayValue ?? []).prefix(1)))
        let cases: [(NLLRequest, NLLCallContext, String)] = [
            (read, { var c = good; c.token = ""; return c }(), "authorization"),
            (read, { var c = good; c.purpose = ""; return c }(), "x-purpose"),
            (read, { var c = good; c.access = nil; return c }(), "x-access"),
            (read, { var c = good; c.contextID = ""; return c }(), "x-context-id"),
            (read, { var c = good; c.organisation = " "; return c }(), "x-org-info"),
            (read, { var c = good; c.userAgent = ""; return c }(), "x-user-agent"),
            (NLLRequest(.get, "MedicationRequest", requestID: ""), good, "x-request-id"),
            (write, { var c = good; c.provenance = nil; return c }(), "x-provenance"),
            (write, { var c = good; c.provenance = onlyAuthor; return c }(), "x-provenance"),
        ]
        for (request, context, header) in cases {
            await #expect(throws: NLLError.missingHeader(header)) { _ = try await client.send(request, context: context) }
        }
        #expect(transport.sent.value == 0)
        // With every header present the call goes out, and a read carries no provenance, a write no x-access.
        _ = try await client.send(read, context: good)
        #expect(transport.sent.value == 1)
        let names = try client.headers(for: write, context: good).map(\.name)
        #expect(names.contains("x-provenance") && !names.contains("x-access"))
    }

    @Test("a prescription names one NPL product, its uttag, quantity, validity, behandlingsändamål and a prescriber with förskrivarkod; the patient text has its blocks",
          arguments: backends)
    func content(backend: StoreBackend) async throws {
        let (ward, medication) = try await Self.ward(backend, nil)
        let doc = try await ward.session("doc")
        #expect(await fails(.invalid, containing: "NPL-id or NPL-pack-id") {
            _ = try await Self.prescribe(medication, doc, try prescriptionDraft([("medicationCodeableConcept", FHIR.object([("text", .string("Ramipril"))]))]))
        })
        #expect(await fails(.invalid, containing: "exactly one product") {
            var draft = try prescriptionDraft()
            draft["medicationCodeableConcept"] = FHIR.object([("coding", .array([FHIR.coding(Prescription.nplID, "19990101000079"), FHIR.coding(Prescription.nplID, "19990101000031")]))])
            _ = try await Self.prescribe(medication, doc, draft)
        })
        #expect(await fails(.invalid, containing: "number of uttag") {
            _ = try await Self.prescribe(medication, doc, try prescriptionDraft([("dispenseRequest", FHIR.object([("quantity", FHIR.object([("value", .number("100"))]))]))]))
        })
        #expect(await fails(.invalid, containing: "behandlingsändamål") {
            _ = try await Self.prescribe(medication, doc, try prescriptionDraft(extensions: [(Prescription.followUpExtension, "valueDate", .string("2027-06-01"))]))
        })
        try await ward.contact("wardoc2", patient: "p1")
        #expect(await fails(.invalid, containing: "no förskrivarkod") {
            _ = try await Self.prescribe(medication, try await ward.session("wardoc2"), try prescriptionDraft())
        })
        // Stored (NLL not configured here: it waits as ej skickad), with the four-block text generated from the structure.
        var draft = try prescriptionDraft()
        draft.setExtension(Prescription.otherInstructionExtension, "valueString", .string("kontrollera blodtrycket om en månad"))
        let outcome = try await Self.prescribe(medication, doc, draft)
        let text = outcome.prescription.object["dosageInstruction"]?.arrayValue?.first?.objectValue?["patientInstruction"]?.stringValue
        #expect(text == "Mot förhöjt blodtryck.\n1 kapsel morgon.\nAdministreringssätt: oralt.\nKontrollera blodtrycket om en månad.")
        #expect(!outcome.sent && Prescription.sendState(outcome.prescription.object) == "ej-skickad")
        #expect(outcome.warnings.contains { $0.contains("ej skickat") })
        // Fritextdosering is accepted with the warning that dose checks cannot run.
        let free = try await Self.prescribe(medication, doc, try prescriptionDraft([("dosageInstruction", .array([FHIR.object([("text", .string("Enligt ordination"))])]))]))
        #expect(free.warnings.contains("Doseringen är fritext: doskontroller kan inte göras."))
    }

    @Test("from 2028-09-01 a prescription without ordinationsorsak or latest follow-up date is refused; before, it is accepted with a warning",
          arguments: backends)
    func requirementOf2028(backend: StoreBackend) async throws {
        let noReason: [(String, JSONValue?)] = [("reasonCode", nil)]
        let onlyPurpose = [(Prescription.purposeExtension, "valueString", JSONValue.string("mot förhöjt blodtryck"))]
        let (before, medicationBefore) = try await Self.ward(backend, nil, now: "2028-08-31T23:30:00+02:00")
        let outcome = try await Self.prescribe(medicationBefore, try await before.session("doc"), try prescriptionDraft(noReason, extensions: onlyPurpose))
        #expect(outcome.warnings.contains { $0.hasPrefix("Ordinationsorsak saknas. Från 2028-09-01") })
        #expect(outcome.warnings.contains { $0.hasPrefix("Senaste datum för uppföljning eller avslut saknas") })
        let (after, medicationAfter) = try await Self.ward(backend, nil, now: "2028-09-01T00:10:00+02:00")
        let doc = try await after.session("doc")
        #expect(await fails(.invalid, containing: "ordinationsorsak") {
            _ = try await Self.prescribe(medicationAfter, doc, try prescriptionDraft(noReason))
        })
        #expect(await fails(.invalid, containing: "latest date for follow-up") {
            _ = try await Self.prescribe(medicationAfter, doc, try prescriptionDraft(extensions: onlyPurpose))
        })
        let complete = try await Self.prescribe(medicationAfter, doc, try prescriptionDraft())
        #expect(complete.warnings.filter { $0.contains("2028-09-01") }.isEmpty)
    }

    @Test("a sent prescription keeps NLL's id and version; every call carries the headers, with a provenance naming the real author and enterer",
          .enabled(if: NLLSimulator.isAvailable), arguments: backends)
    func sendsWithHeaders(backend: StoreBackend) async throws {
        let simulator = try NLLSimulator()
        let (ward, medication) = try await Self.ward(backend, simulator)
        let outcome = try await Self.prescribe(medication, try await ward.session("doc"), try prescriptionDraft())
        #expect(outcome.sent)
        let object = outcome.prescription.object
        #expect(Prescription.sendState(object) == "skickad")
        let nllID = try #require(Prescription.nllID(object))
        #expect(object.extensionValue(Prescription.nllVersionExtension)?.stringValue == "1")
        let call = try #require(try await simulator.calls().last)
        #expect(call["method"] as? String == "POST")
        let headers = try #require(call["headers"] as? [String: String])
        for name in ["authorization", "x-purpose", "x-request-id", "x-context-id", "x-org-info", "x-user-agent", "x-provenance"] {
            #expect(!(headers[name] ?? "").isEmpty, "missing \(name)")
        }
        let decoded = try #require(Data(base64Encoded: headers["x-provenance"] ?? ""))
        let provenance = try #require(try JSONParser.parse([UInt8](decoded)).objectValue)
        let agents = (provenance["agent"]?.arrayValue ?? []).compactMap { $0.objectValue?["who"]?.objectValue?["identifier"]?.objectValue?["value"]?.stringValue }
        #expect(agents == ["SE2321000999-doc", "SE2321000999-doc"])
        #expect(headers["x-org-info"] == "reg/vc")
        // NLL holds it under that id, with the chain and the patient by personnummer.
        let list = try await medication.prescribing.nationalList(patientID: "p1", access: .own, session: try await ward.session("doc"))
        #expect(list.rows.map(\.nllID) == [nllID])
        #expect(list.rows.first?.journal == "MedicationRequest/\(outcome.prescription.id)")
    }

    @Test("NLL down: the prescription is ej skickad, on its owner's list, overdue after the configured time, printable as reservrecept; the outbox sends it once",
          .enabled(if: NLLSimulator.isAvailable), arguments: backends)
    func nllDown(backend: StoreBackend) async throws {
        let simulator = try NLLSimulator()
        try await simulator.control("fault", ["mode": "error500"])
        let (ward, medication) = try await Self.ward(backend, simulator, timeout: 2, alarmMinutes: 0)
        let doc = try await ward.session("doc")
        let outcome = try await Self.prescribe(medication, doc, try prescriptionDraft())
        #expect(!outcome.sent && Prescription.sendState(outcome.prescription.object) == "ej-skickad" && Prescription.nllID(outcome.prescription.object) == nil)
        let unsent = try await medication.prescribing.unsent(roleID: "doc-role", session: doc)
        #expect(unsent.map(\.prescription.id) == [outcome.prescription.id])
        #expect(unsent.first?.overdue == true && unsent.first?.retrying == true && unsent.first?.lastError == "Nationella läkemedelslistan svarar inte.")
        #expect(try await medication.prescribing.unsent(roleID: "doc2-role", session: doc).isEmpty)
        let reserve = try await medication.prescribing.reservePrescription(outcome.prescription.id, session: doc)
        #expect(reserve.hasPrefix("RESERVRECEPT — ej skickat till Nationella läkemedelslistan"))
        #expect(reserve.contains("Ramipril Kärna kapsel 5 mg") && reserve.contains("förskrivarkod 9033301") && reserve.contains("Antal uttag: 3"))
        // NLL answers slowly: it stores the prescription but the answer comes after the client gave up.
        try await simulator.control("fault", ["mode": "none", "delay": 3])
        let job = ward.gateway.session(.job("karna-nll"), action: "nll-outbox")
        let slow = try await medication.prescribing.sendWaiting(session: job)
        #expect(slow.sent == 0 && slow.failures.count == 1, "\(slow.failures)")
        try await simulator.control("fault", ["mode": "none"])
        // The outbox runs again until NLL answers in time (a loaded machine may need more than one run).
        var run = Prescribing.OutboxRun()
        for _ in 0..<5 where run.sent == 0 {
            run = try await medication.prescribing.sendWaiting(session: job)
        }
        #expect(run.sent == 1, "\(run.failures)")
        // The retry carried the same x-request-id: NLL holds the prescription once.
        let posts = try await simulator.calls().filter { $0["method"] as? String == "POST" }
        #expect(posts.count >= 3)
        #expect(Set(posts.compactMap { ($0["headers"] as? [String: String])?["x-request-id"] }).count == 1)
        let list = try await medication.prescribing.nationalList(patientID: "p1", access: .own, session: doc)
        #expect(list.rows.count == 1)
        #expect(try await medication.prescribing.unsent(roleID: "doc-role", session: doc).isEmpty)
        #expect(await fails(.conflict, containing: "not an unsent prescription") {
            _ = try await medication.prescribing.reservePrescription(outcome.prescription.id, session: doc)
        })
    }

    @Test("NLL's refusal of the prescriber's authority for the article is said to the prescriber and takes the prescription out of the outbox",
          .enabled(if: NLLSimulator.isAvailable), arguments: backends)
    func refusedPrescriber(backend: StoreBackend) async throws {
        let simulator = try NLLSimulator()
        try await simulator.control("refuse-prescriber", ["code": "9033301"])
        let (ward, medication) = try await Self.ward(backend, simulator)
        let doc = try await ward.session("doc")
        #expect(await fails(.conflict, containing: "saknar behörighet att förskriva artikeln") {
            _ = try await Self.prescribe(medication, doc, try prescriptionDraft())
        })
        let unsent = try await medication.prescribing.unsent(roleID: "doc-role", session: doc)
        #expect(unsent.count == 1 && unsent.first?.retrying == false)
        #expect(unsent.first?.lastError?.hasPrefix("Nationella läkemedelslistan tog inte emot anropet: Förskrivaren") == true, "\(unsent.first?.lastError ?? "")")
        // The outbox leaves it alone: a retry would only be refused again.
        let run = try await medication.prescribing.sendWaiting(session: ward.gateway.session(.job("karna-nll"), action: "nll-outbox"))
        #expect(run.sent == 0 && run.failures.isEmpty)
        #expect(try await simulator.calls().filter { $0["method"] as? String == "POST" }.count == 1)
    }

    @Test("with nll-authorization user NLL sees the prescriber's own token; one signed in without it is refused before anything is written or sent; the outbox resends with the organisation's",
          .enabled(if: NLLSimulator.isAvailable), arguments: backends)
    func usersOwnToken(backend: StoreBackend) async throws {
        let simulator = try NLLSimulator()
        let clock = Instant.parse("2026-12-06T10:00:00+01:00")!
        let settings = PrescribingSettings(nll: NLLClient(baseURL: simulator.url, timeoutSeconds: 5), token: "organisationens-token", userAgent: "Karna-test/1",
                                           authorization: .user, clock: { clock })
        let medication = Medication(prescribing: settings, terminology: TerminologyService.shipped())
        let ward = try await Ward.make(backend, medication: medication)
        try await ward.contact("doc", patient: "p1")
        #expect(await fails(.invalid, containing: "the user's own token") { _ = try await Self.prescribe(medication, try await ward.session("doc"), try prescriptionDraft()) })
        #expect(try await simulator.calls().isEmpty)
        #expect(try await ward.store.searchResources(SearchQuery(type: "MedicationRequest"), limit: 5).isEmpty, "nothing written")
        let assignment = try #require(try await ward.gateway.directory.assignment(id: "doc-role"))
        let siths = ward.gateway.session(Principal(kind: .practitioner, id: "doc", displayName: "doc", assignment: assignment, scopes: ScopeSet("user/*.cruds"),
                                                   clientID: "https://idp.region.example", identityToken: "doktorns-siths-token"), action: "prescribe")
        #expect(try await Self.prescribe(medication, siths, try prescriptionDraft()).sent)
        _ = try await medication.prescribing.nationalList(patientID: "p1", access: .own, session: siths)
        let calls = try await simulator.calls()
        #expect(!calls.isEmpty && calls.allSatisfy { ($0["headers"] as? [String: String])?["authorization"] == "Bearer doktorns-siths-token" }, "\(calls)")
        // NLL down at signing: the outbox, which no user runs, sends it with the organisation's token.
        try await simulator.control("fault", ["mode": "error500"])
        #expect(!(try await Self.prescribe(medication, siths, try prescriptionDraft()).sent))
        try await simulator.control("fault", ["mode": "none"])
        let run = try await medication.prescribing.sendWaiting(session: ward.gateway.session(.job("karna-nll"), action: "nll-outbox"))
        #expect(run.sent == 1)
        let resend = try #require(try await simulator.calls().last)
        #expect((resend["headers"] as? [String: String])?["authorization"] == "Bearer organisationens-token")
    }

    @Test("nll-authorization exchange: the user's token is exchanged at the identity provider (RFC 8693) for one issued for NLL, once for the sign-in; a refused exchange is said and nothing is written",
          .enabled(if: NLLSimulator.isAvailable), arguments: backends)
    func exchangedToken(backend: StoreBackend) async throws {
        let simulator = try NLLSimulator()
        let clock = Instant.parse("2026-12-06T10:00:00+01:00")!
        let exchange = TokenExchange(endpoint: simulator.url.appendingPathComponent("_simulator/idp/token"), audience: "https://nll.example",
                                     clientID: "karna", clientSecret: "idp-hemlighet", timeoutSeconds: 5)
        let settings = PrescribingSettings(nll: NLLClient(baseURL: simulator.url, timeoutSeconds: 5), token: "organisationens-token", userAgent: "Karna-test/1",
                                           authorization: .exchange, exchange: exchange, clock: { clock })
        let medication = Medication(prescribing: settings, terminology: TerminologyService.shipped())
        let ward = try await Ward.make(backend, medication: medication)
        try await ward.contact("doc", patient: "p1")
        let assignment = try #require(try await ward.gateway.directory.assignment(id: "doc-role"))
        func signedIn(_ token: String) -> PatientDataSession {
            ward.gateway.session(Principal(kind: .practitioner, id: "doc", displayName: "doc", assignment: assignment, scopes: ScopeSet("user/*.cruds"),
                                           clientID: "https://idp.region.example", identityToken: token), action: "prescribe")
        }
        #expect(try await Self.prescribe(medication, signedIn("doktorns-siths-token"), try prescriptionDraft()).sent)
        _ = try await medication.prescribing.nationalList(patientID: "p1", access: .own, session: signedIn("doktorns-siths-token"))
        let exchanges = try await simulator.control("idp")["exchanges"] as? [[String: Any]] ?? []
        #expect(exchanges.count == 1, "one exchange for the sign-in's calls: \(exchanges)")
        #expect(exchanges.first?["subject_token"] as? String == "doktorns-siths-token" && exchanges.first?["audience"] as? String == "https://nll.example")
        let issued = try #require(exchanges.first?["issued"] as? String)
        let calls = try await simulator.calls()
        #expect(!calls.isEmpty && calls.allSatisfy { ($0["headers"] as? [String: String])?["authorization"] == "Bearer \(issued)" }, "NLL got a token meant for Kärna: \(calls)")

        // The identity provider refuses (an expired sign-in): said in words, nothing written, nothing sent to NLL.
        _ = try await simulator.control("idp", ["refuse": true])
        let written = try await ward.store.searchResources(SearchQuery(type: "MedicationRequest"), limit: 50).count
        #expect(await fails(.invalid, containing: "refused the token exchange") {
            _ = try await Self.prescribe(medication, signedIn("utgangen-token"), try prescriptionDraft())
        })
        #expect(try await ward.store.searchResources(SearchQuery(type: "MedicationRequest"), limit: 50).count == written)
        #expect(try await simulator.calls().count == calls.count)
    }

    @Test("renew and replace make a new prescription in the same chain with priorPrescription; replacing a 7-character ATC by another is refused",
          .enabled(if: NLLSimulator.isAvailable), arguments: backends)
    func chain(backend: StoreBackend) async throws {
        let simulator = try NLLSimulator()
        let (ward, medication) = try await Self.ward(backend, simulator)
        let doc = try await ward.session("doc")
        let first = try await Self.prescribe(medication, doc, try prescriptionDraft())
        let renewed = try await medication.prescribing.continue(first.prescription.id, as: .renew, draft: nil, overrideReason: nil,
                                                                decisionSupport: medication.decisionSupport, session: doc)
        let object = renewed.prescription.object
        #expect(object.referenceID("priorPrescription", type: "MedicationRequest") == first.prescription.id)
        #expect(object["groupIdentifier"] == first.prescription.object["groupIdentifier"])
        #expect(object.extensionValue(Prescription.registrationExtension)?.stringValue == "fornyelse")
        #expect(renewed.sent && Prescription.nllID(object) != Prescription.nllID(first.prescription.object))
        let replacement = try prescriptionDraft(product: ("19990101000031", "M01AE01", "Ibuprofen Kärna tablett 400 mg"))
        #expect(await fails(.conflict, containing: "same ATC") {
            _ = try await medication.prescribing.continue(first.prescription.id, as: .replace,
                                                          draft: replacement.filter { $0 == "medicationCodeableConcept" }, overrideReason: nil,
                                                          decisionSupport: medication.decisionSupport, session: doc)
        })
        // A prescription that names its product by NPL-id alone (as an API client may): the catalogue's ATC code decides.
        let nplOnly = try resource(#"{"resourceType": "MedicationRequest", "medicationCodeableConcept": {"coding": [{"system": "\#(Prescription.nplID)", "code": "19990101000079"}]}}"#, [])
        let byNPL = try await Self.prescribe(medication, doc, try prescriptionDraft([("medicationCodeableConcept", nplOnly["medicationCodeableConcept"])]))
        #expect(await fails(.conflict, containing: "same ATC: C09AA05 → M01AE01") {
            _ = try await medication.prescribing.continue(byNPL.prescription.id, as: .replace,
                                                          draft: replacement.filter { $0 == "medicationCodeableConcept" }, overrideReason: nil,
                                                          decisionSupport: medication.decisionSupport, session: doc)
        })
        // The same ATC replaces, and the earlier prescription is ended in the journal and in NLL.
        let same = try await medication.prescribing.continue(first.prescription.id, as: .replace, draft: nil, overrideReason: nil,
                                                             decisionSupport: medication.decisionSupport, session: doc)
        #expect(same.prescription.object.extensionValue(Prescription.registrationExtension)?.stringValue == "ersattning")
        let earlier = try #require(try await doc.read(type: "MedicationRequest", id: first.prescription.id))
        #expect(earlier.object["status"]?.stringValue == "stopped")
        let list = try await medication.prescribing.nationalList(patientID: "p1", access: .own, session: doc)
        #expect(list.rows.first { $0.journal == "MedicationRequest/\(first.prescription.id)" }?.status == "stopped")
    }

    @Test("avsluta and makulera are distinct, each with its own coded reasons; a change against a stale NLL version is a conflict and changes nothing",
          .enabled(if: NLLSimulator.isAvailable), arguments: backends)
    func endings(backend: StoreBackend) async throws {
        let simulator = try NLLSimulator()
        let (ward, medication) = try await Self.ward(backend, simulator)
        let doc = try await ward.session("doc")
        let a = try await Self.prescribe(medication, doc, try prescriptionDraft())
        let b = try await Self.prescribe(medication, doc, try prescriptionDraft())
        #expect(await fails(.invalid, containing: "not a makuleringsorsak") {
            _ = try await medication.prescribing.end(a.prescription.id, cancel: true, reason: "biverkan", session: doc)
        })
        let (stopped, sent) = try await medication.prescribing.end(a.prescription.id, cancel: false, reason: "biverkan", session: doc)
        #expect(sent && stopped.object["status"]?.stringValue == "stopped")
        #expect(stopped.object.code("statusReason", system: Prescription.stopReasonSystem) == "biverkan")
        #expect(stopped.object.extensionValue(Prescription.nllVersionExtension)?.stringValue == "2")
        // Another system changed b in NLL since Kärna sent it.
        try await simulator.control("change", ["id": try #require(Prescription.nllID(b.prescription.object))])
        #expect(await fails(.conflict, containing: "newer version") {
            _ = try await medication.prescribing.end(b.prescription.id, cancel: true, reason: "felaktig-forskrivning", session: doc)
        })
        let unchanged = try #require(try await doc.read(type: "MedicationRequest", id: b.prescription.id))
        #expect(unchanged.object["status"]?.stringValue == "active" && unchanged.versionId == b.prescription.versionId)
    }

    @Test("a patient on reservnummer is sent as a contained Patient with a receiving pharmacy, and the NLL id is kept to end it later",
          .enabled(if: NLLSimulator.isAvailable), arguments: backends)
    func reservnummer(backend: StoreBackend) async throws {
        let simulator = try NLLSimulator()
        let (ward, medication) = try await Self.ward(backend, simulator)
        let patient = JSONObject([
            ("resourceType", .string("Patient")), ("id", .string("p-reserv")), ("active", .bool(true)),
            ("identifier", .array([.object(JSONObject([("system", .string(Reservnummer.system)), ("value", .string("RES-2026-000123"))]))])),
            ("name", .array([.object(JSONObject([("family", .string("Okänd")), ("given", .array([.string("Man")]))]))])), ("birthDate", .string("1970-01-01")),
        ])
        _ = try await ward.store.commit([.update(patient, type: "Patient", id: "p-reserv")])
        try await ward.contact("doc", patient: "p-reserv")
        let doc = try await ward.session("doc")
        #expect(await fails(.invalid, containing: "receiving pharmacy") {
            _ = try await Self.prescribe(medication, doc, try prescriptionDraft(), patient: "p-reserv")
        })
        var draft = try prescriptionDraft()
        draft.setExtension(Prescription.receivingPharmacyExtension, "valueString", .string("7350045511119"))
        let outcome = try await Self.prescribe(medication, doc, draft, patient: "p-reserv")
        #expect(outcome.sent)
        let nllID = try #require(Prescription.nllID(outcome.prescription.object))
        let (ended, sent) = try await medication.prescribing.end(outcome.prescription.id, cancel: true, reason: "fel-patient", session: doc)
        #expect(sent && ended.object["status"]?.stringValue == "cancelled" && Prescription.nllID(ended.object) == nllID)
        let put = try #require(try await simulator.calls().last)
        #expect(put["method"] as? String == "PUT" && put["path"] as? String == "/MedicationRequest/\(nllID)")
    }

    @Test("NLL's list needs an åtkomsttyp for other providers' prescriptions; spärrade show only as existing; nödåtkomst is audited for review; safety checks count NLL's drugs",
          .enabled(if: NLLSimulator.isAvailable), arguments: backends)
    func nationalList(backend: StoreBackend) async throws {
        let simulator = try NLLSimulator()
        let (ward, medication) = try await Self.ward(backend, simulator)
        let doc = try await ward.session("doc")
        let own = try await Self.prescribe(medication, doc, try prescriptionDraft())
        // Another care provider's warfarin and a spärrad prescription, registered in NLL directly.
        func other(_ npl: String, _ text: String) -> [String: Any] {
            ["_owner": "annan-vardgivare", "resourceType": "MedicationRequest", "status": "active", "intent": "order",
             "medicationCodeableConcept": ["coding": [["system": Prescription.nplID, "code": npl]], "text": text],
             "subject": ["identifier": ["system": SwedishPersonalIdentity.personnummerSystem, "value": "198002142381"]],
             "contained": [["resourceType": "Practitioner", "id": "p", "identifier": [["system": "http://electronichealth.se/identifier/forskrivarkod", "value": "1111111"]],
                            "name": [["text": "Doktor Annan"]]]],
             "dosageInstruction": [["patientInstruction": "1 tablett dagligen"]],
             "dispenseRequest": ["quantity": ["value": 100, "unit": "tablett"]]]
        }
        let warfarin = try await simulator.control("prescription", other("19990101000048", "Warfarin Kärna tablett 2,5 mg"))
        let hidden = try await simulator.control("prescription", other("19990101000079", "Ramipril Kärna kapsel 5 mg"))
        try await simulator.control("lock", ["id": hidden["id"] as? String ?? ""])
        try await simulator.control("special", ["patient": "198002142381", "value": true])
        try await simulator.control("dispense", ["prescription": warfarin["id"] as? String ?? "", "quantity": 100])

        let mine = try await medication.prescribing.nationalList(patientID: "p1", access: .own, session: doc)
        #expect(mine.rows.map(\.journal) == ["MedicationRequest/\(own.prescription.id)"])
        #expect(mine.specialDrugsLast24Months == true && !mine.lockedExists)
        let consented = try await medication.prescribing.nationalList(patientID: "p1", access: .consent, session: doc)
        #expect(Set(consented.rows.map(\.product)) == ["Ramipril Kärna kapsel 5 mg", "Warfarin Kärna tablett 2,5 mg"])
        #expect(consented.lockedExists && consented.rows.count == 2)
        let warfarinRow = try #require(consented.rows.first { $0.nllID == warfarin["id"] as? String })
        #expect(warfarinRow.dispensed == 100 && warfarinRow.journal == nil && warfarinRow.atc == "B01AA03")

        // Nödåtkomst only once opened through the PDL dialogue, and the read is flagged for log review.
        #expect(await fails(.forbidden, containing: "nödåtkomst") {
            _ = try await medication.prescribing.nationalList(patientID: "p1", access: .emergency, session: doc)
        })
        _ = try await doc.openEmergencyAccess(patientID: "p1", reason: "Medvetslös, oklar medicinering")
        _ = try await medication.prescribing.nationalList(patientID: "p1", access: .emergency, session: try await ward.session("doc"))
        let reads = try await ward.store.auditRecords(AuditQuery(patientID: "p1", action: "national-read"))
        #expect(reads.count == 3)
        let emergency = reads.filter { (record: AuditRecord) in
            String(decoding: record.entry.json, as: UTF8.self).contains("\"accessType\":\"NODATKOMST\"") && record.entry.flags.contains("emergency-access")
        }
        #expect(emergency.count == 1)

        // Prescribing ibuprofen with NLL's warfarin on the list: the interaction stops it until a reason is given.
        let ibuprofen = try prescriptionDraft(product: ("19990101000031", "M01AE01", "Ibuprofen Kärna tablett 400 mg"))
        #expect(await fails(.conflict, containing: "läkemedelskontroll") {
            _ = try await Self.prescribe(medication, doc, ibuprofen, nllDrugs: consented.rows)
        })
        let overridden = try await Self.prescribe(medication, doc, ibuprofen, override: "Kort kur, INR följs", nllDrugs: consented.rows)
        #expect(overridden.cards.contains { $0.indicator == .critical && $0.summary.contains("Warfarin") })
    }
}
