import FHIRCore
import Foundation
import Store
import StoreModel

/// Gathers the facts the Patientdatalag rules need about one patient, from the
/// record itself (care contacts, episodes, appointments, care teams) and the
/// registered directives.
struct FactFinder: Sendable {
    let store: any ResourceStore
    let settings: AccessSettings

    func facts(patientID: String, for principal: Principal, now: Int64) async throws -> PatientAccessFacts {
        try await facts(patientIDs: [patientID], for: principal, now: now)[patientID] ?? PatientAccessFacts(patientID: patientID)
    }

    /// The facts of several patients: their records and directives read once for all of them, then
    /// each one's care-relationship grounds, a few patients at a time.
    func facts(patientIDs: [String], for principal: Principal, now: Int64) async throws -> [String: PatientAccessFacts] {
        guard !patientIDs.isEmpty else { return [:] }
        async let directives = store.controlRecords(kind: ControlKind.directive, patientIDs: patientIDs)
        var all = Dictionary(uniqueKeysWithValues: patientIDs.map { ($0, PatientAccessFacts(patientID: $0)) })
        for patient in try await store.read(keys: patientIDs.map { ResourceKey(type: "Patient", id: $0) }) where !patient.isDeleted {
            all[patient.id] = Self.directoryFacts(patient)
        }
        for record in try await directives {
            guard let patientID = record.patientID, var facts = all[patientID],
                  let directive = Directive.from(record), directive.isActive(at: now) else { continue }
            facts.directives.append(directive)
            switch directive.kind {
            case .block:
                if let unit = directive.unitID { facts.blockedUnits.insert(unit) } else if let provider = directive.providerID { facts.blockedProviders.insert(provider) }
            case .consent:
                if let provider = directive.providerID, directive.unitID == nil || directive.unitID == principal.assignment?.unitID {
                    facts.consentedProviders.insert(provider)
                }
            case .emergencyAccess:
                if directive.practitionerID == principal.id, principal.kind == .practitioner { facts.emergencyAccess = directive }
            case .careRelationship:
                if let unit = directive.unitID, unit == principal.assignment?.unitID {
                    facts.careRelationship = "registered: \(directive.reason)"
                }
            }
            all[patientID] = facts
        }
        guard let assignment = principal.assignment else { return all }
        let open = all.values.filter { $0.careRelationship == nil }.map(\.patientID).sorted()
        for (patientID, ground) in try await careRelationships(patientIDs: open, unitID: assignment.unitID, now: now) {
            all[patientID]?.careRelationship = ground
        }
        return all
    }

    /// What the Patient resource itself tells: enough to show and audit a directory look-up (finding
    /// the patient), which needs no care relationship, without the lookups the full facts make.
    static func directoryFacts(_ stored: StoredResource) -> PatientAccessFacts {
        var facts = PatientAccessFacts(patientID: stored.id)
        facts.patient = stored
        let patient = stored.object
        facts.protectedIdentity = RecordTags.isProtected(patient)
        let name = patient["name"]?.arrayValue?.first?.objectValue
        facts.familyName = name?["family"]?.stringValue
        facts.addressLine = patient["address"]?.arrayValue?.first?.objectValue?["line"]?.arrayValue?.first?.stringValue
        facts.personnummer = patient["identifier"]?.arrayValue?.compactMap { $0.objectValue }.first {
            [SwedishPersonalIdentity.personnummerSystem, SwedishPersonalIdentity.samordningsnummerSystem].contains($0["system"]?.stringValue ?? "")
        }?["value"]?.stringValue
        return facts
    }

