public import Access
public import FHIRCore
public import StoreModel
import Foundation

/// The läkemedelsberättelse at discharge: what was started, stopped and changed during the stay, each
/// with its reason, and what continues unchanged — generated from the ordinations' history, edited by the
/// doctor and signed as a Composition (LOINC 75311-1, "Läkemedelsberättelse") on the stay. A signed
/// statement that none is needed, with the reason, takes its place; an inpatient stay with ordinations is
/// not discharged without one of them (`DischargeStoryRule`).
public struct MedicationStory: Sendable {
    /// insatt | utsatt | andrat | oforandrat
    public struct Entry: Sendable {
        public var kind: String
        public var drug: String
        public var dosage: String
        public var reason: String?
        public var order: String
    }

    public var entries: [Entry]

    public static let loinc = "75311-1"
    public static let title = "Läkemedelsberättelse"

    /// The stay's story, from the ordinations of the patient in force during it.
    public static func read(stay: StoredResource, session: PatientDataSession) async throws -> MedicationStory {
        guard let patientID = stay.object.referenceID("subject", type: "Patient") else {
            throw FHIRError(.invalid, code: .required, "Encounter/\(stay.id) names no patient", expression: ["Encounter.subject"])
        }
        let start = stay.object["period"]?.objectValue?["start"]?.stringValue.flatMap(Instant.parse) ?? stay.lastUpdated
        let orders = try await session.search(try SearchQuery.parse(type: "MedicationRequest", parameters: [
            ("patient", "Patient/\(patientID)"), ("intent", "order,original-order,instance-order"), ("status", "active,on-hold,stopped,cancelled")], strict: true),
                                              limit: 1_000).resources
        var entries: [Entry] = []
        for order in orders {
            let object = order.object
            let drug = Display.concept(object["medicationCodeableConcept"])
            let dosage = DosageText.swedish(object["dosageInstruction"]?.arrayValue ?? [])
            let status = object["status"]?.stringValue ?? ""
            // Versions written during the stay tell what happened to it then; older ones only that it was there.
            let versions = order.lastUpdated >= start
                ? try await session.history(HistoryQuery(type: "MedicationRequest", id: order.id, count: 100)).versions : []
            let firstDuringStay = versions.last.map { $0.versionId == 1 && $0.lastUpdated >= start } ?? false
            let reference = "MedicationRequest/\(order.id)"
            if ["stopped", "cancelled"].contains(status) {
                guard order.lastUpdated >= start else { continue }
                entries.append(Entry(kind: "utsatt", drug: drug, dosage: dosage, reason: reasonText(object["statusReason"]), order: reference))
            } else if firstDuringStay {
                entries.append(Entry(kind: "insatt", drug: drug, dosage: dosage,
                                     reason: object["reasonCode"]?.arrayValue?.first.map { Display.concept($0) }, order: reference))
            } else if let changed = versions.first(where: { $0.lastUpdated >= start && $0.object.extensionValue(OrdinationRule.changeReasonExtension) != nil }) {
                entries.append(Entry(kind: "andrat", drug: drug, dosage: dosage,
                                     reason: changed.object.extensionValue(OrdinationRule.changeReasonExtension)?.stringValue, order: reference))
            } else {
                entries.append(Entry(kind: "oforandrat", drug: drug, dosage: dosage, reason: nil, order: reference))
            }
        }
        let order = ["insatt": 0, "andrat": 1, "utsatt": 2, "oforandrat": 3]
        return MedicationStory(entries: entries.sorted { (order[$0.kind] ?? 9, $0.drug) < (order[$1.kind] ?? 9, $1.drug) })
    }

