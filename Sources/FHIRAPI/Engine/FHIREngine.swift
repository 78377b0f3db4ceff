import Access
import FHIRCore
import Foundation
import Logging
import StoreModel
import Terminology

/// Runs FHIR interactions through the access gateway: the transport-neutral core
/// of the REST API. The HTTP routes and batch/transaction entries both come here;
/// the engine never holds the store, so every read and write is authorised and audited.
public struct FHIREngine: Sendable {
    public let gateway: AccessGateway
    /// The gateway session of the request being handled; set by `handle(_:as:)`.
    private var session: PatientDataSession?
    public let limits: APILimits
    /// The code systems and value sets the terminology operations answer from.
    public let terminology: TerminologyService
    /// The absolute base, e.g. `http://localhost:8080/fhir`, for links and locations.
    public let baseURL: String
    let definitions: Definitions
    /// Every `$operation` answered, with its module's handler: routing and the CapabilityStatement read it.
    let operations: OperationTable
    let validator: ResourceValidator
    let logger: Logger
    /// `GET [base]/metadata`'s body: it depends only on the modules and definitions, so it is made once, not per request.
    private(set) var capabilityStatementBytes: [UInt8] = []

    /// An engine answering the clinical modules' operations, listed in the composition root's order.
    public init(gateway: AccessGateway, limits: APILimits = APILimits(), baseURL: String, modules: [any ClinicalModule],
                terminology: TerminologyService, definitions: Definitions = .r4, logger: Logger = Logger(label: "karna.fhir")) {
        self.gateway = gateway
        self.limits = limits
        self.terminology = terminology
        self.operations = OperationTable(modules: modules)
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.definitions = definitions
        self.validator = ResourceValidator(definitions: definitions)
        self.logger = logger
        self.capabilityStatementBytes = makeCapabilityStatement()
    }

    /// Patient data as the current principal may see it.
    var data: PatientDataSession {
        guard let session else { preconditionFailure("FHIREngine used outside handle(_:as:)") }
        return session
    }

    /// The principal of the request being handled.
    var principal: Principal { data.principal }

    /// The engine bound to one principal, for callers that run several interactions (the importer).
    public func bound(to principal: Principal, action: String) -> FHIREngine {
        var bound = self
        bound.session = gateway.session(principal, action: action)
        return bound
    }

    /// Answers one interaction of `principal`; never throws: every failure becomes an OperationOutcome.
    public func handle(_ request: FHIRRequest, as principal: Principal) async -> FHIRResponse {
        await bound(to: principal, action: Self.action(request)).handle(request)
    }

    /// The request's route template for the request log and the metrics: the resource type (a known one, so
    /// the set of templates stays bounded) and the operation name kept, ids replaced (`/fhir/Patient/{id}/_history/{vid}`).
    func routeTemplate(_ request: FHIRRequest) -> String {
        let parts = request.path.enumerated().map { index, segment -> String in
            if segment.hasPrefix("$") || segment.hasPrefix("_") || segment == "metadata" { return segment.count <= 40 ? segment : "{operation}" }
            if index == 0 { return definitions.isResourceType(segment) ? segment : "{type}" }
            if index == 1 { return "{id}" }
            if index == 3, request.path[2] == "_history" { return "{vid}" }
            return definitions.isResourceType(segment) ? segment : "{segment}"
        }
        return "/fhir" + (parts.isEmpty ? "" : "/" + parts.joined(separator: "/"))
    }

    /// The interaction's name in the audit log.
    static func action(_ request: FHIRRequest) -> String {
        let path = request.path
        switch request.method {
        case .get, .head:
            if path.last == "$everything" { return "everything" }
            if path.contains("_history") { return path.count == 4 ? "vread" : "history" }
            if path.first?.hasPrefix("$") == true || path.last?.hasPrefix("$") == true { return "operation" }
            return path.count == 2 ? "read" : "search"
        case .post:
            if path.isEmpty { return "transaction" }
            if path.last == "_search" { return "search" }
            return path.last?.hasPrefix("$") == true ? String(path.last!.dropFirst()) : "create"
        case .put: return "update"
        case .delete: return "delete"
        case .patch: return "update"
        }
    }

    func handle(_ request: FHIRRequest) async -> FHIRResponse {
        do {
            return try await route(request)
        } catch let error as FHIRError {
            return .outcome(error)
        } catch let failure as CommitFailure {
            return .outcome(failure.error)
        } catch let unavailable as StoreUnavailable {
            logger.warning("\(unavailable.description)")
            return .unavailable(unavailable)
        } catch {
            // The description may hold database details: log it, never show it.
            let reference = UUID().uuidString.lowercased()
            logger.error("internal error \(reference): \(String(reflecting: error))")
            return .outcome(FHIRError(.internalError, code: .exception,
                                      "the server failed to process the request; the fault is logged under reference \(reference)"))
        }
    }

