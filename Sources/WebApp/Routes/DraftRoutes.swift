import Access
import FHIRCore
import Foundation
import Hummingbird

/// Drafts kept as the user types (the page's script posts a form marked `data-draft` a moment after
/// each change), and the keep-alive behind the session warning. Typing is activity: each save reaches
/// the server, so a note being written does not time out, and what was typed is on the server if it does.
extension WebApp {
    /// The fields of a form that say where a draft belongs rather than what it holds.
    static var draftControlFields: Set<String> { ["formToken", "draftForm", "draftPatient"] }

    /// Saves the posted form as the user's draft; answers how long the session has left.
    func saveDraft(_ user: User) async throws -> Response {
        let fields = user.form.filter { !Self.draftControlFields.contains($0.key) }
        try await user.data(gateway, action: "draft").saveDraft(patientID: user.form["draftPatient"] ?? "", form: user.form["draftForm"] ?? "", fields: fields)
        return sessionAnswer(user, saved: true)
    }

    /// Throws the user's draft away and returns to the form.
    func discardDraft(_ user: User) async throws -> Response {
        try await user.data(gateway, action: "draft").discardDraft(patientID: user.form["draftPatient"] ?? "", form: user.form["draftForm"] ?? "")
        return Self.redirect(Self.localPath(user.form["tillbaka"]) ?? "/start")
    }

    /// The answer to a keep-alive: the session was renewed by reaching here.
    func keepAlive(_ user: User) -> Response { sessionAnswer(user, saved: false) }

    private func sessionAnswer(_ user: User, saved: Bool) -> Response {
        let body = #"{"saved":\#(saved),"seconds":\#(remainingSeconds(user))}"#
        return Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"], body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }

    /// Seconds until the session ends, by idling or by its maximum length, whichever comes first.
    func remainingSeconds(_ user: User) -> Int {
        let now = Instant.now()
        var end = user.session.expiresAt
        if let started = user.session.startedAt { end = min(end, started + Int64(settings.sessionMaximumSeconds) * 1000) }
        return max(0, Int((end - now) / 1000))
    }

    /// A path inside the app to return to (`/patienter/…`), or nil for anything else: an absolute or
    /// protocol-relative address would send the user to another site after login.
    public static func localPath(_ value: String?) -> String? {
        guard let value, value.hasPrefix("/"), !value.hasPrefix("//"), !value.hasPrefix("/\\"), value.count <= 1_000,
              !value.hasPrefix("/login"), !value.contains(where: { $0.isNewline }) else { return nil }
        return value
    }

    /// The login address for a session that ended while the user was on `path` (a page to come back to).
    static func timeoutLogin(returningTo path: String?) -> String {
        guard let path = localPath(path) else { return "/login?orsak=timeout" }
        return link("/login", [("orsak", "timeout"), ("tillbaka", path)])
    }
}