    static func reasonText(_ concept: JSONValue?) -> String? {
        concept.map { Display.concept($0) }.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The story as a doctor edits it: a heading per kind, a line per drug with its reason.
    public var text: String {
        let headings = [("insatt", "Insatta läkemedel"), ("andrat", "Ändrade läkemedel"), ("utsatt", "Utsatta läkemedel"), ("oforandrat", "Oförändrade läkemedel")]
        var lines: [String] = []
        for (kind, heading) in headings {
            let items = entries.filter { $0.kind == kind }
            guard !items.isEmpty else { continue }
            lines.append(heading + ":")
            for item in items {
                var line = "- " + item.drug
                if !item.dosage.isEmpty, kind != "utsatt" { line += ", " + item.dosage }
                if let reason = item.reason { line += ". Orsak: " + reason }
                lines.append(line)
            }
        }
        return lines.isEmpty ? "Inga läkemedel under vårdtiden." : lines.joined(separator: "\n")
    }

    /// Signs the (edited) story, or with `noneNeededBecause` the statement that none is needed, as a final Composition on the stay.
    public static func sign(stay: StoredResource, text: String, noneNeededBecause: String? = nil, session: PatientDataSession) async throws -> StoredResource {
        let principal = session.principal
        guard principal.kind == .practitioner, principal.permissions.prescribe, let assignment = principal.assignment else {
            throw FHIRError(.forbidden, code: .forbidden, "a läkemedelsberättelse is signed by a position with ordination rights",
                            text: "Läkemedelsberättelsen signeras av läkare.")
        }
        let body = noneNeededBecause.map { "Läkemedelsberättelse upprättas inte: " + $0 } ?? text
        guard !body.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, noneNeededBecause?.isEmpty != true else {
            throw FHIRError(.invalid, code: .required, noneNeededBecause == nil ? "text: the läkemedelsberättelse is empty" : "reason: say why no läkemedelsberättelse is needed",
                            expression: [noneNeededBecause == nil ? "text" : "reason"], text: noneNeededBecause == nil ? "Läkemedelsberättelsen är tom." : "Ange varför ingen läkemedelsberättelse behövs.")
        }
        let now = SwedishTime.format(Instant.now())
        let author = FHIR.reference("PractitionerRole", assignment.id, display: principal.displayName)
        let paragraphs = body.split(separator: "\n", omittingEmptySubsequences: false).map { "<p>\(escaped(String($0)))</p>" }.joined()
        let id = "lmb-\(stay.id)-\(Instant.now())"
        let composition = FHIR.object([
            ("resourceType", .string("Composition")), ("id", .string(id)), ("status", .string("final")),
            ("type", FHIR.concept("http://loinc.org", loinc, "Discharge medications Narrative", text: title)),
            ("subject", stay.object["subject"]), ("encounter", FHIR.reference("Encounter", stay.id)), ("date", .string(now)),
            ("author", .array([author])), ("title", .string(title)),
            ("attester", .array([FHIR.object([("mode", .string("legal")), ("time", .string(now)), ("party", author)])])),
            ("section", .array([FHIR.object([("title", .string(title)),
                                             ("text", FHIR.object([("status", .string("additional")),
                                                                   ("div", .string("<div xmlns=\"http://www.w3.org/1999/xhtml\">\(paragraphs)</div>"))]))])])),
        ]).objectValue ?? JSONObject()
        return try Medication.stored(await session.commit(.create(composition, type: "Composition", id: id)), "the läkemedelsberättelse")
    }

    static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    /// Whether the stay has a signed story (or signed statement that none is needed).
    public static func isSigned(stayID: String, session: PatientDataSession) async throws -> Bool {
        let criteria = try ConditionalCriteria(type: "Composition", query: "encounter=Encounter/\(stayID)&type=http://loinc.org|\(loinc)&status=final,amended")
        return !(try await session.find(criteria)).isEmpty
    }
}

/// An inpatient stay whose patient had ordinations during it is discharged (finished) only with a signed
/// läkemedelsberättelse, or a signed statement of why none is needed.
struct DischargeStoryRule: WriteRule {
    var types: Set<String> { ["Encounter"] }

    func check(_ resource: JSONObject, id: String, current: StoredResource?, commit: [WriteOperation], session: PatientDataSession) async throws {
        guard session.action != "import", let current, !current.isDeleted, resource["status"]?.stringValue == "finished",
              current.object["status"]?.stringValue != "finished",
              resource["class"]?.objectValue?["code"]?.stringValue == "IMP",
              let patientID = resource.referenceID("subject", type: "Patient") else { return }
        // Only a stay with inpatient ordinations — in force now, or ended since it began — has a story to tell.
        let start = current.object["period"]?.objectValue?["start"]?.stringValue ?? Instant.format(milliseconds: current.lastUpdated)
        let inpatient = ("category", "http://terminology.hl7.org/CodeSystem/medicationrequest-category|inpatient")
        let found = try await session.search(together: [
            (try SearchQuery.parse(type: "MedicationRequest", parameters: [("patient", "Patient/\(patientID)"), ("status", "active,on-hold"), inpatient], strict: true), 1),
            (try SearchQuery.parse(type: "MedicationRequest", parameters: [("patient", "Patient/\(patientID)"), ("status", "stopped,cancelled,completed"),
                                                                           ("_lastUpdated", "ge" + start), inpatient], strict: true), 1),
        ])
        guard found.contains(where: { !$0.isEmpty }), try await !MedicationStory.isSigned(stayID: id, session: session) else { return }
        let signedInCommit = commit.contains { operation in
            operation.type == "Composition" && operation.resource?.referenceID("encounter", type: "Encounter") == id
                && operation.resource?.code("type", system: "http://loinc.org") == MedicationStory.loinc
        }
        guard !signedInCommit else { return }
        throw FHIRError(.conflict, code: .businessRule,
                        "Encounter/\(id) is discharged only with a signed läkemedelsberättelse (Encounter/\(id)/$sign-medication-story), or a signed statement of why none is needed",
                        expression: ["Encounter.status"],
                        text: "Skriv och signera läkemedelsberättelsen (fliken Läkemedel), eller ange där varför ingen behövs, innan patienten skrivs ut.")
    }
}