    func route(_ request: FHIRRequest) async throws -> FHIRResponse {
        let path = request.path
        switch (request.method, path.count) {
        case (.post, 0):
            return try await batchOrTransaction(request)
        case (.get, 1) where path[0] == "metadata":
            return capabilities()
        case (.get, 1) where path[0] == "_history":
            return try await history(request, type: nil, id: nil)
        case (_, _) where path.first == "_jobs":
            return try await job(request)
        case (_, _) where path.first.map({ $0 == "metadata" || $0 == "_history" }) ?? false:
            throw FHIRError(.unsupported, code: .notSupported, "\(request.method.rawValue) /\(path.joined(separator: "/")) is not supported")
        default:
            break
        }
        if let (level, type, id, name) = Self.operationTarget(path) {
            return try await operation(request, level: level, type: type, id: id, name: name)
        }
        guard let type = path.first else {
            throw FHIRError(.unsupported, code: .notSupported, "\(request.method.rawValue) on the base URL is not supported; use POST for batch and transaction")
        }
        try checkType(type)
        if type == "AuditEvent" { return try await auditEvents(request) }
        if type == "OperationDefinition" { return try operationDefinitions(request) }
        switch (request.method, path.count) {
        case (.get, 1), (.head, 1):
            return try await search(request, type: type)
        case (.post, 2) where path[1] == "_search":
            return try await search(request, type: type)
        case (.post, 1):
            return try await create(request, type: type)
        case (.put, 1):
            return try await conditionalUpdate(request, type: type)
        case (.delete, 1):
            return try await conditionalDelete(request, type: type)
        case (.get, 2) where path[1] == "_history":
            return try await history(request, type: type, id: nil)
        case (.get, 2), (.head, 2):
            return try await read(request, type: type, id: try checkID(path[1]))
        case (.put, 2):
            return try await update(request, type: type, id: try checkID(path[1]))
        case (.delete, 2):
            return try await delete(request, type: type, id: try checkID(path[1]))
        case (.get, 3) where definitions.isResourceType(path[2]):
            return try await search(request, type: path[2], compartment: ResourceKey(type: type, id: try checkID(path[1])))
        case (.get, 3) where path[2] == "_history":
            return try await history(request, type: type, id: try checkID(path[1]))
        case (.get, 4) where path[2] == "_history", (.head, 4) where path[2] == "_history":
            return try await vread(request, type: type, id: try checkID(path[1]), version: path[3])
        case (.patch, 2):
            return try await patch(request, type: type, id: try checkID(path[1]))
        default:
            throw FHIRError(.unsupported, code: .notSupported, "\(request.method.rawValue) /\(path.joined(separator: "/")) is not a supported FHIR interaction")
        }
    }

    /// `[base]/$name`, `[base]/Type/$name` or `[base]/Type/[id]/$name`, split into its parts.
    static func operationTarget(_ path: [String]) -> (OperationDescriptor.Level, String?, String?, String)? {
        guard let last = path.last, last.hasPrefix("$") else { return nil }
        let name = String(last.dropFirst())
        switch path.count {
        case 1: return (.system, nil, nil, name)
        case 2: return (.type, path[0], nil, name)
        case 3: return (.instance, path[0], path[1], name)
        default: return nil
        }
    }

    /// Runs the operation the table routes `$name` to; one no module declared is not supported.
    func operation(_ request: FHIRRequest, level: OperationDescriptor.Level, type: String?, id: String?, name: String) async throws -> FHIRResponse {
        if let type { try checkType(type) }
        let id = try id.map { id throws(FHIRError) in try checkID(id) }
        guard let entry = operations.entry(level: level, type: type, name: name) else {
            throw FHIRError(.unsupported, code: .notSupported, "\(request.method.rawValue) /\(request.path.joined(separator: "/")) is not a supported operation "
                            + "($\(name)); GET \(baseURL)/metadata lists every operation this server answers")
        }
        return try await entry.handler(self, request, type, id, name)
    }

    func checkType(_ type: String) throws(FHIRError) {
        guard definitions.isResourceType(type) else {
            throw FHIRError(.notFound, code: .notSupported, "'\(type)' is not an R4 resource type")
        }
    }

