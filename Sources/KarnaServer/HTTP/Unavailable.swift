import Hummingbird
import NIOCore
import Store
import StoreModel
import Logging

/// The web app's and the login's answer when the database cannot serve (issue 31, item 11): 503 with
/// `Retry-After` and a sentence a person understands, at once, instead of a 500 or a minute's wait.
/// The FHIR API answers its own OperationOutcome (`FHIRResponse.unavailable`).
struct Unavailable<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let unavailable as StoreUnavailable {
            context.logger.warning("\(unavailable.description)")
            let text = switch unavailable.reason {
            case .unreachable: "Kärna når inte sin databas just nu. Inget av det du gjorde sparades. Försök igen om en stund."
            case .full: "Kärnas databas är full och kan inte spara något just nu. Det som redan är sparat går att läsa. Kontakta systemförvaltningen."
            }
            var response = Response(status: .serviceUnavailable, headers: [.contentType: "text/plain; charset=utf-8"],
                                    body: ResponseBody(byteBuffer: ByteBuffer(string: text + "\n")))
            response.headers[.retryAfter] = String(unavailable.retryAfterSeconds)
            return response
        }
    }
}
