public import Access
public import FHIRCore
public import Foundation
public import StoreModel

/// Cancelling an order (makulera beställning): the order is revoked with a coded reason, and a lab that has it
/// is told (ORC-1 CA) through the same outbox as the order, so no sample is drawn and no examination made for
/// an order no one wants. A cancellation the lab did not take is on the requester's "ej levererad" list: the
/// lab must be called.
extension LabOrders {
    /// Cancels an order not yet answered, as the caller, with a reason from `ResultsVocabulary.cancelReasons`.
    /// An order already answered (a final or preliminary result) is refused: the lab has analysed it.
    public func cancel(orderID: String, reason: String, note: String?, session: PatientDataSession, now: Date = Date()) async throws -> StoredResource {
        guard let reasonText = ResultsVocabulary.cancelReasons.first(where: { $0.code == reason })?.display else {
            throw FHIRError(.invalid, code: .value,
                            "reason must be one of \(ResultsVocabulary.cancelReasons.map(\.code).joined(separator: ", ")); got '\(reason)'",
                            expression: ["reason"], text: "Ange varför beställningen makuleras.")
        }
        let comment = note?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        if reason == "annan", comment.isEmpty {
            throw FHIRError(.invalid, code: .required, "note: reason 'annan' needs a note saying what it is", expression: ["note"],
                            text: "Skriv vilken den andra orsaken är.")
        }
        let records = Records(session: session)
        return try await retryingConflicts {
            let order = try await records.require("ServiceRequest", orderID)
            guard OrderRule.isOrder(order.object) else {
                throw FHIRError(.invalid, code: .value, "ServiceRequest/\(orderID) is not a lab or imaging order", expression: ["ServiceRequest.category"])
            }
            switch order.object["status"]?.stringValue ?? "" {
            case "revoked":
                return order
            case "active", "on-hold", "draft":
                break
            case "completed":
                throw refused("ServiceRequest/\(orderID) has its final result: an answered order cannot be cancelled", expression: ["ServiceRequest.status"],
                              text: "Beställningen är redan besvarad och kan inte makuleras.")
            case let other:
                throw refused("ServiceRequest/\(orderID) is \(other): only an active order can be cancelled", expression: ["ServiceRequest.status"],
                              text: "Beställningen kan inte makuleras.")
            }
            // A preliminary result means the sample is already analysed: the lab, not a cancellation, decides what follows.
            let answered = try await records.search("DiagnosticReport", [("based-on", "ServiceRequest/\(orderID)")], limit: 1)
            guard answered.isEmpty else {
                throw refused("ServiceRequest/\(orderID) has a result (DiagnosticReport/\(answered[0].id)): the lab has analysed it",
                              expression: ["ServiceRequest.status"], text: "Labbet har redan svarat på beställningen. Kontakta labbet.")
            }
            var revoked = order.object
            revoked["status"] = .string("revoked")
            var parts: [JSONValue] = [
                FHIR.object([("url", .string("orsak")), ("valueCoding", FHIR.coding(ResultsVocabulary.cancelReasonSystem, reason, reasonText))]),
                FHIR.object([("url", .string("tid")), ("valueDateTime", .string(ISO8601DateFormatter().string(from: now)))]),
            ]
            if !comment.isEmpty { parts.append(FHIR.object([("url", .string("kommentar")), ("valueString", .string(comment))])) }
            if let role = session.principal.assignment?.id {
                parts.append(FHIR.object([("url", .string("av")), ("valueReference", FHIR.reference("PractitionerRole", role))]))
            }
            revoked["extension"] = .array((revoked["extension"]?.arrayValue ?? []).filter { $0.objectValue?["url"]?.stringValue != ResultsVocabulary.cancellationExtension }
                + [FHIR.object([("url", .string(ResultsVocabulary.cancellationExtension)), ("extension", .array(parts))])])
            // Only a lab that has the order is told; one that never got it has nothing to cancel. An order in flight
            // now is caught when its send is recorded (`OrderDelivery.record`).
            if OrderDelivery.state(order.object) == "skickad" {
                revoked = OrderDelivery.settingCancellation("att-skicka", problem: nil, on: revoked)
            }
            var writes: [WriteOperation] = [.update(revoked, type: "ServiceRequest", id: orderID, ifMatch: order.versionId)]
            let studyID = Imaging.studyID(orderID: orderID)
            if let study = try await session.read(type: "ImagingStudy", id: studyID), !study.isDeleted, study.object["status"]?.stringValue == "registered" {
                var cancelled = study.object
                cancelled["status"] = .string("cancelled")
                writes.append(.update(cancelled, type: "ImagingStudy", id: studyID, ifMatch: study.versionId))
            }
            _ = try await session.commit(writes)
            return try await records.require("ServiceRequest", orderID)
        }
    }

    /// When, why and by whom an order was cancelled, as recorded.
    public static func cancellation(_ order: JSONObject) -> (reason: String, note: String?, time: String?, by: String?)? {
        guard let item = (order["extension"]?.arrayValue ?? []).compactMap({ $0.objectValue })
                .first(where: { $0["url"]?.stringValue == ResultsVocabulary.cancellationExtension }) else { return nil }
        let parts = (item["extension"]?.arrayValue ?? []).compactMap { $0.objectValue }
        func part(_ url: String) -> JSONObject? { parts.first { $0["url"]?.stringValue == url } }
        return (part("orsak")?["valueCoding"]?.objectValue?["display"]?.stringValue ?? part("orsak")?["valueCoding"]?.objectValue?["code"]?.stringValue ?? "",
                part("kommentar")?["valueString"]?.stringValue, part("tid")?["valueDateTime"]?.stringValue,
                part("av")?["valueReference"]?.objectValue?["reference"]?.stringValue)
    }
}
