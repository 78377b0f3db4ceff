public import Foundation
#if canImport(FoundationNetworking)
public import FoundationNetworking
#endif

/// OAuth 2.0 Token Exchange (RFC 8693) at the region's identity provider: the token the user signed in with
/// (issued for Kärna) is exchanged for one issued for NLL (`audience`), so NLL sees the user without Kärna passing
/// on a token that was not meant for it. An exchanged token is kept until shortly before it expires, so a task's
/// calls make one exchange.
public actor TokenExchange {
    /// The identity provider's token endpoint.
    public let endpoint: URL
    /// The token's intended recipient (NLL), sent as `audience`.
    public let audience: String
    let clientID: String
    let clientSecret: String
    let transport: any NLLTransport
    /// How many exchanged tokens are kept at most; the oldest go first.
    let capacity: Int
    private var kept: [String: (token: String, expires: Date)] = [:]

    public init(endpoint: URL, audience: String, clientID: String, clientSecret: String, timeoutSeconds: Double = 10,
                capacity: Int = 10_000, transport: (any NLLTransport)? = nil) {
        self.endpoint = endpoint
        self.audience = audience
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.capacity = capacity
        self.transport = transport ?? URLSessionTransport(timeoutSeconds: timeoutSeconds)
    }

    /// Why no token came.
    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        /// The identity provider could not be reached or failed (5xx).
        case unavailable(String)
        /// It refused the exchange (RFC 6749 `error`, `error_description`): the user's sign-in has expired, say.
        case refused(String)

        public var description: String {
            switch self {
            case .unavailable(let why): "the identity provider's token exchange is unavailable: \(why)"
            case .refused(let why): "the identity provider refused the token exchange: \(why)"
            }
        }

        /// What a user reads.
        public var swedish: String {
            switch self {
            case .unavailable: "Regionens inloggningstjänst svarar inte, så Nationella läkemedelslistan kan inte nås i ditt namn."
            case .refused: "Regionens inloggningstjänst godtog inte din inloggning för Nationella läkemedelslistan. Logga in på nytt med SITHS-kortet."
            }
        }
    }

    /// A token for NLL in the name of the user whose token `subjectToken` is.
    public func token(for subjectToken: String, now: Date = Date()) async throws(Failure) -> String {
        if let held = kept[subjectToken], held.expires > now { return held.token }
        var request = URLRequest(url: endpoint)
        request.httpMethod = "POST"
        request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "content-type")
        request.setValue("application/json", forHTTPHeaderField: "accept")
        request.setValue("Basic " + Data("\(Self.formEncoded(clientID)):\(Self.formEncoded(clientSecret))".utf8).base64EncodedString(), forHTTPHeaderField: "authorization")
        request.httpBody = Data([
            ("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
            ("subject_token", subjectToken),
            ("subject_token_type", "urn:ietf:params:oauth:token-type:access_token"),
            ("requested_token_type", "urn:ietf:params:oauth:token-type:access_token"),
            ("audience", audience),
        ].map { "\($0)=\(Self.formEncoded($1))" }.joined(separator: "&").utf8)
        let answer: (status: Int, headers: [String: String], body: Data)
        do {
            answer = try await transport.send(request)
        } catch {
            throw .unavailable(error.localizedDescription)
        }
        let body = (try? JSONSerialization.jsonObject(with: answer.body)) as? [String: Any] ?? [:]
        switch answer.status {
        case 200..<300:
            guard let token = body["access_token"] as? String, !token.isEmpty else { throw .unavailable("the answer holds no access_token") }
            // RFC 8693: a lifetime is optional; without one the token is used for this call only.
            let lifetime = (body["expires_in"] as? NSNumber)?.doubleValue ?? 0
            if lifetime > 60 {
                forgetExpired(now: now)
                if kept.count >= capacity, let oldest = kept.min(by: { $0.value.expires < $1.value.expires })?.key { kept[oldest] = nil }
                kept[subjectToken] = (token, now.addingTimeInterval(lifetime - 30))
            }
            return token
        case 400..<500:
            let said = [body["error"] as? String, body["error_description"] as? String].compactMap { $0 }.joined(separator: ": ")
            throw .refused(said.isEmpty ? "HTTP \(answer.status)" : said)
        default:
            throw .unavailable("HTTP \(answer.status)")
        }
    }

    private func forgetExpired(now: Date) {
        kept = kept.filter { $0.value.expires > now }
    }

    /// `application/x-www-form-urlencoded`, as RFC 6749 asks for the client's id and secret too.
    static func formEncoded(_ value: String) -> String {
        let allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._*")
        return (value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value).replacingOccurrences(of: "%20", with: "+")
    }
}
