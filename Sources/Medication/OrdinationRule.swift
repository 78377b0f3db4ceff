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
            guard principal.permissions.prescribe || Self.isRecordedVerbalOrder(resource, before: before, by: principal) else {
                let position = principal.assignment?.position.display ?? "utan medarbetaruppdrag"
                throw FHIRError(.forbidden, code: .forbidden,
                                "ordinations are made, changed and stopped by a position with ordination rights (prescribe); \(position) has none "
                                + "(a verbal order is recorded as one: the muntlig-ordination extension, unconfirmed, you as recorder and the ordinator as requester)",
                                text: "Din befattning (\(position)) får inte ordinera, ändra eller sätta ut läkemedel. En muntlig ordination dokumenteras som muntlig, med ordinatören angiven.")
            }
            try await checkVerbalOrder(resource, before: before, session: session)
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
        if principal.kind == .practitioner, let before, ["active", "on-hold"].contains(previous ?? ""), Self.treatmentChanged(before, resource),
           (resource.extensionValue(Self.changeReasonExtension)?.stringValue ?? "").isEmpty {
            throw FHIRError(.invalid, code: .required, "a change to an ordination in force (drug, dosage, reason or supply) gives its reason: the andringsorsak extension",
                            expression: ["MedicationRequest.extension"], text: "Ange orsak till ändringen av ordinationen.")
        }
        // A förskrivning is judged by what NLL requires (PrescriptionRule): fritextdosering and, before
        // 2028-09-01, a missing ordinationsorsak are allowed there with a warning.
        if principal.kind == .practitioner, ["active", "on-hold"].contains(status), !Prescription.isPrescription(resource) {
            try Self.checkComplete(resource)
        }
    }

    /// Why an ordination in force was changed (ändringsorsak), the same extension a corrected note carries.
    static let changeReasonExtension = "https://karna.se/fhir/StructureDefinition/andringsorsak"

    /// Whether what is given, how, or why differs between two versions (status, notes and tags aside).
    static func treatmentChanged(_ before: JSONObject, _ after: JSONObject) -> Bool {
        ["medicationCodeableConcept", "medicationReference", "dosageInstruction", "reasonCode", "reasonReference", "dispenseRequest"].contains { member in
            switch (before[member], after[member]) {
            case (nil, nil): return false
            case (let old?, let new?): return !old.isIdentical(to: new)
            default: return true
            }
        }
    }

    // MARK: Muntlig ordination and telefonordination

    /// Marks an ordination given by word of mouth or telephone (`valueCode` muntlig or telefon); it stays
    /// on the ordination for good, so doses given under it are traceable to how it was given.
    static let verbalOrderExtension = "https://karna.se/fhir/StructureDefinition/muntlig-ordination"
    /// The tag an unconfirmed verbal order carries until its ordinator confirms it (`_tag` finds the
    /// ordinator's list: `MedicationRequest?requester=PractitionerRole/…&_tag=…|obekraftad`).
    static let confirmationSystem = "https://karna.se/fhir/CodeSystem/ordinationsstatus"
    static let unconfirmedCode = "obekraftad"

    static func verbalOrder(_ request: JSONObject?) -> String? {
        request?.extensionValue(verbalOrderExtension)?.stringValue
    }

    static func isUnconfirmed(_ request: JSONObject?) -> Bool {
        (request?["meta"]?.objectValue?["tag"]?.arrayValue ?? []).contains {
            $0.objectValue?["system"]?.stringValue == confirmationSystem && $0.objectValue?["code"]?.stringValue == unconfirmedCode
        }
    }

    static func role(_ request: JSONObject?, _ member: String) -> String? {
        request?.referenceID(member, type: "PractitionerRole")
    }

    /// A nurse without ordination rights writes an ordination only as the record of a verbal order she
    /// received: new, marked muntlig or telefon, unconfirmed, herself the recorder and another the requester.
    static func isRecordedVerbalOrder(_ request: JSONObject, before: JSONObject?, by principal: Principal) -> Bool {
        guard before == nil, verbalOrder(request) != nil, isUnconfirmed(request), let own = principal.assignment?.id else { return false }
        return role(request, "recorder") == own && role(request, "requester") != nil && role(request, "requester") != own
    }

    /// A verbal order names an ordinator who may ordinate; only that ordinator confirms it; it stays
    /// marked as verbal; confirmed is never undone.
    func checkVerbalOrder(_ request: JSONObject, before: JSONObject?, session: PatientDataSession) async throws {
        let verbal = Self.verbalOrder(request)
        let unconfirmed = Self.isUnconfirmed(request)
        if let was = Self.verbalOrder(before), verbal != was {
            throw refused("MedicationRequest stays marked as a \(was) ordination: how an ordination was given is kept for the doses given under it",
                          expression: ["MedicationRequest.extension"], text: "En muntlig ordination förblir markerad som muntlig.")
        }
        if unconfirmed, verbal == nil {
            throw FHIRError(.invalid, code: .businessRule, "only a verbal order (the muntlig-ordination extension, muntlig or telefon) awaits confirmation",
                            expression: ["MedicationRequest.meta.tag"], text: "Bara en muntlig ordination väntar på bekräftelse.")
        }
        if let verbal, !["muntlig", "telefon"].contains(verbal) {
            throw FHIRError(.invalid, code: .codeInvalid, "the muntlig-ordination extension is muntlig or telefon, not '\(verbal)'",
                            expression: ["MedicationRequest.extension"], text: "En muntlig ordination är muntlig eller telefon.")
        }
        if before == nil, unconfirmed {
            guard let requester = Self.role(request, "requester"), let ordinator = try await session.assignment(id: requester),
                  ordinator.permissions.prescribe else {
                throw FHIRError(.invalid, code: .required, "a verbal order names its ordinator: requester is the PractitionerRole of someone with ordination rights",
                                expression: ["MedicationRequest.requester"], text: "Ange ordinatören: den som gav den muntliga ordinationen och får ordinera.")
            }
            if Self.role(request, "recorder") == nil {
                throw FHIRError(.invalid, code: .required, "a verbal order names who recorded it: recorder", expression: ["MedicationRequest.recorder"],
                                text: "Ange vem som tog emot den muntliga ordinationen.")
            }
        }
        if let before, !Self.isUnconfirmed(before), unconfirmed {
            throw refused("a confirmed ordination is not made unconfirmed again", expression: ["MedicationRequest.meta.tag"],
                          text: "En bekräftad ordination kan inte bli obekräftad igen.")
        }
        if let before, Self.isUnconfirmed(before), !unconfirmed {
            guard let own = session.principal.assignment?.id, own == Self.role(before, "requester") else {
                throw FHIRError(.forbidden, code: .forbidden, "only the ordinator the verbal order names (its requester) confirms it",
                                text: "Bara ordinatören som gav den muntliga ordinationen bekräftar den.")
            }
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
                if rate?["doseQuantity"] == nil, rate?["doseRange"] == nil, rate?["rateQuantity"] == nil, rate?["rateRange"] == nil {
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
