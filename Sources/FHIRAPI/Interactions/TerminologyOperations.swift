import Access
import FHIRCore
import Foundation
import Terminology

extension FHIREngine {
    /// The terminology operations: not patient data, but only for authenticated callers like every /fhir request.
    func terminologyOperation(_ request: FHIRRequest, type: String?, operation: String) async throws -> FHIRResponse {
        let input = try OperationInput(operation: operation, query: request.query, body: request.body)
        switch (type, operation) {
        // Terminology: not patient data, but only for authenticated callers like every /fhir request.
        case ("CodeSystem", "lookup"):
            let found = try terminology.lookup(system: try input.required("system"), code: try input.required("code"))
            var out = ParametersBuilder()
            out.add("name", found.system.title)
            out.add("version", found.system.version)
            out.add("display", found.concept.display)
            out.add("abstract", bool: false)
            if found.concept.inactive { out.add("inactive", bool: true) }
            if let parent = found.concept.parent {
                var part = ParametersBuilder()
                part.add("code", parent)
                part.add("value", parent)
                part.add("description", found.parentDisplay)
                out.add("property", part: part)
            }
            for child in found.children {
                var part = ParametersBuilder()
                part.add("code", "child")
                part.add("value", child.code)
                part.add("description", child.display)
                out.add("property", part: part)
            }
            out.add("source", found.system.source)
            return out.response
        case ("CodeSystem", "validate-code"), ("ValueSet", "validate-code"):
            let system = try input[type == "CodeSystem" ? "url" : "system"] ?? input.required("system")
            let result = try terminology.validate(system: system, code: try input.required("code"), display: input["display"],
                                                    valueSet: type == "ValueSet" ? try input.required("url") : nil)
            var out = ParametersBuilder()
            out.add("result", bool: result.result)
            out.add("message", result.message)
            out.add("display", result.display)
            return out.response
        case ("ValueSet", "expand"):
            let expansion = try terminology.expand(url: try input.required("url"), filter: input["filter"], offset: try input.int("offset") ?? 0,
                                                     count: try input.int("count"))
            return expandResponse(expansion, filter: input["filter"])

        default:
            throw FHIRError(.unsupported, code: .notSupported, "$\(operation) is not a terminology operation of \(type ?? "the server")")
        }
    }

    private func expandResponse(_ expansion: TerminologyService.Expansion, filter: String?) -> FHIRResponse {
        var resource = expansion.valueSet.resource(id: String(expansion.valueSet.name.lowercased().filter { $0.isLetter && $0.isASCII || $0.isNumber || $0 == "-" }.prefix(64)))
        var parameters: [JSONValue] = [.object(JSONObject([("name", .string("offset")), ("valueInteger", .number(String(expansion.offset)))]))]
        if let filter { parameters.append(.object(JSONObject([("name", .string("filter")), ("valueString", .string(filter))]))) }
        resource["expansion"] = .object(JSONObject([
            ("identifier", .string("urn:uuid:\(UUID().uuidString.lowercased())")),
            ("timestamp", .string(Instant.format(milliseconds: Instant.now()))),
            ("total", .number(String(expansion.total))),
            ("offset", .number(String(expansion.offset))),
            ("parameter", .array(parameters)),
            ("contains", .array(expansion.entries.map {
                .object(JSONObject([("system", .string($0.system)), ("code", .string($0.code)), ("display", .string($0.display))]))
            })),
        ]))
        return FHIRResponse(status: 200, body: JSONWriter.bytes(.object(resource)))
    }
}
