import Foundation
import Store
import StoreModel

/// A Patientdatalag directive registered on a patient: a care relationship a
/// user registers with a reason, a consent (samtycke) to read another care
/// provider's records, an emergency access (nödåtkomst), or a block (spärr).
public struct Directive: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        /// Vårdrelation registered by hand, for the unit.
        case careRelationship = "care-relationship"
        /// Samtycke to sammanhållen journalföring: read another provider's records.
        case consent
        /// Nödåtkomst: opened without consent because care required it.
        case emergencyAccess = "emergency-access"
        /// Spärr on a unit's or a provider's information.
        case block
    }

    public var id: String
    public var kind: Kind
    public var patientID: String
    /// The unit the directive is for (care relationship) or about (a unit block).
    public var unitID: String?
    /// The provider the directive is about (consent to read it, block of it) or, for the others, the actor's own.
    public var providerID: String?
    /// The user the directive is for (emergency access is personal).
    public var practitionerID: String?
    public var reason: String
    /// Milliseconds since 1970.
    public var validFrom: Int64
    public var validUntil: Int64?
    public var registeredBy: String
    public var revokedAt: Int64?
    public var revokedBy: String?
    /// For a spärr registered by staff: how the patient asked for it (in person, by letter …), as recorded.
    public var patientRequest: String?

    public init(id: String, kind: Kind, patientID: String, unitID: String?, providerID: String?, practitionerID: String?, reason: String,
                validFrom: Int64, validUntil: Int64?, registeredBy: String) {
        self.id = id
        self.kind = kind
        self.patientID = patientID
        self.unitID = unitID
        self.providerID = providerID
        self.practitionerID = practitionerID
        self.reason = reason
        self.validFrom = validFrom
        self.validUntil = validUntil
        self.registeredBy = registeredBy
    }

    public func isActive(at time: Int64) -> Bool {
        revokedAt == nil && validFrom <= time && (validUntil.map { time < $0 } ?? true)
    }

    var record: ControlRecord {
        ControlRecord(kind: ControlKind.directive, key: id, patientID: patientID, json: [UInt8]((try? JSONEncoder().encode(self)) ?? Data()))
    }

    static func from(_ record: ControlRecord) -> Directive? {
        try? JSONDecoder().decode(Directive.self, from: Data(record.json))
    }
}
