import Access
import FHIRCore
import Foundation
import NLLClient
import StoreModel

/// Prescribing's FHIR operations: prescribe and continue a prescription chain, end it, the prescriber's
/// "ej skickad" list with the reserve prescription, and NLL's list of the patient.
extension Medication {
    var prescribingOperations: [OperationDescriptor] {
        [.instance("Patient", "prescribe", post: true, "prescription:Resource", "overrideReason:string", "access:code", module: name,
                   "Prescribe (förskriv) to Nationella läkemedelslistan: the draft MedicationRequest gets its patient text, chain and prescriber, passes läkemedelskontroll (with NLL's drugs when `access` is given) and is sent; answers it with sent, warnings and cards"),
         .instance("MedicationRequest", "renew", post: true, "prescription:Resource", "overrideReason:string", module: name,
                   "Renew (förnya) a prescription: a new one in the same chain with priorPrescription, changes from `prescription`"),
         .instance("MedicationRequest", "replace", post: true, "prescription:Resource", "overrideReason:string", module: name,
                   "Replace (ersätt) a prescription: a new one in the chain (a 7-character ATC code is kept) and the earlier one ended"),
         .instance("MedicationRequest", "register-parallel", post: true, "prescription:Resource", "overrideReason:string", module: name,
                   "Register a parallel prescription in the same chain"),
         .instance("MedicationRequest", "stop-prescription", post: true, "reason:code", module: name,
                   "Avsluta: the treatment ends (status stopped), with a coded avslutsorsak; sent to NLL against the version Kärna holds"),
         .instance("MedicationRequest", "cancel-prescription", post: true, "reason:code", module: name,
                   "Makulera: the prescription is withdrawn (status cancelled), with a coded makuleringsorsak; sent to NLL against the version Kärna holds"),
         .instance("MedicationRequest", "send-prescription", post: true, module: name,
                   "Send an unsent prescription to NLL now (the outbox also retries on its own)"),
         .instance("MedicationRequest", "reserve-prescription", post: false, module: name,
                   "The reserve prescription (reservrecept) to print for a prescription NLL does not have"),
         .type("MedicationRequest", "unsent-prescriptions", post: false, "prescriber:id", module: name,
               "The prescriber's \"ej skickad\" list (default the caller's assignment): each prescription NLL does not have, overdue after the configured minutes"),
         .instance("Patient", "national-medication-list", post: false, "access:code", module: name,
                   "The patient's prescriptions in Nationella läkemedelslistan on the åtkomsttyp given (EGNA, SAMTYCKE, BARN, DOSSAMTYCKE, FORMODAT_SAMTYCKE, NODATKOMST), each linked to its journal ordination; audited")]
    }

