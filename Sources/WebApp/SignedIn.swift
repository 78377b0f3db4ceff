import Access
import FHIRCore
import Hummingbird

/// The request context of a page behind the login: the signed-in user (session, principal, form) is
/// there by construction. `SignIn` sets it before any handler of the signed-in group runs, and
/// answers a request without a session itself, so a page handler cannot run without one.
public struct SignedInContext<Parent: RequestContext>: ChildRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by `SignIn`; nil only before the middleware has run.
    var signedIn: WebUser?

    public init(context: Parent) {
        self.coreContext = context.coreContext
    }

    /// The signed-in user of this request.
    public var user: WebUser {
        guard let signedIn else { preconditionFailure("a signed-in page ran outside the SignIn middleware") }
        return signedIn
    }

    /// Runs a page's body for the signed-in user (the route closures read as they did with the old wrapper).
    public func page(_ body: (WebUser) async throws -> Response) async throws -> Response {
        try await body(user)
    }
}

/// Resolves the session of every request to a signed-in page: sends others to the login page (saying
/// why when the session timed out), checks a posted form's token (so no other site can post as the
/// user), renders a module's refusal as a page, and appends the request's read audit records before the
/// page leaves — for every page, not by each handler.
struct SignIn<Parent: RequestContext>: RouterMiddleware {
    typealias Context = SignedInContext<Parent>
    let app: WebApp<Parent>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // After a reset, the user chooses a password before anything else: only the account pages open.
        let passwordPage = request.uri.path == "/konto" || request.uri.path.hasPrefix("/konto/")
        let form = request.method == .post
        switch try await app.resolveUser(request, form: form, passwordPage: passwordPage) {
        case .answer(let response):
            return response
        case .user(let user):
            var context = context
            context.signedIn = user
            // References without a display read by name on every page (Display.reference): the organisation's and the user's own.
            var names = try await app.gateway.directory.referenceNames()
            names["Practitioner/\(user.principal.id)"] = user.principal.displayName
            let response: Response
            do {
                response = try await Display.$names.withValue(names) { try await next(request, context) }
            } catch let error as FHIRError {
                response = app.failure(error, user: user)
            } catch {
                try await app.gateway.commit(user.audit)
                throw error
            }
            // Nothing the page read leaves before its audit records are written; if they cannot be, the page is an error.
            try await app.gateway.commit(user.audit)
            return response
        }
    }
}
