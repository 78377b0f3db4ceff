public import Access
public import FHIRCore
public import Foundation
public import StoreModel

/// Lab and imaging orders (beställningar): a ServiceRequest with its requester and owning unit from the
/// start, a placer number results are matched by, and the time its result is expected by.
public struct LabOrders: Sendable {
    /// The expected result time when the order gives none, per priority (hours).
    public var expectedHours: [String: Int]
    /// Where orders go and what became of them.
    public var delivery: OrderDelivery
    /// The PACS an imaging order's study is looked for in.
    public var imaging: Imaging

    public init(delivery: OrderDelivery, imaging: Imaging = Imaging(), expectedHours: [String: Int] = ["routine": 72, "urgent": 4, "asap": 2, "stat": 1]) {
        self.delivery = delivery
        self.imaging = imaging
        self.expectedHours = expectedHours
    }

    /// The extension holding when the result is expected: an order still without one after it is overdue.
    public static let expectedExtension = "https://karna.se/fhir/StructureDefinition/forvantat-svar"

    /// Orders an analysis (NPU code) or an examination (KVÅ or local code) for the patient, as the caller.
    public func order(patientID: String, kind: String, code: String, system: String? = nil, display: String?, priority: String, expectedHours hours: Int?,
                      note: String?, session: PatientDataSession, now: Date = Date()) async throws -> StoredResource {
        guard ["lab", "bild"].contains(kind) else {
            throw FHIRError(.invalid, code: .value, "kind must be lab or bild; got '\(kind)'", expression: ["kind"])
        }
        guard ["routine", "urgent", "asap", "stat"].contains(priority) else {
            throw FHIRError(.invalid, code: .value, "priority must be routine, urgent, asap or stat; got '\(priority)'", expression: ["priority"])
        }
        guard let role = session.principal.assignment?.id else {
            throw refused("an order needs a requester: order with a medarbetaruppdrag", expression: ["requester"],
                          text: "En beställning behöver en beställare: logga in med ett medarbetaruppdrag.")
        }
        let system = system ?? (kind == "lab" ? ResultsVocabulary.npuSystem : Self.imagingSystem)
        let expected = now.addingTimeInterval(Double((hours ?? expectedHours[priority] ?? 72) * 3_600))
        let placer = Self.placerNumber()
        var request = JSONObject([
            ("resourceType", .string("ServiceRequest")),
            ("identifier", .array([FHIR.object([("system", .string(ResultsVocabulary.placerSystem)), ("value", .string(placer))])])),
            ("status", .string("active")), ("intent", .string("order")), ("priority", .string(priority)),
            ("category", .array([FHIR.concept(ResultsVocabulary.orderKindSystem, kind, kind == "lab" ? "Laboratorieprov" : "Bilddiagnostik")])),
            ("code", FHIR.concept(system, code, display)),
            ("subject", FHIR.reference("Patient", patientID)),
            ("requester", FHIR.reference("PractitionerRole", role)),
            ("authoredOn", .string(ISO8601DateFormatter().string(from: now))),
        ])
        request.setExtension(Self.expectedExtension, "valueDateTime", .string(ISO8601DateFormatter().string(from: expected)))
        if let note, !note.isEmpty { request["note"] = .array([FHIR.object([("text", .string(note))])]) }
        if let need = delivery.channels.route(kind: kind, code: code)?.specimens?[code] {
            request = Self.withSpecimen(need, on: request, patientID: patientID)
        }
        request = delivery.initialState(kind: kind, code: code, order: request)
        let id = UUID().uuidString.lowercased()
        var writes: [WriteOperation] = [.create(request, type: "ServiceRequest", id: id)]
        // An imaging order expects its study, by the accession number the modality and the PACS will carry (the placer number).
        if kind == "bild" {
            writes += try await imaging.expectedStudy(orderID: id, accession: placer, patientID: patientID, unitID: session.principal.assignment?.unitID, session: session)
        }
        _ = try await session.commit(writes)
        return try await Records(session: session).require("ServiceRequest", id)
    }

    /// The specimen the analysis needs, as the lab's instructions say: a contained Specimen (kind, tube, volume) the
    /// order points to, and the patient's preparation as `patientInstruction`, so whoever draws it reads what to draw.
    static func withSpecimen(_ need: LabChannel.SpecimenNeed, on order: JSONObject, patientID: String) -> JSONObject {
        var order = order
        var container: [(String, JSONValue)] = [("description", .string(need.container))]
        if let volume = need.volumeML {
            container.append(("specimenQuantity", FHIR.object([("value", .number(Self.decimal(volume))), ("unit", .string("mL")),
                                                               ("system", .string("http://unitsofmeasure.org")), ("code", .string("mL"))])))
        }
        let specimen = JSONObject([
            ("resourceType", .string("Specimen")), ("id", .string(specimenID)),
            ("type", FHIR.concept(specimenTypeSystem, need.type, need.display)),
            ("subject", FHIR.reference("Patient", patientID)),
            ("container", .array([FHIR.object(container)])),
        ])
        order["contained"] = .array([.object(specimen)])
        order["specimen"] = .array([FHIR.object([("reference", .string("#\(specimenID)"))])])
        if let preparation = need.preparation { order["patientInstruction"] = .string(preparation) }
        return order
    }

