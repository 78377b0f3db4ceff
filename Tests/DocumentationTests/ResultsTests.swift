import Access
import FHIRCore
import Foundation
import HL7v2
import KarnaTesting
import PatientAdministration
import Results
import Store
import StoreModel
import Testing

/// An ORU^R01 as the demo lab (KEMLAB) writes it: one OBR with the given OBX lines, segments ended by CR.
func oru(control: String, placer: String, filler: String = "F100", pnr: String = "198002142381", obx: [String], obrStatus: String = "",
         charset: String = "UNICODE UTF-8", application: String = "KEMLAB", type: String = "ORU^R01^ORU_R01", nte: [String] = []) -> String {
    (["MSH|^~\\&|\(application)|KLINKEM|KARNA|REGION|20261206101500+0100||\(type)|\(control)|P|2.5|||||SWE|\(charset)",
      "PID|||\(pnr)^^^^PNR||Ek^p1",
      "ORC|RE|\(placer)|\(filler)",
      obr(placer: placer, filler: filler, observed: "20261206090000+0100", reported: "20261206101000+0100", status: obrStatus)]
     + nte.map { "NTE|1||\($0)" } + obx).joined(separator: "\r") + "\r"
}

/// An OBR by field number (4 the analysis, 7 sampled, 22 reported, 24 the section, 25 the status), so no field is miscounted.
func obr(placer: String, filler: String, code: String = "K^Kalium^L", observed: String, reported: String, status: String, section: String = "") -> String {
    var fields = Array(repeating: "", count: 26)
    fields[0] = "OBR"
    fields[1] = "1"
    fields[2] = placer
    fields[3] = filler
    fields[4] = code
    fields[7] = observed
    fields[22] = reported
    fields[24] = section
    fields[25] = status
    return fields.joined(separator: "|")
}

@Suite("Results over HL7 v2: matched by placer number, stored once, corrected as versions, signed after opening")
struct ResultsTests {
    /// The shipped demonstration channels, their unmatched results owned at the test region's unit and their
    /// orders sent to `port` on this machine (nothing listens there unless a test starts a lab).
    static func channels(orderPort: Int = 1) -> LabChannels {
        var channels = try! LabChannels.shipped()
        for i in channels.channels.indices {
            channels.channels[i].unmatched.unit = "reg"
            channels.channels[i].orders?.port = orderPort
        }
        return channels
    }

    static let ingest = ResultIngest(channels: channels())

    /// A ward with a lab order for p1 by doc; answers the ward and the order's placer number.
    static func ordered(_ backend: StoreBackend) async throws -> (Ward, StoredResource, String) {
        let ward = try await Ward.make(backend)
        try await ward.contact("doc", patient: "p1")
        let order = try await LabOrders(delivery: OrderDelivery(channels: channels())).order(patientID: "p1", kind: "lab", code: "NPU03230", display: "P—Kalium", priority: "routine", expectedHours: nil,
                                                note: nil, session: try await ward.session("doc"))
        let placer = try #require(order.object["identifier"]?.arrayValue?.first?.objectValue?["value"]?.stringValue)
        return (ward, order, placer)
    }

    static func receive(_ ward: Ward, _ text: String, encoding: String.Encoding = .utf8) async -> ResultIngest.Receipt {
        await ingest.receive(Array(text.data(using: encoding)!), session: ward.gateway.session(.job("karna-mllp"), action: "hl7-result"))
    }

    static func ack(_ receipt: ResultIngest.Receipt) throws -> HL7Message {
        try HL7Message(parsing: String(decoding: receipt.acknowledgement, as: UTF8.self))
    }

    static func search(_ ward: Ward, _ type: String, _ parameters: [(String, String)]) async throws -> [StoredResource] {
        try await Records(session: ward.gateway.session(.job("test"), action: "test")).search(type, parameters.map { (name: $0.0, value: $0.1) })
    }

