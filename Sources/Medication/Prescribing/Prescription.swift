public import Access
public import FHIRCore
import Foundation
import StoreModel
import Terminology

/// A förskrivning (e-recept) as Kärna keeps it: a MedicationRequest with intent order and category
/// `community` (taken at home, dispensed by a pharmacy), sent to Nationella läkemedelslistan. The names of
/// what it carries beyond R4, and the Swedish texts generated from it.
public enum Prescription {
    /// The category that makes an ordination a förskrivning sent to NLL.
    public static let category = "community"
    public static let categorySystem = "http://terminology.hl7.org/CodeSystem/medicationrequest-category"
    /// Läkemedelsverket's product and package identities (NamingSystems of E-hälsomyndigheten).
    public static let nplID = NPLCatalogue.system
    public static let nplPackID = "http://electronichealth.se/fhir/NamingSystem/nplpackid"

    /// Where the prescription stands with NLL (`meta.tag`): ej-skickad until NLL has it, then skickad.
    public static let sendStateSystem = "https://karna.se/fhir/CodeSystem/nll-status"
    /// NLL's logical id of the prescription (`identifier`), kept so that it can be changed or ended later.
    public static let nllIDSystem = "https://karna.se/fhir/NamingSystem/nll-forskrivning"
    /// The version NLL holds, which a change is made against.
    public static let nllVersionExtension = "https://karna.se/fhir/StructureDefinition/nll-version"
    /// The `x-request-id` of the call that sends this version: the same on every retry, so NLL stores it once.
    public static let requestIDExtension = "https://karna.se/fhir/StructureDefinition/nll-request-id"
    /// Failed attempts to send, and the last reason.
    public static let attemptsExtension = "https://karna.se/fhir/StructureDefinition/nll-forsok"
    public static let lastErrorExtension = "https://karna.se/fhir/StructureDefinition/nll-fel"
    /// The technical detail of the last failure, for the operator's log (not shown to users).
    public static let lastErrorDetailExtension = "https://karna.se/fhir/StructureDefinition/nll-fel-detalj"
    /// What is to be sent: `create`, `update` (a change or an end) — cleared once NLL has it.
    public static let pendingExtension = "https://karna.se/fhir/StructureDefinition/nll-vantande"

    /// Behandlingsändamål: the reason in the patient's own words ("mot förhöjt blodtryck"), first block of the patient text.
    public static let purposeExtension = "https://karna.se/fhir/StructureDefinition/behandlingsandamal"
    /// The latest date for follow-up or end of treatment (required on e-prescriptions from 2028-09-01).
    public static let followUpExtension = "https://karna.se/fhir/StructureDefinition/senaste-uppfoljning"
    /// Administreringsinstruktion and annan instruktion: the third and fourth blocks of the patient text.
    public static let administrationExtension = "https://karna.se/fhir/StructureDefinition/administreringsinstruktion"
    public static let otherInstructionExtension = "https://karna.se/fhir/StructureDefinition/annan-instruktion"
    /// The pharmacy (GLN) that receives a prescription for a patient without personnummer.
    public static let receivingPharmacyExtension = "https://karna.se/fhir/StructureDefinition/mottagande-apotek"
    /// How the prescription came about: ny, fornyelse, ersattning, parallell.
    public static let registrationExtension = "https://karna.se/fhir/StructureDefinition/registreringsgrund"
    /// The förskrivningskedja a renewal, replacement or parallel registration continues (`groupIdentifier.system`).
    public static let chainSystem = "https://karna.se/fhir/NamingSystem/forskrivningskedja"
    /// The prescriber's förskrivarkod (Practitioner.identifier). The national OID is not verified here.
    public static let prescriberCodeSystem = "https://karna.se/fhir/NamingSystem/forskrivarkod"
    /// Why a prescription was ended (avsluta) or withdrawn (makulera): the codes in `forskrivning.json`.
    public static let stopReasonSystem = "https://karna.se/fhir/CodeSystem/avslutsorsak"
    public static let cancelReasonSystem = "https://karna.se/fhir/CodeSystem/makuleringsorsak"

    /// Whether a MedicationRequest is a förskrivning sent to NLL.
    public static func isPrescription(_ request: JSONObject?) -> Bool {
        guard let request, OrdinationRule.orderIntents.contains(request["intent"]?.stringValue ?? "") else { return false }
        return (request["category"]?.arrayValue ?? []).contains { concept in
            (concept.objectValue?["coding"]?.arrayValue ?? []).contains { $0.objectValue?["code"]?.stringValue == category && $0.objectValue?["system"]?.stringValue == categorySystem }
        }
    }

    /// `ej-skickad` or `skickad`, from the record's tag.
    public static func sendState(_ request: JSONObject) -> String? {
        (request["meta"]?.objectValue?["tag"]?.arrayValue ?? []).compactMap(\.objectValue)
            .first { $0["system"]?.stringValue == sendStateSystem }?["code"]?.stringValue
    }

