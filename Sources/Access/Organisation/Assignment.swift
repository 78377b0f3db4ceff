import FHIRCore

/// A medarbetaruppdrag: a user's assignment at one care unit, for one purpose,
/// in one position. Stored as a PractitionerRole; a user with several chooses
/// one at login, and everything they do is done under it.
public struct Assignment: Sendable, Equatable, Codable {
    /// The PractitionerRole id.
    public var id: String
    public var practitionerID: String
    /// The care unit (vårdenhet), an Organization id.
    public var unitID: String
    /// The care provider (vårdgivare) the unit belongs to.
    public var providerID: String
    public var unitName: String
    public var purpose: AssignmentPurpose
    public var position: Position

    public init(id: String, practitionerID: String, unitID: String, providerID: String, unitName: String, purpose: AssignmentPurpose, position: Position) {
        self.id = id
        self.practitionerID = practitionerID
        self.unitID = unitID
        self.providerID = providerID
        self.unitName = unitName
        self.purpose = purpose
        self.position = position
    }

    /// What the assignment allows: the position's permissions, narrowed by the purpose.
    public var permissions: Permissions {
        var permissions = position.permissions
        if purpose == .followUp {
            // Follow-up reads the log, never the record.
            permissions.write = []
        }
        return permissions
    }

    /// The PractitionerRole resource for an assignment (what `karna seed` and the bootstrap write).
    public static func resource(id: String, practitionerID: String, unitID: String, purpose: AssignmentPurpose, position: Position) -> JSONObject {
        func coding(_ system: String, _ code: String, _ display: String) -> JSONValue {
            .object(JSONObject([("coding", .array([.object(JSONObject([("system", .string(system)), ("code", .string(code)), ("display", .string(display))]))]))]))
        }
        return JSONObject([
            ("resourceType", .string("PractitionerRole")), ("id", .string(id)), ("active", .bool(true)),
            ("practitioner", .object(JSONObject([("reference", .string("Practitioner/\(practitionerID)"))]))),
            ("organization", .object(JSONObject([("reference", .string("Organization/\(unitID)"))]))),
            ("code", .array([coding(Position.system, position.code, position.display), coding(AssignmentPurpose.system, purpose.rawValue, purpose.display)])),
        ])
    }
}