    @Test("a final result is filed under its order: NPU code beside the lab's, value, range and flag; the order completes; the ordering doctor gets the sign-off",
          arguments: backends)
    func finalResult(_ backend: StoreBackend) async throws {
        let (ward, order, placer) = try await Self.ordered(backend)
        let receipt = await Self.receive(ward, oru(control: "M1", placer: placer, obx: ["OBX|1|NM|K^Kalium^L||6,4|mmol/L|3.5-4.6|H|||F"]))
        #expect(receipt.code == .accepted, "\(receipt.problem ?? "")")
        #expect(try Self.ack(receipt).first("MSA")?[1] == "AA")
        let observation = try #require(try await Self.search(ward, "Observation", [("patient", "p1")]).first)
        #expect(observation.object.code("code", system: ResultsVocabulary.npuSystem) == "NPU03230")
        #expect(observation.object.code("code", system: "https://karna.se/fhir/CodeSystem/lab-klinkem") == "K")
        #expect(observation.object["valueQuantity"]?.objectValue?["value"]?.numberText == "6.4")
        #expect(observation.object["referenceRange"]?.arrayValue?.first?.objectValue?["high"]?.objectValue?["value"]?.numberText == "4.6")
        #expect(observation.object.code("interpretation", system: ResultsVocabulary.interpretationSystem) == "H")
        #expect(observation.object["status"]?.stringValue == "final")
        let report = try #require(try await Self.search(ward, "DiagnosticReport", [("patient", "p1")]).first)
        #expect(report.object.referenceID("subject", type: "Patient") == "p1")
        #expect(try await ward.gateway.session(.job("t"), action: "t").read(type: "ServiceRequest", id: order.id)?.object["status"]?.stringValue == "completed")
        let task = try #require(try await Self.search(ward, "Task", [("focus", "DiagnosticReport/\(report.id)")]).first)
        #expect(task.object.referenceID("owner", type: "PractitionerRole") == "doc-role")
        #expect(task.object["status"]?.stringValue == "requested")
    }

    @Test("placer numbers match as exact strings: 11545596 is not 11545596-0175, and a result for no order goes to the unmatched list with its owner",
          arguments: backends)
    func exactPlacer(_ backend: StoreBackend) async throws {
        let (ward, _, placer) = try await Self.ordered(backend)
        let prefix = String(placer.prefix(8))
        let receipt = await Self.receive(ward, oru(control: "M2", placer: prefix, obx: ["OBX|1|NM|K^Kalium^L||4.0|mmol/L|3.5-4.6||||F"]))
        #expect(receipt.code == .accepted)
        let taskID = try #require(receipt.unmatched)
        let task = try #require(try await ward.gateway.session(.job("t"), action: "t").read(type: "Task", id: taskID))
        #expect(task.object.referenceID("owner", type: "Organization") == "reg")
        #expect(task.object["performerType"]?.arrayValue?.first?.objectValue?["text"]?.stringValue == "Provsvarssamordnare, Klinisk kemi")
        #expect(task.object.referenceID("for", type: "Patient") == "p1", "the patient named in PID-3 is found for the list")
        #expect(task.object["input"]?.arrayValue?.first?.objectValue?["valueString"]?.stringValue?.contains("ORC|RE|\(prefix)|") == true)
        #expect(try await Self.search(ward, "Observation", [("patient", "p1")]).isEmpty, "nothing is filed in a record before a person matches it")
        // A result whose PID names another person than the order's patient is not filed either.
        let other = await Self.receive(ward, oru(control: "M3", placer: placer, pnr: "197507091234", obx: ["OBX|1|NM|K^Kalium^L||4.0|mmol/L|||||F"]))
        #expect(other.unmatched != nil)
        #expect(try await Self.search(ward, "Observation", [("patient", "p1")]).isEmpty)
        let listed = try await SignOff().unmatched(session: ward.gateway.session(.job("t"), action: "t"))
        #expect(listed.count == 2)
    }

