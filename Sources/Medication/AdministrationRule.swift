import Access
import FHIRCore
import StoreModel
import Terminology

/// A dose on the MAR (MedicationAdministration: iordningställd, given, not given, or struck as entered in
/// error) says who and when, is given under an ordination in force for the same patient, is never dated
/// ahead of the clock, and keeps its history: a recorded dose changes only by being marked entered-in-error
/// with a reason. A drug on the high-risk list is given only with a second, different person's own signature
/// (dubbelkontroll), and a vid behov dose that would pass the ordination's maximum per period is refused
/// until the ordinator changes the ordination. Imports keep what came.
struct AdministrationRule: WriteRule {
    var types: Set<String> { ["MedicationAdministration"] }
    let rules: Result<MedicationSafetyRules, RulesError>

    /// The performer function of the second signature (HL7 med-admin-perform-function).
    static let functionSystem = "http://terminology.hl7.org/CodeSystem/med-admin-perform-function"

    func check(_ resource: JSONObject, id: String, current: StoredResource?, commit: [WriteOperation], session: PatientDataSession) async throws {
        guard session.action != "import" else { return }
        let before = current.flatMap { $0.isDeleted ? nil : $0.object }
        let status = resource["status"]?.stringValue ?? ""
        let previous = before?["status"]?.stringValue
        if session.principal.kind == .patient {
            throw FHIRError(.forbidden, code: .forbidden, "a patient does not record administrations on the MAR", text: "Administrering dokumenteras av vården.")
        }
        if previous == "entered-in-error", status != previous || !Self.sameContent(before, resource) {
            throw refused("MedicationAdministration/\(id) is entered-in-error and stays so: record the dose again instead",
                          expression: ["MedicationAdministration.status"], text: "Dosen är makulerad. Dokumentera den på nytt.")
        }
        if status == "entered-in-error" {
            guard OrdinationRule.hasReason(resource["statusReason"]?.arrayValue?.first) else {
                throw FHIRError(.invalid, code: .required, "marking a dose entered-in-error needs the reason: MedicationAdministration.statusReason, coded or as text",
                                expression: ["MedicationAdministration.statusReason"], text: "Ange varför dosen makuleras.")
            }
            return
        }
        if let previous, ["completed", "not-done"].contains(previous), !Self.sameContent(before, resource) {
            throw refused("MedicationAdministration/\(id) is recorded (\(previous)): correct it by marking it entered-in-error with a reason and recording the dose again",
                          expression: ["MedicationAdministration.status"], text: "En dokumenterad dos ändras inte. Makulera den med orsak och dokumentera på nytt.")
        }
        if status == "not-done", !OrdinationRule.hasReason(resource["statusReason"]?.arrayValue?.first) {
            throw FHIRError(.invalid, code: .required, "a dose not given says why: MedicationAdministration.statusReason, coded or as text",
                            expression: ["MedicationAdministration.statusReason"], text: "Ange varför dosen inte gavs.")
        }
        let rules = try self.rules.get().administration
        try checkTime(resource, tolerance: rules.futureToleranceSeconds)
        let order = try await ordination(resource, session: session, status: status, commit: commit)
        if status == "in-progress" || status == "completed" {
            try checkPerformer(resource, session: session)
        }
        let atc = resource.code("medicationCodeableConcept", system: KnownSystems.atc) ?? order.code("medicationCodeableConcept", system: KnownSystems.atc)
        if let group = rules.highRisk(atc) {
            try checkDoubleCheck(resource, before: before, status: status, group: group, session: session)
        }
        let dosage = order["dosageInstruction"]?.arrayValue?.first?.objectValue
        if status == "completed", dosage?["asNeededBoolean"]?.boolValue == true || dosage?["asNeededCodeableConcept"] != nil {
            try await checkMaximum(resource, id: id, order: order, session: session)
        }
    }

    /// The same dose, meta aside.
    static func sameContent(_ before: JSONObject?, _ after: JSONObject) -> Bool {
        guard let before else { return false }
        return before.withoutServerMeta == after.withoutServerMeta
    }

