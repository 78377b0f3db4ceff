import Access
import FHIRCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import StoreModel

/// CDS Hooks 2.0 under `/cds-services`: discovery, the hook calls and feedback for the modules'
/// decision-support services, so the web app, a SMART app or another EHR call them the same way.
/// Calls carry Kärna's own access token (the services run inside the FHIR server they check against);
/// a service that fails answers a card saying the check was not done, never an empty list.
public struct CDSHooksRoutes<Context: RequestContext>: Sendable {
    let services: [any DecisionSupportService]
    let gateway: AccessGateway
    let tokens: TokenService
    let maximumBodyBytes: Int
    let logger: Logger

    public init(services: [any DecisionSupportService], gateway: AccessGateway, tokens: TokenService, maximumBodyBytes: Int, logger: Logger) {
        self.services = services
        self.gateway = gateway
        self.tokens = tokens
        self.maximumBodyBytes = maximumBodyBytes
        self.logger = logger
    }

    public func register(on router: Router<Context>) {
        router.get("cds-services") { _, _ in json(200, discovery) }
        router.post("cds-services/:id") { request, context in
            await answer(request, id: context.parameters.get("id") ?? "", feedback: false)
        }
        router.post("cds-services/:id/feedback") { request, context in
            await answer(request, id: context.parameters.get("id") ?? "", feedback: true)
        }
    }

    /// The discovery document: every service with its hook, title, description and prefetch templates.
    var discovery: JSONValue {
        FHIR.object([("services", .array(services.map { service in
            let d = service.descriptor
            return FHIR.object([
                ("hook", .string(d.hook)), ("title", .string(d.title)), ("description", .string(d.description)), ("id", .string(d.id)),
                ("prefetch", d.prefetch.isEmpty ? nil : .object(JSONObject(d.prefetch.map { (key: $0.key, value: .string($0.template)) }))),
            ])
        }))])
    }

    func answer(_ request: Request, id: String, feedback: Bool) async -> Response {
        guard let service = services.first(where: { $0.descriptor.id == id }) else {
            return error(FHIRError(.notFound, code: .notFound, "no CDS service '\(id)'; GET /cds-services lists them"))
        }
        do {
            let principal = try await tokens.principal(authorization: request.headers[.authorization])
            let body = try await readBody(request)
            let session = gateway.session(principal, action: "decision-support")
            if feedback {
                try await service.feedback(try Self.feedback(body), session: session)
                return json(200, FHIR.object([]))
            }
            let call = try Self.call(body, service: service.descriptor)
            let cards: [DecisionCard]
            do {
                cards = try await service.call(call, session: session)
            } catch let error as FHIRError where error.category.httpStatus < 500 {
                throw error
            } catch {
                // A check that cannot run must say so: the clinician sees it was not done.
                logger.error("CDS service \(id) failed for hook instance \(call.hookInstance): \(String(reflecting: error))")
                cards = [DecisionCard(summary: "Kontroll ej utförd: \(service.descriptor.title)",
                                      detail: "Beslutsstödet kunde inte köras (\(String(describing: error))). Bedöm själv innan du går vidare.",
                                      indicator: .warning, sourceLabel: "Kärna")]
            }
            return json(200, FHIR.object([("cards", .array(cards.map(Self.json)))]))
        } catch let failure as FHIRError {
            if failure.category == .unauthorized {
                await tokens.auditFailedAuthentication(client: await tokens.claimedClient(authorization: request.headers[.authorization]),
                                                       interface: "cds-hooks", reason: failure.issues.first?.diagnostics ?? "unauthorized")
            }
            return error(failure)
        } catch let unavailable as StoreUnavailable {
            return error(FHIRError(.busy, code: .transient, unavailable.description))
        } catch {
            let reference = UUID().uuidString.lowercased()
            logger.error("internal error \(reference) in CDS service \(id): \(String(reflecting: error))")
            return self.error(FHIRError(.internalError, code: .exception, "the service failed; the fault is logged under reference \(reference)"))
        }
    }

