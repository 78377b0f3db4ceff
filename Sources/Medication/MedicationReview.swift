public import Access
public import FHIRCore
public import StoreModel
import Foundation
import Terminology

/// Läkemedelsgenomgång, recorded as structured data: a Procedure coded in KVÅ (XV015 enkel, XV016
/// fördjupad) with the doctor as performer, the stay as encounter, the assessment as a note and each drug
/// on the list at that moment as a `granskat-lakemedel` reference. The läkemedelslista's flag (75 years,
/// five drugs) clears once one is recorded during the stay.
public enum MedicationReview {
    public static let simpleCode = "XV015"
    public static let thoroughCode = "XV016"
    /// The KVÅ codes as a token search (`code=`).
    static var codes: String { "\(KnownSystems.kva)|\(simpleCode),\(KnownSystems.kva)|\(thoroughCode)" }
    /// A drug the review went through (valueReference to its MedicationRequest or MedicationStatement).
    public static let reviewedExtension = "https://karna.se/fhir/StructureDefinition/granskat-lakemedel"

    /// A recorded review as the list shows it.
    public struct Recorded: Sendable {
        public var reference: String
        /// "enkel" or "fördjupad".
        public var kind: String
        public var at: String?
        public var performer: String?

        init(_ stored: StoredResource) {
            let object = stored.object
            reference = "Procedure/\(stored.id)"
            kind = object.code("code", system: KnownSystems.kva) == thoroughCode ? "fördjupad" : "enkel"
            at = object["performedDateTime"]?.stringValue
            performer = object["performer"]?.arrayValue?.first?.objectValue?["actor"]?.objectValue?["display"]?.stringValue
        }
    }

    /// Records a review of the patient's current list, by a doctor (a position that may ordinate).
    public static func record(patientID: String, thorough: Bool, assessment: String, session: PatientDataSession) async throws -> StoredResource {
        let principal = session.principal
        guard principal.kind == .practitioner, principal.permissions.prescribe else {
            throw FHIRError(.forbidden, code: .forbidden, "a läkemedelsgenomgång is recorded by the doctor responsible (a position with ordination rights)",
                            text: "Läkemedelsgenomgången dokumenteras av ansvarig läkare.")
        }
        let text = assessment.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else {
            throw FHIRError(.invalid, code: .required, "a läkemedelsgenomgång states its assessment: assessment", expression: ["assessment"],
                            text: "Skriv bedömningen från läkemedelsgenomgången.")
        }
        let list = try await MedicationList.read(patientID: patientID, session: session)
        let stay = try await InpatientStay.current(patientID: patientID, session: session)
        let code = thorough ? thoroughCode : simpleCode
        var procedure = JSONObject([("resourceType", .string("Procedure"))])
        procedure["extension"] = .array(list.rows.flatMap(\.sources).map { source in
            FHIR.object([("url", .string(reviewedExtension)), ("valueReference", FHIR.object([("reference", .string(source.reference))]))])
        })
        procedure["status"] = .string("completed")
        procedure["code"] = FHIR.object([("coding", .array([FHIR.object([("system", .string(KnownSystems.kva)), ("code", .string(code)),
                                                                         ("display", .string(thorough ? "Läkemedelsgenomgång, fördjupad" : "Läkemedelsgenomgång, enkel"))])]))])
        procedure["subject"] = FHIR.object([("reference", .string("Patient/\(patientID)"))])
        if let stay { procedure["encounter"] = FHIR.object([("reference", .string("Encounter/\(stay.id)"))]) }
        procedure["performedDateTime"] = .string(Instant.format(milliseconds: Instant.now()))
        procedure["performer"] = .array([FHIR.object([("actor", AdministrationRule.actor(principal))])])
        procedure["note"] = .array([FHIR.object([("text", .string(text))])])
        return try Medication.stored(await session.commit(.create(procedure, type: "Procedure", id: UUID().uuidString.lowercased())), "the läkemedelsgenomgång")
    }
}