    /// Each patient's ground for a care relationship at the unit, where there is one: an ongoing or
    /// recent care contact, episode, appointment or care team there.
    private func careRelationships(patientIDs: [String], unitID: String, now: Int64) async throws -> [String: String] {
        guard let first = patientIDs.first else { return [:] }
        let since = Instant.format(milliseconds: now - Int64(settings.careRelationshipDays) * 86_400_000)
        // The store sets each patient in turn where the grounds name the first.
        let patient = "Patient/\(first)", unit = "Organization/\(unitID)", unitTag = ("_tag", "\(RecordTags.careUnit)|\(unitID)")
        let grounds: [(type: String, parameters: [(name: String, value: String)])] = [
            ("Encounter", [("patient", patient), ("service-provider", unit), ("date", "ge" + since),
                           ("status:not", "cancelled"), ("status:not", "entered-in-error")]),
            // A stay that has moved on to another ward still counts at the ward where the patient lay.
            ("Encounter", [("patient", patient), ("location.organization", unit), ("date", "ge" + since),
                           ("status:not", "cancelled"), ("status:not", "entered-in-error")]),
            ("EpisodeOfCare", [("patient", patient), ("organization", unit), ("status", "planned,waitlist,active,onhold")]),
            // A booking at the unit, also one recently cancelled or missed, and a place on its waiting list.
            ("Appointment", [("patient", patient), unitTag, ("date", "ge" + since), ("status:not", "entered-in-error")]),
            ("Appointment", [("patient", patient), unitTag, ("status", "waitlist")]),
            // A referral in the unit's inbox is a request for care: the unit may prepare the visit.
            ("Task", [("patient", patient), ("owner", unit), ("status", "requested,received,accepted,on-hold,in-progress")]),
        ]
        // One look for all the patients: each patient's ground is the first that holds, in this order.
        var found: [String: String] = [:]
        let queries = try grounds.map { try SearchQuery.parse(type: $0.type, parameters: $0.parameters, strict: true) }
        for (patientID, ground) in try await store.firstMatches(queries, patientIDs: patientIDs) { found[patientID] = "\(ground.type)/\(ground.id)" }
        let open = patientIDs.filter { found[$0] == nil }
        // A care team has no search parameter for its managing unit: the patients' active teams are read and looked at.
        for start in stride(from: 0, to: open.count, by: Self.patientsPerCareTeamSearch) {
            let chunk = open[start..<min(start + Self.patientsPerCareTeamSearch, open.count)]
            let teams = try await store.lookup("CareTeam", [("patient", chunk.map { "Patient/\($0)" }.joined(separator: ",")), ("status", "active")],
                                               limit: Self.careTeamsPerPatient * chunk.count)
            for team in teams.sorted(by: { $0.id < $1.id }) {
                guard let subject = team.object.reference("subject"), subject.type == "Patient", found[subject.id] == nil else { continue }
                let managing = team.object["managingOrganization"]?.arrayValue ?? []
                if managing.contains(where: { $0.objectValue?["reference"]?.stringValue == unit }) { found[subject.id] = "CareTeam/\(team.id)" }
            }
        }
        return found
    }

    /// How many patients' care teams one search reads.
    static let patientsPerCareTeamSearch = 50
    /// How many active care teams of one patient are looked at.
    static let careTeamsPerPatient = 20

    /// The unit that made a record: its unit tag, else (for care contacts) the serving organisation.
    static func recordUnit(_ object: JSONObject) -> String? {
        if let unit = unitTag(object) { return unit }
        if object.resourceType == "Encounter" { return object.reference("serviceProvider")?.id }
        return nil
    }

    /// The units a referral or its task is addressed to or from: performer, owner, requester.
    static func addressees(_ object: JSONObject) -> Set<String> {
        var units = Set<String>()
        for member in ["owner", "requester"] {
            if let key = object.reference(member), key.type == "Organization" { units.insert(key.id) }
        }
        for performer in object["performer"]?.arrayValue ?? [] {
            if let text = performer.objectValue?["reference"]?.stringValue, let key = ResourceKey(reference: text), key.type == "Organization" { units.insert(key.id) }
        }
        return units
    }

    /// The care-unit tag a record carries, if any.
    static func unitTag(_ object: JSONObject) -> String? { RecordTags.unit(of: object) }
}
