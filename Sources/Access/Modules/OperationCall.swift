import FHIRCore
import Foundation
import StoreModel

/// One invocation of a module's FHIR operation, free of HTTP: the interface (the FHIR API today)
/// builds it, the module answers it, the interface writes the answer out.
public struct OperationCall: Sendable {
    /// The operation's code, without `$`.
    public let name: String
    /// The type it was invoked on (nil at system level) and the instance id (nil unless instance level).
    public let resourceType: String?
    public let id: String?
    public let isPost: Bool
    public let input: OperationInput
    /// The caller's gateway session: every read and write of the operation goes through it.
    public let session: PatientDataSession
    /// How many results a listing operation returns (`_count`, within the server's page limit).
    public let pageSize: Int
    /// Whether the client asked for the asynchronous pattern (`Prefer: respond-async`).
    public let respondAsync: Bool
    /// The invocation as the client sent it (an absolute URL with its query), for a job's manifest.
    public let requestURL: String
    /// The FHIR base the request came in under, for the URLs an answer hands out.
    public let baseURL: String

    public init(name: String, resourceType: String?, id: String?, isPost: Bool, input: OperationInput, session: PatientDataSession, pageSize: Int,
                respondAsync: Bool = false, requestURL: String = "", baseURL: String = "") {
        self.name = name
        self.resourceType = resourceType
        self.id = id
        self.isPost = isPost
        self.input = input
        self.session = session
        self.pageSize = pageSize
        self.respondAsync = respondAsync
        self.requestURL = requestURL
        self.baseURL = baseURL
    }

    /// Operations that change data are invoked with POST.
    public func requirePost() throws(FHIRError) {
        guard isPost else { throw FHIRError(.unsupported, code: .notSupported, "$\(name) is invoked with POST") }
    }

    /// The refusal of an operation the module does not answer on this target.
    public func unsupported() -> FHIRError {
        let target = [resourceType, id].compactMap { $0 }.joined(separator: "/")
        return FHIRError(.unsupported, code: .notSupported, "\(target.isEmpty ? "" : target + "/")$\(name) is not a supported operation")
    }
}

/// What a module's operation answers; the interface writes it out (a resource, a searchset Bundle, a
/// Parameters resource, text, or an informational OperationOutcome).
public enum OperationAnswer: Sendable {
    case resource(StoredResource, status: Int = 200)
    case resources([StoredResource])
    case parameters(ParametersBuilder, status: Int = 200, location: String? = nil)
    case text(String, contentType: String)
    case information(String)
    /// A job was started (the asynchronous pattern): 202, with where to ask at `[base]/_jobs/<owner>/<job>`.
    case accepted(owner: String, job: String)
}

/// An operation's input parameters (query and Parameters body), read with errors that name the parameter.
public struct OperationInput: Sendable {
    public let operation: String
    /// The last value of each simple parameter (a reference reduced to its id).
    public let values: [String: String]
    /// Every parameter in order, for repeated ones and those with parts.
    public let all: [(name: String, value: JSONValue)]

    /// From the query and a Parameters body; any other body is refused.
    public init(operation: String, query: [(name: String, value: String)], body: JSONValue?) throws(FHIRError) {
        self.operation = operation
        values = try Self.flat(query: query, body: body)
        var all: [(name: String, value: JSONValue)] = query.map { ($0.name, .string($0.value)) }
        if case .object(let body)? = body {
            for parameter in body["parameter"]?.arrayValue ?? [] {
                guard let parameter = parameter.objectValue, let name = parameter["name"]?.stringValue else { continue }
                all.append((name, .object(parameter)))
            }
        }
        self.all = all
    }

    /// Operation parameters from a Parameters body (valueString/valueCode/valueInteger/valueReference) or the query.
    public static func flat(query: [(name: String, value: String)], body: JSONValue?) throws(FHIRError) -> [String: String] {
        var result: [String: String] = [:]
        for (name, value) in query { result[name] = value }
        guard let body else { return result }
        guard case .object(let object) = body, object.resourceType == "Parameters" else {
            throw FHIRError(.invalid, code: .structure, "an operation takes a Parameters resource as its body")
        }
        for parameter in object["parameter"]?.arrayValue ?? [] {
            guard let parameter = parameter.objectValue, let name = parameter["name"]?.stringValue else { continue }
            for (key, value) in parameter where key.hasPrefix("value") {
                switch value {
                case .string(let text): result[name] = text
                case .number(let text): result[name] = text
                case .bool(let flag): result[name] = String(flag)
                case .object(let reference): result[name] = reference["reference"]?.stringValue.map { $0.split(separator: "/").last.map(String.init) ?? $0 }
                default: break
                }
            }
        }
        return result
    }

