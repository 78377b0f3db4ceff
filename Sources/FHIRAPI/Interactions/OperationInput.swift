import FHIRCore
import Foundation
import StoreModel

/// An operation's input parameters (query and Parameters body), read with errors that name the parameter.
struct OperationInput {
    let operation: String
    let values: [String: String]
    /// Every parameter in order, for repeated ones and those with parts.
    let all: [(name: String, value: JSONValue)]

    init(_ request: FHIRRequest, operation: String, flat: [String: String]) {
        self.operation = operation
        values = flat
        var all: [(name: String, value: JSONValue)] = request.query.map { ($0.name, .string($0.value)) }
        if case .object(let body)? = request.body {
            for parameter in body["parameter"]?.arrayValue ?? [] {
                guard let parameter = parameter.objectValue, let name = parameter["name"]?.stringValue else { continue }
                all.append((name, .object(parameter)))
            }
        }
        self.all = all
    }

    func requirePost(_ request: FHIRRequest) throws(FHIRError) {
        guard request.method == .post else { throw FHIRError(.unsupported, code: .notSupported, "$\(operation) is invoked with POST") }
    }

    subscript(_ name: String) -> String? {
        guard let text = values[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else { return nil }
        return text
    }

    func required(_ name: String) throws(FHIRError) -> String {
        guard let text = self[name] else {
            throw FHIRError(.invalid, code: .required, "the parameter '\(name)' is required for $\(operation)", expression: [name])
        }
        return text
    }

    /// An id, or a `Type/id` reference reduced to its id.
    func id(_ name: String) throws(FHIRError) -> String? {
        guard let text = self[name] else { return nil }
        let bare = text.split(separator: "/").last.map(String.init) ?? text
        if let problem = PrimitiveFormat.problem(type: "id", value: .string(bare)) {
            throw FHIRError(.invalid, code: .value, "\(name): \(problem)", expression: [name])
        }
        return bare
    }

    func requiredID(_ name: String) throws(FHIRError) -> String {
        guard let value = try id(name) else { throw FHIRError(.invalid, code: .required, "the parameter '\(name)' is required for $\(operation)", expression: [name]) }
        return value
    }

    func int(_ name: String) throws(FHIRError) -> Int? {
        guard let text = self[name] else { return nil }
        guard let value = Int(text) else { throw FHIRError(.invalid, code: .value, "\(name) must be a whole number; got '\(text)'", expression: [name]) }
        return value
    }

    func bool(_ name: String, default fallback: Bool) throws(FHIRError) -> Bool {
        switch self[name] {
        case nil: return fallback
        case "true": return true
        case "false": return false
        case let other?: throw FHIRError(.invalid, code: .value, "\(name) must be true or false; got '\(other)'", expression: [name])
        }
    }

    /// A date (2026-11-23) or date-time with zone, as milliseconds.
    func instant(_ name: String) throws(FHIRError) -> Int64? {
        guard let text = self[name] else { return nil }
        guard let value = Instant.parse(text) else {
            throw FHIRError(.invalid, code: .value, "\(name) must be a date like 2026-11-23 or a date and time with zone; got '\(text)'", expression: [name])
        }
        return value
    }

    func day(_ name: String) throws(FHIRError) -> String? {
        guard let text = self[name] else { return nil }
        guard text.count == 10, Instant.parse(text) != nil else {
            throw FHIRError(.invalid, code: .value, "\(name) must be a date like 2026-11-23; got '\(text)'", expression: [name])
        }
        return text
    }

    /// Every value of a repeated simple parameter; comma-separated values count as several.
    func strings(_ name: String) -> [String] {
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
    func sections() throws(FHIRError) -> [String: String] {
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