    @Test("an unmatched result matched by hand to its order: filed under the order's patient and signed off like any result, the list entry closed in the same commit; a second match and another person's result are refused",
          arguments: backends)
    func matchByHand(_ backend: StoreBackend) async throws {
        let (ward, order, placer) = try await Self.ordered(backend)
        let typo = placer + "X"
        let receipt = await Self.receive(ward, oru(control: "M40", placer: typo, obx: ["OBX|1|NM|K^Kalium^L||4.4|mmol/L|3.5-4.6||||F"]))
        let taskID = try #require(receipt.unmatched)
        let coordinator = ward.gateway.session(.job("provsvarssamordnare"), action: "match-result")
        let orders = LabOrders(delivery: OrderDelivery(channels: Self.channels()))
        #expect(await fails(.invalid, containing: "no order has the beställningsnummer") { _ = try await orders.order(placer: String(placer.prefix(8)), session: coordinator) })
        let found = try await orders.order(placer: placer, session: coordinator)
        #expect(found.id == order.id)
        let reports = try await Self.ingest.match(taskID: taskID, orderID: found.id, session: coordinator)
        let report = try #require(reports.first)
        #expect(reports.count == 1 && report.object.referenceID("subject", type: "Patient") == "p1")
        #expect(try await Self.search(ward, "Observation", [("patient", "p1")]).first?.object["valueQuantity"]?.objectValue?["value"]?.numberText == "4.4")
        let closed = try #require(try await coordinator.read(type: "Task", id: taskID)).object
        #expect(closed["status"]?.stringValue == "completed" && closed["output"]?.arrayValue?.first?.objectValue?["valueReference"]?.objectValue?["reference"]?.stringValue == "DiagnosticReport/\(report.id)")
        let signOff = try #require(try await Self.search(ward, "Task", [("patient", "p1"), ("code", "\(ResultsVocabulary.taskSystem)|\(ResultsVocabulary.signOffCode)")]).first)
        #expect(signOff.object.referenceID("owner", type: "PractitionerRole") == "doc-role")
        #expect(try await SignOff().unmatched(session: coordinator).isEmpty)
        #expect(await fails(.conflict, containing: "already matched") { _ = try await Self.ingest.match(taskID: taskID, orderID: found.id, session: coordinator) })
        // Another person's result (PID names p2) is never filed under p1's order, by hand either.
        let other = await Self.receive(ward, oru(control: "M41", placer: typo + "Y", pnr: "197507091234", obx: ["OBX|1|NM|K^Kalium^L||5.0|mmol/L|3.5-4.6||||F"]))
        let otherTask = try #require(other.unmatched)
        #expect(await fails(.invalid, containing: "är inte beställningens patient") { _ = try await Self.ingest.match(taskID: otherTask, orderID: found.id, session: coordinator) })
        #expect(try await coordinator.read(type: "Task", id: otherTask)?.object["status"]?.stringValue == "requested", "nothing half-written")
        #expect(try await Self.search(ward, "Observation", [("patient", "p1")]).count == 1)
    }

    @Test("a resent message (the same MSH-10) is stored once and answered AA again", arguments: backends)
    func resend(_ backend: StoreBackend) async throws {
        let (ward, _, placer) = try await Self.ordered(backend)
        let message = oru(control: "M4", placer: placer, obx: ["OBX|1|NM|K^Kalium^L||4.1|mmol/L|3.5-4.6||||F"])
        let first = await Self.receive(ward, message)
        let second = await Self.receive(ward, message)
        #expect(first.code == .accepted && !first.duplicate)
        #expect(second.code == .accepted && second.duplicate)
        let observations = try await Self.search(ward, "Observation", [("patient", "p1")])
        #expect(observations.count == 1)
        #expect(observations.first?.versionId == 1)
        #expect(try await Self.search(ward, "Task", [("patient", "p1")]).count == 1)
    }

