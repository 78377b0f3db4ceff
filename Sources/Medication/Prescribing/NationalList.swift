public import Access
public import FHIRCore
import Foundation
public import NLLClient
import StoreModel
import Terminology

/// Kärna's prescription as NLL receives it (the NLLMedicationRequest profile): the product by NPL
/// identity only, the prescriber as a contained Practitioner with förskrivarkod, the patient by
/// personnummer or — without one — as a contained Patient with the receiving pharmacy, and the chain.
/// The NLL extension URLs and identifier systems below follow the profile's names and are not verified
/// against the published StructureDefinitions (docs/prescribing.md lists them).
enum NLLMapping {
    static let base = "http://electronichealth.se/fhir/StructureDefinition/"
    static let profile = base + "NLLMedicationRequest"
    static let prescriberCodeSystem = "http://electronichealth.se/identifier/forskrivarkod"
    static let pharmacySystem = "urn:oid:1.3.88"  // GS1 GLN

    static func resource(_ request: JSONObject, session: PatientDataSession) async throws -> JSONObject {
        var out = JSONObject([("resourceType", .string("MedicationRequest"))])
        if let nllID = Prescription.nllID(request) { out["id"] = .string(nllID) }
        out["meta"] = FHIR.object([("profile", .array([.string(profile)]))])
        var contained: [JSONValue] = []
        var extensions: [JSONValue] = []
        // The prescriber, contained, with the förskrivarkod NLL checks the authority of.
        guard let roleID = request.referenceID("requester", type: "PractitionerRole"), let role = try await session.assignment(id: roleID) else {
            throw FHIRError(.invalid, code: .required, "the prescription names no prescriber", expression: ["MedicationRequest.requester"])
        }
        let person = try await Prescribing.person(practitionerID: role.practitionerID, session: session)
        let code = try await Prescribing.prescriberCode(practitionerID: role.practitionerID, session: session) ?? ""
        contained.append(FHIR.object([
            ("resourceType", .string("Practitioner")), ("id", .string("prescriber")),
            ("identifier", .array([FHIR.object([("system", .string(prescriberCodeSystem)), ("value", .string(code))]),
                                   FHIR.object([("system", .string("urn:oid:1.2.752.29.4.19")), ("value", .string(person.hsaID))])])),
            ("name", .array([FHIR.object([("text", .string(person.name))])])),
        ]))
        out["requester"] = FHIR.object([("reference", .string("#prescriber"))])
        // The patient: by personnummer, else contained (name, birth date, the number the care unit has) with a receiving pharmacy.
        let patientID = request.referenceID("subject", type: "Patient") ?? ""
        let patient = try await session.read(type: "Patient", id: patientID)?.object ?? JSONObject()
        if let pnr = Prescribing.personnummer(patient) {
            out["subject"] = FHIR.object([("identifier", FHIR.object([("system", .string(SwedishPersonalIdentity.personnummerSystem)), ("value", .string(pnr))]))])
        } else {
            var contained_patient = JSONObject([("resourceType", .string("Patient")), ("id", .string("patient"))])
            contained_patient["identifier"] = patient["identifier"]
            contained_patient["name"] = patient["name"]
            contained_patient["birthDate"] = patient["birthDate"]
            contained.append(.object(contained_patient))
            out["subject"] = FHIR.object([("reference", .string("#patient"))])
            if let pharmacy = request.extensionValue(Prescription.receivingPharmacyExtension)?.stringValue {
                extensions.append(FHIR.object([("url", .string(base + "NLLReceivingPharmacy")),
                                               ("valueIdentifier", FHIR.object([("system", .string(pharmacySystem)), ("value", .string(pharmacy))]))]))
            }
        }
        out["contained"] = .array(contained)
        out["status"] = request["status"]
        out["statusReason"] = request["statusReason"]
        out["intent"] = .string("order")
        out["authoredOn"] = request["authoredOn"]
        let codings = (request["medicationCodeableConcept"]?.objectValue?["coding"]?.arrayValue ?? []).filter {
            [Prescription.nplID, Prescription.nplPackID].contains($0.objectValue?["system"]?.stringValue ?? "")
        }
        out["medicationCodeableConcept"] = FHIR.object([("coding", .array(codings)), ("text", request["medicationCodeableConcept"]?.objectValue?["text"])])
        out["reasonCode"] = request["reasonCode"]
        out["dosageInstruction"] = request["dosageInstruction"]
        out["dispenseRequest"] = request["dispenseRequest"]
        if let purpose = request.extensionValue(Prescription.purposeExtension) {
            extensions.append(FHIR.object([("url", .string(base + "NLLPatientTreatmentReason")), ("valueString", purpose)]))
        }
        if let followUp = request.extensionValue(Prescription.followUpExtension) {
            extensions.append(FHIR.object([("url", .string(base + "NLLLatestFollowUpDate")), ("valueDate", followUp)]))
        }
        if let chain = request["groupIdentifier"]?.objectValue?["value"] {
            extensions.append(FHIR.object([("url", .string(base + "NLLPrescriptionChain")), ("valueIdentifier", FHIR.object([("value", chain)]))]))
        }
        if let basis = request.extensionValue(Prescription.registrationExtension) {
            extensions.append(FHIR.object([("url", .string(base + "NLLRegistrationBasis")), ("valueCode", basis)]))
        }
        out["extension"] = .array(extensions)
        if let priorID = request.referenceID("priorPrescription", type: "MedicationRequest"),
           let prior = try await session.read(type: "MedicationRequest", id: priorID)?.object, let priorNLL = Prescription.nllID(prior) {
            out["priorPrescription"] = FHIR.object([("reference", .string("MedicationRequest/\(priorNLL)"))])
        }
        return out.filter { key in out[key] != nil && out[key] != .null }
    }
}

