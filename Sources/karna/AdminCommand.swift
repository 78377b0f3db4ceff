import Access
import ArgumentParser
import Foundation
import KarnaServer
import Store

/// `karna admin create`: the first systemförvaltare of a new installation, once; its password and TOTP secret
/// go to a file only the operator can read, never to the terminal or the log.
struct AdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "admin", abstract: "Administration of an installation.", subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create the first systemförvaltare (and the region organisation) on an installation without accounts.",
            discussion: "The password (from --password-file, or a new random one) and the TOTP secret are written to --secrets-out (mode 0600); nothing secret is printed.")
        @OptionGroup var options: ServerOptions
        @Option(help: "The administrator's username.") var username: String
        @Option(help: "Their given name.") var given: String
        @Option(help: "Their family name.") var family: String
        @Option(name: .customLong("hsa-id"), help: "Their HSA-id.") var hsaID: String
        @Option(name: .customLong("region-id"), help: "The id of the region's Organization (created when absent).") var regionID: String
        @Option(name: .customLong("region-name"), help: "The region's name, for a new Organization.") var regionName: String
        @Option(name: .customLong("region-hsa-id"), help: "The region's HSA-id, for a new Organization.") var regionHSAID: String?
        @Option(name: .customLong("password-file"), help: "A file holding the initial password (default: a new random one).") var passwordFile: String?
        @Option(name: .customLong("secrets-out"), help: "The new file (0600) the password and TOTP secret are written to.") var secretsOut: String

        func run() async throws {
            var password = ProductionSetup.newPassword()
            if let passwordFile {
                guard let data = FileManager.default.contents(atPath: passwordFile) else { throw ValidationError("--password-file: cannot read \(passwordFile)") }
                password = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .newlines)
            }
            guard !FileManager.default.fileExists(atPath: secretsOut) else { throw ValidationError("--secrets-out: \(secretsOut) exists already; name a new file") }
            try await options.withServices { services in
                // The secrets are on disk before the account exists, so an account is never made whose password no one has.
                let secret = TOTP.newSecret()
                do {
                    try ProductionSetup.writeSecrets("""
                        username: \(username)
                        password: \(password)
                        totp-secret: \(secret)
                        otpauth: \(TOTP.uri(secret: secret, account: username))

                        """, to: secretsOut)
                    let person = ProductionSetup.FirstAdministrator(username: username, givenName: given, familyName: family, hsaID: hsaID, regionID: regionID,
                                                                     regionName: regionName, regionHSAID: regionHSAID)
                    do {
                        try await ProductionSetup.createFirstAdministrator(person, password: password, totpSecret: secret, gateway: services.gateway,
                                                                           accounts: services.accounts)
                    } catch {
                        try? FileManager.default.removeItem(atPath: secretsOut)
                        throw error
                    }
                } catch let refusal as ProductionSetup.Refusal {
                    throw ValidationError(refusal.description)
                }
            }
            print("created the systemförvaltare \(username) at \(regionID); the password and the TOTP secret are in \(secretsOut) (mode 0600)")
        }
    }
}