    func checkID(_ id: String) throws(FHIRError) -> String {
        if let problem = PrimitiveFormat.problem(type: "id", value: .string(id)) {
            throw FHIRError(.invalid, code: .invalid, "the id in the URL is invalid: \(problem)")
        }
        return id
    }

    /// Checks that `body` is a valid resource of `type`; all problems in one error.
    func validResource(_ body: JSONValue?, type: String, expressionPrefix: String? = nil, issues precomputed: [FHIRIssue]? = nil) throws(FHIRError) -> JSONObject {
        guard let body else {
            throw FHIRError(.invalid, code: .required, "the request has no body; send a \(type) resource as JSON")
        }
        guard case .object(let object) = body else {
            throw FHIRError(.invalid, code: .structure, "the body must be a JSON object, found a \(body.kindName)")
        }
        if let actual = object.resourceType, actual != type {
            throw FHIRError(.invalid, code: .invalid, "the body is a \(actual) but the URL is for \(type)",
                            expression: [expressionPrefix.map { "\($0).resourceType" } ?? "resourceType"])
        }
        if let reason = Self.unwritableTypes[type] {
            throw FHIRError(.unprocessable, code: .notSupported, reason, expression: [expressionPrefix ?? type])
        }
        var issues = precomputed ?? validator.validate(body)
        if let expressionPrefix {
            for i in issues.indices {
                issues[i].expression = issues[i].expression.map { expressionPrefix + Self.dropType($0) }
            }
        }
        // Warnings (an extensible binding's code outside its value set) do not refuse a write; $validate shows them.
        if issues.contains(where: \.isError) { throw FHIRError(.invalid, issues: issues.filter(\.isError)) }
        return object
    }

    /// Types the server refuses to store, and why: storing them would promise something it does not do.
    static let unwritableTypes: [String: String] = [
        "Subscription": "Kärna does not deliver Subscriptions yet: a stored Subscription would never be notified, so none is accepted. "
            + "Poll with _lastUpdated (or _history) until rest-hook delivery is built",
    ]

    /// `Patient.name[0]` → `.name[0]`, for nesting under a Bundle entry.
    private static func dropType(_ expression: String) -> String {
        guard let dot = expression.firstIndex(of: ".") else { return "" }
        return String(expression[dot...])
    }

    /// The FHIR XML reader and writer, on the same definitions.
    var xml: FHIRXML { FHIRXML(definitions: definitions, maxDepth: limits.maxJSONDepth * 2) }

    /// Reads an XML request body into the JSON the engine works on (bad XML answers 400 naming the line).
    public func parseXMLBody(_ bytes: [UInt8]) throws(FHIRError) -> JSONValue {
        try xml.read(bytes)
    }

    /// Parses a request body under the configured limits; a limit answers 413, bad JSON 400.
    public func parseBody(_ bytes: [UInt8]) throws(FHIRError) -> JSONValue {
        do {
            return try JSONParser.parse(bytes, limits: limits.json)
        } catch {
            if error.reason.isLimit {
                throw FHIRError(.tooLarge, code: .tooCostly, error.description)
            }
            throw FHIRError(.invalid, code: .structure, error.description)
        }
    }

    /// A new server-assigned id.
    static func newID() -> String { UUID().uuidString.lowercased() }

    /// Parses `W/"3"`, `"3"` or `3`.
    static func version(fromETag etag: String) throws(FHIRError) -> Int {
        var text = Substring(etag.trimming(" "))
        if text.hasPrefix("W/") { text = text.dropFirst(2) }
        text = Substring(String(text).trimming("\""))
        guard let version = Int(text), version > 0 else {
            throw FHIRError(.invalid, code: .invalid, "If-Match must be a version ETag like W/\"3\"; got '\(etag)'")
        }
        return version
    }

    func count(_ request: FHIRRequest) throws(FHIRError) -> Int {
        guard let text = request.parameter("_count") else { return limits.defaultPageSize }
        guard let count = Int(text), count >= 0 else {
            throw FHIRError(.invalid, code: .invalid, "_count must be a whole number of 0 or more; got '\(text)'")
        }
        return min(count, limits.maxPageSize)
    }

    /// The representation a write answers with, as `Prefer: return=` asks.
    func writeResponse(_ stored: StoredResource, status: Int, outcome: WriteResult.Outcome, prefer: Prefer, message: String) -> FHIRResponse {
        var response: FHIRResponse
        switch prefer.returnPreference {
        case .representation: response = .resource(stored, status: status, body: stored.json)
        case .minimal: response = .resource(stored, status: status, body: nil)
        case .operationOutcome: response = .resource(stored, status: status, body: OperationOutcome.information(message))
        }
        response.outcome = outcome
        return response
    }
}