    public subscript(_ name: String) -> String? {
        guard let text = values[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else { return nil }
        return text
    }

    public func required(_ name: String) throws(FHIRError) -> String {
        guard let text = self[name] else {
            throw FHIRError(.invalid, code: .required, "the parameter '\(name)' is required for $\(operation)", expression: [name])
        }
        return text
    }

    /// An id, or a `Type/id` reference reduced to its id.
    public func id(_ name: String) throws(FHIRError) -> String? {
        guard let text = self[name] else { return nil }
        let bare = text.split(separator: "/").last.map(String.init) ?? text
        if let problem = PrimitiveFormat.problem(type: "id", value: .string(bare)) {
            throw FHIRError(.invalid, code: .value, "\(name): \(problem)", expression: [name])
        }
        return bare
    }

    public func requiredID(_ name: String) throws(FHIRError) -> String {
        guard let value = try id(name) else { throw FHIRError(.invalid, code: .required, "the parameter '\(name)' is required for $\(operation)", expression: [name]) }
        return value
    }

    public func int(_ name: String) throws(FHIRError) -> Int? {
        guard let text = self[name] else { return nil }
        guard let value = Int(text) else { throw FHIRError(.invalid, code: .value, "\(name) must be a whole number; got '\(text)'", expression: [name]) }
        return value
    }

    public func bool(_ name: String, default fallback: Bool) throws(FHIRError) -> Bool {
        switch self[name] {
        case nil: return fallback
        case "true": return true
        case "false": return false
        case let other?: throw FHIRError(.invalid, code: .value, "\(name) must be true or false; got '\(other)'", expression: [name])
        }
    }

    /// A date (2026-11-23) or date-time with zone, as milliseconds.
    public func instant(_ name: String) throws(FHIRError) -> Int64? {
        guard let text = self[name] else { return nil }
        guard let value = Instant.parse(text) else {
            throw FHIRError(.invalid, code: .value, "\(name) must be a date like 2026-11-23 or a date and time with zone; got '\(text)'", expression: [name])
        }
        return value
    }

    public func day(_ name: String) throws(FHIRError) -> String? {
        guard let text = self[name] else { return nil }
        guard text.count == 10, Instant.parse(text) != nil else {
            throw FHIRError(.invalid, code: .value, "\(name) must be a date like 2026-11-23; got '\(text)'", expression: [name])
        }
        return text
    }

    /// Every value of a repeated simple parameter; comma-separated values count as several.
    public func strings(_ name: String) -> [String] {
        all.filter { $0.name == name }.flatMap { entry -> [String] in
            let text: String?
            switch entry.value {
            case .string(let value): text = value
            case .object(let parameter): text = parameter.first { $0.key.hasPrefix("value") }?.value.stringValue
            default: text = nil
            }
            return (text ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
    }

    /// Note sections: `section` parameters with parts `code` and `text`, or `section.CODE=text` in the query.
    public func sections() throws(FHIRError) -> [String: String] {
        var sections: [String: String] = [:]
        for (index, entry) in all.enumerated() {
            if entry.name.hasPrefix("section."), case .string(let text) = entry.value {
                sections[String(entry.name.dropFirst("section.".count))] = text
                continue
            }
            guard entry.name == "section", case .object(let parameter) = entry.value else { continue }
            var code: String?, text: String?
            for part in parameter["part"]?.arrayValue ?? [] {
                guard let part = part.objectValue else { continue }
                let value = part.first { $0.key.hasPrefix("value") }?.value
                switch part["name"]?.stringValue {
                case "code": code = value?.stringValue ?? value?.objectValue?["code"]?.stringValue
                case "text": text = value?.stringValue
                default: break
                }
            }
            guard let code, !code.isEmpty else {
                throw FHIRError(.invalid, code: .required, "section parameter \(index + 1) has no part 'code' (the sökord)", expression: ["section"])
            }
            sections[code] = text ?? ""
        }
        return sections
    }
}
