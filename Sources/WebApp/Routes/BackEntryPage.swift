import Access
import FHIRCore
import Foundation
import Hummingbird
import StoreModel

/// Efterregistrering after a downtime: per ended downtime, what has been entered at the user's unit since, marked
/// as back-entered, with when it happened and when it was entered, to check against the paper.
/// The kinds of record a person reads in the list (FHIR's type names otherwise).
enum BackEntryKinds {
    static let names = ["Observation": "Mätvärde eller provsvar", "MedicationAdministration": "Given dos", "Composition": "Anteckning",
                              "Procedure": "Åtgärd", "Encounter": "Vårdkontakt", "MedicationRequest": "Ordination", "Condition": "Diagnos",
                              "QuestionnaireResponse": "Formulär", "ServiceRequest": "Beställning", "Flag": "Uppmärksamhetssignal"]
}

extension WebApp {
    func backEntryPage(_ user: User) async throws -> Response {
        guard let assignment = user.assignment else {
            return message(user: user, heading: "Inget medarbetaruppdrag", text: "Logga in igen och välj ett medarbetaruppdrag.", status: .forbidden)
        }
        let session = user.data(gateway, action: "back-entry-list")
        let periods = gateway.readOnly.periods.suffix(10).reversed()
        func minute(_ instant: Int64) -> String {
            let text = SwedishTime.format(instant)
            return String(text.prefix(10)) + " " + String(text.dropFirst(11).prefix(5))
        }
        var drawn: [[String: Any]] = []
        let types = BackEntryKinds.names.keys.sorted()
        for (index, period) in periods.enumerated() {
            var found: [StoredResource] = []
            for type in types {
                let query = try SearchQuery.parse(type: type, parameters: [("_tag", "\(BackEntry.system)|\(BackEntry.code)"), ("_tag", "\(RecordTags.careUnit)|\(assignment.unitID)"),
                                                                          ("_lastUpdated", "ge" + Instant.format(milliseconds: period.to))], strict: true)
                found += try await session.search(query, limit: 200).resources.filter {
                    BackEntry.clinicalTime($0.object).map { period.from <= $0 && $0 <= period.to } ?? false
                }
            }
            let patientIDs = Set(found.compactMap { $0.patientID })
            let patients = Dictionary(try await session.read(keys: patientIDs.map { ResourceKey(type: "Patient", id: $0) }).map { ($0.id, Display.name($0.object)) },
                                      uniquingKeysWith: { first, _ in first })
            let records: [[String: Any]] = found.sorted { (BackEntry.clinicalTime($0.object) ?? 0) < (BackEntry.clinicalTime($1.object) ?? 0) }.map { record in
                let kind = BackEntryKinds.names[record.type] ?? record.type
                let text = Display.concept(record.object["code"] ?? record.object["medicationCodeableConcept"] ?? record.object["type"])
                return ["patientID": record.patientID ?? "", "patient": record.patientID.flatMap { patients[$0] } ?? "Okänd patient",
                        "what": text.isEmpty ? kind : "\(kind): \(text)", "happened": minute(BackEntry.clinicalTime(record.object) ?? 0),
                        "entered": minute(record.lastUpdated)]
            }
            drawn.append(["index": index, "from": minute(period.from), "to": minute(period.to), "reason": period.reason.isEmpty ? "Driftstopp" : period.reason,
                          "records": records, "hasRecords": !records.isEmpty])
        }
        var context = layout(user, title: "Efter driftstopp", nav: "navStart")
        context["unitName"] = assignment.unitName
        context["periods"] = drawn
        context["hasPeriods"] = !drawn.isEmpty
        return pages.page("efterregistrering", context)
    }
}