/// A prescription as NLL lists it, joined with the journal ordination it came from when Kärna sent it.
public struct NLLRow: Sendable {
    public var nllID: String
    public var version: String?
    public var status: String
    public var product: String
    public var atc: String?
    /// The patient text NLL holds (the doseringsanvisning).
    public var dosage: String
    public var prescriber: String
    public var authoredOn: String?
    /// Dispensed so far (the uttag), in the prescription's quantity unit.
    public var dispensed: Double
    public var unit: String
    /// The journal's MedicationRequest this prescription was sent from (what NLL itself does not know).
    public var journal: String?
}

/// NLL's list of the patient as the user may see it on the åtkomsttyp given.
public struct NationalList: Sendable {
    public var access: NLLAccess
    public var rows: [NLLRow]
    /// With an åtkomsttyp: whether NLL holds prescriptions the patient has spärrat ("spärrad förskrivning finns").
    public var lockedExists: Bool
    /// Without one: whether the patient had särskilda läkemedel (narcotics and others) in the last 24 months.
    public var specialDrugsLast24Months: Bool?
}

extension Prescribing {
    /// Reads the patient's prescriptions from NLL on the åtkomsttyp the user attests (`own` reads only the
    /// care provider's own), audits the read (a nödåtkomst one flagged for log review) and links each row
    /// Kärna sent to its journal ordination.
    public func nationalList(patientID: String, access: NLLAccess, session: PatientDataSession) async throws -> NationalList {
        try await session.requireAccess(patientID: patientID)
        guard let nll = settings.nll else {
            throw FHIRError(.busy, code: .transient, "no NLL address is configured (KARNA_NLL_URL)", text: "Nationella läkemedelslistan är inte ansluten.")
        }
        guard let patient = try await session.read(type: "Patient", id: patientID)?.object, let pnr = Self.personnummer(patient) else {
            throw FHIRError(.invalid, code: .notSupported, "NLL lists a patient by personnummer; Patient/\(patientID) has none (its prescriptions are in the journal)",
                            text: "Patienten saknar personnummer: Nationella läkemedelslistan kan inte läsas. Receptens id finns i journalen.")
        }
        guard let assignment = session.principal.assignment else { throw FHIRError(.forbidden, code: .forbidden, "reading NLL needs an assignment") }
        if access == .emergency, try await session.accessStatus(patientID: patientID)["emergencyAccessUntil"] == nil {
            throw FHIRError(.forbidden, code: .forbidden, "reading NLL by nödåtkomst needs a nödåtkomst opened for the patient first",
                            text: "Öppna nödåtkomst för patienten först (med skäl).")
        }
        let context = NLLCallContext(token: try await settings.bearer(for: session), access: access, contextID: UUID().uuidString.lowercased(),
                                     organisation: "\(assignment.providerID)/\(assignment.unitID)", userAgent: settings.userAgent, patientReference: pnr)
        let list: NationalList
        do {
            let requests = try await nll.send(NLLRequest(.get, "MedicationRequest", query: [("patient", pnr)]), context: context)
            let dispenses = try await nll.send(NLLRequest(.get, "MedicationDispense", query: [("patient", pnr)]), context: context)
            let info = try await nll.send(NLLRequest(.get, "Basic", query: [("code", "medlistinfo"), ("patient", pnr)]), context: context)
            list = try await join(requests: requests.resource, dispenses: dispenses.resource, info: info.resource, access: access,
                                       patientID: patientID, session: session)
        } catch let error as NLLError {
            throw FHIRError(.busy, code: .transient, "reading NLL failed: \(error)", text: "Nationella läkemedelslistan kunde inte läsas. \(error.swedish)")
        }
        try await session.auditNationalRead(patientID: patientID, service: "Nationella läkemedelslistan", accessType: access.rawValue,
                                            emergency: access == .emergency, resources: list.rows.map { "NLL/MedicationRequest/\($0.nllID)" })
        return list
    }