    /// When: a time is required, and never ahead of the clock (beyond the configured tolerance).
    func checkTime(_ resource: JSONObject, tolerance: Int) throws {
        guard let text = Self.effectiveText(resource), let instant = Instant.parse(text) else {
            throw FHIRError(.invalid, code: .required, "a dose states when: MedicationAdministration.effectiveDateTime (or effectivePeriod.start)",
                            expression: ["MedicationAdministration.effectiveDateTime"], text: "Ange tidpunkt för administreringen.")
        }
        if instant > Instant.now() + Int64(tolerance) * 1_000 {
            throw FHIRError(.invalid, code: .businessRule, "MedicationAdministration.effectiveDateTime \(text) is in the future: a dose is recorded when it is given",
                            expression: ["MedicationAdministration.effectiveDateTime"], text: "Administreringstiden kan inte ligga i framtiden.")
        }
        // An infusion period's end: recorded when it happens, and not before it began.
        if let endText = resource["effectivePeriod"]?.objectValue?["end"]?.stringValue {
            guard let end = Instant.parse(endText), end >= instant else {
                throw FHIRError(.invalid, code: .value, "MedicationAdministration.effectivePeriod.end \(endText) must be a time at or after the start \(text)",
                                expression: ["MedicationAdministration.effectivePeriod.end"], text: "Sluttiden måste ligga efter starttiden.")
            }
            if end > Instant.now() + Int64(tolerance) * 1_000 {
                throw FHIRError(.invalid, code: .businessRule, "MedicationAdministration.effectivePeriod.end \(endText) is in the future: an infusion is stopped when it stops",
                                expression: ["MedicationAdministration.effectivePeriod.end"], text: "Sluttiden kan inte ligga i framtiden.")
            }
        }
    }

    /// Under which ordination: one that exists for the same patient (or is written in the same commit, as a
    /// transaction or a seeded history brings an ordination with its doses), and is in force when the dose
    /// is prepared or given.
    func ordination(_ resource: JSONObject, session: PatientDataSession, status: String, commit: [WriteOperation] = []) async throws -> JSONObject {
        guard let requestID = resource.referenceID("request", type: "MedicationRequest") else {
            throw FHIRError(.invalid, code: .required, "a dose is given under an ordination: MedicationAdministration.request (MedicationRequest/…)",
                            expression: ["MedicationAdministration.request"], text: "Administreringen måste höra till en ordination.")
        }
        var found = commit.last { $0.type == "MedicationRequest" && $0.id == requestID }?.resource
        if found == nil { found = try await session.read(type: "MedicationRequest", id: requestID)?.object }
        guard let order = found else {
            throw FHIRError(.invalid, code: .notFound, "MedicationAdministration.request: MedicationRequest/\(requestID) does not exist",
                            expression: ["MedicationAdministration.request"])
        }
        let patient = resource.referenceID("subject", type: "Patient")
        guard patient != nil, patient == order.referenceID("subject", type: "Patient") else {
            throw FHIRError(.invalid, code: .businessRule, "MedicationAdministration.subject must be the ordination's patient (MedicationRequest/\(requestID))",
                            expression: ["MedicationAdministration.subject"], text: "Administreringen gäller en annan patient än ordinationen.")
        }
        let orderStatus = order["status"]?.stringValue ?? ""
        if status == "in-progress" || status == "completed", orderStatus != "active" {
            throw refused("MedicationRequest/\(requestID) is \(orderStatus): a dose is prepared or given only under an active ordination",
                          expression: ["MedicationAdministration.request"],
                          text: "Ordinationen är inte aktiv (\(OrdinationRule.statusText(orderStatus))). Kontakta ordinatören.")
        }
        return order
    }

    /// Who: the practitioner recording a prepared or given dose is its performer.
    func checkPerformer(_ resource: JSONObject, session: PatientDataSession) throws {
        guard session.principal.kind == .practitioner else { return }
        let everyone = Self.actors(resource, function: nil) + Self.actors(resource, function: "verifier")
        guard everyone.contains(where: { Self.isSelf($0, session.principal) }) else {
            throw FHIRError(.invalid, code: .required, "the one who prepares or gives the dose is its performer: MedicationAdministration.performer.actor (you)",
                            expression: ["MedicationAdministration.performer"], text: "Du som ger dosen anges som utförare.")
        }
    }

    /// Dubbelkontroll: a second, different person signs for themself before a high-risk dose is given.
    func checkDoubleCheck(_ resource: JSONObject, before: JSONObject?, status: String, group: MedicationSafetyRules.HighRisk,
                          session: PatientDataSession) throws {
        let verifiers = Self.actors(resource, function: "verifier")
        let earlier = before.map { Self.actors($0, function: "verifier") } ?? []
        if session.principal.kind == .practitioner, verifiers.contains(where: { !earlier.contains($0) && !Self.isSelf($0, session.principal) }) {
            throw FHIRError(.forbidden, code: .forbidden, "a dubbelkontroll is signed by the verifier themself: add yourself as performer with function verifier",
                            expression: ["MedicationAdministration.performer"], text: "Dubbelkontrollen signeras av den som kontrollerar, i egen inloggning.")
        }
        guard status == "completed" else { return }
        let performers = Self.actors(resource, function: nil)
        guard verifiers.contains(where: { !performers.contains($0) }) else {
            throw FHIRError(.invalid, code: .businessRule,
                            "\(group.name) is on the high-risk list: a second, different person signs the dose (performer with function verifier) before it is given",
                            expression: ["MedicationAdministration.performer"],
                            text: "\(group.name) är högriskläkemedel: en annan person ska dubbelkontrollera och signera innan dosen ges.")
        }
    }

