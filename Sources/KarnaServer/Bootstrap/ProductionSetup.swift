import Access
import FHIRCore
import Foundation
import StoreModel

/// A real installation (`production on`): no demo organisation, users or data; a start that finds the demo's
/// traces stops and names them; the first systemförvaltare comes from `karna admin create`, whose secrets go to a
/// file only its operator can read, never to the log.
public enum ProductionSetup {
    /// What a production start refuses: the demo's accounts and clients, a demo credentials file, a demo client id.
    public static func demoTraces(accounts: AccountService, clients: ClientRegistry, configuration: KarnaConfiguration) async throws -> [String] {
        var found: [String] = []
        let demoUsers = try await accounts.all(kind: .practitioner).filter { $0.subjectID.hasPrefix("demo-") }.map(\.username)
            + (try await accounts.all(kind: .patient)).filter { $0.username == "patient" && $0.subjectID == "pat-1" }.map(\.username)
        if !demoUsers.isEmpty { found.append("the demo accounts \(demoUsers.sorted().joined(separator: ", ")) exist (remove them, or start from an empty database)") }
        for id in ["karna-demo-system", "karna-demo-app"] where try await clients.client(id) != nil {
            found.append("the demo client \(id) is registered")
        }
        if FileManager.default.fileExists(atPath: configuration.demoCredentialsPath) {
            found.append("a demo credentials file lies at \(configuration.demoCredentialsPath) (KARNA_DEMO_CREDENTIALS)")
        }
        if configuration.bootstrapClientID == "karna-demo-system" { found.append("KARNA_BOOTSTRAP_CLIENT_ID names the demo client") }
        return found
    }

    /// Applies the bootstrap client settings when both are given (automation); a production start makes nothing else.
    public static func ensureBootstrapClient(clients: ClientRegistry, configuration: KarnaConfiguration) async throws {
        guard let id = configuration.bootstrapClientID, let secret = configuration.bootstrapClientSecret else { return }
        try await DemoSetup.registerSystemClient(clients, id: id, secret: secret)
    }

    /// Who the first systemförvaltare is, and the region organisation they administer.
    public struct FirstAdministrator: Sendable {
        public var username: String
        public var givenName: String
        public var familyName: String
        /// The person's HSA-id.
        public var hsaID: String
        public var regionID: String
        public var regionName: String
        /// The region's HSA-id, when the organisation is created now.
        public var regionHSAID: String?

        public init(username: String, givenName: String, familyName: String, hsaID: String, regionID: String, regionName: String, regionHSAID: String?) {
            self.username = username
            self.givenName = givenName
            self.familyName = familyName
            self.hsaID = hsaID
            self.regionID = regionID
            self.regionName = regionName
            self.regionHSAID = regionHSAID
        }
    }

    /// Why `karna admin create` refused; nothing was written.
    public struct Refusal: Error, CustomStringConvertible {
        public let description: String
    }

    /// Creates the region organisation (unless it exists), the administrator's Practitioner, their uppdrag as
    /// systemförvaltare at the region, and their account. Only on an installation without accounts: later users
    /// are made by this administrator in the web app.
    public static func createFirstAdministrator(_ person: FirstAdministrator, password: String, totpSecret: String, gateway: AccessGateway,
                                                accounts: AccountService) async throws {
        if try await accounts.hasAccounts() {
            throw Refusal(description: "accounts exist already: the first administrator is made once; further users are made in the web app (Administration, Användare)")
        }
        for (value, what) in [(person.username, "--username"), (person.givenName, "--given"), (person.familyName, "--family"), (person.hsaID, "--hsa-id"),
                              (person.regionID, "--region-id"), (person.regionName, "--region-name")] where value.trimmingCharacters(in: .whitespaces).isEmpty {
            throw Refusal(description: "\(what) is empty")
        }
        guard person.regionID.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == ".") }), person.regionID.count <= 64 else {
            throw Refusal(description: "--region-id '\(person.regionID)' must be a FHIR id (letters, digits, - and ., at most 64)")
        }
        if let problem = accounts.policy.problem(password, username: person.username) { throw Refusal(description: "the password: \(problem)") }
        guard let position = Position.defaults.first(where: { $0.code == "systemforvaltare" }) else {
            throw Refusal(description: "the position systemforvaltare is not among the shipped positions")
        }
        let job = gateway.session(.job("karna-admin-create"), action: "bootstrap")
        let records = Records(session: job)
        var resources: [JSONObject] = []
        if try await records.optional("Organization", person.regionID) == nil {
            var region = DemoSetup.organisation(person.regionID, person.regionName, type: ("govt", "Region"), partOf: nil)
            if let hsa = person.regionHSAID, !hsa.isEmpty {
                region["identifier"] = .array([FHIR.object([("system", .string("urn:oid:1.2.752.29.4.19")), ("value", .string(hsa))])])
            }
            resources.append(region)
        }
        let practitionerID = UUID().uuidString.lowercased()
        resources.append(JSONObject([
            ("resourceType", .string("Practitioner")), ("id", .string(practitionerID)), ("active", .bool(true)),
            ("identifier", .array([FHIR.object([("system", .string("urn:oid:1.2.752.29.4.19")), ("value", .string(person.hsaID))])])),
            ("name", .array([FHIR.object([("family", .string(person.familyName)), ("given", .array([.string(person.givenName)]))])])),
        ]))
        resources.append(Assignment.resource(id: "\(practitionerID)-uppdrag-1", practitionerID: practitionerID, unitID: person.regionID,
                                             purpose: .administration, position: position))
        _ = try await job.commit(resources.map { .update($0, type: $0.resourceType ?? "", id: $0["id"]?.stringValue ?? "") })
        await gateway.directory.invalidate()
        _ = try await accounts.create(username: person.username, kind: .practitioner, subjectID: practitionerID,
                                      displayName: "\(person.givenName) \(person.familyName)", password: password, totpSecret: totpSecret,
                                      personalDetails: Principal.PersonalDetails(personnummer: nil, familyName: person.familyName, addressLine: nil))
    }

    /// Writes a secrets file only its owner can read (0600), refusing to overwrite one.
    public static func writeSecrets(_ text: String, to path: String) throws {
        guard !FileManager.default.fileExists(atPath: path) else { throw Refusal(description: "\(path) exists already; name a new file") }
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw Refusal(description: "cannot write \(path)")
        }
    }

    /// A new random password (for the first administrator when none is given).
    public static func newPassword() -> String { DemoSetup.randomPassword(length: 20) }
}
