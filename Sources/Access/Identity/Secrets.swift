import Crypto
import Foundation
import Store
import StoreModel

/// The small pieces of cryptography the identity code shares: random tokens,
/// digests of stored secrets, base64url and comparisons that take the same time whatever matches.
public enum Secrets {
    /// 256 random bits, base64url without padding.
    public static func randomToken() -> String {
        base64URL(SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) })
    }

    /// SHA-256 of a string, hex: how one-time tokens and client secrets are stored.
    public static func sha256Hex(_ text: String) -> String {
        AuditChain.hex(SHA256.hash(data: Data(text.utf8)))
    }

    /// Base64url without padding (RFC 7636 §4.2, JWT).
    public static func base64URL(_ data: some DataProtocol) -> String {
        Data(data).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Equality whose time does not depend on where the inputs differ.
    public static func constantTimeEqual(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        a.count == b.count && zip(a, b).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
