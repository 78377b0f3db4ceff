import Access
import FHIRCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import StoreModel
import Logging

/// Mounts the FHIR REST API under `/fhir` on a Hummingbird router.
public struct FHIRRoutes<Context: RequestContext>: Sendable {
    let engine: FHIREngine
    let tokens: TokenService

    public init(engine: FHIREngine, tokens: TokenService) {
        self.engine = engine
        self.tokens = tokens
    }

    public func register(on router: Router<Context>) {
        for path in ["fhir", "fhir/**"] {
            router.on(RouterPath(path), method: .get) { request, context in await handle(request, context: context) }
            router.on(RouterPath(path), method: .head) { request, context in await handle(request, context: context) }
            router.on(RouterPath(path), method: .post) { request, context in await handle(request, context: context) }
            router.on(RouterPath(path), method: .put) { request, context in await handle(request, context: context) }
            router.on(RouterPath(path), method: .delete) { request, context in await handle(request, context: context) }
            router.on(RouterPath(path), method: .patch) { request, context in await handle(request, context: context) }
        }
    }

    func handle(_ request: Request, context: Context) async -> Response {
        var format = ContentNegotiation.Format.json
        do {
            var fhirRequest = try parseHead(request)
            RequestOrigin.trace?.route = engine.routeTemplate(fhirRequest)
            format = try ContentNegotiation.answerFormat(request.headers[.accept], format: fhirRequest.parameter("_format"))
            // The CapabilityStatement is public: SMART clients read it to find where to log in.
            if fhirRequest.method == .get, fhirRequest.path == ["metadata"] {
                return respond(await engine.handle(fhirRequest, as: .anonymous), method: .get, format: format)
            }
            // The token first: a body is read and parsed only for a caller who may send one, so an
            // anonymous request costs no parsing however large it is.
            let principal = try await tokens.principal(authorization: request.headers[.authorization])
            try await readBody(request, into: &fhirRequest)
            let response = await engine.handle(fhirRequest, as: principal)
            if let file = response.file {
                // A job's output is streamed from its file in chunks (Hummingbird's FileIO): it may be larger than memory should hold.
                var headers = HTTPFields()
                headers[.contentType] = file.contentType
                return Response(status: .ok, headers: headers, body: try await FileIO().loadFile(path: file.path, context: context))
            }
            return respond(response, method: fhirRequest.method, format: format)
        } catch let error as FHIRError {
            var response = respond(.outcome(error), method: .get, format: format)
            if error.category == .unauthorized {
                response.headers[.wwwAuthenticate] = "Bearer realm=\"karna\", error=\"invalid_token\""
                await tokens.auditFailedAuthentication(client: await tokens.claimedClient(authorization: request.headers[.authorization]),
                                                       interface: "fhir", reason: error.issues.first?.diagnostics ?? "unauthorized")
            }
            return response
        } catch let unavailable as StoreUnavailable {
            // A token is checked against the database too (revocations, accounts): an outage there is no bad request.
            return respond(.unavailable(unavailable), method: .get, format: format)
        } catch {
            let reference = UUID().uuidString.lowercased()
            engine.logger.error("internal error \(reference) before the interaction: \(String(reflecting: error))")
            return respond(.outcome(FHIRError(.internalError, code: .exception, "the server failed to process the request; the fault is logged under reference \(reference)")),
                           method: .get)
        }
    }

    /// The request without its body: method, path, query, headers, and the accepted formats.
    private func parseHead(_ request: Request) throws -> FHIRRequest {
        guard let method = FHIRRequest.Method(rawValue: request.method.rawValue) else {
            throw FHIRError(.unsupported, code: .notSupported, "the HTTP method \(request.method.rawValue) is not supported")
        }
        let rawPath = request.uri.path
        let below = rawPath.hasPrefix("/fhir") ? rawPath.dropFirst(5) : Substring(rawPath)
        let path = below.split(separator: "/").map { String($0).percentDecoded }
        let query = (request.uri.query ?? "").queryPairs
        let fhirRequest = FHIRRequest(
            method: method, path: path, query: query,
            ifMatch: request.headers[.ifMatch],
            ifNoneExist: request.headers[FHIRHeaders.ifNoneExist],
            ifNoneMatch: request.headers[.ifNoneMatch],
            prefer: Prefer(header: request.headers[FHIRHeaders.prefer])
        )
        return fhirRequest
    }

