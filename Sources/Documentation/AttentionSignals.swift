import Access
import FHIRCore
import Foundation
import StoreModel
import Terminology

/// Attention signals (uppmärksamhetssignaler): allergies and hypersensitivity as AllergyIntolerance;
/// infections that matter for care (smitta), treatments that matter and care limitations as Flags.
/// Every change is a new version through the gateway, so it is versioned and audited like a note.
public struct AttentionSignals: Sendable {
    /// The kinds of signal besides allergies, each bound to its value set.
    public enum Kind: String, Sendable, CaseIterable {
        case infection = "smitta"
        case treatment = "behandling"
        case careLimitation = "vardbegransning"

        public var valueSet: String {
            switch self {
            case .infection: KarnaValueSets.infections
            case .treatment: KarnaValueSets.treatments
            case .careLimitation: KarnaValueSets.careLimitations
            }
        }

        public var title: String {
            switch self {
            case .infection: "Smitta"
            case .treatment: "Behandling av betydelse för vården"
            case .careLimitation: "Vårdbegränsning"
            }
        }
    }

    /// An allergy or hypersensitivity as registered.
    public struct Allergy: Sendable {
        public var patientID: String
        /// A coded substance (ATC or Kärna's allergen list), or only `substanceText`.
        public var substanceSystem: String?
        public var substanceCode: String?
        public var substanceText: String?
        public var category: String?
        public var reaction: String?
        /// mild | moderate | severe
        public var severity: String?
        /// low | high | unable-to-assess
        public var criticality: String?
        /// confirmed | unconfirmed (certainty)
        public var certainty: String
        /// The user saw that the patient already has an active allergy to this substance and records it again anyway.
        public var allowDuplicate: Bool

        public init(patientID: String, substanceSystem: String? = nil, substanceCode: String? = nil, substanceText: String? = nil, category: String? = nil,
                    reaction: String? = nil, severity: String? = nil, criticality: String? = nil, certainty: String = "confirmed", allowDuplicate: Bool = false) {
            self.allowDuplicate = allowDuplicate
            self.patientID = patientID
            self.substanceSystem = substanceSystem
            self.substanceCode = substanceCode
            self.substanceText = substanceText
            self.category = category
            self.reaction = reaction
            self.severity = severity
            self.criticality = criticality
            self.certainty = certainty
        }
    }

    /// A patient's signals for the banner: allergies first.
    public struct State: Sendable {
        public var allergies: [StoredResource] = []
        public var infections: [StoredResource] = []
        public var treatments: [StoredResource] = []
        public var careLimitations: [StoredResource] = []

        public var isEmpty: Bool { allergies.isEmpty && infections.isEmpty && treatments.isEmpty && careLimitations.isEmpty }
        public var all: [StoredResource] { allergies + infections + treatments + careLimitations }
    }

    let terminology: TerminologyService

    /// The patient's active allergy to the same substance: the same code, or the same text (case and spacing aside).
    func activeAllergy(to allergy: Allergy, session: PatientDataSession) async throws -> StoredResource? {
        let active = try await Records(session: session).all("AllergyIntolerance", [("patient", "Patient/\(allergy.patientID)"), ("clinical-status", "active")],
                                                             maximum: 500)
        func folded(_ text: String?) -> String { (text ?? "").lowercased().split(whereSeparator: \.isWhitespace).joined(separator: " ") }
        return active.first { stored in
            let code = stored.object["code"]
            if let wanted = allergy.substanceCode {
                return (code?.objectValue?["coding"]?.arrayValue ?? []).contains { $0.objectValue?["code"]?.stringValue == wanted }
            }
            return !folded(allergy.substanceText).isEmpty && folded(Display.concept(code)) == folded(allergy.substanceText)
        }
    }

