import Access
import FHIRCore
import Foundation
import Store

/// Kärna's own code systems and extensions for patient administration.
public enum AdministrationCodes {
    public static let visitType = "https://karna.se/fhir/CodeSystem/besokstyp"
    public static let contactType = "https://karna.se/fhir/CodeSystem/kontakttyp"
    public static let referralStatus = "https://karna.se/fhir/CodeSystem/remisstatus"
    public static let taskCode = "https://karna.se/fhir/CodeSystem/arbetsuppgift"
    public static let careGuarantee = "https://karna.se/fhir/StructureDefinition/vardgaranti"
    public static let careGuaranteeDue = "https://karna.se/fhir/StructureDefinition/vardgaranti-sista-dag"
    public static let expectedDischarge = "https://karna.se/fhir/StructureDefinition/forvantad-utskrivning"
    public static let listingUnit = "https://karna.se/fhir/StructureDefinition/listning"
    public static let interpreterRequired = "http://hl7.org/fhir/StructureDefinition/patient-interpreterRequired"
    public static let notificationCategory = "https://karna.se/fhir/CodeSystem/avisering"
    public static let deliveryAttempts = "https://karna.se/fhir/StructureDefinition/leveransforsok"
    public static let accountType = "https://karna.se/fhir/CodeSystem/kontotyp"
    public static let accumulated = "https://karna.se/fhir/StructureDefinition/hogkostnadsskydd-belopp"
    public static let frikort = "https://karna.se/fhir/StructureDefinition/frikort"
    public static let paymentMethod = "https://karna.se/fhir/CodeSystem/betalsatt"
    public static let feeExemption = "https://karna.se/fhir/CodeSystem/avgiftsbefrielse"
    public static let actCode = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
}

/// Small builders for FHIR JSON, so the workflows read as the resources they write.
enum FHIR {
    static func object(_ members: [(String, JSONValue?)]) -> JSONValue {
        .object(JSONObject(members.compactMap { key, value in value.map { (key, $0) } }))
    }

    static func reference(_ type: String, _ id: String, display: String? = nil) -> JSONValue {
        object([("reference", .string("\(type)/\(id)")), ("display", display.map { .string($0) })])
    }

    static func coding(_ system: String, _ code: String, _ display: String? = nil) -> JSONValue {
        object([("system", .string(system)), ("code", .string(code)), ("display", display.map { .string($0) })])
    }

    static func concept(_ system: String, _ code: String, _ display: String? = nil, text: String? = nil) -> JSONValue {
        object([("coding", .array([coding(system, code, display)])), ("text", text.map { .string($0) })])
    }

    static func text(_ text: String) -> JSONValue { object([("text", .string(text))]) }

    static func money(_ kronor: Int) -> JSONValue { object([("value", .number(String(kronor))), ("currency", .string("SEK"))]) }

    static func annotation(_ text: String, author: Principal, at time: Int64) -> JSONValue {
        object([("authorReference", author.authorReference), ("time", .string(Instant.format(milliseconds: time))), ("text", .string(text))])
    }
}

extension Principal {
    /// The reference that names who acted: the assignment (PractitionerRole) when there is one.
    var authorReference: JSONValue {
        switch kind {
        case .practitioner: if let assignment { return FHIR.reference("PractitionerRole", assignment.id, display: assignment.unitName) }
        case .patient: break
        case .system: return FHIR.object([("display", .string("system client \(id)"))])
        }
        return .object(JSONObject([("reference", .string(reference))]))
    }
}

extension JSONObject {
    /// The id of a reference member of the given type, e.g. `subject` → patient id.
    func referenceID(_ member: String, type: String) -> String? {
        guard let text = self[member]?.objectValue?["reference"]?.stringValue, let key = ResourceKey(reference: text), key.type == type else { return nil }
        return key.id
    }

    /// The first code of a CodeableConcept member (or the first of an array of them) in `system`.
    func code(_ member: String, system: String) -> String? {
        let concepts = self[member]?.arrayValue ?? (self[member].map { [$0] } ?? [])
        for concept in concepts {
            for coding in concept.objectValue?["coding"]?.arrayValue ?? [] where coding.objectValue?["system"]?.stringValue == system {
                if let code = coding.objectValue?["code"]?.stringValue { return code }
            }
        }
        return nil
    }

