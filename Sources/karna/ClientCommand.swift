import Access
import ArgumentParser
import FHIRCore
import Foundation
import KarnaServer
import Store

/// `karna client`: the backend services (SMART Backend Services) an installation trusts — the region's data platform
/// taking Bulk Data exports, a lab system — each with its public keys (a JWK set) and the scopes it may be granted.
struct ClientCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "client", abstract: "Backend services (SMART Backend Services clients).",
                                                    subcommands: [Add.self, List.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register a backend service that authenticates with a signed JWT (private_key_jwt) under its public keys.",
            discussion: "It then takes tokens by the client-credentials grant with a client_assertion signed by one of the keys (ES256, ES384 or RS256), e.g. for Bulk Data $export with --scope 'system/*.rs'.")
        @OptionGroup var options: ServerOptions
        @Option(help: "The client id (the JWT's iss and sub).") var id: String
        @Option(help: "Its name, as the log review shows it.") var name: String
        @Option(help: "A file holding its public keys as a JWK set ({\"keys\": [...]}).") var jwks: String
        @Option(help: "The scopes it may be granted.") var scope: String = "system/*.rs"
        @Option(help: "The care unit its writes are recorded under, if it writes.") var unit: String?
        @Flag(help: "Replace a client registered under the same id.") var replace = false

        func run() async throws {
            guard let data = FileManager.default.contents(atPath: jwks) else { throw ValidationError("--jwks: cannot read \(jwks)") }
            guard case .object(let set)? = try? JSONParser.parse(Array(data)), let keys = set["keys"]?.arrayValue, !keys.isEmpty,
                  keys.allSatisfy({ $0.objectValue?["kty"]?.stringValue != nil }) else {
                throw ValidationError("--jwks: \(jwks) is not a JWK set: a JSON object with a non-empty \"keys\" array of keys that each have \"kty\"")
            }
            guard keys.allSatisfy({ $0.objectValue?["d"] == nil }) else {
                throw ValidationError("--jwks: \(jwks) holds a private key (\"d\"); register only the public keys")
            }
            guard !scope.split(separator: " ").isEmpty, scope.split(separator: " ").allSatisfy({ $0.hasPrefix("system/") }) else {
                throw ValidationError("--scope: a backend service is granted system/ scopes only, such as 'system/*.rs'; got '\(scope)'")
            }
            try await options.withStore { store, _, _ in
                let clients = ClientRegistry(store: store)
                if try await clients.client(id) != nil, !replace {
                    throw ValidationError("--id: a client '\(id)' is registered already; pass --replace to change it")
                }
                try await clients.register(OAuthClient(id: id, name: name, kind: .system, jwks: String(decoding: data, as: UTF8.self), scopes: scope, unitID: unit))
            }
            print("registered the backend service \(id) (\(name)) with \(keys.count) key(s) and the scopes \(scope)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the registered clients (no secrets).")
        @OptionGroup var options: ServerOptions

        func run() async throws {
            let clients = try await options.withStore { store, _, _ in try await ClientRegistry(store: store).all() }
            for client in clients.sorted(by: { $0.id < $1.id }) {
                let authentication = client.jwks != nil ? "private_key_jwt" : client.secretHash != nil ? "secret" : "public"
                print("\(client.id)\t\(client.kind.rawValue)\t\(authentication)\t\(client.scopes)\t\(client.name)")
            }
        }
    }
}
