import FHIRCore

/// Which formats a request may send and ask for. Kärna speaks FHIR JSON only;
/// XML is refused clearly instead of being misread as JSON.
enum ContentNegotiation {
    /// Checks the request body's Content-Type: FHIR JSON or plain JSON (415 otherwise).
    static func checkContentType(_ contentType: String?) throws(FHIRError) {
        guard let contentType else { return }
        let mediaType = contentType.split(separator: ";").first.map { String($0).trimming(" ").lowercased() } ?? ""
        switch mediaType {
        case "application/fhir+json", "application/json", "application/json+fhir", "application/json-patch+json", "": return
        case "application/x-www-form-urlencoded": return
        case let type where type.contains("xml"):
            throw FHIRError(.unsupportedMediaType, code: .notSupported, "this server reads FHIR JSON only; send the resource as application/fhir+json, not \(mediaType)")
        default:
            throw FHIRError(.unsupportedMediaType, code: .notSupported, "the Content-Type \(mediaType) is not supported; use application/fhir+json")
        }
    }

    /// Checks `Accept` and `_format`: answers 406 when only XML (or another format) is acceptable.
    static func checkAccept(_ accept: String?, format: String?) throws(FHIRError) {
        if let format {
            let value = format.lowercased()
            if ["json", "application/json", "application/fhir+json", "application/json+fhir"].contains(value) { return }
            throw FHIRError(.notAcceptable, code: .notSupported, "_format=\(format) is not available; this server answers in JSON (_format=json)")
        }
        guard let accept, !accept.isEmpty else { return }
        let types = accept.split(separator: ",").map { $0.split(separator: ";").first.map { String($0).trimming(" ").lowercased() } ?? "" }
        let acceptable = types.contains { type in
            type == "*/*" || type == "application/*" || type.contains("json") || type == "text/html" || type == "text/plain"
        }
        if !acceptable {
            throw FHIRError(.notAcceptable, code: .notSupported, "this server answers in application/fhir+json; the request accepts only \(accept)")
        }
    }
}
