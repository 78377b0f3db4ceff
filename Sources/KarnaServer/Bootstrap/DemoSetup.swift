import Access
import FHIRCore
import Medication
import Foundation
import Store
import StoreModel
import SyntheticPopulation

/// The first start on an empty database: the region's organisation tree, demo
/// users with assignments, a demo SMART app and a system client, with their
/// credentials written to a private file and printed.
public enum DemoSetup {
    /// One demo user as printed and saved.
    public struct DemoUser: Codable, Sendable {
        public var username: String
        public var password: String
        public var totpSecret: String
        public var name: String
        public var role: String
    }

    /// What the first start created.
    public struct Credentials: Codable, Sendable {
        public var users: [DemoUser]
        public var systemClientID: String
        public var systemClientSecret: String?
        public var smartAppClientID: String
    }

    /// Units the demo users work at (ids from the synthetic region).
    static let primaryCare = "vc-karnstad"
    static let ward = "hosp-1-ward-2"
    static let emergency = "hosp-1-ward-1"
    static let delivery = "hosp-1-ward-5"
    static let privateProvider = "privat-karnvard"
    static let privateUnit = "privat-karnvard-vc"

    /// Creates the demo setup when no account exists yet; always applies the bootstrap client settings.
    /// Returns the credentials when it created them.
    public static func ensure(gateway: AccessGateway, accounts: AccountService, clients: ClientRegistry, configuration: KarnaConfiguration) async throws -> Credentials? {
        let systemClientID = configuration.bootstrapClientID ?? "karna-demo-system"
        let fixedSecret = configuration.bootstrapClientSecret
        if try await accounts.hasAccounts() {
            if let fixedSecret { try await registerSystemClient(clients, id: systemClientID, secret: fixedSecret) }
            return nil
        }
        let job = gateway.session(.job("karna-bootstrap"), action: "bootstrap")
        var resources = RegionGenerator(seed: 1, patientCount: 0).organisations().filter { $0.resourceType == "Organization" }
        resources += [
            organisation(privateProvider, "Kärnvård AB", type: ("prov", "Vårdgivare"), partOf: nil),
            organisation(privateUnit, "Kärnvård Vårdcentral Hamnen", type: ("dept", "Vårdenhet"), partOf: privateProvider),
        ]
        let positions = Dictionary(Position.defaults.map { ($0.code, $0) }, uniquingKeysWith: { a, _ in a })
        let people: [(username: String, id: String, given: String, family: String, hsa: String, roles: [(unit: String, position: String, purpose: AssignmentPurpose)])] = [
            ("lakare", "demo-lakare", "Anna", "Lindqvist", "SE2321000999-D0001",
             [(primaryCare, "lakare", .care), (ward, "lakare", .care), (emergency, "lakare", .care)]),
            ("sjukskoterska", "demo-sjukskoterska", "Erik", "Sandberg", "SE2321000999-D0002", [(ward, "sjukskoterska", .care), (primaryCare, "sjukskoterska", .care), (emergency, "sjukskoterska", .care)]),
            ("sekreterare", "demo-sekreterare", "Maria", "Holm", "SE2321000999-D0003", [(primaryCare, "medicinsk-sekreterare", .administration)]),
            ("kassa", "demo-kassa", "Johan", "Ek", "SE2321000999-D0004", [(primaryCare, "kassapersonal", .administration)]),
            ("logggranskare", "demo-logggranskare", "Karin", "Åberg", "SE2321000999-D0005", [("region-karnland", "logggranskare", .followUp)]),
            ("admin", "demo-admin", "Lars", "Nyström", "SE2321000999-D0006", [("region-karnland", "systemforvaltare", .administration)]),
            ("privatlakare", "demo-privatlakare", "Sofia", "Berg", "SE2321000999-D0007", [(privateUnit, "lakare", .care)]),
            // The vårdcentral's barnmorskemottagning, and the delivery ward (Förlossning och BB) of the same hospital group.
            ("barnmorska", "demo-barnmorska", "Lena", "Dahl", "SE2321000999-D0008", [(primaryCare, "barnmorska", .care), (delivery, "barnmorska", .care)]),
        ]
        resources += wardLocations()
        // The demo's doctors and midwife prescribe with a (made-up) förskrivarkod.
        let prescriberCodes = ["lakare": "9000011", "privatlakare": "9000029", "barnmorska": "9000037"]
        for person in people {
            resources.append(JSONObject([
                ("resourceType", .string("Practitioner")), ("id", .string(person.id)), ("active", .bool(true)),
                ("identifier", .array([.object(JSONObject([("system", .string("urn:oid:1.2.752.29.4.19")), ("value", .string(person.hsa))]))]
                                      + (prescriberCodes[person.username].map { [.object(JSONObject([("system", .string(Prescription.prescriberCodeSystem)), ("value", .string($0))]))] } ?? []))),
                ("name", .array([.object(JSONObject([("family", .string(person.family)), ("given", .array([.string(person.given)]))]))])),
            ]))
            for (index, role) in person.roles.enumerated() {
                resources.append(Assignment.resource(id: "\(person.id)-uppdrag-\(index + 1)", practitionerID: person.id, unitID: role.unit,
                                                     purpose: role.purpose, position: positions[role.position]!))
            }
        }
        _ = try await job.commit(resources.map { .update($0, type: $0.resourceType ?? "", id: $0["id"]?.stringValue ?? "") })
        await gateway.directory.invalidate()

        var users: [DemoUser] = []
        for person in people {
            let password = randomPassword()
            let secret = TOTP.newSecret()
            _ = try await accounts.create(username: person.username, kind: .practitioner, subjectID: person.id, displayName: "\(person.given) \(person.family)",
                                          password: password, totpSecret: secret,
                                          personalDetails: Principal.PersonalDetails(personnummer: nil, familyName: person.family, addressLine: nil))
            let role = person.roles.map { "\(positions[$0.position]!.display) @ \($0.unit)" }.joined(separator: "; ")
            users.append(DemoUser(username: person.username, password: password, totpSecret: secret, name: "\(person.given) \(person.family)", role: role))
        }
        // A patient login for the first synthetic patient (present once `karna seed` has run).
        let patientPassword = randomPassword(), patientSecret = TOTP.newSecret()
        _ = try await accounts.create(username: "patient", kind: .patient, subjectID: "pat-1", displayName: "Patient pat-1", password: patientPassword,
                                      totpSecret: patientSecret)
        users.append(DemoUser(username: "patient", password: patientPassword, totpSecret: patientSecret, name: "Patient pat-1", role: "patient (own record)"))

        let secret = fixedSecret ?? randomPassword(length: 32)
        try await registerSystemClient(clients, id: systemClientID, secret: secret)
        let base = configuration.baseURL.hasSuffix("/fhir") ? String(configuration.baseURL.dropLast(5)) : configuration.baseURL
        try await clients.register(OAuthClient(id: "karna-demo-app", name: "Kärna demo SMART app", kind: .publicApp,
                                               redirectURIs: ["http://localhost/callback", "http://127.0.0.1/callback", "\(base)/callback"],
                                               scopes: "openid fhirUser launch launch/patient offline_access online_access patient/*.rs user/*.cruds"))
        let credentials = Credentials(users: users, systemClientID: systemClientID, systemClientSecret: fixedSecret == nil ? secret : nil,
                                      smartAppClientID: "karna-demo-app")
        try save(credentials, to: configuration.demoCredentialsPath)
        return credentials
    }