    @Test("OBX-11 P, F and C: a correction is a new version, the old stays readable, and sign-off reopens as korrigerat svar", arguments: backends)
    func correction(_ backend: StoreBackend) async throws {
        let (ward, _, placer) = try await Self.ordered(backend)
        let preliminary = await Self.receive(ward, oru(control: "M5", placer: placer, obx: ["OBX|1|NM|K^Kalium^L||4.9|mmol/L|3.5-4.6|H|||P"]))
        #expect(preliminary.code == .accepted)
        var observation = try #require(try await Self.search(ward, "Observation", [("patient", "p1")]).first)
        #expect(observation.object["status"]?.stringValue == "preliminary")
        #expect(try await Self.search(ward, "Task", [("patient", "p1")]).isEmpty, "a preliminary result has no sign-off yet")
        _ = await Self.receive(ward, oru(control: "M6", placer: placer, obx: ["OBX|1|NM|K^Kalium^L||4.9|mmol/L|3.5-4.6|H|||F"]))
        let report = try #require(try await Self.search(ward, "DiagnosticReport", [("patient", "p1")]).first)
        let doc = try await ward.session("doc")
        _ = try await SignOff().open(reportID: report.id, session: doc)
        let signed = try await SignOff().sign(reportID: report.id, session: doc)
        #expect(signed.object["status"]?.stringValue == "completed")
        let corrected = await Self.receive(ward, oru(control: "M7", placer: placer, obx: ["OBX|1|NM|K^Kalium^L||4.2|mmol/L|3.5-4.6||||C"]))
        #expect(corrected.code == .accepted)
        observation = try #require(try await Self.search(ward, "Observation", [("patient", "p1")]).first)
        #expect(observation.object["status"]?.stringValue == "corrected")
        #expect(observation.object["valueQuantity"]?.objectValue?["value"]?.numberText == "4.2")
        #expect(observation.versionId == 3)
        let old = try await ward.gateway.session(.job("t"), action: "t").vread(type: "Observation", id: observation.id, versionId: 2)
        #expect(old?.object["valueQuantity"]?.objectValue?["value"]?.numberText == "4.9")
        let task = try #require(try await Self.search(ward, "Task", [("focus", "DiagnosticReport/\(report.id)")]).first)
        #expect(task.object["status"]?.stringValue == "requested")
        #expect(task.object["businessStatus"]?.objectValue?["text"]?.stringValue == "Korrigerat svar")
        #expect(SignOff.openedBy(task.object) == nil, "the correction must be opened again before it is signed")
    }

    @Test("signing needs the result opened by the signer; who and when are recorded", arguments: backends)
    func signAfterOpening(_ backend: StoreBackend) async throws {
        let (ward, _, placer) = try await Self.ordered(backend)
        _ = await Self.receive(ward, oru(control: "M8", placer: placer, obx: ["OBX|1|NM|K^Kalium^L||4.0|mmol/L|3.5-4.6||||F"]))
        let report = try #require(try await Self.search(ward, "DiagnosticReport", [("patient", "p1")]).first)
        let doc = try await ward.session("doc")
        await #expect(throws: FHIRError.self) { _ = try await SignOff().sign(reportID: report.id, session: doc) }
        // A nurse reading the result does not mark it opened for signing.
        let byNurse = try await SignOff().open(reportID: report.id, session: try await ward.session("nurse"))
        #expect(SignOff.openedBy(try #require(byNurse.task).object) == nil)
        let opened = try await SignOff().open(reportID: report.id, session: doc)
        #expect(opened.analyses.count == 1)
        #expect(SignOff.openedBy(try #require(opened.task).object) == "doc-role")
        let signed = try await SignOff().sign(reportID: report.id, session: doc)
        #expect(signed.object["output"]?.arrayValue?.first?.objectValue?.referenceID("valueReference", type: "PractitionerRole") == "doc-role")
        #expect(signed.object["executionPeriod"]?.objectValue?["end"]?.stringValue != nil)
        #expect(try await SignOff().inbox(ownerRole: "doc-role", unitID: nil, session: doc).isEmpty)
    }

