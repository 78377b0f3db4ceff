import Access

/// The signed-in user of a request: the session, its principal and (for posts) the checked form.
public struct WebUser: Sendable {
    let token: String
    let session: WebSessions.Stored
    public let principal: Principal
    /// The posted form's fields, its token already checked.
    public internal(set) var form: [String: String] = [:]
    /// The read records of this request's module calls, appended together before the page leaves.
    let audit = RequestAudit()

    public var assignment: Assignment? { principal.assignment }
    /// The token a page's forms carry back (checked on every post).
    public var formToken: String { session.formToken }

    /// The gateway session every module call of this request goes through.
    public func data(_ gateway: AccessGateway, action: String) -> PatientDataSession { gateway.session(principal, action: action, audit: audit) }
}
