import FHIRCore

/// A module's long-running operations (FHIR's asynchronous request pattern, as Bulk Data `$export` uses it): the
/// kick-off answers 202 with where to ask, and the interface asks the module for the job's state, its files and
/// its cancellation at `[base]/_jobs/<owner>/<job>` — the module, not the interface, keeps the jobs.
public protocol AsyncJobs: Sendable {
    /// The path segment of its jobs' URLs (`[base]/_jobs/<owner>/<job>`).
    var owner: String { get }
    /// The job's state as its starter asks for it; another principal is told the job does not exist.
    func status(_ job: String, principal: Principal) async throws -> AsyncJobStatus
    /// One of a finished job's files, for the principal that started it.
    func file(_ job: String, name: String, principal: Principal) async throws -> AsyncJobFile
    /// Cancels a running job or removes a finished one with its files.
    func cancel(_ job: String, principal: Principal) async throws
}

/// What a status request answers.
public enum AsyncJobStatus: Sendable {
    /// Still running: 202 with `X-Progress` and `Retry-After`.
    case running(progress: String, retryAfter: Int)
    /// Asked again sooner than the job allows: 429 with `Retry-After`.
    case tooFrequent(retryAfter: Int)
    /// Finished: 200 with the manifest (JSON) and when its files are removed (`Expires`, ms since 1970).
    case complete(manifest: [UInt8], expires: Int64)
    /// The job failed as a whole: the error, with the status its category maps to.
    case failed(FHIRError)
}

/// A finished job's file on disk, streamed to the client by the interface.
public struct AsyncJobFile: Sendable {
    public let path: String
    public let contentType: String

    public init(path: String, contentType: String) {
        self.path = path
        self.contentType = contentType
    }
}