    @Test("after a transfer the doctor responsible for the stay owns the sign-off", arguments: backends)
    func responsibleAfterTransfer(_ backend: StoreBackend) async throws {
        let (ward, _, placer) = try await Self.ordered(backend)
        let stay = JSONObject([
            ("resourceType", .string("Encounter")), ("id", .string("stay-1")), ("status", .string("in-progress")),
            ("class", FHIR.coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "IMP")),
            ("subject", FHIR.reference("Patient", "p1")), ("serviceProvider", FHIR.reference("Organization", "ward")),
            ("participant", .array([FHIR.object([("individual", FHIR.reference("PractitionerRole", "wardoc-role"))])])),
        ])
        _ = try await ward.store.commit([.update(stay, type: "Encounter", id: "stay-1")])
        _ = await Self.receive(ward, oru(control: "M9", placer: placer, obx: ["OBX|1|NM|K^Kalium^L||4.0|mmol/L|3.5-4.6||||F"]))
        let task = try #require(try await Self.search(ward, "Task", [("patient", "p1")]).first)
        #expect(task.object.referenceID("owner", type: "PractitionerRole") == "wardoc-role")
    }

    @Test("a result ordered during a stay that has ended goes to the doctor who discharged the patient, not the one who ordered it", arguments: backends)
    func pendingAtDischarge(_ backend: StoreBackend) async throws {
        let ward = try await Ward.make(backend)
        let wardoc = try await ward.session("wardoc")
        let contacts = PatientAdministration().contacts
        let stay = try await contacts.admit(patientID: "p2", wardUnitID: nil, bedID: nil, planned: false, admitSource: "direktinlaggning",
                                            expectedDischarge: nil, reason: "Pneumoni", session: wardoc)
        let order = try await LabOrders(delivery: OrderDelivery(channels: Self.channels())).order(patientID: "p2", kind: "lab", code: "NPU03230", display: "P—Kalium",
                                                                                                priority: "routine", expectedHours: nil, note: nil, session: wardoc)
        let placer = try #require(order.object["identifier"]?.arrayValue?.first?.objectValue?["value"]?.stringValue)
        let discharged = try await contacts.transition(encounterID: stay.id, event: .finish, dischargeDisposition: "hem", session: try await ward.session("wardoc2"))
        #expect(discharged.object["participant"]?.arrayValue?.last?.objectValue?.referenceID("individual", type: "PractitionerRole") == "wardoc2-role")
        _ = await Self.receive(ward, oru(control: "M30", placer: placer, pnr: "197507091234", obx: ["OBX|1|NM|K^Kalium^L||4.0|mmol/L|3.5-4.6||||F"]))
        let task = try #require(try await Self.search(ward, "Task", [("patient", "p2"), ("code", "\(ResultsVocabulary.taskSystem)|\(ResultsVocabulary.signOffCode)")]).first)
        #expect(task.object.referenceID("owner", type: "PractitionerRole") == "wardoc2-role", "the discharging doctor, not the requester wardoc")
    }

    @Test("an absent doctor's results go to the substitute they named, open sign-offs move to them; only the holder records it; a loop of substitutes stops",
          arguments: backends)
    func absenceAndSubstitute(_ backend: StoreBackend) async throws {
        let (ward, _, placer) = try await Self.ordered(backend)
        let doc = try await ward.session("doc")
        _ = await Self.receive(ward, oru(control: "M31", placer: placer, obx: ["OBX|1|NM|K^Kalium^L||4.0|mmol/L|3.5-4.6||||F"]))
        let first = try #require(try await Self.search(ward, "Task", [("patient", "p1")]).first)
        #expect(first.object.referenceID("owner", type: "PractitionerRole") == "doc-role")
        let today = SwedishTime.formatDay(SwedishTime.today)
        let later = SwedishTime.formatDay(SwedishTime.today + 7)
        #expect(await fails(.forbidden) { _ = try await Absence.record(role: "doc-role", start: today, end: later, substitute: "doc2-role", reason: nil, session: try await ward.session("nurse")) })
        #expect(await fails(.invalid, containing: "another assignment") { _ = try await Absence.record(role: "doc-role", start: today, end: later, substitute: "doc-role", reason: nil, session: doc) })
        #expect(await fails(.invalid, containing: "after start") { _ = try await Absence.record(role: "doc-role", start: later, end: today, substitute: "doc2-role", reason: nil, session: doc) })
        #expect(await fails(.invalid, containing: "does not exist") { _ = try await Absence.record(role: "doc-role", start: today, end: later, substitute: "nobody-role", reason: nil, session: doc) })
        _ = try await Absence.record(role: "doc-role", start: today, end: later, substitute: "doc2-role", reason: "Semester", session: doc)
        // The open sign-off moves when the job sweeps; it says whom the substitute stands in for.
        let job = ward.gateway.session(.job("karna-lab-outbox"), action: "lab-outbox")
        let swept = try await SignOff().sweep(session: job)
        #expect(swept.rerouted.map(\.id) == [first.id] && swept.escalated.isEmpty)
        let moved = try #require(try await Records(session: job).optional("Task", first.id)).object
        #expect(moved.referenceID("owner", type: "PractitionerRole") == "doc2-role")
        #expect(SignOff.standingInFor(moved)?.objectValue?["reference"]?.stringValue == "PractitionerRole/doc-role")
        #expect(try await SignOff().sweep(session: job).rerouted.isEmpty, "moved once")
        // A new result goes straight to the substitute.
        let order = try await LabOrders(delivery: OrderDelivery(channels: Self.channels())).order(patientID: "p1", kind: "lab", code: "NPU03230", display: "P—Kalium",
                                                                                                priority: "routine", expectedHours: nil, note: nil, session: doc)
        let second = try #require(order.object["identifier"]?.arrayValue?.first?.objectValue?["value"]?.stringValue)
        _ = await Self.receive(ward, oru(control: "M32", placer: second, filler: "F101", obx: ["OBX|1|NM|K^Kalium^L||4.1|mmol/L|3.5-4.6||||F"]))
        let owners = try await Self.search(ward, "Task", [("patient", "p1")]).map { $0.object.referenceID("owner", type: "PractitionerRole") }
        #expect(owners == ["doc2-role", "doc2-role"])
        // After the absence, results go to doc again.
        #expect(try await Absence.standIn(for: "doc-role", at: Date().addingTimeInterval(9 * 86_400), session: job) == "doc-role")
        // doc2 away too, naming doc: the chain stops rather than going round.
        _ = try await Absence.record(role: "doc2-role", start: today, end: later, substitute: "doc-role", reason: nil, session: try await ward.session("doc2"))
        #expect(try await Absence.standIn(for: "doc-role", at: Date(), session: job) == "doc2-role")
    }

    @Test("a result unsigned past the configured hours is escalated to its unit once: urgent, marked, first on the unit's list", arguments: backends)
    func unsignedEscalates(_ backend: StoreBackend) async throws {
        let (ward, _, placer) = try await Self.ordered(backend)
        _ = await Self.receive(ward, oru(control: "M33", placer: placer, obx: ["OBX|1|NM|K^Kalium^L||4.0|mmol/L|3.5-4.6||||F"]))
        let job = ward.gateway.session(.job("karna-lab-outbox"), action: "lab-outbox")
        let signOff = SignOff(escalationHours: 48)
        #expect(try await signOff.sweep(session: job, now: Date().addingTimeInterval(47 * 3_600)).escalated.isEmpty, "not before its time")
        let escalated = try await signOff.sweep(session: job, now: Date().addingTimeInterval(49 * 3_600)).escalated
        let task = try #require(escalated.first)
        #expect(escalated.count == 1 && task.object["priority"]?.stringValue == "urgent" && SignOff.escalated(task.object) != nil)
        #expect(task.object.referenceID("owner", type: "PractitionerRole") == "doc-role", "the doctor keeps it; the unit sees it")
        #expect(try await signOff.sweep(session: job, now: Date().addingTimeInterval(50 * 3_600)).escalated.isEmpty, "once")
        let unit = try await signOff.inbox(ownerRole: nil, unitID: "vc", session: try await ward.session("doc2"))
        #expect(unit.map(\.id) == [task.id])
    }

    @Test("bad input is answered AE or AR with ERR naming segment and field, and nothing is written", arguments: backends)
    func badInput(_ backend: StoreBackend) async throws {
        let (ward, _, placer) = try await Self.ordered(backend)
        let cases: [(String, HL7Acknowledgement.Code, String)] = [
            (oru(control: "B1", placer: placer, obx: ["OBX|1|NM|K^Kalium^L||hög|mmol/L|||||F"]), .error, "OBX^1^5"),
            (oru(control: "B2", placer: placer, obx: ["OBX|1|NM|K^Kalium^L||4.0|mmol/L|||||Q"]), .error, "OBX^1^11"),
            (oru(control: "B3", placer: placer, obx: ["OBX|1|TX|RAD^Utlåtande^L||||||||F"]), .error, "OBX^1^5"),
            (oru(control: "B4", placer: placer, obx: ["OBX|1|NM|K^Kalium^L||4.0|mmol/L|||||F"], application: "OKAND"), .rejected, "MSH^1^3"),
            (oru(control: "B5", placer: placer, obx: [], type: "ORM^O01"), .rejected, "MSH^1^9"),
            (oru(control: "B6", placer: placer, obx: ["OBX|1|NM|K^Kalium^L||4.0|mmol/L|||||F"], charset: "KLINGON"), .error, "MSH^1^18"),
        ]
        for (message, code, location) in cases {
            let receipt = await Self.receive(ward, message)
            #expect(receipt.code == code, "\(location): \(receipt.problem ?? "")")
            let ack = try Self.ack(receipt)
            #expect(ack.first("MSA")?[1] == code.rawValue)
            #expect(ack.first("ERR")?[2] == location, "\(receipt.problem ?? "")")
            let words = ack.first("ERR").map { ack.text($0[8]) } ?? ""
            #expect(words.count > 10, "ERR-8 names the problem")
        }
        #expect(try await Self.search(ward, "Observation", [("patient", "p1")]).isEmpty)
        #expect(try await Self.search(ward, "DiagnosticReport", [("patient", "p1")]).isEmpty)
    }

    @Test("report text survives byte for byte: Latin-1 without MSH-18 on a Latin-1 channel, escapes and line breaks", arguments: backends)
    func reportText(_ backend: StoreBackend) async throws {
        let (ward, _, placer) = try await Self.ordered(backend)
        let message = oru(control: "T1", placer: placer, obx: ["OBX|1|FT|UTL^Utlåtande^L||Ingen blödning.\\.br\\åäöÅÄÖ µ ±\\X0D0A\\a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\||||||F"],
                          charset: "", nte: ["Provet hemolyserat \\T\\ omtaget"])
        let receipt = await Self.receive(ward, message, encoding: .isoLatin1)
        #expect(receipt.code == .accepted, "\(receipt.problem ?? "")")
        let observation = try #require(try await Self.search(ward, "Observation", [("patient", "p1")]).first)
        #expect(observation.object["valueString"]?.stringValue == "Ingen blödning.\nåäöÅÄÖ µ ±\na|b^c&d~e\\")
        let report = try #require(try await Self.search(ward, "DiagnosticReport", [("patient", "p1")]).first)
        #expect(report.object["conclusion"]?.stringValue == "Provet hemolyserat & omtaget")
        #expect(observation.object["referenceRange"] == nil, "no range sent: none stored, to be shown as inget referensintervall")
    }

    @Test("an order has a requester, an owning unit and a unique placer number; a final report without text is refused", arguments: backends)
    func orderAndReportRules(_ backend: StoreBackend) async throws {
        let (ward, order, placer) = try await Self.ordered(backend)
        #expect(RecordTags.unit(of: order.object) == "vc")
        #expect(order.object.referenceID("requester", type: "PractitionerRole") == "doc-role")
        let system = ward.gateway.session(.job("lab-import"), action: "test")
        var copy = order.object
        copy["requester"] = nil
        await #expect(throws: FHIRError.self) { _ = try await system.commit(.create(copy, type: "ServiceRequest", id: "sr-no-requester")) }
        copy = order.object
        copy["meta"] = nil
        await #expect(throws: FHIRError.self) { _ = try await system.commit(.create(copy, type: "ServiceRequest", id: "sr-no-unit")) }
        copy = order.object
        do {
            _ = try await ward.session("doc").commit(.create(copy, type: "ServiceRequest", id: "sr-same-placer"))
            Issue.record("a second order with the placer number \(placer) was stored")
        } catch {
            #expect("\(error)".contains(placer))
        }
        let empty = JSONObject([("resourceType", .string("DiagnosticReport")), ("status", .string("final")), ("code", FHIR.text("Röntgen thorax")),
                                ("subject", FHIR.reference("Patient", "p1"))])
        await #expect(throws: FHIRError.self) { _ = try await ward.session("doc").commit(.create(empty, type: "DiagnosticReport", id: "dr-empty")) }
    }
}

