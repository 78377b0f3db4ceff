import FHIRCore

/// Which formats a request may send and ask for: FHIR JSON (the default) and FHIR XML.
enum ContentNegotiation {
    /// The format of a request body or an answer.
    enum Format: Sendable {
        case json, xml, form
    }

    static let xmlTypes: Set<String> = ["application/fhir+xml", "application/xml", "text/xml", "application/xml+fhir", "xml"]
    static let jsonTypes: Set<String> = ["application/fhir+json", "application/json", "application/json+fhir", "json"]

    /// The request body's format from its Content-Type (415 for one the server does not read).
    static func bodyFormat(_ contentType: String?) throws(FHIRError) -> Format {
        guard let contentType else { return .json }
        let mediaType = contentType.split(separator: ";").first.map { String($0).trimming(" ").lowercased() } ?? ""
        if mediaType.isEmpty || jsonTypes.contains(mediaType) || mediaType == "application/json-patch+json" { return .json }
        if xmlTypes.contains(mediaType) { return .xml }
        if mediaType == "application/x-www-form-urlencoded" { return .form }
        throw FHIRError(.unsupportedMediaType, code: .notSupported, "the Content-Type \(mediaType) is not supported; use application/fhir+json or application/fhir+xml")
    }

    /// The answer's format from `_format` (which wins) or `Accept`: 406 when neither JSON nor XML is acceptable.
    static func answerFormat(_ accept: String?, format: String?) throws(FHIRError) -> Format {
        if let format {
            let value = format.lowercased()
            if jsonTypes.contains(value) { return .json }
            if xmlTypes.contains(value) { return .xml }
            throw FHIRError(.notAcceptable, code: .notSupported, "_format=\(format) is not available; this server answers in JSON (_format=json) or XML (_format=xml)")
        }
        guard let accept, !accept.isEmpty else { return .json }
        // The first listed type the server can answer with decides (q-values are not weighed).
        for type in accept.split(separator: ",").map({ $0.split(separator: ";").first.map { String($0).trimming(" ").lowercased() } ?? "" }) {
            if type == "*/*" || type == "application/*" || type.contains("json") || type == "text/html" || type == "text/plain" { return .json }
            if xmlTypes.contains(type) || type == "text/*" { return .xml }
        }
        throw FHIRError(.notAcceptable, code: .notSupported, "this server answers in application/fhir+json or application/fhir+xml; the request accepts only \(accept)")
    }
}
