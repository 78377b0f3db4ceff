public import FHIRCore
public import Foundation
import Metrics
#if canImport(FoundationNetworking)
public import FoundationNetworking
#endif

/// Who calls Nationella läkemedelslistan and why: what every call's headers say (E-hälsomyndigheten,
/// "HTTP Header and Authorization"). One context per user task; its `contextID` groups the task's calls.
public struct NLLCallContext: Sendable {
    /// The bearer token (`authorization`).
    public var token: String
    /// Ändamål (`x-purpose`), `VARD` for care.
    public var purpose: String
    /// Åtkomsttyp (`x-access`): what lets the user read beyond their own prescriptions. Every read carries one.
    public var access: NLLAccess?
    /// Who authored and who entered the change, and why (`x-provenance`, base64 JSON). Every write carries one.
    public var provenance: JSONObject?
    /// Groups the calls of one user task (`x-context-id`).
    public var contextID: String
    /// The care provider and unit calling (`x-org-info`).
    public var organisation: String
    /// The calling system and its version (`x-user-agent`).
    public var userAgent: String
    /// The patient the call is about, when a search names none in its path (`x-patientref`).
    public var patientReference: String?

    public init(token: String, purpose: String = "VARD", access: NLLAccess? = nil, provenance: JSONObject? = nil, contextID: String,
                organisation: String, userAgent: String, patientReference: String? = nil) {
        self.token = token
        self.purpose = purpose
        self.access = access
        self.provenance = provenance
        self.contextID = contextID
        self.organisation = organisation
        self.userAgent = userAgent
        self.patientReference = patientReference
    }
}

/// Åtkomsttyp: the ground on which a user reads a patient's prescriptions from other providers (NLL 3 kap.).
public enum NLLAccess: String, Sendable, CaseIterable {
    /// Only what the user's own care provider prescribed (no ground to read more).
    case own = "EGNA"
    /// The patient's consent (samtycke).
    case consent = "SAMTYCKE"
    /// A child too immature to consent (barn).
    case child = "BARN"
    /// Consent given for dose dispensing (dossamtycke).
    case doseConsent = "DOSSAMTYCKE"
    /// Presumed consent: the patient is permanently unable to consent (förmodat samtycke).
    case presumedConsent = "FORMODAT_SAMTYCKE"
    /// Emergency access (nödåtkomst).
    case emergency = "NODATKOMST"

    /// The Swedish name a user sees.
    public var swedish: String {
        switch self {
        case .own: "Endast egna förskrivningar"
        case .consent: "Samtycke"
        case .child: "Barn (ej mogen att samtycka)"
        case .doseConsent: "Dossamtycke"
        case .presumedConsent: "Förmodat samtycke"
        case .emergency: "Nödåtkomst"
        }
    }
}

/// One call to NLL. Its `requestID` (`x-request-id`) is the call's identity: a retry sends the same one, so
/// NLL carries it out once.
public struct NLLRequest: Sendable {
    public enum Method: String, Sendable { case get = "GET", post = "POST", put = "PUT" }

    public var method: Method
    /// Below the base: `MedicationRequest`, `MedicationRequest/{id}`, `MedicationRequest/$end`.
    public var path: String
    public var query: [(name: String, value: String)]
    public var body: JSONObject?
    /// The version a change is made against (`If-Match: W/"n"`); NLL refuses it when another was written since.
    public var version: String?
    public var requestID: String

    public init(_ method: Method, _ path: String, query: [(name: String, value: String)] = [], body: JSONObject? = nil, version: String? = nil,
                requestID: String = UUID().uuidString.lowercased()) {
        self.method = method
        self.path = path
        self.query = query
        self.body = body
        self.version = version
        self.requestID = requestID
    }

    /// A read (GET) needs an åtkomsttyp; a write (POST, PUT) needs a provenance.
    public var isRead: Bool { method == .get }
}

/// NLL's answer to a call that reached it and succeeded.
public struct NLLResponse: Sendable {
    public var status: Int
    public var resource: JSONObject?
    /// The version NLL now holds (from `ETag`, else `meta.versionId`).
    public var version: String?
}

