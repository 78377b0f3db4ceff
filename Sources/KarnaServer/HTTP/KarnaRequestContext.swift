import Access
import Foundation
import Hummingbird
import Logging
import Metrics
import NIOCore

/// The request context of Kärna's router: Hummingbird's basic context plus the client's address, which
/// the audit trail, failed-login patterns and the per-client limits need.
public struct KarnaRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }

    /// The address as text, without the port.
    var clientAddress: String? { remoteAddress?.ipAddress }
}

/// Makes the client's address and the request id known to everything the request runs (`RequestOrigin`),
/// and writes the request's one log line when it is answered: method, route template, status, duration
/// and the kind of principal — never the path itself, whose ids and query may name a patient.
struct OriginMiddleware: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: KarnaRequestContext, next: (Request, KarnaRequestContext) async throws -> Response) async throws -> Response {
        let requestID = context.logger[metadataKey: "hb.request.id"].map { "\($0)" }
        let trace = RequestTrace()
        let started = ContinuousClock.now
        return try await RequestOrigin.$address.withValue(context.clientAddress) {
            try await RequestOrigin.$requestID.withValue(requestID) {
                try await RequestOrigin.$trace.withValue(trace) {
                    do {
                        let response = try await next(request, context)
                        log(request, context: context, status: Int(response.status.code), started: started, trace: trace)
                        return response
                    } catch {
                        let status = (error as? any HTTPResponseError)?.status.code ?? 500
                        log(request, context: context, status: Int(status), started: started, trace: trace)
                        throw error
                    }
                }
            }
        }
    }

    private func log(_ request: Request, context: KarnaRequestContext, status: Int, started: ContinuousClock.Instant, trace: RequestTrace) {
        let elapsed = ContinuousClock.now - started
        let milliseconds = Double(elapsed.components.seconds) * 1_000 + Double(elapsed.components.attoseconds) / 1e15
        // A catch-all route (the FHIR API's) names its own template; an unmatched path is one label, not one per path.
        let route = trace.route ?? context.endpointPath ?? "unmatched"
        let dimensions = [("http.route", route), ("http.request.method", request.method.rawValue), ("http.response.status_code", String(status))]
        Counter(label: "karna.http.requests", dimensions: dimensions).increment()
        Timer(label: "karna.http.request.duration", dimensions: dimensions).recordNanoseconds(Int64(milliseconds * 1_000_000))
        logger.info("request", metadata: [
            "http.method": .string(request.method.rawValue),
            "http.route": .string(route),
            "http.status": .string(String(status)),
            "duration.ms": .string(String(format: "%.1f", milliseconds)),
            "principal": .string(trace.principalKind ?? "none"),
            "request.id": .string(RequestOrigin.requestID ?? "-"),
        ])
    }
}