    func answerPrescribing(_ call: OperationCall) async throws -> OperationAnswer {
        switch (call.resourceType, call.id, call.name) {
        case ("Patient", let patientID?, "prescribe"):
            try call.requirePost()
            guard let draft = Self.resourcePart(call.input, "prescription") else {
                throw FHIRError(.invalid, code: .required, "prescription (a MedicationRequest) is required", expression: ["prescription"])
            }
            var nllDrugs: [NLLRow] = []
            if let access = try Self.access(call.input) {
                nllDrugs = try await prescribing.nationalList(patientID: patientID, access: access, session: call.session).rows
            }
            let outcome = try await prescribing.prescribe(draft, patientID: patientID, overrideReason: call.input["overrideReason"], nllDrugs: nllDrugs,
                                                          decisionSupport: decisionSupport, session: call.session)
            return .parameters(Self.parameters(outcome), status: 201)
        case ("MedicationRequest", let id?, let name) where ["renew", "replace", "register-parallel"].contains(name):
            try call.requirePost()
            let kind: Prescribing.Continuation = name == "renew" ? .renew : name == "replace" ? .replace : .parallel
            let outcome = try await prescribing.continue(id, as: kind, draft: Self.resourcePart(call.input, "prescription"), overrideReason: call.input["overrideReason"],
                                                         decisionSupport: decisionSupport, session: call.session)
            return .parameters(Self.parameters(outcome), status: 201)
        case ("MedicationRequest", let id?, let name) where ["stop-prescription", "cancel-prescription"].contains(name):
            try call.requirePost()
            let (ended, sent) = try await prescribing.end(id, cancel: name == "cancel-prescription", reason: try call.input.required("reason"), session: call.session)
            var out = ParametersBuilder()
            out.add("prescription", resource: ended)
            out.add("sent", bool: sent)
            if !sent { out.add("warning", "Ändringen kunde inte skickas till Nationella läkemedelslistan och ligger som ej skickad. Den skickas igen automatiskt.") }
            return .parameters(out)
        case ("MedicationRequest", let id?, "send-prescription"):
            try call.requirePost()
            let stored = try await Records(session: call.session).require("MedicationRequest", id)
            let sent = try await prescribing.send(stored, session: call.session)
            var out = ParametersBuilder()
            out.add("prescription", resource: sent ?? stored)
            out.add("sent", bool: sent != nil && Prescription.sendState(sent!.object) == "skickad")
            return .parameters(out)
        case ("MedicationRequest", let id?, "reserve-prescription"):
            return .text(try await prescribing.reservePrescription(id, session: call.session), contentType: "text/plain; charset=utf-8")
        case ("MedicationRequest", nil, "unsent-prescriptions"):
            guard let roleID = try call.input.id("prescriber") ?? call.session.principal.assignment?.id else {
                throw FHIRError(.invalid, code: .required, "prescriber (a PractitionerRole id) is required for a caller without an assignment", expression: ["prescriber"])
            }
            let unsent = try await prescribing.unsent(roleID: roleID, session: call.session)
            var out = ParametersBuilder()
            out.add("overdueCount", int: unsent.filter(\.overdue).count)
            for item in unsent {
                var part = ParametersBuilder()
                part.add("prescription", reference: "MedicationRequest/\(item.prescription.id)")
                part.add("patient", reference: "Patient/\(item.patient)")
                part.add("drug", item.product)
                part.add("waitingMinutes", int: item.waitingMinutes)
                part.add("overdue", bool: item.overdue)
                part.add("attempts", int: item.attempts)
                part.add("retrying", bool: item.retrying)
                part.add("lastError", item.lastError)
                out.add("unsent", part: part)
            }
            return .parameters(out)
        case ("Patient", let patientID?, "national-medication-list"):
            let list = try await prescribing.nationalList(patientID: patientID, access: try Self.access(call.input) ?? .own, session: call.session)
            var out = ParametersBuilder()
            out.add("access", list.access.rawValue)
            out.add("lockedExists", bool: list.lockedExists)
            if list.lockedExists { out.add("lockedText", "Spärrad förskrivning finns") }
            if let special = list.specialDrugsLast24Months { out.add("specialDrugsLast24Months", bool: special) }
            for row in list.rows {
                var part = ParametersBuilder()
                part.add("nllId", row.nllID)
                part.add("version", row.version)
                part.add("status", row.status)
                part.add("drug", row.product)
                part.add("atc", row.atc)
                part.add("dosage", row.dosage)
                part.add("prescriber", row.prescriber)
                part.add("authoredOn", row.authoredOn)
                part.add("dispensed", decimal: row.dispensed)
                part.add("unit", row.unit)
                part.add("journal", reference: row.journal)
                out.add("row", part: part)
            }
            return .parameters(out)
        default:
            throw call.unsupported()
        }
    }

    /// A resource given as a Parameters part (`resource`).
    static func resourcePart(_ input: OperationInput, _ name: String) -> JSONObject? {
        input.all.first { $0.name == name }?.value.objectValue?["resource"]?.objectValue
    }

    /// The åtkomsttyp given, if any, or an error naming the allowed codes.
    static func access(_ input: OperationInput) throws -> NLLAccess? {
        guard let code = input["access"] else { return nil }
        guard let access = NLLAccess(rawValue: code.uppercased()) else {
            throw FHIRError(.invalid, code: .value, "access must be one of \(NLLAccess.allCases.map(\.rawValue).joined(separator: ", ")); got '\(code)'", expression: ["access"])
        }
        return access
    }

    static func parameters(_ outcome: Prescribing.Outcome) -> ParametersBuilder {
        var out = ParametersBuilder()
        out.add("prescription", resource: outcome.prescription)
        out.add("sent", bool: outcome.sent)
        out.add("sendState", Prescription.sendState(outcome.prescription.object))
        for warning in outcome.warnings { out.add("warning", warning) }
        for card in outcome.cards {
            var part = ParametersBuilder()
            part.add("summary", card.summary)
            part.add("indicator", card.indicator.rawValue)
            part.add("detail", card.detail)
            out.add("card", part: part)
        }
        return out
    }
}
