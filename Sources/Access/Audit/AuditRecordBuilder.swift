import FHIRCore
import Store
import StoreModel

/// Systematic-review flags (HSLF-FS 2016:40 4 kap. 9 §: the log is reviewed
/// systematically); each flagged record lands in the review queue.
public enum ReviewFlag: String, Sendable, CaseIterable {
    case emergencyAccess = "emergency-access"
    case noCareRelationship = "no-care-relationship"
    case sameSurname = "same-surname"
    case sameAddress = "same-address"
    case ownRecord = "own-record"
    case protectedIdentity = "protected-identity"
    case denied
    /// A patient's identity, protected-identity marking or deceased status changed, or two records merged.
    case identityChange = "identity-change"
    /// A patient record deleted (only a system client can; never a clinical act).
    case patientDeleted = "patient-deleted"
    /// A request with a missing, forged or expired token (401): one is noise, many from one address a pattern.
    case failedAuthentication = "failed-authentication"

    /// Swedish text for the review queue.
    public var display: String {
        switch self {
        case .emergencyAccess: "Nödåtkomst"
        case .noCareRelationship: "Åtkomst utan aktiv vårdrelation"
        case .sameSurname: "Samma efternamn som patienten"
        case .sameAddress: "Samma adress som patienten"
        case .ownRecord: "Användaren öppnade sin egen journal"
        case .protectedIdentity: "Skyddade personuppgifter"
        case .denied: "Nekad åtkomst"
        case .identityChange: "Ändrad identitet, skyddad identitet eller dödsfall"
        case .patientDeleted: "Patient raderad"
        case .failedAuthentication: "Misslyckad autentisering"
        }
    }
}

/// Builds audit entries: who, under which assignment and unit, which patient,
/// which resources, purpose, access basis, when and with what outcome.
struct AuditRecordBuilder {
    let principal: Principal

    func entry(action: String, patientID: String?, resources: [String], basis: AccessBasis?, outcome: String,
               facts: PatientAccessFacts?, reason: String? = nil, detail: [(String, JSONValue)] = [], extraFlags: [ReviewFlag] = [],
               now: Int64 = Instant.now()) -> AuditEntry {
        let flags = self.flags(basis: basis, outcome: outcome, facts: facts) + extraFlags.map(\.rawValue)
        var members: [(key: String, value: JSONValue)] = [
            ("recorded", .string(Instant.format(milliseconds: now))),
            ("action", .string(action)),
            ("outcome", .string(outcome)),
            ("actor", .object(JSONObject([("reference", .string(principal.reference)), ("name", .string(principal.displayName)),
                                          ("kind", .string(principal.kind.rawValue)), ("client", .string(principal.clientID))]))),
        ]
        if let address = RequestOrigin.address { members.append(("address", .string(address))) }
        if let request = RequestOrigin.requestID { members.append(("request", .string(request))) }
        if let assignment = principal.assignment {
            members.append(("assignment", .object(JSONObject([
                ("id", .string(assignment.id)), ("unit", .string(assignment.unitID)), ("unitName", .string(assignment.unitName)),
                ("provider", .string(assignment.providerID)), ("position", .string(assignment.position.code)),
                ("purpose", .string(assignment.purpose.rawValue)),
            ]))))
        }
        if let patientID { members.append(("patient", .string(patientID))) }
        if let basis { members.append(("basis", .string(basis.rawValue))) }
        if let relationship = facts?.careRelationship { members.append(("careRelationship", .string(relationship))) }
        if let emergency = facts?.emergencyAccess, basis == .emergencyAccess { members.append(("emergencyReason", .string(emergency.reason))) }
        // A search can touch many resources of one patient: the first hundred are named, the rest counted.
        members.append(("resources", .array(resources.prefix(100).map { .string($0) })))
        if resources.count > 100 { members.append(("resourceCount", .number(String(resources.count)))) }
        if let reason { members.append(("reason", .string(reason))) }
        if !flags.isEmpty { members.append(("flags", .array(flags.map { .string($0) }))) }
        members += detail.map { (key: $0.0, value: $0.1) }
        return AuditEntry(recordedAt: now, actor: principal.reference, patientID: patientID, action: action, outcome: outcome,
                          flags: flags, json: JSONWriter.bytes(.object(JSONObject(members))))
    }

    private func flags(basis: AccessBasis?, outcome: String, facts: PatientAccessFacts?) -> [String] {
        var flags: [ReviewFlag] = []
        if outcome == "denied" { flags.append(.denied) }
        if basis == .emergencyAccess { flags.append(.emergencyAccess) }
        if let facts, principal.kind == .practitioner, outcome == "allowed" {
            if facts.careRelationship == nil, basis != .directory { flags.append(.noCareRelationship) }
            if facts.protectedIdentity { flags.append(.protectedIdentity) }
            // A search hit (a directory look-up) is a line in a list, not an opened record: a same-surname or
            // same-address flag on each hit of "Andersson" would bury the accesses worth reviewing.
            if let mine = principal.personalDetails, basis != .directory {
                if let a = mine.personnummer, let b = facts.personnummer,
                   let mineParsed = try? SwedishPersonalIdentity(a), let theirs = try? SwedishPersonalIdentity(b), mineParsed.canonical == theirs.canonical {
                    flags.append(.ownRecord)
                } else if let a = mine.familyName, let b = facts.familyName, SearchText.fold(a) == SearchText.fold(b) {
                    flags.append(.sameSurname)
                }
                if let a = mine.addressLine, let b = facts.addressLine, SearchText.fold(a) == SearchText.fold(b) { flags.append(.sameAddress) }
            }
        }
        return flags.map(\.rawValue)
    }
}
