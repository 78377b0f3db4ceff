import Access
import FHIRAPI
import FHIRCore
import HTTPTypes
import Hummingbird
import NIOCore

/// Requests per client address and minute, by what they ask for (issue 31, item 10): logins, token
/// requests and API calls, each with its own limit. Past it the answer is 429 with `Retry-After`, as
/// an OperationOutcome on the FHIR API and as a line of Swedish elsewhere. A request whose address is
/// unknown (none over a socket) is not limited here.
public struct RateLimitSettings: Sendable, Equatable {
    /// Login form posts (web app and SMART login) per client address; 0: no limit.
    public var loginsPerMinute: Int
    /// Login attempts per account from any address.
    public var accountLoginsPerMinute: Int
    /// Token endpoint requests per client address.
    public var tokensPerMinute: Int
    /// FHIR API requests per client address.
    public var apiPerMinute: Int

    public init(loginsPerMinute: Int = 60, accountLoginsPerMinute: Int = 10, tokensPerMinute: Int = 120, apiPerMinute: Int = 30_000) {
        self.loginsPerMinute = loginsPerMinute
        self.accountLoginsPerMinute = accountLoginsPerMinute
        self.tokensPerMinute = tokensPerMinute
        self.apiPerMinute = apiPerMinute
    }
}

struct RateLimits: RouterMiddleware {
    let logins: RateLimiter
    let tokens: RateLimiter
    let api: RateLimiter

    init(_ settings: RateLimitSettings) {
        logins = RateLimiter(perMinute: settings.loginsPerMinute)
        tokens = RateLimiter(perMinute: settings.tokensPerMinute)
        api = RateLimiter(perMinute: settings.apiPerMinute)
    }

    func handle(_ request: Request, context: KarnaRequestContext, next: (Request, KarnaRequestContext) async throws -> Response) async throws -> Response {
        guard let address = context.clientAddress, let (limiter, what) = limiter(for: request) else { return try await next(request, context) }
        guard let seconds = limiter.use(address) else { return try await next(request, context) }
        let message = "too many \(what) from \(address): at most \(limiter.perMinute) a minute; try again in \(seconds) s"
        var response: Response
        if request.uri.path.hasPrefix("/fhir") {
            let outcome = OperationOutcome.bytes([FHIRIssue(code: .throttled, diagnostics: message)])
            response = Response(status: .tooManyRequests, headers: [.contentType: "application/fhir+json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: outcome)))
        } else {
            let text = "För många förfrågningar från din dator just nu. Försök igen om \(seconds) sekunder.\n"
            response = Response(status: .tooManyRequests, headers: [.contentType: "text/plain; charset=utf-8"], body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
        }
        response.headers[.retryAfter] = String(seconds)
        return response
    }

    private func limiter(for request: Request) -> (RateLimiter, String)? {
        let path = request.uri.path
        if path.hasPrefix("/fhir") { return (api, "API requests") }
        guard request.method == .post else { return nil }
        switch path {
        case "/auth/token": return (tokens, "token requests")
        case "/login", "/auth/authorize": return (logins, "login attempts")
        default: return nil
        }
    }
}
