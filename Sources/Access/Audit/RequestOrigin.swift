/// Where the request being served came from, for its audit records and per-client limits. Set once per
/// request by the composition root's middleware; a task-local, so no handler or module passes it on by hand.
public enum RequestOrigin {
    /// The client's address (IP, without port); nil outside a request (jobs, tests through the router).
    @TaskLocal public static var address: String?
}
