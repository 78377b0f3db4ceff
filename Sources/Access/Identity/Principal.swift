/// Who is asking, as the gateway sees every request: a practitioner acting
/// under one assignment, a patient, or a system client; with the scopes their
/// token carries.
public struct Principal: Sendable {
    public enum Kind: String, Sendable, Codable {
        case practitioner, patient, system
    }

    public let kind: Kind
    /// The Practitioner or Patient id, or the client id.
    public let id: String
    public let displayName: String
    /// The medarbetaruppdrag everything is done under (practitioners only).
    public let assignment: Assignment?
    public let scopes: ScopeSet
    /// The patient an app was launched for (`launch/patient`), which `patient/` scopes are confined to.
    public let launchPatient: String?
    /// The OAuth client the token was issued to.
    public let clientID: String
    /// For review flags: the user's own personnummer, family name and home address line.
    public let personalDetails: PersonalDetails?
    /// The position's permissions for practitioners; everything for system clients (their scopes limit them).
    /// Fixed at creation: the gateway asks for every resource it decides on.
    public let permissions: Permissions
    /// Scope contexts that apply to this principal.
    let scopeContexts: Set<ScopeSet.Context>
    /// The region identity provider's own token the user signed in with (SITHS), when the request came with one:
    /// forwarded to a national service that must see the user's identity (NLL), never stored or logged.
    public let identityToken: String?

    /// What the review flags compare with the patient.
    public struct PersonalDetails: Sendable, Codable, Equatable {
        public var personnummer: String?
        public var familyName: String?
        public var addressLine: String?

        public init(personnummer: String?, familyName: String?, addressLine: String?) {
            self.personnummer = personnummer
            self.familyName = familyName
            self.addressLine = addressLine
        }
    }

    public init(kind: Kind, id: String, displayName: String, assignment: Assignment?, scopes: ScopeSet, launchPatient: String? = nil,
                clientID: String, personalDetails: PersonalDetails? = nil, identityToken: String? = nil) {
        self.kind = kind
        self.identityToken = identityToken
        self.id = id
        self.displayName = displayName
        self.assignment = assignment
        self.scopes = scopes
        self.launchPatient = launchPatient
        self.clientID = clientID
        self.personalDetails = personalDetails
        switch kind {
        case .practitioner:
            permissions = assignment?.permissions ?? .none
            scopeContexts = [.user, .patient]
        case .patient:
            permissions = Permissions(read: ["*"], write: [])
            scopeContexts = [.patient]
        case .system:
            permissions = Permissions(read: ["*"], write: ["*"])
            scopeContexts = [.system]
        }
    }

    /// The actor as the audit log names it.
    public var reference: String {
        switch kind {
        case .practitioner: "Practitioner/\(id)"
        case .patient: "Patient/\(id)"
        case .system: "Client/\(id)"
        }
    }

    /// A principal for the server's own jobs (seed, import), audited under the job's name.
    public static func job(_ name: String) -> Principal {
        Principal(kind: .system, id: name, displayName: name, assignment: nil, scopes: ScopeSet("system/*.cruds"), clientID: name)
    }

    /// Nobody: for the public CapabilityStatement, with no scope at all.
    public static let anonymous = Principal(kind: .system, id: "anonymous", displayName: "anonymous", assignment: nil, scopes: ScopeSet(""),
                                            clientID: "anonymous")
}