    /// The ATC code of a prescription's product: its own ATC coding, else the drug catalogue's for its NPL-id (NLL's
    /// rows, and a prescription made through the API, name only the NPL-id; the replace rule must hold for them too).
    func atc(of request: JSONObject) -> String? {
        if let coded = request.code("medicationCodeableConcept", system: KnownSystems.atc) { return coded }
        guard let nplID = request.code("medicationCodeableConcept", system: Prescription.nplID) else { return nil }
        return terminology?.codeSystem(Prescription.nplID)?.concepts[nplID]?.property("atc")
    }

    static func entries(_ bundle: JSONObject?) -> [JSONObject] {
        (bundle?["entry"]?.arrayValue ?? []).compactMap { $0.objectValue?["resource"]?.objectValue }
    }

    func join(requests: JSONObject?, dispenses: JSONObject?, info: JSONObject?, access: NLLAccess, patientID: String,
                     session: PatientDataSession) async throws -> NationalList {
        // The journal's own prescriptions, by the NLL id they were sent under.
        let journal = try await Records(session: session).search("MedicationRequest", [("patient", "Patient/\(patientID)"), ("category", "\(Prescription.categorySystem)|\(Prescription.category)")], limit: 500)
        var byNLLID: [String: String] = [:]
        for stored in journal { if let nllID = Prescription.nllID(stored.object) { byNLLID[nllID] = "MedicationRequest/\(stored.id)" } }
        var dispensed: [String: Double] = [:]
        for dispense in Self.entries(dispenses) {
            guard let reference = dispense["authorizingPrescription"]?.arrayValue?.first?.objectValue?["reference"]?.stringValue else { continue }
            let id = String(reference.split(separator: "/").last ?? "")
            dispensed[id, default: 0] += Double(dispense["quantity"]?.objectValue?["value"]?.numberText ?? "0") ?? 0
        }
        let rows = Self.entries(requests).compactMap { request -> NLLRow? in
            guard let id = request["id"]?.stringValue else { return nil }
            let prescriber = (request["contained"]?.arrayValue ?? []).compactMap(\.objectValue).first { $0["resourceType"]?.stringValue == "Practitioner" }
            return NLLRow(nllID: id, version: request["meta"]?.objectValue?["versionId"]?.stringValue, status: request["status"]?.stringValue ?? "",
                          product: Display.concept(request["medicationCodeableConcept"]),
                          atc: atc(of: request),
                          dosage: request["dosageInstruction"]?.arrayValue?.first?.objectValue?["patientInstruction"]?.stringValue ?? "",
                          prescriber: prescriber.map(Display.name) ?? "", authoredOn: request["authoredOn"]?.stringValue,
                          dispensed: dispensed[id] ?? 0, unit: request["dispenseRequest"]?.objectValue?["quantity"]?.objectValue?["unit"]?.stringValue ?? "",
                          journal: byNLLID[id])
        }
        let information = Self.entries(info).first ?? JSONObject()
        let locked = information.extensionValue(NLLMapping.base + "NLLLockedPrescriptionExists")?.boolValue ?? false
        let special = information.extensionValue(NLLMapping.base + "NLLSpecialDrugs24Months")?.boolValue
        return NationalList(access: access, rows: rows, lockedExists: access == .own ? false : locked, specialDrugsLast24Months: special)
    }
}