/// Why a call to NLL did not succeed, in the terms the prescriber acts on.
public enum NLLError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The client refused to send: a header NLL requires is missing. Nothing left Kärna.
    case missingHeader(String)
    /// NLL could not be reached, timed out or failed (5xx): the same call may be sent again.
    case unavailable(String)
    /// Someone changed the prescription in NLL since the version the change was made against.
    case conflict(String)
    /// NLL refused the call (4xx) and says why; sending it again will not help.
    case refused(status: Int, message: String)

    public var description: String {
        switch self {
        case .missingHeader(let name): "the NLL call lacks the required header \(name); it was not sent"
        case .unavailable(let why): "NLL is unavailable: \(why)"
        case .conflict(let why): "version conflict in NLL: \(why)"
        case .refused(let status, let message): "NLL refused the call (\(status)): \(message)"
        }
    }

    /// What a user reads: in Swedish, NLL's own words kept only where NLL gives the reason (a refusal).
    public var swedish: String {
        switch self {
        case .missingHeader(let name): "Anropet till Nationella läkemedelslistan saknade \(name) och skickades inte."
        case .unavailable: "Nationella läkemedelslistan svarar inte."
        case .conflict: "Förskrivningen har ändrats i Nationella läkemedelslistan sedan den lästes."
        case .refused(_, let message): "Nationella läkemedelslistan tog inte emot anropet: \(message)"
        }
    }

    /// Whether the outbox should try again later.
    public var isRetryable: Bool { if case .unavailable = self { true } else { false } }
}

/// Sends an HTTP request and answers the response; the client's only contact with the network.
public protocol NLLTransport: Sendable {
    func send(_ request: URLRequest) async throws -> (status: Int, headers: [String: String], body: Data)
}

/// The transport over Foundation's URLSession (libcurl on Linux), with the client's time limit.
public struct URLSessionTransport: NLLTransport {
    let session: URLSession

    public init(timeoutSeconds: Double) {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeoutSeconds
        configuration.timeoutIntervalForResource = timeoutSeconds
        session = URLSession(configuration: configuration)
    }

    public func send(_ request: URLRequest) async throws -> (status: Int, headers: [String: String], body: Data) {
        let (data, response) = try await session.data(for: request)
        guard let http = response as? HTTPURLResponse else { throw NLLError.unavailable("no HTTP response") }
        var headers: [String: String] = [:]
        for (key, value) in http.allHeaderFields {
            if let key = key as? String, let value = value as? String { headers[key.lowercased()] = value }
        }
        return (http.statusCode, headers, data)
    }
}

/// The client for E-hälsomyndigheten's Nationella läkemedelslistan (a FHIR R4 REST API). It builds the
/// headers NLL requires and refuses to send a call that lacks one; it knows nothing of Kärna's records.
public struct NLLClient: Sendable {
    public let baseURL: URL
    let transport: any NLLTransport

    public init(baseURL: URL, timeoutSeconds: Double = 10, transport: (any NLLTransport)? = nil) {
        self.baseURL = baseURL
        self.transport = transport ?? URLSessionTransport(timeoutSeconds: timeoutSeconds)
    }

    /// The headers of `request` under `context`, or which required one is missing.
    public func headers(for request: NLLRequest, context: NLLCallContext) throws(NLLError) -> [(name: String, value: String)] {
        func required(_ name: String, _ value: String?) throws(NLLError) -> (name: String, value: String) {
            guard let value, !value.trimmingCharacters(in: .whitespaces).isEmpty else { throw .missingHeader(name) }
            return (name, value)
        }
        var headers = [
            try required("authorization", context.token.isEmpty ? nil : "Bearer \(context.token)"),
            try required("x-purpose", context.purpose),
            try required("x-request-id", request.requestID),
            try required("x-context-id", context.contextID),
            try required("x-org-info", context.organisation),
            try required("x-user-agent", context.userAgent),
            ("accept", "application/fhir+json"),
        ]
        if request.isRead {
            headers.append(try required("x-access", context.access?.rawValue))
        } else {
            guard let provenance = context.provenance, Self.namesAuthorAndEnterer(provenance) else { throw .missingHeader("x-provenance") }
            headers.append(("x-provenance", Data(JSONWriter.bytes(.object(provenance))).base64EncodedString()))
            headers.append(("content-type", "application/fhir+json"))
            headers.append(("prefer", "return=representation"))
        }
        if let version = request.version { headers.append(("if-match", "W/\"\(version)\"")) }
        if let patient = context.patientReference { headers.append(("x-patientref", patient)) }
        return headers
    }

