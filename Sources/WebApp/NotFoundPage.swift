import Hummingbird

/// The app's own page for an address that leads nowhere (or to a record that does not exist), for a
/// browser: a person gets words in Swedish and a way back rather than the browser's bare 404. API
/// clients (no `text/html` in Accept) and the FHIR API keep their own answers.
struct NotFoundPage<Context: RequestContext>: RouterMiddleware {
    let pages: PageRenderer

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            guard Self.isBrowserPage(request) else { throw error }
            return pages.page("message", [
                "title": "Sidan finns inte", "heading": "Sidan finns inte",
                "text": "Adressen leder inte till någon sida i Kärna. Kontrollera adressen, eller gå vidare från startsidan.",
                "detail": "Adress: \(request.uri.path)", "alarm": true, "backHref": "/start", "backText": "Till startsidan",
            ], status: .notFound)
        }
    }

    /// A browser asking for a page: HTML accepted, and not an address of an API.
    static func isBrowserPage(_ request: Request) -> Bool {
        let path = request.uri.path
        guard !["/fhir", "/auth", "/.well-known"].contains(where: { path == $0 || path.hasPrefix($0 + "/") }) else { return false }
        return request.headers[.accept]?.contains("text/html") ?? false
    }
}

extension WebApp {
    /// The middleware that answers a browser's unknown address with the app's page; added before any route.
    public var notFoundPage: some RouterMiddleware<Context> { NotFoundPage<Context>(pages: pages) }
}