    /// The value of an extension by URL.
    func extensionValue(_ url: String) -> JSONValue? {
        for item in self["extension"]?.arrayValue ?? [] {
            guard let item = item.objectValue, item["url"]?.stringValue == url else { continue }
            return item.first { $0.key.hasPrefix("value") }?.value
        }
        return nil
    }

    /// Sets (or with nil removes) an extension.
    mutating func setExtension(_ url: String, _ key: String, _ value: JSONValue?) {
        var items = (self["extension"]?.arrayValue ?? []).filter { $0.objectValue?["url"]?.stringValue != url }
        if let value { items.append(FHIR.object([("url", .string(url)), (key, value)])) }
        self["extension"] = items.isEmpty ? nil : .array(items)
    }

    /// Appends to an array member.
    mutating func append(_ member: String, _ value: JSONValue) {
        self[member] = .array((self[member]?.arrayValue ?? []) + [value])
    }

    /// Server-managed meta removed, so an update carries only content (the gateway and store set meta).
    var forUpdate: JSONObject { withoutServerMeta }
}

/// Reads and searches through the gateway session, as a workflow needs them.
struct Records {
    let session: PatientDataSession

    /// The current version, or a 404 naming what is missing.
    func require(_ type: String, _ id: String, role: String? = nil) async throws -> StoredResource {
        guard let stored = try await session.read(type: type, id: id), !stored.isDeleted else {
            throw FHIRError(.notFound, code: "not-found", "\(role.map { "\($0): " } ?? "")\(type)/\(id) does not exist", expression: role.map { [$0] } ?? [])
        }
        return stored
    }

    /// The current version if it exists and may be seen.
    func optional(_ type: String, _ id: String) async throws -> StoredResource? {
        guard let stored = try await session.read(type: type, id: id), !stored.isDeleted else { return nil }
        return stored
    }

    /// One search page of visible matches.
    func search(_ type: String, _ parameters: [(name: String, value: String)], limit: Int = 200) async throws -> [StoredResource] {
        let query = try SearchQuery.parse(type: type, parameters: parameters, strict: true)
        return try await session.search(query, limit: limit).resources
    }

    /// Every visible match, page by page in id order, up to `maximum` (an explicit limit, reported when
    /// reached). Callers sort what they get: keyset paging by id is what stays exact across pages.
    func all(_ type: String, _ parameters: [(name: String, value: String)], maximum: Int) async throws -> [StoredResource] {
        var query = try SearchQuery.parse(type: type, parameters: parameters.filter { $0.name != "_sort" }, strict: true)
        var found: [StoredResource] = []
        while true {
            let page = try await session.search(query, limit: min(500, maximum + 1 - found.count))
            found += page.resources
            if found.count > maximum {
                throw FHIRError(.tooLarge, code: "too-costly", "more than \(maximum) \(type) resources match; narrow the request")
            }
            guard page.hasMore, let last = page.resources.last else { return found }
            query.afterID = last.id
        }
    }
}

/// Retries a read-decide-write step when a concurrent writer changed what it read (If-Match
/// failed or an id was taken), so two clerks acting at once both get a correct answer.
func retryingConflicts<T: Sendable>(attempts: Int = 4, _ body: () async throws -> T) async throws -> T {
    var attempt = 0
    while true {
        attempt += 1
        do {
            return try await body()
        } catch let error as FHIRError where attempt < attempts && isConcurrencyConflict(error) {
            continue
        } catch let failure as CommitFailure where attempt < attempts && isConcurrencyConflict(failure.error) {
            continue
        }
    }
}

/// A version mismatch or a taken id (someone else wrote first), as opposed to a refusal by a rule
/// (code `business-rule`), which a retry would only repeat.
func isConcurrencyConflict(_ error: FHIRError) -> Bool {
    (error.category == .preconditionFailed || error.category == .conflict) && error.issues.contains { $0.code == "conflict" || $0.code == "duplicate" }
}

/// The same for any error a commit throws (the store wraps the failing write's error).
func isConcurrencyConflict(_ error: any Error) -> Bool {
    if let error = error as? FHIRError { return isConcurrencyConflict(error) }
    if let failure = error as? CommitFailure { return isConcurrencyConflict(failure.error) }
    return false
}

/// A refusal by a workflow rule: 409 with code `business-rule`, naming the rule.
func refused(_ message: String, expression: [String] = []) -> FHIRError {
    FHIRError(.conflict, code: "business-rule", message, expression: expression)
}

extension JSONValue {
    /// The text of a JSON number.
    var numberText: String? {
        if case .number(let text) = self { return text }
        return nil
    }
}