    public func recordAllergy(_ allergy: Allergy, session: PatientDataSession) async throws -> StoredResource {
        _ = try await Records(session: session).require("Patient", allergy.patientID, role: "patient")
        var display: String?
        if let code = allergy.substanceCode {
            let system = allergy.substanceSystem ?? KnownSystems.atc
            guard try terminology.isMember(valueSet: KarnaValueSets.allergens, system: system, code: code) else {
                throw FHIRError(.invalid, code: .codeInvalid, "substance: \(terminology.problem(system: system, code: code) ?? "'\(code)' is not in \(KarnaValueSets.allergens)")",
                                expression: ["substance"], text: "Ämnet finns inte i listan. Välj ett ämne i listan, eller skriv det som fritext.")
            }
            display = terminology.codeSystem(system)?.concepts[code]?.display
        }
        guard allergy.substanceCode != nil || !(allergy.substanceText ?? "").isEmpty else {
            throw FHIRError(.invalid, code: .required, "an allergy names its substance (a code or a text)", expression: ["substance"], text: "Ange ämnet patienten är allergisk mot.")
        }
        if !allergy.allowDuplicate, let same = try await activeAllergy(to: allergy, session: session) {
            let name = Display.concept(same.object["code"])
            throw FHIRError(.conflict, code: .duplicate,
                            "AllergyIntolerance/\(same.id) is an active allergy to the same substance; record it again with allowDuplicate=true if that is meant",
                            expression: ["substance"],
                            text: "Patienten har redan en aktiv allergi mot \(name) (registrerad \(Display.time(same.object["recordedDate"]?.stringValue))). Bekräfta om du ändå vill registrera en till.")
        }
        try Self.oneOf(allergy.severity, ["mild", "moderate", "severe"], "severity")
        try Self.oneOf(allergy.criticality, ["low", "high", "unable-to-assess"], "criticality")
        try Self.oneOf(allergy.certainty, ["confirmed", "unconfirmed"], "certainty")
        try Self.oneOf(allergy.category, ["food", "medication", "environment", "biologic"], "category")
        let substance: JSONValue = allergy.substanceCode.map { code in
            FHIR.concept(allergy.substanceSystem ?? KnownSystems.atc, code, display, text: allergy.substanceText ?? display)
        } ?? FHIR.text(allergy.substanceText ?? "")
        let id = UUID().uuidString.lowercased()
        let resource = FHIR.object([
            ("resourceType", .string("AllergyIntolerance")), ("id", .string(id)),
            ("clinicalStatus", FHIR.concept(DocumentationCodes.allergyClinical, "active")),
            ("verificationStatus", FHIR.concept(DocumentationCodes.allergyVerification, allergy.certainty)),
            ("category", allergy.category.map { .array([.string($0)]) }),
            ("criticality", allergy.criticality.map { .string($0) }),
            ("code", substance),
            ("patient", FHIR.reference("Patient", allergy.patientID)),
            ("recordedDate", .string(Instant.format(milliseconds: Instant.now()))),
            ("recorder", session.principal.authorReference),
            ("reaction", allergy.reaction.map { text in .array([FHIR.object([("manifestation", .array([FHIR.text(text)])),
                                                                             ("severity", allergy.severity.map { .string($0) })])]) }),
        ]).objectValue!
        _ = try await session.commit(.create(resource, type: "AllergyIntolerance", id: id))
        return try await Records(session: session).require("AllergyIntolerance", id)
    }

    /// Records an infection, a treatment or a care limitation. A care limitation names who decided (a
    /// physician's PractitionerRole, the user by default when they are one) and when.
    public func record(patientID: String, kind: Kind, code: String, note: String?, decidedByRoleID: String?, decidedAt: String?,
                       session: PatientDataSession) async throws -> StoredResource {
        let records = Records(session: session)
        _ = try await records.require("Patient", patientID, role: "patient")
        guard try terminology.isMember(valueSet: kind.valueSet, system: KarnaValueSets.attentionSystem, code: code) else {
            let known = (try? terminology.expand(url: kind.valueSet, count: 100).entries.map(\.code).joined(separator: ", ")) ?? ""
            throw FHIRError(.invalid, code: .codeInvalid, "'\(code)' is not a \(kind.title.lowercased()) signal; use one of \(known)", expression: ["code"], text: "Koden hör inte till den sortens uppmärksamhetssignal. Välj i listan.")
        }
        var author = session.principal.authorReference
        if let roleID = decidedByRoleID {
            let role = try await records.require("PractitionerRole", roleID, role: "decidedBy").object
            if kind == .careLimitation, role.code("code", system: Position.system) != "lakare" {
                throw FHIRError(.invalid, code: .value, "decidedBy: a care limitation is decided by a physician (läkare); PractitionerRole/\(roleID) is not one",
                                expression: ["decidedBy"], text: "En vårdbegränsning beslutas av en läkare.")
            }
            author = FHIR.reference("PractitionerRole", roleID, display: role["practitioner"]?.objectValue?["display"]?.stringValue)
        } else if kind == .careLimitation, session.principal.assignment?.position.code != "lakare" {
            throw FHIRError(.invalid, code: .required, "decidedBy: a care limitation names the physician who decided it", expression: ["decidedBy"], text: "Ange läkaren som beslutade vårdbegränsningen.")
        }
        if let decidedAt, Instant.parse(decidedAt) == nil {
            throw FHIRError(.invalid, code: .value, "decidedAt must be a date like 2026-11-20; got '\(decidedAt)'", expression: ["decidedAt"], text: "Beslutsdatum ska vara ett datum, till exempel 2026-11-20.")
        }
        let display = terminology.codeSystem(KarnaValueSets.attentionSystem)?.concepts[code]?.display
        let id = UUID().uuidString.lowercased()
        let flag = FHIR.object([
            ("resourceType", .string("Flag")), ("id", .string(id)), ("status", .string("active")),
            ("category", .array([FHIR.concept(DocumentationCodes.flagCategory, kind.rawValue, kind.title)])),
            ("code", FHIR.concept(KarnaValueSets.attentionSystem, code, display, text: note.map { "\(display ?? code): \($0)" } ?? display)),
            ("subject", FHIR.reference("Patient", patientID)),
            ("period", FHIR.object([("start", .string(decidedAt ?? Instant.format(milliseconds: Instant.now())))])),
            ("author", author),
        ]).objectValue!
        _ = try await session.commit(.create(flag, type: "Flag", id: id))
        return try await records.require("Flag", id)
    }

