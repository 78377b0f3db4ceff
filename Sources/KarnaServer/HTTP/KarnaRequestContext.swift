import Access
import Hummingbird
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

/// Makes the client's address known to everything the request runs (`RequestOrigin.address`).
struct OriginMiddleware: RouterMiddleware {
    func handle(_ request: Request, context: KarnaRequestContext, next: (Request, KarnaRequestContext) async throws -> Response) async throws -> Response {
        try await RequestOrigin.$address.withValue(context.clientAddress) { try await next(request, context) }
    }
}
