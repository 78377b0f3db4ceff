import Access
import FHIRCore
import StoreModel

/// One living record per person: a personnummer, samordningsnummer or reservnummer in use
/// (not marked `old`) may belong to one active Patient only. Holds for every interface.
public struct UniquePatientIdentityRule: WriteRule {
    public let types: Set<String> = ["Patient"]

    public init() {}

    public func check(_ resource: JSONObject, id: String, current: StoredResource?, commit: [WriteOperation], session: PatientDataSession) async throws {
        guard resource["active"]?.boolValue != false else { return }
        for (i, identifier) in (resource["identifier"]?.arrayValue ?? []).enumerated() {
            guard let identifier = identifier.objectValue, identifier["use"]?.stringValue != "old",
                  let system = identifier["system"]?.stringValue, let value = identifier["value"]?.stringValue,
                  let canonical = SearchIndexer.canonicalPersonalIdentity(system: system, value: value) else { continue }
            let criteria = try ConditionalCriteria(type: "Patient", query: "identifier=\(system)|\(canonical)&active:not=false")
            var others: [String] = []
            for other in try await session.find(criteria) where other != id {
                // A merged record keeps the number as an old identifier: that is no second owner.
                let current = try await session.read(type: "Patient", id: other)?.object["identifier"]?.arrayValue ?? []
                let inUse = current.contains { item in
                    guard let item = item.objectValue, item["use"]?.stringValue != "old", item["system"]?.stringValue == system,
                          let value = item["value"]?.stringValue else { return false }
                    return SearchIndexer.canonicalPersonalIdentity(system: system, value: value) == canonical
                }
                if inUse { others.append(other) }
            }
            let inCommit = commit.contains { operation in
                guard operation.type == "Patient", operation.id != id else { return false }
                switch operation.kind {
                case .create(let other, _), .update(let other, _):
                    return other["active"]?.boolValue != false && (other["identifier"]?.arrayValue ?? []).contains { item in
                        guard let item = item.objectValue, item["use"]?.stringValue != "old", item["system"]?.stringValue == system,
                              let otherValue = item["value"]?.stringValue else { return false }
                        return SearchIndexer.canonicalPersonalIdentity(system: system, value: otherValue) == canonical
                    }
                case .delete: return false
                }
            }
            if let other = others.first {
                throw FHIRError(.conflict, code: .duplicate, "Patient.identifier[\(i)]: \(canonical) already belongs to Patient/\(other); find and update that record, or merge",
                                expression: ["Patient.identifier[\(i)].value"], text: "Det finns redan en patient med numret \(canonical). Sök fram den patienten i stället.")
            }
            if inCommit {
                throw FHIRError(.conflict, code: .businessRule, "Patient.identifier[\(i)]: \(canonical) is given to two patients in the same request",
                                expression: ["Patient.identifier[\(i)].value"], text: "Numret \(canonical) anges för två patienter på en gång.")
            }
        }
    }

    /// The same rule, held by the database for writers at the same instant: the check above sees the
    /// store before twenty parallel registrations of one number commit.
    public func guards(for resource: JSONObject, id: String) throws -> [UniquenessGuard] {
        guard resource["active"]?.boolValue != false else { return [] }
        var guards: [UniquenessGuard] = []
        for (i, identifier) in (resource["identifier"]?.arrayValue ?? []).enumerated() {
            guard let identifier = identifier.objectValue, identifier["use"]?.stringValue != "old",
                  let system = identifier["system"]?.stringValue, let value = identifier["value"]?.stringValue,
                  let canonical = SearchIndexer.canonicalPersonalIdentity(system: system, value: value) else { continue }
            let criteria = try ConditionalCriteria(type: "Patient", query: "identifier=\(system)|\(canonical)&active:not=false")
            guards.append(UniquenessGuard(
                key: "Patient.identifier|\(system)|\(canonical)", criteria: criteria,
                holds: { Self.holds($0, system: system, canonical: canonical) },
                conflict: { holder in
                    FHIRError(.conflict, code: .duplicate, "Patient.identifier[\(i)]: \(canonical) already belongs to Patient/\(holder); find and update that record, or merge",
                              expression: ["Patient.identifier[\(i)].value"], text: "Det finns redan en patient med numret \(canonical). Sök fram den patienten i stället.")
                }))
        }
        return guards
    }

    /// Whether an active Patient holds the number in use (not as an old identifier kept after a merge).
    static func holds(_ patient: JSONObject, system: String, canonical: String) -> Bool {
        guard patient["active"]?.boolValue != false else { return false }
        return (patient["identifier"]?.arrayValue ?? []).contains { item in
            guard let item = item.objectValue, item["use"]?.stringValue != "old", item["system"]?.stringValue == system,
                  let value = item["value"]?.stringValue else { return false }
            return SearchIndexer.canonicalPersonalIdentity(system: system, value: value) == canonical
        }
    }
}

/// No referral without an owner: a referral Task always names the unit whose inbox holds it,
/// the requesting unit and the patient; a referral ServiceRequest names its receiving unit.
public struct ReferralOwnerRule: WriteRule {
    public let types: Set<String> = ["Task", "ServiceRequest"]

    public init() {}

    public func check(_ resource: JSONObject, id: String, current: StoredResource?, commit: [WriteOperation], session: PatientDataSession) async throws {
        switch resource.resourceType {
        case "Task":
            guard resource.code("code", system: AdministrationCodes.taskCode) == Referrals.taskCode else { return }
            for (member, what) in [("owner", "the receiving unit whose inbox holds it"), ("requester", "the sending unit")] {
                guard let unit = resource.referenceID(member, type: "Organization") else {
                    throw FHIRError(.invalid, code: .required, "a referral Task needs \(member) (an Organization: \(what))", expression: ["Task.\(member)"])
                }
                guard try await session.read(type: "Organization", id: unit) != nil else {
                    throw FHIRError(.invalid, code: .value, "Task.\(member): Organization/\(unit) does not exist", expression: ["Task.\(member)"])
                }
            }
            guard resource.referenceID("for", type: "Patient") != nil else {
                throw FHIRError(.invalid, code: .required, "a referral Task needs for (the Patient)", expression: ["Task.for"])
            }
        case "ServiceRequest":
            guard resource.code("category", system: "http://snomed.info/sct") == Referrals.referralCategory else { return }
            let performers = (resource["performer"]?.arrayValue ?? []).compactMap { $0.objectValue?["reference"]?.stringValue }
            guard performers.contains(where: { $0.hasPrefix("Organization/") }) else {
                throw FHIRError(.invalid, code: .required, "a referral needs performer: the receiving unit (an Organization)", expression: ["ServiceRequest.performer"])
            }
        default:
            return
        }
    }
}