    /// Sets the send-state tag, keeping the record's other tags.
    static func setSendState(_ request: inout JSONObject, _ state: String) {
        var meta = request["meta"]?.objectValue ?? JSONObject()
        var tags = (meta["tag"]?.arrayValue ?? []).filter { $0.objectValue?["system"]?.stringValue != sendStateSystem }
        tags.append(FHIR.coding(sendStateSystem, state, state == "skickad" ? "Skickad till NLL" : "Ej skickad till NLL"))
        meta["tag"] = .array(tags)
        request["meta"] = .object(meta)
    }

    /// NLL's id of the prescription, once NLL has it.
    public static func nllID(_ request: JSONObject) -> String? {
        (request["identifier"]?.arrayValue ?? []).compactMap(\.objectValue).first { $0["system"]?.stringValue == nllIDSystem }?["value"]?.stringValue
    }

    /// The product's code: an NPL-pack-id or an NPL-id (exactly one of them is the product).
    public static func product(_ request: JSONObject) -> (system: String, code: String)? {
        let codings = (request["medicationCodeableConcept"]?.objectValue?["coding"]?.arrayValue ?? []).compactMap(\.objectValue)
        for system in [nplPackID, nplID] {
            if let code = codings.first(where: { $0["system"]?.stringValue == system })?["code"]?.stringValue { return (system, code) }
        }
        return nil
    }

    /// The patient text's four blocks (doseringsanvisning): behandlingsändamål, dosering (from the structure),
    /// administrering and annan instruktion. Empty blocks are left out; dosering is always there.
    public static func patientText(_ request: JSONObject) -> String {
        let dosages = request["dosageInstruction"]?.arrayValue ?? []
        var blocks: [String] = []
        if let purpose = request.extensionValue(purposeExtension)?.stringValue, !purpose.isEmpty { blocks.append(sentence(purpose)) }
        blocks.append(sentence(DosageText.swedish(dosages)))
        var administration = request.extensionValue(administrationExtension)?.stringValue ?? ""
        if administration.isEmpty, let route = dosages.first?.objectValue?["route"].map({ Display.concept($0) }), !route.isEmpty {
            administration = "Administreringssätt: \(route.lowercased())"
        }
        if !administration.isEmpty { blocks.append(sentence(administration)) }
        if let other = request.extensionValue(otherInstructionExtension)?.stringValue, !other.isEmpty { blocks.append(sentence(other)) }
        return blocks.joined(separator: "\n")
    }

    static func sentence(_ text: String) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let first = trimmed.first else { return "" }
        let capital = first.uppercased() + trimmed.dropFirst()
        return capital.hasSuffix(".") ? capital : capital + "."
    }

    /// Whether the ordinationsorsak is given: a reasonCode that says something, or a reasonReference.
    static func hasOrdinationReason(_ request: JSONObject) -> Bool {
        (request["reasonCode"]?.arrayValue ?? []).contains { OrdinationRule.hasReason($0) } || !(request["reasonReference"]?.arrayValue ?? []).isEmpty
    }

    /// Whether every dosage is written text only (fritextdosering): then no dose check can run.
    public static func isFreeTextOnly(_ request: JSONObject) -> Bool {
        let dosages = (request["dosageInstruction"]?.arrayValue ?? []).compactMap(\.objectValue)
        return !dosages.isEmpty && dosages.allSatisfy { $0["doseAndRate"] == nil && $0["timing"] == nil }
    }
}

/// The rules every förskrivning is written under, whichever interface writes it (E-hälsomyndigheten's
/// requirements for a prescription to NLL): one product by NPL identity, a structured dosage and the
/// generated patient text, the number of uttag, quantity and validity, a prescriber with förskrivarkod,
/// the behandlingsändamål; and from the configured date (2028-09-01, by the server's clock) ordinationsorsak
/// and the latest date for follow-up or end. A patient without personnummer needs a receiving pharmacy.
struct PrescriptionRule: WriteRule {
    let settings: PrescribingSettings
    var types: Set<String> { ["MedicationRequest"] }

