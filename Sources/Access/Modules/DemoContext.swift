import FHIRCore

/// What a module writes its demo data with (`karna seed`, after the demo region, its users and the
/// synthetic patients pat-1 … pat-N exist): the gateway, the demo units and the demo users' sessions,
/// so the demo is written through the same workflows and rules users call.
public struct DemoContext: Sendable {
    public let gateway: AccessGateway
    /// How many synthetic patients were seeded.
    public let patients: Int
    /// The demo vårdcentral.
    public let primaryCareUnit: String
    /// The demo medicine ward, with rooms and beds.
    public let wardUnit: String
    /// The demo emergency department (akutmottagning); empty when the demo region has none.
    public let emergencyUnit: String

    public init(gateway: AccessGateway, patients: Int, primaryCareUnit: String, wardUnit: String, emergencyUnit: String = "") {
        self.gateway = gateway
        self.patients = patients
        self.primaryCareUnit = primaryCareUnit
        self.wardUnit = wardUnit
        self.emergencyUnit = emergencyUnit
    }

    /// A job's session, for what no person writes (books, today's care contacts).
    public func job(_ action: String) -> PatientDataSession {
        gateway.session(.job("karna-seed"), action: action)
    }

    /// A demo user's session under one of their assignments; nil when the demo users were not created.
    public func practitioner(assignmentID: String, name: String, action: String) async throws -> PatientDataSession? {
        guard let assignment = try await gateway.directory.assignment(id: assignmentID) else { return nil }
        return gateway.session(Principal(kind: .practitioner, id: assignment.practitionerID, displayName: name, assignment: assignment,
                                         scopes: ScopeSet("user/*.cruds"), clientID: "karna-seed"), action: action)
    }
}
