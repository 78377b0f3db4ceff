import Access
import Foundation
import HTTPTypes
import Hummingbird
import Synchronization

/// CORS for browser SMART apps (issue 22, item 8): the FHIR API, the token endpoint and the SMART
/// configuration answer cross-origin requests only from origins on an allow-list — the origins of the
/// registered apps' redirect URIs, plus `cors-origins`. Never `*`: every answer carries patient data or
/// a token. Hummingbird's CORSMiddleware allows one origin, all, or whichever asks; an allow-list read
/// from the client registry is what a region needs, so this is Kärna's own.
struct CrossOrigin<Context: RequestContext>: RouterMiddleware {
    /// The paths a browser app calls; the web app's pages are same-origin and get no CORS headers.
    static func applies(to path: String) -> Bool {
        path == "/fhir" || path.hasPrefix("/fhir/") || path.hasPrefix("/auth/") || path.hasPrefix("/.well-known/")
    }

    static var allowedMethods: String { "GET, POST, PUT, PATCH, DELETE, OPTIONS" }
    static var allowedHeaders: String {
        "Authorization, Content-Type, Accept, If-Match, If-None-Match, If-None-Exist, If-Modified-Since, Prefer, X-Request-Id"
    }
    static var exposedHeaders: String { "Location, Content-Location, ETag, Last-Modified, X-Request-Id" }

    let origins: AllowedOrigins

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard Self.applies(to: request.uri.path), let origin = request.headers[.origin] else {
            return try await next(request, context)
        }
        let allowed = try await origins.allows(origin)
        if request.method == .options, request.headers[.accessControlRequestMethod] != nil {
            guard allowed else {
                return Response(status: .forbidden, headers: [.contentType: "text/plain; charset=utf-8", .vary: "Origin"],
                                body: ResponseBody(byteBuffer: ByteBuffer(string: "The origin \(origin) may not call this server from a browser: "
                                    + "it is neither a registered SMART app's redirect-URI origin nor listed in KARNA_CORS_ORIGINS.\n")))
            }
            var response = Response(status: .noContent)
            response.headers[.accessControlAllowOrigin] = origin
            response.headers[.accessControlAllowCredentials] = "true"
            response.headers[.accessControlAllowMethods] = Self.allowedMethods
            response.headers[.accessControlAllowHeaders] = Self.allowedHeaders
            response.headers[.accessControlMaxAge] = "600"
            response.headers[.vary] = "Origin"
            return response
        }
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        }
        // The answer differs by Origin, so shared caches must key on it either way.
        response.headers[.vary] = response.headers[.vary].map { $0 + ", Origin" } ?? "Origin"
        if allowed {
            response.headers[.accessControlAllowOrigin] = origin
            response.headers[.accessControlAllowCredentials] = "true"
            response.headers[.accessControlExposeHeaders] = Self.exposedHeaders
        }
        return response
    }
}

/// The allow-list: configured origins, and the registered apps' redirect-URI origins, re-read from
/// the client registry at most every `refreshSeconds` (a newly registered app is allowed within that).
final class AllowedOrigins: Sendable {
    let configured: Set<String>
    let clients: ClientRegistry
    let refreshSeconds: Double
    private let registered = Mutex<(origins: Set<String>, read: ContinuousClock.Instant?)>(([], nil))

    init(configured: [String], clients: ClientRegistry, refreshSeconds: Double = 30) {
        self.configured = Set(configured.map { $0.lowercased() })
        self.clients = clients
        self.refreshSeconds = refreshSeconds
    }

    func allows(_ origin: String) async throws -> Bool {
        let origin = origin.lowercased()
        if configured.contains(origin) { return true }
        let (cached, read) = registered.withLock { ($0.origins, $0.read) }
        if let read, ContinuousClock.now - read < .seconds(refreshSeconds) { return cached.contains(origin) }
        let fresh = Set(try await clients.all().flatMap(\.redirectURIs).compactMap(Self.origin(of:)))
        registered.withLock { $0 = (fresh, ContinuousClock.now) }
        return fresh.contains(origin)
    }

    /// `https://app.example.se:8443/callback` → `https://app.example.se:8443`; nil for a URI without a host.
    static func origin(of uri: String) -> String? {
        guard let url = URLComponents(string: uri), let scheme = url.scheme?.lowercased(), let host = url.host?.lowercased(), !host.isEmpty else { return nil }
        let defaultPort = scheme == "https" ? 443 : scheme == "http" ? 80 : nil
        if let port = url.port, port != defaultPort { return "\(scheme)://\(host):\(port)" }
        return "\(scheme)://\(host)"
    }
}
