import Access
import FHIRCore
import StoreModel

/// What an interaction answers: a status, the FHIR headers, and a JSON body.
public struct FHIRResponse: Sendable {
    public var status: Int
    /// Relative location `Type/id/_history/vid`; the HTTP layer makes it absolute.
    public var location: String?
    public var versionId: Int?
    /// Milliseconds since 1970, for `Last-Modified`.
    public var lastModified: Int64?
    /// The JSON body, ready to send; nil for none.
    public var body: [UInt8]?
    /// The media type when the body is not FHIR JSON (a receipt as text, an export as CSV).
    public var contentType: String?
    /// What a write did, for batch and import summaries.
    public var outcome: WriteResult.Outcome?
    /// Seconds after which a retry may succeed (`Retry-After`), when the server cannot serve now.
    public var retryAfter: Int?
    /// Headers of the asynchronous pattern (`X-Progress`, `Expires`), written as they are.
    public var headers: [(name: String, value: String)] = []
    /// A file to stream as the body (a finished job's output), instead of `body`.
    public var file: AsyncJobFile?
    /// Whether the body is an OperationOutcome for a failure (4xx/5xx).
    public var isError: Bool { status >= 400 }

    public init(status: Int, location: String? = nil, versionId: Int? = nil, lastModified: Int64? = nil, body: [UInt8]? = nil) {
        self.status = status
        self.location = location
        self.versionId = versionId
        self.lastModified = lastModified
        self.body = body
    }

    /// `W/"3"`.
    public var etag: String? { versionId.map { "W/\"\($0)\"" } }

    /// A response carrying one stored version, with its headers.
    static func resource(_ stored: StoredResource, status: Int, body: [UInt8]?) -> FHIRResponse {
        FHIRResponse(status: status, location: "\(stored.type)/\(stored.id)/_history/\(stored.versionId)",
                     versionId: stored.versionId, lastModified: stored.lastUpdated, body: body)
    }

    /// 503 with `Retry-After`: the database cannot serve now.
    public static func unavailable(_ error: StoreUnavailable) -> FHIRResponse {
        var response = FHIRResponse(status: 503, body: OperationOutcome.bytes([FHIRIssue(code: .transient, diagnostics: error.description)]))
        response.retryAfter = error.retryAfterSeconds
        return response
    }

    /// An OperationOutcome for `error`, with the status its category maps to.
    public static func outcome(_ error: FHIRError) -> FHIRResponse {
        FHIRResponse(status: StatusMapping.status(for: error.category), body: OperationOutcome.bytes(error.issues))
    }
}