    static func registerSystemClient(_ clients: ClientRegistry, id: String, secret: String) async throws {
        try await clients.register(OAuthClient(id: id, name: "Kärna system client", kind: .system, secretHash: OAuthClient.hashSecret(secret),
                                               scopes: "system/*.cruds system/*.rs system/*.read system/*.write system/AuditEvent.rs"))
    }

    /// What each module writes its demo data with (`karna seed`): the gateway, the seeded patient count, the demo units.
    public static func context(gateway: AccessGateway, patients: Int) -> DemoContext {
        DemoContext(gateway: gateway, patients: patients, primaryCareUnit: primaryCare, wardUnit: ward, emergencyUnit: emergency)
    }

    /// The demo ward as Locations: the ward, its rooms and their beds, for the ward overview to come.
    static func wardLocations() -> [JSONObject] {
        func location(_ id: String, _ name: String, _ kind: (String, String), partOf: String?) -> JSONObject {
            var members: [(key: String, value: JSONValue)] = [
                ("resourceType", .string("Location")), ("id", .string(id)), ("status", .string("active")), ("name", .string(name)),
                ("mode", .string("instance")),
                ("physicalType", .object(JSONObject([("coding", .array([.object(JSONObject([
                    ("system", .string("http://terminology.hl7.org/CodeSystem/location-physical-type")), ("code", .string(kind.0)), ("display", .string(kind.1)),
                ]))]))]))),
                ("managingOrganization", .object(JSONObject([("reference", .string("Organization/\(ward)"))]))),
            ]
            if let partOf { members.append(("partOf", .object(JSONObject([("reference", .string("Location/\(partOf)"))])))) }
            return JSONObject(members)
        }
        var out = [location("\(ward)-plats", "Medicinavdelning 1", ("wa", "Ward"), partOf: nil)]
        for room in 1...4 {
            out.append(location("\(ward)-sal-\(room)", "Sal \(room)", ("ro", "Room"), partOf: "\(ward)-plats"))
            for bed in 1...2 {
                out.append(location("\(ward)-sal-\(room)-sang-\(bed)", "Sal \(room) säng \(bed)", ("bd", "Bed"), partOf: "\(ward)-sal-\(room)"))
            }
        }
        return out
    }

