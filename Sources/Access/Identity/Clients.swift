import Crypto
import Foundation
import Store
import StoreModel

/// An OAuth client: a SMART app (public or confidential) or a system client
/// (SMART Backend Services with a JWK set, or a secret for development).
public struct OAuthClient: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        /// A browser or native app without a secret (PKCE only).
        case publicApp = "public"
        /// An app with a client secret.
        case confidential
        /// A system client: client-credentials grant.
        case system
    }

    public var id: String
    public var name: String
    public var kind: Kind
    /// SHA-256 (hex) of the client secret; secrets are random and long, so a fast hash suffices.
    public var secretHash: String?
    /// The client's public keys (a JWK set as JSON), for `private_key_jwt` assertions.
    public var jwks: String?
    public var redirectURIs: [String]
    /// The scopes the client may be granted; requests are narrowed to these.
    public var scopes: String
    /// For system clients: the care unit their writes are recorded under, if any.
    public var unitID: String?

    public init(id: String, name: String, kind: Kind, secretHash: String? = nil, jwks: String? = nil, redirectURIs: [String] = [],
                scopes: String, unitID: String? = nil) {
        self.id = id
        self.name = name
        self.kind = kind
        self.secretHash = secretHash
        self.jwks = jwks
        self.redirectURIs = redirectURIs
        self.scopes = scopes
        self.unitID = unitID
    }

    public static func hashSecret(_ secret: String) -> String {
        Secrets.sha256Hex(secret)
    }

    /// Constant-time comparison of a presented secret with the stored hash.
    public func secretMatches(_ secret: String) -> Bool {
        guard let secretHash else { return false }
        return Secrets.constantTimeEqual(Array(Self.hashSecret(secret).utf8), Array(secretHash.utf8))
    }

    /// Whether a redirect URI is registered; loopback URIs match on any port (RFC 8252 §7.3).
    public func allowsRedirect(_ uri: String) -> Bool {
        if redirectURIs.contains(uri) { return true }
        guard let asked = URLComponents(string: uri), ["127.0.0.1", "localhost"].contains(asked.host ?? "") else { return false }
        return redirectURIs.contains { registered in
            guard let r = URLComponents(string: registered) else { return false }
            return r.host == asked.host && r.path == asked.path && r.scheme == asked.scheme
        }
    }
}

/// The registered OAuth clients.
public struct ClientRegistry: Sendable {
    let store: any ResourceStore

    public init(store: any ResourceStore) {
        self.store = store
    }

    public func client(_ id: String) async throws -> OAuthClient? {
        guard let record = try await store.controlRecord(kind: ControlKind.client, key: id) else { return nil }
        return try JSONDecoder().decode(OAuthClient.self, from: Data(record.json))
    }

    public func register(_ client: OAuthClient) async throws {
        try await store.writeControlRecords([ControlRecord(kind: ControlKind.client, key: client.id, json: [UInt8](try JSONEncoder().encode(client)))],
                                            deleting: [], audit: [])
    }

    public func all() async throws -> [OAuthClient] {
        try await store.controlRecords(kind: ControlKind.client, patientID: nil).compactMap {
            try? JSONDecoder().decode(OAuthClient.self, from: Data($0.json))
        }
    }
}
