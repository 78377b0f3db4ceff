import Access
import Hummingbird

/// Läsläge for the web app: a form that would write a clinical record is answered with a page saying the change
/// was not saved and what to do instead, before any handler runs. Logging in and out, keeping the session alive,
/// the user's own account, drafts, log review and the Patientdatalag decisions (care relationship, samtycke, spärr,
/// nödåtkomst) are not clinical records and go on; the FHIR API answers 503 with an OperationOutcome from the gateway.
struct ReadOnlyRefusal<Context: RequestContext>: RouterMiddleware {
    let pages: PageRenderer
    let mode: ReadOnlyMode

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .post, Self.refuses(request.uri.path), mode.refusesWrites(), let notice = mode.notice() else { return try await next(request, context) }
        return pages.page("message", [
            "title": "Läsläge", "heading": "Ändringen sparades inte: Kärna är i läsläge",
            "text": notice, "alarm": true, "backHref": "/start", "backText": "Till startsidan",
        ], status: .serviceUnavailable)
    }

    /// Whether a form posted to `path` would write a clinical record.
    static func refuses(_ path: String) -> Bool {
        // Not clinical records: the session's keep-alive, log review's decisions, the user's account and drafts.
        let open = ["/fhir", "/auth", "/cds-services", "/login", "/logga-ut", "/konto", "/utkast", "/session", "/loggranskning"]
        if open.contains(where: { path == $0 || path.hasPrefix($0 + "/") }) { return false }
        let last = path.split(separator: "/").last.map(String.init) ?? ""
        return !["vardrelation", "samtycke", "sparr", "nodatkomst"].contains(last)
    }
}

extension WebApp {
    /// The middleware that refuses clinical forms while the node is read-only; added before any route.
    public var readOnlyRefusal: some RouterMiddleware<Context> { ReadOnlyRefusal<Context>(pages: pages, mode: gateway.readOnly) }
}