    /// A provenance NLL accepts names the person who authored the change and the one who entered it.
    static func namesAuthorAndEnterer(_ provenance: JSONObject) -> Bool {
        let roles = (provenance["agent"]?.arrayValue ?? []).compactMap { agent -> String? in
            let object = agent.objectValue
            guard object?["who"]?.objectValue != nil else { return nil }
            return object?["type"]?.objectValue?["coding"]?.arrayValue?.first?.objectValue?["code"]?.stringValue
        }
        return roles.contains("author") && roles.contains("enterer")
    }

    /// Sends `request`; answers NLL's response or throws an `NLLError` saying what to do about it.
    public func send(_ request: NLLRequest, context: NLLCallContext) async throws(NLLError) -> NLLResponse {
        let headers = try headers(for: request, context: context)
        var components = URLComponents(url: baseURL.appendingPathComponent(request.path), resolvingAgainstBaseURL: false)
        if !request.query.isEmpty { components?.queryItems = request.query.map { URLQueryItem(name: $0.name, value: $0.value) } }
        guard let url = components?.url else { throw .refused(status: 0, message: "not a URL: \(request.path)") }
        var http = URLRequest(url: url)
        http.httpMethod = request.method.rawValue
        for header in headers { http.setValue(header.value, forHTTPHeaderField: header.name) }
        if let body = request.body { http.httpBody = Data(JSONWriter.bytes(.object(body))) }
        let answer: (status: Int, headers: [String: String], body: Data)
        // NLL's state for the operator (`karna_channel_reachable{channel="nll"}`): 1 when it answered, 0 when it
        // could not be reached or failed on its side.
        let reachable = Gauge(label: "karna.channel.reachable", dimensions: [("channel", "nll")])
        do {
            answer = try await transport.send(http)
        } catch let error as NLLError {
            reachable.record(0)
            throw error
        } catch {
            reachable.record(0)
            throw .unavailable(error.localizedDescription)
        }
        reachable.record(answer.status >= 500 ? 0 : 1)
        let resource = answer.body.isEmpty ? nil : (try? JSONParser.parse([UInt8](answer.body)))?.objectValue
        switch answer.status {
        case 200..<300:
            let etag = answer.headers["etag"].map { $0.replacingOccurrences(of: "W/", with: "").trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
            return NLLResponse(status: answer.status, resource: resource,
                               version: etag ?? resource?["meta"]?.objectValue?["versionId"]?.stringValue)
        case 409, 412:
            throw .conflict(Self.message(resource) ?? "the prescription was changed in NLL since it was read")
        case 400..<500:
            throw .refused(status: answer.status, message: Self.message(resource) ?? "HTTP \(answer.status)")
        default:
            throw .unavailable(Self.message(resource) ?? "HTTP \(answer.status)")
        }
    }

    /// The diagnostics of an OperationOutcome's issues.
    static func message(_ outcome: JSONObject?) -> String? {
        let texts = (outcome?["issue"]?.arrayValue ?? []).compactMap {
            $0.objectValue?["diagnostics"]?.stringValue ?? $0.objectValue?["details"]?.objectValue?["text"]?.stringValue
        }
        return texts.isEmpty ? nil : texts.joined(separator: "; ")
    }

    /// A Provenance for `x-provenance`: who authored (the prescriber) and who entered the change, when and why.
    public static func provenance(author: (name: String, hsaID: String), enterer: (name: String, hsaID: String), activity: String,
                                  reason: String?, target: String, recorded: String) -> JSONObject {
        func agent(_ role: String, _ person: (name: String, hsaID: String)) -> JSONValue {
            FHIR.object([
                ("type", FHIR.concept("http://terminology.hl7.org/CodeSystem/provenance-participant-type", role)),
                ("who", FHIR.object([("identifier", FHIR.object([("system", .string("urn:oid:1.2.752.29.4.19")), ("value", .string(person.hsaID))])),
                                     ("display", .string(person.name))])),
            ])
        }
        var provenance = JSONObject([
            ("resourceType", .string("Provenance")),
            ("target", .array([FHIR.object([("reference", .string(target))])])),
            ("recorded", .string(recorded)),
            ("activity", FHIR.concept("http://terminology.hl7.org/CodeSystem/v3-DataOperation", activity)),
            ("agent", .array([agent("author", author), agent("enterer", enterer)])),
        ])
        if let reason { provenance["reason"] = .array([FHIR.text(reason)]) }
        return provenance
    }
}
