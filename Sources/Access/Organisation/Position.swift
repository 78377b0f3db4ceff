import Foundation

/// What holders of a position may do. An administrator configures it per
/// position; the defaults below are a starting point, not law.
public struct Permissions: Codable, Sendable, Equatable {
    /// Resource types the position may read (`*`: all).
    public var read: Set<String>
    /// Resource types the position may create, update and delete (`*`: all).
    public var write: Set<String>
    /// May sign (attest) notes.
    public var sign: Bool
    /// May prescribe medication.
    public var prescribe: Bool
    /// May see the address and contact details of patients with protected identity (skyddade personuppgifter).
    public var protectedIdentity: Bool
    /// May review the audit log (logggranskning).
    public var auditReview: Bool
    /// May administer units, users, positions and clients.
    public var administer: Bool
    /// May change who a patient is: identifiers, birth date, the protected-identity marking, deceased
    /// status, and merging two records (each such change is flagged for log review).
    public var patientIdentity: Bool
    /// May open a record by nödåtkomst (PDL 4 kap. 4 §): a care profession's, never an administrative position's.
    public var emergencyAccess: Bool

    public init(read: Set<String>, write: Set<String>, sign: Bool = false, prescribe: Bool = false, protectedIdentity: Bool = false,
                auditReview: Bool = false, administer: Bool = false, patientIdentity: Bool = false, emergencyAccess: Bool = false) {
        self.read = read
        self.write = write
        self.sign = sign
        self.prescribe = prescribe
        self.protectedIdentity = protectedIdentity
        self.auditReview = auditReview
        self.administer = administer
        self.patientIdentity = patientIdentity
        self.emergencyAccess = emergencyAccess
    }

    enum CodingKeys: String, CodingKey {
        case read, write, sign, prescribe, protectedIdentity, auditReview, administer, patientIdentity, emergencyAccess
    }

    /// Positions stored before `patientIdentity` existed read it as false here; `Position` then takes the
    /// default position's value for its code, so an existing database keeps who may merge and declare deaths.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(read: try container.decode(Set<String>.self, forKey: .read), write: try container.decode(Set<String>.self, forKey: .write),
                  sign: try container.decode(Bool.self, forKey: .sign), prescribe: try container.decode(Bool.self, forKey: .prescribe),
                  protectedIdentity: try container.decode(Bool.self, forKey: .protectedIdentity),
                  auditReview: try container.decode(Bool.self, forKey: .auditReview), administer: try container.decode(Bool.self, forKey: .administer),
                  patientIdentity: try container.decodeIfPresent(Bool.self, forKey: .patientIdentity) ?? false,
                  emergencyAccess: try container.decodeIfPresent(Bool.self, forKey: .emergencyAccess) ?? false)
    }

    public func mayRead(_ type: String) -> Bool { read.contains("*") || read.contains(type) }
    public func mayWrite(_ type: String) -> Bool { write.contains("*") || write.contains(type) }

    /// No rights at all: what a principal without an assignment gets.
    public static let none = Permissions(read: [], write: [])
}

/// A position (befattning) that assignments name, with its permissions.
public struct Position: Codable, Sendable, Equatable {
    public var code: String
    public var display: String
    public var permissions: Permissions

    public init(code: String, display: String, permissions: Permissions) {
        self.code = code
        self.display = display
        self.permissions = permissions
    }

    private enum CodingKeys: String, CodingKey { case code, display, permissions }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        code = try container.decode(String.self, forKey: .code)
        display = try container.decode(String.self, forKey: .display)
        permissions = try container.decode(Permissions.self, forKey: .permissions)
        let stored = try container.nestedContainer(keyedBy: Permissions.CodingKeys.self, forKey: .permissions)
        if !stored.contains(.patientIdentity), let standard = Position.defaults.first(where: { $0.code == code }) {
            permissions.patientIdentity = standard.permissions.patientIdentity
        }
        // Positions stored before nödåtkomst was a permission keep what their default position has.
        if !stored.contains(.emergencyAccess), let standard = Position.defaults.first(where: { $0.code == code }) {
            permissions.emergencyAccess = standard.permissions.emergencyAccess
        }
    }

    /// The code system of position codes on PractitionerRole.code.
    public static let system = "https://karna.se/fhir/CodeSystem/befattning"

    /// The default positions of a Swedish care provider, from `Defaults/positions.json`: the role
    /// table is data (which resource types each may write is the modules' vocabulary, not Access's).
    public static let defaults: [Position] = {
        struct File: Decodable { var positions: [Position] }
        guard let url = Bundle.module.url(forResource: "positions", withExtension: "json", subdirectory: "Defaults"),
              let data = try? Data(contentsOf: url) else {
            preconditionFailure("Access's resource Defaults/positions.json is missing beside the binary")
        }
        do {
            return try JSONDecoder().decode(File.self, from: data).positions
        } catch {
            preconditionFailure("Defaults/positions.json is not a list of positions: \(error)")
        }
    }()
}

/// Why an assignment exists (ändamål): it bounds what the holder may do.
public enum AssignmentPurpose: String, Codable, Sendable, CaseIterable {
    /// Vård och behandling: direct patient care.
    case care = "vard-och-behandling"
    /// Administration of care (booking, cashier).
    case administration
    /// Uppföljning and logggranskning.
    case followUp = "uppfoljning"

    public static let system = "https://karna.se/fhir/CodeSystem/uppdragets-andamal"

    public var display: String {
        switch self {
        case .care: "Vård och behandling"
        case .administration: "Administration"
        case .followUp: "Uppföljning och logggranskning"
        }
    }
}
