import Crypto
import CryptoExtras
import Foundation

/// Passwords stored with scrypt (a slow, memory-hard, salted KDF). The stored
/// form names its parameters, so the cost can be raised without breaking old hashes.
public struct PasswordHasher: Sendable {
    /// log2 of scrypt's N: 15 costs 32 MiB and tens of milliseconds per check.
    public let costExponent: Int

    public init(costExponent: Int = 15) {
        self.costExponent = costExponent
    }

    /// `scrypt$N$r$p$salt$hash` with base64 salt and hash.
    public func hash(_ password: String) throws -> String {
        let salt = SymmetricKey(size: .bits128).withUnsafeBytes { Data($0) }
        let n = 1 << costExponent
        let key = try derive(password, salt: salt, n: n, r: 8, p: 1)
        return "scrypt$\(n)$8$1$\(salt.base64EncodedString())$\(key.base64EncodedString())"
    }

    /// Whether `password` matches `stored`, compared in constant time.
    public func verify(_ password: String, against stored: String) -> Bool {
        let parts = stored.split(separator: "$").map(String.init)
        guard parts.count == 6, parts[0] == "scrypt", let n = Int(parts[1]), let r = Int(parts[2]), let p = Int(parts[3]),
              let salt = Data(base64Encoded: parts[4]), let expected = Data(base64Encoded: parts[5]),
              let actual = try? derive(password, salt: salt, n: n, r: r, p: p)
        else { return false }
        return Secrets.constantTimeEqual(actual, expected)
    }

    private func derive(_ password: String, salt: Data, n: Int, r: Int, p: Int) throws -> Data {
        let key = try KDF.Scrypt.deriveKey(from: Data(password.utf8), salt: salt, outputByteCount: 32, rounds: n, blockSize: r, parallelism: p)
        return key.withUnsafeBytes { Data($0) }
    }
}

/// Time-based one-time passwords (RFC 6238: HMAC-SHA1, 30 s, 6 digits), as
/// authenticator apps generate them.
public enum TOTP {
    /// A new random secret, base32 as authenticator apps take it.
    public static func newSecret() -> String {
        base32(Array(SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }.prefix(20)))
    }

    /// The code for a time step (seconds since 1970 / 30).
    public static func code(secret: String, step: Int64) -> String? {
        guard let key = base32Decode(secret) else { return nil }
        var counter = UInt64(step).bigEndian
        let message = withUnsafeBytes(of: &counter) { Data($0) }
        let mac = Array(HMAC<Insecure.SHA1>.authenticationCode(for: message, using: SymmetricKey(data: key)))
        let offset = Int(mac[19] & 0x0f)
        let value = (UInt32(mac[offset] & 0x7f) << 24) | (UInt32(mac[offset + 1]) << 16) | (UInt32(mac[offset + 2]) << 8) | UInt32(mac[offset + 3])
        let code = String(value % 1_000_000)
        return String(repeating: "0", count: 6 - code.count) + code
    }

    public static func step(at date: Date = Date()) -> Int64 { Int64(date.timeIntervalSince1970) / 30 }

    /// The step a code matches within one step of clock drift, or nil.
    public static func matchingStep(secret: String, code: String, at date: Date = Date()) -> Int64? {
        let now = step(at: date)
        for candidate in [now, now - 1, now + 1] where Self.code(secret: secret, step: candidate) == code {
            return candidate
        }
        return nil
    }

    /// The otpauth URI an authenticator app scans.
    public static func uri(secret: String, account: String, issuer: String = "Kärna") -> String {
        let label = "\(issuer):\(account)".addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? account
        return "otpauth://totp/\(label)?secret=\(secret)&issuer=\(issuer.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "Karna")"
    }

    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")

    static func base32(_ bytes: [UInt8]) -> String {
        var out = ""
        var buffer = 0, bits = 0
        for byte in bytes {
            buffer = (buffer << 8) | Int(byte)
            bits += 8
            while bits >= 5 {
                out.append(alphabet[(buffer >> (bits - 5)) & 31])
                bits -= 5
            }
        }
        if bits > 0 { out.append(alphabet[(buffer << (5 - bits)) & 31]) }
        return out
    }

    static func base32Decode(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        var buffer = 0, bits = 0
        for character in text.uppercased() where character != "=" && character != " " {
            guard let value = alphabet.firstIndex(of: character) else { return nil }
            buffer = (buffer << 5) | value
            bits += 5
            if bits >= 8 {
                out.append(UInt8((buffer >> (bits - 8)) & 0xff))
                bits -= 8
            }
        }
        return out
    }
}
