import Access
import FHIRCore
import Foundation
import Hummingbird

/// Logging in (password + TOTP, then the assignment), logging out, and why a session ended.
extension WebApp {
    static var loginCookie: String { "karna_web_login" }
    /// The client every web session's grant names, so the audit shows which interface acted.
    static var clientID: String { "karna-web" }
    static var pendingKind: String { "web-login-pending" }

    func loginPage(_ request: Request, error: String? = nil, username: String = "", status: HTTPResponse.Status = .ok, returningTo: String? = nil) -> Response {
        let notice: String? = switch Self.query(request)["orsak"] {
        case "timeout": "Du loggades ut efter \(settings.sessionSeconds / 60) minuter utan aktivitet. Logga in igen."
        case "utloggad": "Du är utloggad."
        case "andrad": "Ditt konto eller medarbetaruppdrag har ändrats. Logga in igen."
        default: nil
        }
        let csrf = Secrets.randomToken()
        var context: [String: Any] = ["title": "Logga in", "csrf": csrf, "username": username, "fhirBase": settings.fhirBaseURL,
                                      "sessionSeconds": 0]
        if let notice { context["notice"] = notice }
        if let error { context["error"] = error }
        // Where the user was when the session ended: login returns there (a note's draft comes back with its form).
        if let back = Self.localPath(returningTo ?? Self.query(request)["tillbaka"]) { context["tillbaka"] = back }
        var response = pages.page("login", context, status: status)
        response.setCookie(Cookie(name: Self.loginCookie, value: csrf, path: "/login", secure: secureCookies, httpOnly: true, sameSite: .strict))
        return response
    }

    func login(_ request: Request) async throws -> Response {
        let form = try await Self.formFields(request)
        let username = form["username"]?.trimmingCharacters(in: .whitespaces) ?? ""
        guard let csrf = form["csrf"], !csrf.isEmpty, csrf == request.cookies[Self.loginCookie]?.value else {
            return loginPage(request, error: "Inloggningsformuläret har gått ut. Försök igen.", username: username, status: .forbidden, returningTo: form["tillbaka"])
        }
        guard !username.isEmpty, !(form["password"] ?? "").isEmpty, !(form["code"] ?? "").isEmpty else {
            return loginPage(request, error: "Fyll i användarnamn, lösenord och engångskod.", username: username, status: .badRequest, returningTo: form["tillbaka"])
        }
        let account: UserAccount
        do {
            account = try await accounts.login(username: username, password: form["password"] ?? "", code: form["code"] ?? "", client: Self.clientID)
        } catch let failure as LoginFailure {
            guard let seconds = AccountService.retryAfter(failure) else {
                return loginPage(request, error: failure.description, username: username, status: .unauthorized, returningTo: form["tillbaka"])
            }
            var page = loginPage(request, error: failure.description, username: username, status: .tooManyRequests, returningTo: form["tillbaka"])
            page.headers[.retryAfter] = String(seconds)
            return page
        }
        guard account.kind == .practitioner else {
            return loginPage(request, error: "Kontot hör inte till vårdpersonal. Patienter loggar in i patientportalen.", username: username, status: .forbidden, returningTo: form["tillbaka"])
        }
        let grant = Grant(kind: .practitioner, subject: account.username, displayName: account.displayName, clientID: Self.clientID,
                          scope: "openid fhirUser user/*.cruds", fhirUser: account.fhirUser)
        let assignments = try await gateway.directory.assignments(practitionerID: account.subjectID)
        switch assignments.count {
        case 0:
            return loginPage(request, error: "Du har inget aktivt medarbetaruppdrag. Kontakta din systemförvaltare.", username: username, status: .forbidden, returningTo: form["tillbaka"])
        case 1:
            return try await startSession(grant, assignment: assignments[0], returningTo: form["tillbaka"])
        default:
            let pending = try await tokens.storeOneTime(kind: Self.pendingKind, grant: grant, seconds: 300)
            return assignmentPage(assignments, pending: pending, error: nil, returningTo: form["tillbaka"])
        }
    }

    func assignmentPage(_ assignments: [Assignment], pending: String, error: String?, returningTo: String? = nil) -> Response {
        let csrf = Secrets.randomToken()
        var context: [String: Any] = [
            "title": "Välj medarbetaruppdrag", "csrf": csrf, "pending": pending, "sessionSeconds": 0,
            "assignments": assignments.enumerated().map { index, assignment in
                ["index": index, "id": assignment.id, "unit": assignment.unitName, "position": assignment.position.display,
                 "purpose": assignment.purpose.display, "checked": index == 0] as [String: Any]
            },
        ]
        if let error { context["error"] = error }
        if let back = Self.localPath(returningTo) { context["tillbaka"] = back }
        var response = pages.page("assignment", context)
        response.setCookie(Cookie(name: Self.loginCookie, value: csrf, path: "/login", secure: secureCookies, httpOnly: true, sameSite: .strict))
        return response
    }

    func chooseAssignment(_ request: Request) async throws -> Response {
        let form = try await Self.formFields(request)
        guard let csrf = form["csrf"], !csrf.isEmpty, csrf == request.cookies[Self.loginCookie]?.value,
              let pending = form["pending"], let (grant, _) = try await tokens.takeOneTime(kind: Self.pendingKind, token: pending)
        else { return loginPage(request, error: "Inloggningen har gått ut. Logga in igen.", status: .forbidden) }
        let assignments = try await gateway.directory.assignments(practitionerID: String(grant.fhirUser?.dropFirst("Practitioner/".count) ?? ""))
        guard let chosen = assignments.first(where: { $0.id == form["assignment"] }) else {
            // The login step is spent: a new pending token keeps the user on the choice.
            let again = try await tokens.storeOneTime(kind: Self.pendingKind, grant: grant, seconds: 300)
            return assignmentPage(assignments, pending: again, error: "Välj ett av dina medarbetaruppdrag.", returningTo: form["tillbaka"])
        }
        return try await startSession(grant, assignment: chosen, returningTo: form["tillbaka"])
    }

    func startSession(_ grant: Grant, assignment: Assignment, returningTo: String? = nil) async throws -> Response {
        var grant = grant
        grant.assignmentID = assignment.id
        let mustChange = try await accounts.account(grant.subject)?.mustChangePassword == true
        let (token, _) = try await sessions.start(grant, mustChangePassword: mustChange)
        var response = Self.redirect(mustChange ? "/konto" : Self.localPath(returningTo) ?? "/start")
        response.setCookie(Cookie(name: Self.sessionCookie, value: token, path: "/", secure: secureCookies, httpOnly: true, sameSite: .lax))
        response.setCookie(Cookie(name: Self.loginCookie, value: "", maxAge: 0, path: "/login", secure: secureCookies, httpOnly: true, sameSite: .strict))
        return response
    }

    /// Ends the session with or without the form token: a forged logout only logs the user out, which
    /// harms nothing, while a logout that silently failed (a stale form) would leave a session open.
    func logout(_ request: Request) async throws -> Response {
        if let token = request.cookies[Self.sessionCookie]?.value, !token.isEmpty {
            try await sessions.end(token)
        }
        var response = Self.redirect("/login?orsak=utloggad")
        response.setCookie(Cookie(name: Self.sessionCookie, value: "", maxAge: 0, path: "/", secure: secureCookies, httpOnly: true, sameSite: .lax))
        return response
    }
}
