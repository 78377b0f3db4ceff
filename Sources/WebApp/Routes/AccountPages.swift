import Access
import FHIRCore
import Foundation
import Hummingbird
import StoreModel

/// Mitt konto: the signed-in user changes their own password. After a systemförvaltare reset it, this
/// is the only page the session opens until the user has chosen one.
extension WebApp {
    func accountPage(_ user: User, errors: [String: String] = [:], notice: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        var context = layout(user, title: "Mitt konto")
        let account = try await accounts.account(user.session.grant.subject)
        context["username"] = user.session.grant.subject
        context["minimumLength"] = accounts.policy.minimumLength
        if let changed = account?.passwordChangedAt { context["changedAt"] = Display.time(Instant.format(milliseconds: changed)) }
        if user.session.mustChangePassword == true {
            context["mustChange"] = true
            // Nothing else to go to until the password is chosen.
            context["menu"] = [[String: Any]]()
        }
        for (field, message) in errors { context["e_\(field)"] = message }
        if !errors.isEmpty { context["error"] = "Lösenordet byttes inte. Rätta det som är markerat." }
        if let notice { context["notice"] = notice }
        return pages.page("account", context, status: status)
    }

    func changeOwnPassword(_ user: User) async throws -> Response {
        let current = user.form["current"] ?? "", new = user.form["new"] ?? "", repeated = user.form["repeat"] ?? ""
        var errors: [String: String] = [:]
        if current.isEmpty { errors["current"] = "Ange ditt nuvarande lösenord." }
        if new.isEmpty { errors["new"] = "Ange ett nytt lösenord." } else if new != repeated { errors["repeat"] = "Lösenorden är inte lika." }
        guard errors.isEmpty else { return try await accountPage(user, errors: errors, status: .badRequest) }
        do {
            try await accounts.changePassword(username: user.session.grant.subject, current: current, new: new, client: Self.clientID)
        } catch let failure as PasswordChangeFailure {
            let field = failure == .wrongCurrentPassword ? "current" : "new"
            return try await accountPage(user, errors: [field: failure.description], status: .badRequest)
        } catch let failure as LoginFailure {
            // Locked by too many wrong current passwords, or disabled meanwhile: the session ends.
            try await sessions.end(user.token)
            return message(user: nil, heading: "Kontot är spärrat för inloggning", text: failure.description, status: .forbidden)
        }
        // The new password ends the user's other sessions (TokenService compares login and change
        // times); this one goes on as if it had logged in with it.
        var stored = user.session
        stored.grant.issuedAt = Instant.now()
        let wasReset = stored.mustChangePassword == true
        stored.mustChangePassword = nil
        try await sessions.update(stored, token: user.token)
        if wasReset { return Self.redirect("/start") }
        return try await accountPage(user, notice: "Ditt lösenord är bytt.")
    }
}
