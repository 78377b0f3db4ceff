import FHIRCore
import Store
import StoreModel

/// What a write changes that reading never could: the rules a write must pass on top of the read
/// ground (docs/access.md, "Writes"). Pure functions over the stored and the new version.
enum WritePolicy {
    /// The parts of a Patient that say who the person is, by what the change touches. A change to any of
    /// them is for a position with the `patientIdentity` permission, and flagged for log review.
    enum IdentityChange: String, CaseIterable {
        case identifier = "identifier"
        case birthDate = "birth date"
        case protectedIdentity = "protected-identity marking"
        case deceased = "deceased status"
        case merge = "merge (link or active)"
    }

    /// Which identity parts differ between the stored Patient and the new one (a new Patient changes none:
    /// registering is administration of the patient index).
    static func identityChanges(from current: JSONObject?, to new: JSONObject?) -> [IdentityChange] {
        guard let current else { return [] }
        let new = new ?? JSONObject()
        var changes: [IdentityChange] = []
        if identifiers(current) != identifiers(new) { changes.append(.identifier) }
        if current["birthDate"] != new["birthDate"] { changes.append(.birthDate) }
        if RecordTags.isProtected(current) != RecordTags.isProtected(new) { changes.append(.protectedIdentity) }
        if deceased(current) != deceased(new) { changes.append(.deceased) }
        if current["link"] != new["link"] || (current["active"]?.boolValue ?? true) != (new["active"]?.boolValue ?? true) { changes.append(.merge) }
        return changes
    }

    /// The identifiers as system|value pairs, in no order (a reordering is no change).
    private static func identifiers(_ patient: JSONObject) -> Set<String> {
        Set((patient["identifier"]?.arrayValue ?? []).compactMap { item in
            guard let item = item.objectValue else { return nil }
            return [item["use"]?.stringValue ?? "", item["system"]?.stringValue ?? "", item["value"]?.stringValue ?? ""].joined(separator: "|")
        })
    }

    private static func deceased(_ patient: JSONObject) -> JSONValue? {
        if let flag = patient["deceasedBoolean"], flag.boolValue == false { return nil }
        return patient["deceasedBoolean"] ?? patient["deceasedDateTime"]
    }


    /// The reference members through which a record names who made it.
    private static let authorMembers = ["author", "recorder", "asserter", "performer", "requester", "enterer", "informant", "participant"]

    /// Whether the stored record names the practitioner (or their role) as its author, recorder or performer.
    static func isAuthor(_ record: JSONObject, principal: Principal) -> Bool {
        var mine: Set<String> = ["Practitioner/\(principal.id)"]
        if let assignment = principal.assignment { mine.insert("PractitionerRole/\(assignment.id)") }
        func names(_ value: JSONValue?) -> Bool {
            switch value {
            case .object(let object):
                if let reference = object["reference"]?.stringValue, mine.contains(reference) { return true }
                // Encounter.participant.individual, Composition.attester.party and the like nest one level.
                return ["individual", "actor", "party", "who"].contains { names(object[$0]) }
            case .array(let items): return items.contains { names($0) }
            default: return false
            }
        }
        return authorMembers.contains { names(record[$0]) }
    }
}