    /// Vid behov: the doses given in the ordination's period, with this one, stay within its maximum.
    func checkMaximum(_ resource: JSONObject, id: String, order: JSONObject, session: PatientDataSession) async throws {
        guard let maximum = order["dosageInstruction"]?.arrayValue?.first?.objectValue?["maxDosePerPeriod"]?.objectValue,
              let limit = maximum["numerator"]?.objectValue?["value"]?.numberText.flatMap(Double.init),
              let period = Self.seconds(maximum["denominator"]?.objectValue), period > 0,
              let dose = Self.dose(resource), let requestID = resource.referenceID("request", type: "MedicationRequest"),
              let given = Self.effectiveInstant(resource)
        else { return }
        let query = try SearchQuery.parse(type: "MedicationAdministration", parameters: [("request", "MedicationRequest/\(requestID)"), ("status", "completed")], strict: true)
        let earlier = try await session.search(query, limit: 1_000).resources.filter { $0.id != id }.compactMap { stored -> Double? in
            guard let when = Self.effectiveInstant(stored.object), when <= given, when > given - Int64(period * 1_000) else { return nil }
            return Self.dose(stored.object)
        }
        let total = earlier.reduce(dose, +)
        if total > limit {
            let unit = maximum["numerator"]?.objectValue?["unit"]?.stringValue ?? ""
            throw FHIRError(.invalid, code: .businessRule,
                            "the dose would make \(Self.text(total)) \(unit) in the period, over the ordination's maximum of \(Self.text(limit)) \(unit): the ordinator decides first",
                            expression: ["MedicationAdministration.dosage.dose"],
                            text: "Dosen skulle överskrida ordinationens maxdos (\(DosageText.swedish(order["dosageInstruction"]?.arrayValue ?? []))). Kontakta ordinatören.")
        }
    }

    /// A whole number without its ".0".
    static func text(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    /// When a dose was given, as written: `effectiveDateTime`, or the start of `effectivePeriod`.
    static func effectiveText(_ administration: JSONObject) -> String? {
        administration["effectiveDateTime"]?.stringValue ?? administration["effectivePeriod"]?.objectValue?["start"]?.stringValue
    }

    static func effectiveInstant(_ administration: JSONObject) -> Int64? {
        effectiveText(administration).flatMap(Instant.parse)
    }

    static func dose(_ administration: JSONObject) -> Double? {
        administration["dosage"]?.objectValue?["dose"]?.objectValue?["value"]?.numberText.flatMap(Double.init)
    }

    /// A Quantity of time (UCUM s, min, h, d, wk) in seconds.
    static func seconds(_ quantity: JSONObject?) -> Double? {
        guard let quantity, let value = quantity["value"]?.numberText.flatMap(Double.init) else { return nil }
        let factors: [String: Double] = ["s": 1, "min": 60, "h": 3_600, "d": 86_400, "wk": 604_800]
        return factors[quantity["code"]?.stringValue ?? quantity["unit"]?.stringValue ?? ""].map { $0 * value }
    }

    /// The performers' actor references with the given function (nil: performers without a function or with `performer`).
    static func actors(_ administration: JSONObject, function: String?) -> [String] {
        (administration["performer"]?.arrayValue ?? []).compactMap { item in
            guard let item = item.objectValue, let actor = item["actor"]?.objectValue?["reference"]?.stringValue else { return nil }
            let code = item["function"]?.objectValue?["coding"]?.arrayValue?.first?.objectValue?["code"]?.stringValue
            if let function { return code == function ? actor : nil }
            return code == nil || code == "performer" ? actor : nil
        }
    }

    /// The principal as a performer's actor, by reference and name: how a dose, an infusion period and a
    /// läkemedelsgenomgång name who did it.
    static func actor(_ principal: Principal) -> JSONValue {
        FHIR.object([("reference", .string(principal.reference)), ("display", .string(principal.displayName))])
    }

    /// Whether a reference names the principal, as a Practitioner or as their PractitionerRole.
    static func isSelf(_ reference: String, _ principal: Principal) -> Bool {
        reference == principal.reference || principal.assignment.map { reference == "PractitionerRole/\($0.id)" } == true
    }
}
