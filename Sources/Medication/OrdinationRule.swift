import Access
import FHIRCore
import StoreModel

/// An ordination (MedicationRequest with intent order) is made, changed and stopped only by someone
/// whose position may ordinate, is complete when it is in force, and ends only with a reason
/// (HSLF-FS 2017:37), whichever interface writes it. Records other systems send (imports,
/// integrations) are kept as they came, but an import never changes an ordination's status.
struct OrdinationRule: WriteRule {
    var types: Set<String> { ["MedicationRequest"] }

    /// The intents that are decisions to treat, as opposed to proposals and plans.
    static let orderIntents: Set<String> = ["order", "original-order", "instance-order"]
    /// Statuses an ordination never leaves: a new ordination is made instead.
    static let ended: Set<String> = ["stopped", "cancelled", "completed", "entered-in-error"]

    func check(_ resource: JSONObject, id: String, current: StoredResource?, commit: [WriteOperation], session: PatientDataSession) async throws {
        let before = current.flatMap { $0.isDeleted ? nil : $0.object }
        let isOrder = Self.orderIntents.contains(resource["intent"]?.stringValue ?? "")
            || Self.orderIntents.contains(before?["intent"]?.stringValue ?? "")
        guard isOrder else { return }
        let status = resource["status"]?.stringValue ?? ""
        let previous = before?["status"]?.stringValue
        let principal = session.principal
        switch principal.kind {
        case .patient:
            throw FHIRError(.forbidden, code: .forbidden, "a patient does not ordinate: MedicationRequest with intent order is written by the care unit",
                            text: "Ordinationer görs av vården. Lägg till läkemedel du tar själv som egen uppgift.")
        case .practitioner:
            guard principal.permissions.prescribe else {
                let position = principal.assignment?.position.display ?? "utan medarbetaruppdrag"
                throw FHIRError(.forbidden, code: .forbidden,
                                "ordinations are made, changed and stopped by a position with ordination rights (prescribe); \(position) has none",
                                text: "Din befattning (\(position)) får inte ordinera, ändra eller sätta ut läkemedel.")
            }
        case .system:
            if session.action == "import", let previous, previous != status {
                throw refused("an import does not change an ordination's status (MedicationRequest/\(id) is \(previous), the import says \(status)): a user or a named rule does",
                              expression: ["MedicationRequest.status"], text: "En import ändrar inte en ordinations status.")
            }
        }
        if let previous, Self.ended.contains(previous), previous != status {
            throw refused("MedicationRequest/\(id) is \(previous) and stays so: ordinate anew instead of reopening it",
                          expression: ["MedicationRequest.status"], text: "Ordinationen är avslutad (\(Self.statusText(previous))). Gör en ny ordination.")
        }
        if let previous, ["stopped", "cancelled"].contains(status), previous != status, !Self.hasReason(resource["statusReason"]) {
            throw FHIRError(.invalid, code: .required, "stopping an ordination (status \(status)) needs a reason: MedicationRequest.statusReason, coded or as text",
                            expression: ["MedicationRequest.statusReason"], text: "Ange orsak till utsättningen.")
        }
        if principal.kind == .practitioner, ["active", "on-hold"].contains(status) {
            try Self.checkComplete(resource)
        }
    }

    /// What an ordination in force must state (HSLF-FS 2017:37 6 kap.): the drug, a dosage with route
    /// and dose and when, the start, the ordinationsorsak and the ordinator; vid behov also its
    /// indication and the most that may be given in a period. The first missing is named.
    static func checkComplete(_ request: JSONObject) throws {
        func missing(_ path: String, _ what: String, _ swedish: String) -> FHIRError {
            FHIRError(.invalid, code: .required, "an ordination states \(what): \(path) is missing", expression: [path], text: "Ordinationen saknar \(swedish).")
        }
        if request["medicationCodeableConcept"] == nil, request["medicationReference"] == nil {
            throw missing("MedicationRequest.medication[x]", "the drug (product or substance)", "läkemedel")
        }
        let dosages = (request["dosageInstruction"]?.arrayValue ?? []).compactMap(\.objectValue)
        guard !dosages.isEmpty else { throw missing("MedicationRequest.dosageInstruction", "its dosage", "dosering") }
        var started = request["dispenseRequest"]?.objectValue?["validityPeriod"]?.objectValue?["start"] != nil
        for (index, dosage) in dosages.enumerated() {
            let path = "MedicationRequest.dosageInstruction[\(index)]"
            let structured = dosage["timing"] != nil || dosage["doseAndRate"] != nil
            if !structured, (dosage["text"]?.stringValue ?? "").isEmpty {
                throw missing("\(path).doseAndRate", "a dose", "dos")
            }
            if dosage["route"] == nil { throw missing("\(path).route", "the route of administration", "administrationssätt") }
            if structured {
                let rate = dosage["doseAndRate"]?.arrayValue?.first?.objectValue
                if rate?["doseQuantity"] == nil, rate?["doseRange"] == nil, rate?["rateQuantity"] == nil {
                    throw missing("\(path).doseAndRate", "a dose", "dos")
                }
            }
            let asNeeded = dosage["asNeededBoolean"]?.boolValue == true || dosage["asNeededCodeableConcept"] != nil
            let repeatRule = dosage["timing"]?.objectValue?["repeat"]?.objectValue
            if structured, !asNeeded, repeatRule == nil, dosage["timing"]?.objectValue?["event"] == nil, dosage["timing"]?.objectValue?["code"] == nil {
                throw missing("\(path).timing", "when it is given (times or frequency)", "tider eller intervall")
            }
            if asNeeded {
                if dosage["asNeededCodeableConcept"] == nil {
                    throw missing("\(path).asNeededCodeableConcept", "the indication of a vid behov dose", "indikation för vid behov")
                }
                if dosage["maxDosePerPeriod"] == nil {
                    throw missing("\(path).maxDosePerPeriod", "the most a vid behov dose may give in a period", "maxdos per tidsperiod för vid behov")
                }
            }
            if repeatRule?["boundsPeriod"]?.objectValue?["start"] != nil { started = true }
        }
        if !started {
            throw missing("MedicationRequest.dosageInstruction[0].timing.repeat.boundsPeriod.start", "when it starts", "startdatum")
        }
        if !hasReason(request["reasonCode"]?.arrayValue?.first), (request["reasonReference"]?.arrayValue ?? []).isEmpty {
            throw missing("MedicationRequest.reasonCode", "its ordinationsorsak (coded or as text)", "ordinationsorsak")
        }
        if request["requester"]?.objectValue?["reference"] == nil {
            throw missing("MedicationRequest.requester", "the ordinator", "ordinatör")
        }
    }

    /// A CodeableConcept that says something: a coding or a text.
    static func hasReason(_ concept: JSONValue?) -> Bool {
        guard let concept = concept?.objectValue else { return false }
        return !(concept["coding"]?.arrayValue ?? []).isEmpty || !(concept["text"]?.stringValue ?? "").isEmpty
    }

    static func statusText(_ status: String) -> String {
        ["stopped": "utsatt", "cancelled": "makulerad", "completed": "avslutad", "entered-in-error": "felregistrerad"][status] ?? status
    }
}
