import FHIRCore

/// The one place where error categories become HTTP status codes (STYLE.md:
/// exactly one file in the REST layer maps them).
enum StatusMapping {
    static func status(for category: FHIRError.Category) -> Int { category.httpStatus }

    /// The reason phrase for a status, as transaction-response entries carry it ("201 Created").
    static func statusLine(_ status: Int) -> String {
        let phrase: String
        switch status {
        case 200: phrase = "OK"
        case 201: phrase = "Created"
        case 204: phrase = "No Content"
        case 304: phrase = "Not Modified"
        case 400: phrase = "Bad Request"
        case 401: phrase = "Unauthorized"
        case 403: phrase = "Forbidden"
        case 404: phrase = "Not Found"
        case 405: phrase = "Method Not Allowed"
        case 406: phrase = "Not Acceptable"
        case 409: phrase = "Conflict"
        case 410: phrase = "Gone"
        case 412: phrase = "Precondition Failed"
        case 413: phrase = "Content Too Large"
        case 415: phrase = "Unsupported Media Type"
        case 422: phrase = "Unprocessable Content"
        case 501: phrase = "Not Implemented"
        case 503: phrase = "Service Unavailable"
        default: phrase = status < 400 ? "OK" : "Error"
        }
        return "\(status) \(phrase)"
    }
}