    func check(_ resource: JSONObject, id: String, current: StoredResource?, commit: [WriteOperation], session: PatientDataSession) async throws {
        guard Prescription.isPrescription(resource), session.principal.kind == .practitioner,
              ["active", "on-hold"].contains(resource["status"]?.stringValue ?? "") else { return }
        let before = current.flatMap { $0.isDeleted ? nil : $0.object }
        // A change NLL must know of (not the send state Kärna keeps) is judged whole; the rest is bookkeeping.
        if let before, !OrdinationRule.treatmentChanged(before, resource), before["status"] == resource["status"] { return }
        func missing(_ what: String, _ expression: String, _ text: String) -> FHIRError {
            FHIRError(.invalid, code: .required, "a prescription (förskrivning) to NLL needs \(what)", expression: ["MedicationRequest.\(expression)"], text: text)
        }
        let codings = (resource["medicationCodeableConcept"]?.objectValue?["coding"]?.arrayValue ?? []).compactMap(\.objectValue)
        let products = codings.filter { [Prescription.nplID, Prescription.nplPackID].contains($0["system"]?.stringValue ?? "") }
        guard !products.isEmpty else {
            throw missing("its product by NPL-id or NPL-pack-id (\(Prescription.nplID) or \(Prescription.nplPackID))", "medicationCodeableConcept",
                          "Välj läkemedel ur läkemedelskatalogen (NPL).")
        }
        guard Set(products.map { "\($0["system"]?.stringValue ?? "")|\($0["code"]?.stringValue ?? "")" }).count == products.count,
              products.filter({ $0["system"]?.stringValue == Prescription.nplID }).count <= 1,
              products.filter({ $0["system"]?.stringValue == Prescription.nplPackID }).count <= 1 else {
            throw FHIRError(.invalid, code: .invalid, "a prescription names exactly one product: one NPL-id and at most one NPL-pack-id",
                            expression: ["MedicationRequest.medicationCodeableConcept"], text: "En förskrivning gäller ett läkemedel.")
        }
        let dosages = (resource["dosageInstruction"]?.arrayValue ?? []).compactMap(\.objectValue)
        guard !dosages.isEmpty else { throw missing("a dosage", "dosageInstruction", "Ange dosering.") }
        guard let text = dosages.first?["patientInstruction"]?.stringValue, !text.isEmpty else {
            throw missing("the patient text (dosageInstruction[0].patientInstruction, the four blocks generated by $prescribe)",
                          "dosageInstruction[0].patientInstruction", "Doseringsanvisningen till patienten saknas.")
        }
        let purpose = resource.extensionValue(Prescription.purposeExtension)?.stringValue ?? ""
        guard !purpose.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw missing("the behandlingsändamål in the patient's words (extension \(Prescription.purposeExtension))", "extension",
                          "Ange behandlingsändamål, med ord patienten förstår.")
        }
        let supply = resource["dispenseRequest"]?.objectValue
        guard supply?["numberOfRepeatsAllowed"]?.numberText != nil else {
            throw missing("the number of uttag (dispenseRequest.numberOfRepeatsAllowed: uttag after the first)", "dispenseRequest.numberOfRepeatsAllowed", "Ange antal uttag.")
        }
        guard supply?["quantity"]?.objectValue?["value"] != nil else {
            throw missing("the quantity per uttag (dispenseRequest.quantity)", "dispenseRequest.quantity", "Ange mängd per uttag.")
        }
        guard let validUntil = supply?["validityPeriod"]?.objectValue?["end"]?.stringValue, Instant.parse(validUntil) != nil else {
            throw missing("its validity (dispenseRequest.validityPeriod.end)", "dispenseRequest.validityPeriod.end", "Ange hur länge receptet gäller.")
        }
        if settings.structuredReasonRequired(at: settings.now()) {
            if !Prescription.hasOrdinationReason(resource) {
                throw FHIRError(.invalid, code: .required, "from \(settings.structuredReasonRequiredFrom) an e-prescription carries its ordinationsorsak (reasonCode)",
                                expression: ["MedicationRequest.reasonCode"], text: "Ange ordinationsorsak (krav från \(settings.structuredReasonRequiredFrom)).")
            }
            guard resource.extensionValue(Prescription.followUpExtension)?.stringValue != nil else {
                throw FHIRError(.invalid, code: .required, "from \(settings.structuredReasonRequiredFrom) an e-prescription carries the latest date for follow-up or end (extension \(Prescription.followUpExtension))",
                                expression: ["MedicationRequest.extension"], text: "Ange senaste datum för uppföljning eller avslut (krav från \(settings.structuredReasonRequiredFrom)).")
            }
        }
        try await checkPrescriber(resource, session: session)
        try await checkPatient(resource, session: session)
    }

    /// The requester is a practitioner with a förskrivarkod.
    func checkPrescriber(_ resource: JSONObject, session: PatientDataSession) async throws {
        guard let roleID = resource.referenceID("requester", type: "PractitionerRole"), let assignment = try await session.assignment(id: roleID) else {
            throw FHIRError(.invalid, code: .required, "a prescription's requester is the prescriber's PractitionerRole", expression: ["MedicationRequest.requester"])
        }
        guard try await Prescribing.prescriberCode(practitionerID: assignment.practitionerID, session: session) != nil else {
            throw FHIRError(.invalid, code: .required, "the prescriber Practitioner/\(assignment.practitionerID) has no förskrivarkod (identifier \(Prescription.prescriberCodeSystem))",
                            expression: ["MedicationRequest.requester"], text: "Förskrivaren saknar förskrivarkod och kan inte skicka e-recept.")
        }
    }

    /// A patient without personnummer (samordnings- or reservnummer) gets the prescription at a named pharmacy.
    func checkPatient(_ resource: JSONObject, session: PatientDataSession) async throws {
        guard let patientID = resource.referenceID("subject", type: "Patient"),
              let patient = try await session.read(type: "Patient", id: patientID)?.object else { return }
        if Prescribing.personnummer(patient) == nil, (resource.extensionValue(Prescription.receivingPharmacyExtension)?.stringValue ?? "").isEmpty {
            throw FHIRError(.invalid, code: .required, "the patient has no personnummer: the prescription names the receiving pharmacy (extension \(Prescription.receivingPharmacyExtension), its GLN)",
                            expression: ["MedicationRequest.extension"], text: "Patienten saknar personnummer. Ange mottagande apotek.")
        }
    }
}