    /// Ends a signal: an allergy becomes inactive (with the reason as a note), a flag inactive with an end.
    public func end(type: String, id: String, reason: String, session: PatientDataSession) async throws -> StoredResource {
        let records = Records(session: session)
        guard type == "AllergyIntolerance" || type == "Flag" else {
            throw FHIRError(.invalid, code: .value, "only AllergyIntolerance and Flag signals are ended this way")
        }
        guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw FHIRError(.invalid, code: .required, "ending an attention signal needs a reason", expression: ["reason"], text: "Skriv skälet till att signalen avslutas.")
        }
        let stored = try await records.require(type, id)
        var resource = stored.object
        let now = Instant.format(milliseconds: Instant.now())
        if type == "Flag" {
            guard resource["status"]?.stringValue == "active" else { throw refused("Flag/\(id) is not active", expression: ["Flag.status"], text: "Signalen är redan avslutad.") }
            resource["status"] = .string("inactive")
            var period = resource["period"]?.objectValue ?? JSONObject()
            period["end"] = .string(now)
            resource["period"] = .object(period)
            resource["code"] = .object({
                var code = resource["code"]?.objectValue ?? JSONObject()
                code["text"] = .string("\(code["text"]?.stringValue ?? "") (avslutad: \(reason))")
                return code
            }())
        } else {
            guard resource.code("clinicalStatus", system: DocumentationCodes.allergyClinical) == "active" else {
                throw refused("AllergyIntolerance/\(id) is not active", expression: ["AllergyIntolerance.clinicalStatus"], text: "Allergin är redan avslutad.")
            }
            resource["clinicalStatus"] = FHIR.concept(DocumentationCodes.allergyClinical, "inactive")
            resource.append("note", FHIR.annotation(reason, author: session.principal, at: Instant.now()))
        }
        _ = try await session.commit(.update(resource.forUpdate, type: type, id: id, ifMatch: stored.versionId))
        return try await records.require(type, id)
    }

    /// The active signals of a patient, in one audited look (what the banner shows).
    public func state(patientID: String, session: PatientDataSession) async throws -> State {
        try await session.requireAccess(patientID: patientID)
        let pages = try await session.search(together: try Self.queries(patientID: patientID))
        return Self.state(allergies: pages[0], flags: pages[1])
    }

    static func queries(patientID: String) throws(FHIRError) -> [(query: SearchQuery, limit: Int)] {
        [
            (try SearchQuery.parse(type: "AllergyIntolerance", parameters: [("patient", "Patient/\(patientID)"), ("clinical-status", "active")], strict: true), 100),
            // R4 gives Flag no status parameter: the inactive ones are left out below.
            (try SearchQuery.parse(type: "Flag", parameters: [("patient", "Patient/\(patientID)")], strict: true), 200),
        ]
    }

    static func state(allergies: [StoredResource], flags: [StoredResource]) -> State {
        var state = State()
        // High criticality first, then the newest.
        state.allergies = allergies.sorted {
            let a = $0.object["criticality"]?.stringValue == "high", b = $1.object["criticality"]?.stringValue == "high"
            return a != b ? a : ($0.object["recordedDate"]?.stringValue ?? "") > ($1.object["recordedDate"]?.stringValue ?? "")
        }
        for flag in flags where flag.object["status"]?.stringValue == "active" {
            switch flag.object.code("category", system: DocumentationCodes.flagCategory) {
            case Kind.infection.rawValue: state.infections.append(flag)
            case Kind.treatment.rawValue: state.treatments.append(flag)
            case Kind.careLimitation.rawValue: state.careLimitations.append(flag)
            default: break
            }
        }
        return state
    }

    static func oneOf(_ value: String?, _ allowed: [String], _ name: String) throws(FHIRError) {
        guard let value else { return }
        guard allowed.contains(value) else {
            throw FHIRError(.invalid, code: .value, "\(name) must be one of \(allowed.joined(separator: ", ")); got '\(value)'", expression: [name], text: "Välj ett värde i listan.")
        }
    }
}
