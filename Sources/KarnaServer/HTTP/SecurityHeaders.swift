import HTTPTypes
import Hummingbird

/// The headers every answer carries (issue 31, item 13): no framing, no content sniffing, no referrer
/// leaving the server, a Content-Security-Policy without inline script or style, and `no-store` on
/// everything but the app's own CSS and script — a FHIR answer or a page with patient data must not
/// stay in a shared computer's cache.
struct SecurityHeaders<Context: RequestContext>: RouterMiddleware {
    static var contentSecurityPolicy: String {
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; "
            + "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        }
        let headers: [(HTTPField.Name, String)] = [
            (.contentSecurityPolicy, Self.contentSecurityPolicy), (.xFrameOptions, "DENY"), (.xContentTypeOptions, "nosniff"),
            (.referrerPolicy, "no-referrer"),
        ]
        for (name, value) in headers where response.headers[name] == nil { response.headers[name] = value }
        if !request.uri.path.hasPrefix("/static/") { response.headers[.cacheControl] = "no-store" }
        return response
    }
}

extension HTTPField.Name {
    static let contentSecurityPolicy = Self("Content-Security-Policy")!
    static let xFrameOptions = Self("X-Frame-Options")!
    static let xContentTypeOptions = Self("X-Content-Type-Options")!
    static let referrerPolicy = Self("Referrer-Policy")!
}
