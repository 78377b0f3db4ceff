import Logging
import Synchronization

/// Where the request being served came from, for its audit records, log lines and per-client limits. Set
/// once per request by the composition root's middleware; task-locals, so no handler or module passes
/// them on by hand.
public enum RequestOrigin {
    /// The client's address (IP, without port); nil outside a request (jobs, tests through the router).
    @TaskLocal public static var address: String?
    /// The request's id (Hummingbird's `hb.request.id`): in every log line and audit record of the request.
    @TaskLocal public static var requestID: String?
    /// What the request learns about itself on the way (who it ran as), for its log line.
    @TaskLocal public static var trace: RequestTrace?

    /// Adds the request id to every log line written while a request is served, whichever logger writes it.
    public static let metadataProvider = Logger.MetadataProvider {
        guard let requestID else { return [:] }
        return ["request.id": .string(requestID)]
    }
}

/// What a request learns about itself while it runs, read back for its one log line: never patient data.
public final class RequestTrace: Sendable {
    private let state = Mutex<(principalKind: String?, route: String?)>((nil, nil))

    public init() {}

    /// The kind of principal the request ran as (practitioner, patient, system); nil if none was established.
    public var principalKind: String? {
        get { state.withLock { $0.principalKind } }
        set { state.withLock { $0.principalKind = newValue } }
    }

    /// The route template a handler behind a catch-all route resolved (`/fhir/Patient/{id}`), for the request log
    /// and the metrics; nil where the router's own template says it.
    public var route: String? {
        get { state.withLock { $0.route } }
        set { state.withLock { $0.route = newValue } }
    }
}
