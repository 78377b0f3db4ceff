import Access
import FHIRCore

extension FHIREngine {
    /// `[base]/_jobs/<owner>/<job>` and `…/<job>/<file>`: a long-running operation's state (GET: 202 while it runs,
    /// 429 when asked too often, 200 with its manifest), its cancellation (DELETE) and its files, answered by the
    /// module that keeps the job (FHIR asynchronous request pattern; Bulk Data Access IG v2).
    func job(_ request: FHIRRequest) async throws -> FHIRResponse {
        let path = request.path
        guard (3...4).contains(path.count), let jobs = operations.jobs[path[1]] else {
            throw FHIRError(.notFound, code: .notFound, "/\(path.joined(separator: "/")) is not a job this server keeps")
        }
        let job = path[2]
        switch (request.method, path.count) {
        case (.get, 3):
            switch try await jobs.status(job, principal: principal) {
            case .running(let progress, let retryAfter):
                var response = FHIRResponse(status: 202)
                response.headers = [("X-Progress", progress)]
                response.retryAfter = retryAfter
                return response
            case .tooFrequent(let retryAfter):
                var response = FHIRResponse(status: 429, body: OperationOutcome.bytes([FHIRIssue(
                    code: .throttled, diagnostics: "the job's state was asked for again too soon; ask again after \(retryAfter) s (Retry-After)")]))
                response.retryAfter = retryAfter
                return response
            case .complete(let manifest, let expires):
                var response = FHIRResponse(status: 200, body: manifest)
                response.contentType = "application/json"
                response.headers = [("Expires", HTTPDate.format(milliseconds: expires))]
                return response
            case .failed(let error):
                return .outcome(error)
            }
        case (.delete, 3):
            try await jobs.cancel(job, principal: principal)
            return FHIRResponse(status: 202, body: OperationOutcome.information("the job is cancelled and its files removed"))
        case (.get, 4):
            var response = FHIRResponse(status: 200)
            response.file = try await jobs.file(job, name: path[3], principal: principal)
            return response
        default:
            throw FHIRError(.methodNotAllowed, code: .notSupported, "\(request.method.rawValue) is not allowed on a job; GET asks for its state or a file, DELETE cancels it")
        }
    }
}
