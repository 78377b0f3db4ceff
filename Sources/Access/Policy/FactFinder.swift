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
    /// What the modules' records mean: which make a care relationship, which unit a record belongs to.
    let semantics: RecordSemantics

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

    /// Each patient's ground for a care relationship at the unit, where there is one: the first of the
    /// modules' grounds that holds (an ongoing or recent care contact, episode, booking, care team …).
    private func careRelationships(patientIDs: [String], unitID: String, now: Int64) async throws -> [String: String] {
        guard let first = patientIDs.first else { return [:] }
        let since = Instant.format(milliseconds: now - Int64(settings.careRelationshipDays) * 86_400_000)
        // The store sets each patient in turn where the grounds name the first.
        let patient = "Patient/\(first)", unit = "Organization/\(unitID)"
        var searches: [SearchQuery] = []
        var scans: [(type: String, parameters: @Sendable (String) -> [(name: String, value: String)], grounds: @Sendable (JSONObject, String) -> String?)] = []
        for ground in semantics.grounds {
            switch ground.look {
            case .search(let parameters):
                searches.append(try SearchQuery.parse(type: ground.type, parameters: parameters(patient, unit, since), strict: true))
            case .scan(let parameters, let grounds):
                scans.append((ground.type, parameters, grounds))
            }
        }
        // One look for all the patients: each patient's ground is the first that holds, in this order.
        var found: [String: String] = [:]
        if !searches.isEmpty {
            for (patientID, ground) in try await store.firstMatches(searches, patientIDs: patientIDs) { found[patientID] = "\(ground.type)/\(ground.id)" }
        }
        // A type without a search parameter for its unit: the patients' records are read and looked at, a few patients at a time.
        for scan in scans {
            let open = patientIDs.filter { found[$0] == nil }
            for start in stride(from: 0, to: open.count, by: Self.patientsPerScan) {
                let chunk = open[start..<min(start + Self.patientsPerScan, open.count)]
                let records = try await store.lookup(scan.type, scan.parameters(chunk.map { "Patient/\($0)" }.joined(separator: ",")),
                                                     limit: Self.scannedRecordsPerPatient * chunk.count)
                for record in records.sorted(by: { $0.id < $1.id }) {
                    guard let patientID = scan.grounds(record.object, unit), chunk.contains(patientID), found[patientID] == nil else { continue }
                    found[patientID] = "\(scan.type)/\(record.id)"
                }
            }
        }
        return found
    }

    /// How many patients' records one scanning search reads.
    static let patientsPerScan = 50
    /// How many records of one patient a scan looks at.
    static let scannedRecordsPerPatient = 20

    /// The unit that made a record: its unit tag, else the unit its module names (a care contact's serving unit).
    func recordUnit(_ object: JSONObject) -> String? {
        if let unit = Self.unitTag(object) { return unit }
        return object.resourceType.flatMap { semantics.recordUnit[$0] }?(object)
    }

    /// The units a record is sent to or from, when its module says it is one that is sent (a referral).
    func addressees(_ object: JSONObject) -> Set<String>? {
        object.resourceType.flatMap { semantics.addressedTo[$0] }?(object)
    }

    /// The care-unit tag a record carries, if any.
    static func unitTag(_ object: JSONObject) -> String? { RecordTags.unit(of: object) }
}