    func readBody(_ request: Request) async throws -> JSONObject {
        let buffer: ByteBuffer
        do { buffer = try await request.body.collect(upTo: maximumBodyBytes) } catch {
            throw FHIRError(.tooLarge, code: .tooCostly, "the request body is larger than the limit of \(maximumBodyBytes) bytes (KARNA_MAX_BODY_BYTES)")
        }
        let parsed: JSONValue
        do { parsed = try JSONParser.parse(Array(buffer.readableBytesView)) } catch {
            throw FHIRError(.invalid, code: .structure, "the body is not JSON: \(error)")
        }
        guard let object = parsed.objectValue else { throw FHIRError(.invalid, code: .structure, "the body must be a JSON object") }
        return object
    }

    /// A hook request (CDS Hooks 2.0 §Calling a CDS Service): hook, hookInstance and context are required.
    static func call(_ body: JSONObject, service: DecisionSupportDescriptor) throws -> HookCall {
        guard let hook = body["hook"]?.stringValue else { throw FHIRError(.invalid, code: .required, "hook is required", expression: ["hook"]) }
        guard hook == service.hook else {
            throw FHIRError(.invalid, code: .value, "hook: the service \(service.id) answers \(service.hook), not \(hook)", expression: ["hook"])
        }
        guard let instance = body["hookInstance"]?.stringValue, !instance.isEmpty else {
            throw FHIRError(.invalid, code: .required, "hookInstance is required", expression: ["hookInstance"])
        }
        guard let context = body["context"]?.objectValue else { throw FHIRError(.invalid, code: .required, "context is required", expression: ["context"]) }
        return HookCall(hook: hook, hookInstance: instance, context: context, prefetch: body["prefetch"]?.objectValue)
    }

    /// Feedback (CDS Hooks 2.0 §Feedback): one entry per card, accepted or overridden with an optional reason.
    static func feedback(_ body: JSONObject) throws -> [HookFeedback] {
        guard let entries = body["feedback"]?.arrayValue, !entries.isEmpty else {
            throw FHIRError(.invalid, code: .required, "feedback is required: a list of {card, outcome, outcomeTimestamp}", expression: ["feedback"])
        }
        return try entries.enumerated().map { index, entry in
            let path = "feedback[\(index)]"
            guard let entry = entry.objectValue, let card = entry["card"]?.stringValue else {
                throw FHIRError(.invalid, code: .required, "\(path).card is required", expression: ["\(path).card"])
            }
            guard let outcome = entry["outcome"]?.stringValue.flatMap(HookFeedback.Outcome.init(rawValue:)) else {
                throw FHIRError(.invalid, code: .value, "\(path).outcome must be accepted or overridden", expression: ["\(path).outcome"])
            }
            guard let timestamp = entry["outcomeTimestamp"]?.stringValue else {
                throw FHIRError(.invalid, code: .required, "\(path).outcomeTimestamp is required", expression: ["\(path).outcomeTimestamp"])
            }
            let override = entry["overrideReason"]?.objectValue
            let reason = override?["reason"]?.objectValue.map { ($0["system"]?.stringValue, $0["code"]?.stringValue, $0["display"]?.stringValue) }
            return HookFeedback(card: card, outcome: outcome, overrideReason: reason, userComment: override?["userComment"]?.stringValue,
                                outcomeTimestamp: timestamp)
        }
    }

    /// A card as CDS Hooks 2.0 writes it.
    static func json(_ card: DecisionCard) -> JSONValue {
        func coding(_ c: (system: String, code: String, display: String)) -> JSONValue { FHIR.coding(c.system, c.code, c.display) }
        return FHIR.object([
            ("uuid", .string(card.uuid)), ("summary", .string(String(card.summary.prefix(140)))), ("detail", card.detail.map { .string($0) }),
            ("indicator", .string(card.indicator.rawValue)),
            ("source", FHIR.object([("label", .string(card.sourceLabel)), ("url", card.sourceURL.map { .string($0) }), ("topic", card.topic.map(coding))])),
            ("overrideReasons", card.overrideReasons.isEmpty ? nil : .array(card.overrideReasons.map(coding))),
        ])
    }

    func json(_ status: Int, _ value: JSONValue) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: .init(code: status), headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: JSONWriter.bytes(value))))
    }

    func error(_ error: FHIRError) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        if error.category == .unauthorized { headers[.wwwAuthenticate] = "Bearer realm=\"karna\", error=\"invalid_token\"" }
        return Response(status: .init(code: error.category.httpStatus), headers: headers,
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: OperationOutcome.bytes(error.issues))))
    }
}