@Suite("An unidentified patient (reservnummer) gets lab and imaging orders, and the results find them")
struct UnidentifiedPatientOrderTests {
    @Test("registered on a reservnummer at the emergency unit: a lab order and an imaging order at once, the result matched by placer number",
          arguments: backends)
    func reservnummerOrders(_ backend: StoreBackend) async throws {
        let ward = try await Ward.make(backend)
        let doc = try await ward.session("doc")
        let patient = try await PatientAdministration().registry.registerUnidentified(gender: "female", estimatedBirthYear: 1990, note: "Medvetslös, okänd", session: doc)
        let reservnummer = try #require(patient.object["identifier"]?.arrayValue?.first?.objectValue?["value"]?.stringValue)
        try await ward.contact("doc", patient: patient.id)
        let orders = LabOrders(delivery: OrderDelivery(channels: ResultsTests.channels()))
        let lab = try await orders.order(patientID: patient.id, kind: "lab", code: "NPU28309", display: "B—Hemoglobin", priority: "stat", expectedHours: nil,
                                         note: nil, session: doc)
        let imaging = try await orders.order(patientID: patient.id, kind: "bild", code: "DT-SKALLE", display: "DT skalle", priority: "stat", expectedHours: nil,
                                             note: nil, session: doc)
        #expect(lab.object.referenceID("subject", type: "Patient") == patient.id && imaging.object["status"]?.stringValue == "active")
        #expect(try await ward.gateway.session(.job("t"), action: "t").read(type: "ImagingStudy", id: "bild-\(imaging.id)") != nil)
        let placer = try #require(lab.object["identifier"]?.arrayValue?.first?.objectValue?["value"]?.stringValue)
        let receipt = await ResultsTests.receive(ward, oru(control: "R1", placer: placer, pnr: reservnummer, obx: ["OBX|1|NM|HB^Hemoglobin^L||92|g/L|117-153|L|||F"]))
        #expect(receipt.code == .accepted && receipt.unmatched == nil, "\(receipt.problem ?? "")")
        #expect(try await ResultsTests.search(ward, "Observation", [("patient", patient.id)]).count == 1)
    }
}