    /// The body of a POST, PUT or PATCH, up to the body limit, parsed (or a posted search form's parameters).
    private func readBody(_ request: Request, into fhirRequest: inout FHIRRequest) async throws {
        guard fhirRequest.method == .post || fhirRequest.method == .put || fhirRequest.method == .patch else { return }
        let contentType = request.headers[.contentType]
        let bodyFormat = try ContentNegotiation.bodyFormat(contentType)
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: engine.limits.maxBodyBytes)
        } catch {
            throw FHIRError(.tooLarge, code: .tooCostly,
                            "the request body is larger than the limit of \(engine.limits.maxBodyBytes) bytes (KARNA_MAX_BODY_BYTES)")
        }
        let bytes = Array(buffer.readableBytesView)
        switch bodyFormat {
        case .form:
            // POST _search sends its parameters as a form.
            fhirRequest.query += String(decoding: bytes, as: UTF8.self).queryPairs
        case .xml where !bytes.isEmpty:
            fhirRequest.body = try engine.parseXMLBody(bytes)
        case .json where !bytes.isEmpty:
            fhirRequest.body = try engine.parseBody(bytes)
        default:
            return
        }
    }


    private func respond(_ response: FHIRResponse, method: FHIRRequest.Method, format: ContentNegotiation.Format) -> Response {
        guard format == .xml, response.contentType == nil, let body = response.body else { return respond(response, method: method) }
        // FHIR JSON out of the engine becomes FHIR XML for a client that asked for it.
        var converted = response
        do {
            // The server's own answer (an $everything Bundle may hold more entries than a request may).
            converted.body = try engine.xml.write(try JSONParser.parse(body, limits: .serverWritten))
            converted.contentType = FHIRHeaders.fhirXML
        } catch {
            engine.logger.error("an answer could not be written as XML: \(error)")
            converted = .outcome(FHIRError(.internalError, code: .exception, "the answer could not be written as XML; ask for JSON (_format=json)"))
        }
        return respond(converted, method: method)
    }

    private func respond(_ response: FHIRResponse, method: FHIRRequest.Method) -> Response {
        var headers = HTTPFields()
        for (name, value) in response.headers { if let name = HTTPField.Name(name) { headers[name] = value } }

        if let location = response.location {
            headers[response.status == 201 ? .location : .contentLocation] = "\(engine.baseURL)/\(location)"
        }
        if let etag = response.etag { headers[.eTag] = etag }
        if let seconds = response.retryAfter { headers[.retryAfter] = String(seconds) }
        if let lastModified = response.lastModified { headers[.lastModified] = HTTPDate.format(milliseconds: lastModified) }
        guard let body = response.body, method != .head else {
            return Response(status: .init(code: response.status), headers: headers)
        }
        headers[.contentType] = response.contentType ?? FHIRHeaders.fhirJSON
        return Response(status: .init(code: response.status), headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// Header names and values of the FHIR HTTP API.
enum FHIRHeaders {
    static let ifNoneExist = HTTPField.Name("If-None-Exist")!
    static let prefer = HTTPField.Name("Prefer")!
    static let fhirJSON = "application/fhir+json; charset=utf-8"
    static let fhirXML = "application/fhir+xml; charset=utf-8"
}

/// RFC 9110 IMF-fixdate for `Last-Modified`.
enum HTTPDate {
    static func format(milliseconds: Int64) -> String {
        let seconds = Int(milliseconds / 1000)
        let days = seconds / 86_400
        let (y, m, d) = CivilCalendar.date(fromDaysSince1970: days)
        let weekdays = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let secondOfDay = seconds % 86_400
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(weekdays[days % 7]), \(two(d)) \(months[m - 1]) \(y) \(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60)) GMT"
    }
}