    static func organisation(_ id: String, _ name: String, type: (String, String), partOf: String?) -> JSONObject {
        var members: [(key: String, value: JSONValue)] = [
            ("resourceType", .string("Organization")), ("id", .string(id)), ("active", .bool(true)),
            ("type", .array([.object(JSONObject([("coding", .array([.object(JSONObject([
                ("system", .string("http://terminology.hl7.org/CodeSystem/organization-type")), ("code", .string(type.0)), ("display", .string(type.1)),
            ]))]))]))])),
            ("name", .string(name)),
        ]
        if let partOf { members.append(("partOf", .object(JSONObject([("reference", .string("Organization/\(partOf)"))])))) }
        return JSONObject(members)
    }

    static func randomPassword(length: Int = 16) -> String {
        let alphabet = Array("abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<length).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
    }

    static func save(_ credentials: Credentials, to path: String) throws {
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(credentials)
        guard FileManager.default.createFile(atPath: path, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
    }

    /// The saved demo credentials, if this installation has them.
    public static func load(from path: String) -> Credentials? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(Credentials.self, from: data)
    }

    /// The lines `karna serve` prints: how to log in.
    public static func summary(_ credentials: Credentials, configuration: KarnaConfiguration) -> [String] {
        var lines = ["Demo logins (synthetic data only; change them before real use). Password + one-time code (TOTP):"]
        for user in credentials.users {
            lines.append("  \(user.username.padding(toLength: 14, withPad: " ", startingAt: 0)) \(user.password)  TOTP secret \(user.totpSecret)  (\(user.role))")
        }
        lines.append("  current one-time code: swift run karna totp USERNAME   (or add the secret to an authenticator app)")
        lines.append("System client: \(credentials.systemClientID)" + (credentials.systemClientSecret.map { " secret \($0)" } ?? " (secret from KARNA_BOOTSTRAP_CLIENT_SECRET)"))
        lines.append("  token: curl -s -d grant_type=client_credentials -d client_id=\(credentials.systemClientID) -d client_secret=… -d scope='system/*.cruds' \(configuration.authIssuerURL)/token")
        lines.append("Credentials file: \(configuration.demoCredentialsPath)")
        return lines
    }
}