    static let specimenID = "prov"
    /// HL7 table 0487, the kinds of specimen.
    public static let specimenTypeSystem = "http://terminology.hl7.org/CodeSystem/v2-0487"

    /// A volume as a FHIR number: 3 not 3.0, 3.5 as is (the Swedish comma is `ResultTable.decimal`'s, for text).
    static func decimal(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }

    /// The order's specimen need in words: "Plasma, Litiumheparinrör med gel, ljusgrön propp, 3,5 mL"; nil when it names none.
    public static func specimenText(_ order: JSONObject) -> String? {
        guard let specimen = (order["contained"]?.arrayValue ?? []).compactMap(\.objectValue).first(where: { $0["resourceType"]?.stringValue == "Specimen" }) else { return nil }
        let container = specimen["container"]?.arrayValue?.first?.objectValue
        return specimenWords(kind: specimen["type"]?.objectValue?["coding"]?.arrayValue?.first?.objectValue?["display"]?.stringValue,
                             container: container?["description"]?.stringValue,
                             volume: container?["specimenQuantity"]?.objectValue?["value"]?.numberText)
    }

    /// A specimen need as the lab's instructions give it, in the same words as on an order.
    public static func specimenText(_ need: LabChannel.SpecimenNeed) -> String {
        specimenWords(kind: need.display, container: need.container, volume: need.volumeML.map(decimal))
    }

    private static func specimenWords(kind: String?, container: String?, volume: String?) -> String {
        [kind, container, volume.map { "\($0.replacingOccurrences(of: ".", with: ",")) mL" }].compactMap { $0 }.joined(separator: ", ")
    }

    /// Imaging examinations by the region's own codes (undersökningskoder); an order may name KVÅ instead with `system`.
    public static let imagingSystem = "https://karna.se/fhir/CodeSystem/undersokning"

    /// A placer number as Swedish labs print them, `NNNNNNNN-NNNN`: random, so no order's number tells
    /// another's, and kept as text (never read as a number: `11545596-0175` stays whole).
    /// The order with exactly this beställningsnummer (never a prefix, never read as a number).
    public func order(placer: String, session: PatientDataSession) async throws -> StoredResource {
        let trimmed = placer.trimmingCharacters(in: .whitespaces)
        guard let order = try await Self.order(placer: trimmed, records: Records(session: session)) else {
            throw FHIRError(.invalid, code: .value, "placer: no order has the beställningsnummer '\(trimmed)'", expression: ["placer"],
                            text: "Ingen beställning har beställningsnumret \(trimmed).")
        }
        return order
    }

    /// The order whose placer identifier is exactly `placer`: the token search narrows, the exact comparison decides.
    static func order(placer: String, records: Records) async throws -> StoredResource? {
        guard !placer.isEmpty else { return nil }
        let found = try await records.search("ServiceRequest", [("identifier", "\(ResultsVocabulary.placerSystem)|\(placer)")], limit: 5)
        return found.first { stored in
            (stored.object["identifier"]?.arrayValue ?? []).contains {
                $0.objectValue?["system"]?.stringValue == ResultsVocabulary.placerSystem && $0.objectValue?["value"]?.stringValue == placer
            }
        }
    }

    static func placerNumber() -> String {
        String(format: "%08d-%04d", Int.random(in: 0..<100_000_000), Int.random(in: 0..<10_000))
    }

    /// The caller's unit's orders whose expected result time has passed without a final result (the overdue list).
    public func overdue(unitID: String, session: PatientDataSession, now: Date = Date()) async throws -> [StoredResource] {
        let active = try await Records(session: session).all("ServiceRequest", [("status", "active"), ("category", "\(ResultsVocabulary.orderKindSystem)|")], maximum: 2_000)
        let formatter = ISO8601DateFormatter()
        return active.filter { stored in
            guard RecordTags.unit(of: stored.object) == unitID,
                  let text = stored.object.extensionValue(Self.expectedExtension)?.stringValue, let expected = formatter.date(from: text) else { return false }
            return expected < now
        }
    }
}
