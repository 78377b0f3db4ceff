import Access
import FHIRCore
import Foundation
import StoreModel

/// A report received as a FHIR DiagnosticReport (a RIS that speaks FHIR): it must answer an order, it is
/// filed with the order's patient and unit, linked to the order's ImagingStudy, and a final one gets the
/// sign-off Task in the same commit — the same path as a result over HL7 v2.
enum ReportSubmission {
    static func submit(_ draft: JSONObject, session: PatientDataSession, now: Date = Date()) async throws -> StoredResource {
        guard draft.resourceType == "DiagnosticReport" else {
            throw FHIRError(.invalid, code: .value, "report must be a DiagnosticReport", expression: ["report"])
        }
        guard let orderID = draft["basedOn"]?.arrayValue?.first?.objectValue.flatMap({ $0.referenceID("basedOn", type: "ServiceRequest") })
                ?? (draft["basedOn"]?.arrayValue?.first?.objectValue?["reference"]?.stringValue).flatMap(ResourceKey.init(reference:)).flatMap({ $0.type == "ServiceRequest" ? $0.id : nil }) else {
            throw FHIRError(.invalid, code: .required, "DiagnosticReport.basedOn must name the order (ServiceRequest) the report answers",
                            expression: ["DiagnosticReport.basedOn"])
        }
        let records = Records(session: session)
        let order = try await records.require("ServiceRequest", orderID)
        guard let patientID = order.object.referenceID("subject", type: "Patient") else {
            throw FHIRError(.invalid, code: .value, "ServiceRequest/\(orderID) has no patient", expression: ["DiagnosticReport.basedOn"])
        }
        if let named = draft.referenceID("subject", type: "Patient"), named != patientID {
            throw refused("DiagnosticReport.subject is Patient/\(named), but the order is Patient/\(patientID)'s: a report is filed only with its order's patient",
                          expression: ["DiagnosticReport.subject"])
        }
        let status = draft["status"]?.stringValue ?? ""
        var report = draft
        report["subject"] = FHIR.reference("Patient", patientID)
        if report["issued"] == nil { report["issued"] = .string(ISO8601DateFormatter().string(from: now)) }
        let studyID = Imaging.studyID(orderID: orderID)
        if try await session.read(type: "ImagingStudy", id: studyID) != nil {
            report["imagingStudy"] = .array([FHIR.reference("ImagingStudy", studyID)])
        }
        if let unit = RecordTags.unit(of: order.object) { report = RecordTags.tagged(report, unit: unit) }
        let id = draft["id"]?.stringValue ?? ResultIngest.recordID("rapport", orderID, UUID().uuidString)
        let current = try await session.read(type: "DiagnosticReport", id: id).flatMap { $0.isDeleted ? nil : $0 }
        var writes: [WriteOperation] = [current == nil ? .create(report, type: "DiagnosticReport", id: id)
                                                       : .update(report, type: "DiagnosticReport", id: id, ifMatch: current!.versionId)]
        if ["final", "corrected", "amended"].contains(status) {
            if order.object["status"]?.stringValue == "active" {
                var answered = order.object
                answered["status"] = .string("completed")
                writes.append(.update(answered, type: "ServiceRequest", id: orderID, ifMatch: order.versionId))
            }
            if let task = try await SignOffOwner.write(reportID: id, order: order, patientID: patientID, corrected: current != nil || status == "corrected",
                                                       session: session, now: now,
                                                       route: { try await SignOffOwner.route(order: order, patientID: patientID, session: session, now: now) }) {
                writes.append(task)
            }
        }
        _ = try await session.commit(writes)
        return try await records.require("DiagnosticReport", id)
    }
}