extension ResultsTests {
    @Test("an unmatched result suggests the open orders of the patient its PID names, on its lab, the same analysis first; none for a person Kärna does not know",
          arguments: backends)
    func suggestedOrders(_ backend: StoreBackend) async throws {
        let (ward, kalium, placer) = try await Self.ordered(backend)
        let doc = try await ward.session("doc")
        let orders = LabOrders(delivery: OrderDelivery(channels: Self.channels()))
        let sodium = try await orders.order(patientID: "p1", kind: "lab", code: "NPU03429", display: "P—Natrium", priority: "routine", expectedHours: nil, note: nil, session: doc)
        _ = try await orders.order(patientID: "p1", kind: "bild", code: "RTG-THORAX", display: "Lungröntgen", priority: "routine", expectedHours: nil, note: nil, session: doc)
        let coordinator = ward.gateway.session(.job("provsvarssamordnare"), action: "match-result")

        // The lab mistyped the last digit: the patient and the analysis point to the kalium order, natrium after it, no imaging order.
        let typo = String(placer.dropLast()) + (placer.last == "9" ? "8" : "9")
        let receipt = await Self.receive(ward, oru(control: "S1", placer: typo, obx: ["OBX|1|NM|K^Kalium^L||4.4|mmol/L|3.5-4.6||||F"]))
        let suggested = try await Self.ingest.suggestions(taskID: try #require(receipt.unmatched), session: coordinator)
        #expect(suggested.map(\.id) == [kalium.id, sodium.id])

        // Once answered an order is no longer open, and is not suggested.
        _ = try await Self.ingest.match(taskID: try #require(receipt.unmatched), orderID: kalium.id, session: coordinator)
        let again = await Self.receive(ward, oru(control: "S2", placer: typo + "0", obx: ["OBX|1|NM|K^Kalium^L||4.5|mmol/L|3.5-4.6||||F"]))
        #expect(try await Self.ingest.suggestions(taskID: try #require(again.unmatched), session: coordinator).map(\.id) == [sodium.id])

        let stranger = await Self.receive(ward, oru(control: "S3", placer: "99999999-0000", pnr: "194001011234", obx: ["OBX|1|NM|K^Kalium^L||4.0|mmol/L|3.5-4.6||||F"]))
        #expect(try await Self.ingest.suggestions(taskID: try #require(stranger.unmatched), session: coordinator).isEmpty)
    }
}
