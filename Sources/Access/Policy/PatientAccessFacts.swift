import Store
import StoreModel

/// What the gateway knows about one patient for one principal, gathered once
/// per request: the care relationship at the user's unit, consents, emergency
/// access, blocks and protected identity.
public struct PatientAccessFacts: Sendable {
    public var patientID: String
    /// How the user's unit has a care relationship with the patient, nil when it has none.
    public var careRelationship: String?
    /// Providers whose records the patient has consented to share with the user's provider.
    public var consentedProviders: Set<String>
    /// The user's active nödåtkomst, if any.
    public var emergencyAccess: Directive?
    /// Units and providers whose information the patient has blocked.
    public var blockedUnits: Set<String>
    public var blockedProviders: Set<String>
    /// Skyddade personuppgifter.
    public var protectedIdentity: Bool
    /// For review flags.
    public var familyName: String?
    public var addressLine: String?
    public var personnummer: String?
    /// The Patient's version the facts were read from (nil: no such patient, or deleted); a read of the
    /// Patient later in the same request is served from it.
    public var patient: StoredResource?
    /// The Patient resource exists (and is not deleted).
    public var exists: Bool { patient != nil }
    /// The patient's directives in force when the facts were gathered (all kinds, all units).
    public var directives: [Directive] = []

    public init(patientID: String, careRelationship: String? = nil, consentedProviders: Set<String> = [], emergencyAccess: Directive? = nil,
                blockedUnits: Set<String> = [], blockedProviders: Set<String> = [], protectedIdentity: Bool = false,
                familyName: String? = nil, addressLine: String? = nil, personnummer: String? = nil) {
        self.patientID = patientID
        self.careRelationship = careRelationship
        self.consentedProviders = consentedProviders
        self.emergencyAccess = emergencyAccess
        self.blockedUnits = blockedUnits
        self.blockedProviders = blockedProviders
        self.protectedIdentity = protectedIdentity
        self.familyName = familyName
        self.addressLine = addressLine
        self.personnummer = personnummer
    }
}

/// The legal ground an access rests on, as the audit record names it.
public enum AccessBasis: String, Sendable, Codable {
    /// Vårdrelation at the user's own care provider.
    case careRelationship = "care-relationship"
    /// Vårdrelation plus samtycke: another provider's records (sammanhållen journalföring).
    case consent
    /// Nödåtkomst.
    case emergencyAccess = "emergency-access"
    /// A patient reading their own record.
    case ownRecord = "own-record"
    /// A system client within its scopes (integration agreement).
    case system
    /// Directory data (the patient's identity and demographics) for finding the patient.
    case directory
    /// A referral (remiss) sent to the user's unit, and its workflow task.
    case referral
}

/// The Patientdatalag decision for one piece of information.
public enum AccessDecision: Sendable, Equatable {
    case allowed(AccessBasis)
    /// Spärrad: hidden, not even its existence shown beyond "there is blocked information".
    case blocked
    /// No ground: the reason says what the user can do about it (in English for the API and the log), the text says it in Swedish.
    case denied(String, text: String)
}

/// The rules of Patientdatalagen (2008:355) chapter 4 and 6 and HSLF-FS 2016:40
/// for a practitioner, as one pure function over the facts.
public enum PDLPolicy {
    /// May the practitioner, under `assignment`, see a record made at `recordUnit` of `recordProvider`?
    public static func decide(assignment: Assignment, facts: PatientAccessFacts, recordUnit: String?, recordProvider: String) -> AccessDecision {
        // Spärr binds everyone but the patient, nödåtkomst included.
        if let unit = recordUnit, facts.blockedUnits.contains(unit) { return .blocked }
        if facts.blockedProviders.contains(recordProvider) { return .blocked }
        if assignment.purpose == .followUp {
            return .denied("the assignment \(assignment.unitName) (uppföljning) does not give access to patient records",
                           text: "Uppdraget vid \(assignment.unitName) (uppföljning) ger inte åtkomst till journaler.")
        }
        if recordProvider == assignment.providerID {
            // Inre sekretess: within the provider, a care relationship is required (4 kap. 1 § PDL).
            if facts.careRelationship != nil { return .allowed(.careRelationship) }
            if facts.emergencyAccess != nil { return .allowed(.emergencyAccess) }
            return .denied("you have no care relationship (vårdrelation) with the patient at \(assignment.unitName); register one with a reason, or use nödåtkomst if the patient's care requires it",
                           text: "Du har ingen vårdrelation med patienten vid \(assignment.unitName). Registrera en vårdrelation med ett skäl, eller använd nödåtkomst om patientens vård kräver det.")
        }
        // Sammanhållen journalföring: another provider's records need a care relationship and consent (6 kap. 2–3 §§ PDL),
        // or nödåtkomst when the patient cannot consent.
        if facts.careRelationship != nil, facts.consentedProviders.contains(recordProvider) { return .allowed(.consent) }
        if facts.emergencyAccess != nil { return .allowed(.emergencyAccess) }
        if facts.careRelationship == nil {
            return .denied("you have no care relationship (vårdrelation) with the patient at \(assignment.unitName)",
                           text: "Du har ingen vårdrelation med patienten vid \(assignment.unitName).")
        }
        return .denied("records of another care provider need the patient's consent (samtycke) or nödåtkomst",
                       text: "Uppgifter från en annan vårdgivare kräver patientens samtycke eller nödåtkomst.")
    }
}
