import Access
import FHIRCore
import Foundation
import StoreModel

extension FHIREngine {
    /// An operation's list of resources as a searchset Bundle.
    func searchset(_ resources: [StoredResource]) -> FHIRResponse {
        var bundle = BundleWriter(type: "searchset")
        bundle.total = resources.count
        for stored in resources {
            bundle.entries.append(BundleWriter.Entry(fullUrl: "\(baseURL)/\(stored.type)/\(stored.id)", resource: stored.json,
                                                     search: .object(JSONObject([("mode", .string("match"))]))))
        }
        return FHIRResponse(status: 200, body: bundle.bytes())
    }
}

extension ParametersBuilder {
    /// The Parameters resource as a 200 answer.
    var response: FHIRResponse { FHIRResponse(status: 200, body: bytes) }
}

extension FHIREngine {
    /// Writes a module's answer out as FHIR REST does.
    func response(_ answer: OperationAnswer) -> FHIRResponse {
        switch answer {
        case .resource(let stored, let status):
            return .resource(stored, status: status, body: stored.json)
        case .resources(let resources):
            return searchset(resources)
        case .parameters(let builder, let status, let location):
            var response = FHIRResponse(status: status, body: builder.bytes)
            response.location = location
            return response
        case .text(let text, let contentType):
            var response = FHIRResponse(status: 200, body: Array(text.utf8))
            response.contentType = contentType
            return response
        case .information(let message):
            return FHIRResponse(status: 200, body: OperationOutcome.information(message))
        case .accepted(let owner, let job):
            // 202 with Content-Location (the HTTP layer makes the location absolute).
            return FHIRResponse(status: 202, location: "_jobs/\(owner)/\(job)",
                                body: OperationOutcome.information("the job is started; ask for its state at \(baseURL)/_jobs/\(owner)/\(job)"))
        }
    }

    /// Runs a module's operation: the call carries the parameters and the caller's gateway session.
    func moduleOperation(_ module: any ClinicalModule, _ request: FHIRRequest, type: String?, id: String?, name: String) async throws -> FHIRResponse {
        let input = try OperationInput(operation: name, query: request.query, body: request.body)
        let target = request.path.joined(separator: "/"), query = FHIRRequest.queryString(request.query)
        let call = OperationCall(name: name, resourceType: type, id: id, isPost: request.method == .post, input: input, session: data,
                                 pageSize: try count(request), respondAsync: request.prefer.respondAsync,
                                 requestURL: "\(baseURL)/\(target)" + (query.isEmpty ? "" : "?" + query), baseURL: baseURL)
        return response(try await module.answer(call))
    }
}
