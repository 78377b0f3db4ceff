import FHIRCore

/// A FHIR interaction as the engine sees it, whether it came over HTTP or as
/// an entry of a batch or transaction Bundle.
public struct FHIRRequest: Sendable {
    /// The HTTP verb of the interaction.
    public enum Method: String, Sendable {
        case get = "GET", head = "HEAD", post = "POST", put = "PUT", delete = "DELETE", patch = "PATCH"
    }

    public var method: Method
    /// Path segments below the FHIR base, e.g. `["Patient", "123", "_history", "2"]`.
    public var path: [String]
    /// Query parameters in the order given, percent-decoded; a name may repeat.
    public var query: [(name: String, value: String)]
    public var ifMatch: String?
    public var ifNoneExist: String?
    public var ifNoneMatch: String?
    public var prefer: Prefer
    public var body: JSONValue?

    public init(method: Method, path: [String], query: [(name: String, value: String)] = [], ifMatch: String? = nil,
                ifNoneExist: String? = nil, ifNoneMatch: String? = nil, prefer: Prefer = Prefer(), body: JSONValue? = nil) {
        self.method = method
        self.path = path
        self.query = query
        self.ifMatch = ifMatch
        self.ifNoneExist = ifNoneExist
        self.ifNoneMatch = ifNoneMatch
        self.prefer = prefer
        self.body = body
    }

    /// Parses a relative URL as a Bundle entry's `request.url` holds it: `Patient/1?x=y`.
    public init(method: Method, url: String) {
        var pathPart = Substring(url)
        var queryPart: Substring = ""
        if let question = url.firstIndex(of: "?") {
            pathPart = url[..<question]
            queryPart = url[url.index(after: question)...]
        }
        self.init(method: method, path: pathPart.split(separator: "/").map { String($0).percentDecoded },
                  query: String(queryPart).queryPairs)
    }

    /// The last value of a query parameter.
    public func parameter(_ name: String) -> String? {
        query.last(where: { $0.name == name })?.value
    }

    /// The query as it would be written in a URL, without the paging parameters the server adds.
    var criteriaQuery: String {
        Self.queryString(query.filter { !$0.name.hasPrefix("_") || $0.name == "_id" })
    }

    /// Pairs written as a URL query (`a=1&b=2`), percent-encoded.
    static func queryString(_ pairs: [(name: String, value: String)]) -> String {
        pairs.map { "\($0.name.percentEncodedForQuery)=\($0.value.percentEncodedForQuery)" }.joined(separator: "&")
    }
}

/// The `Prefer` header: what to return, and how strictly to handle parameters.
public struct Prefer: Sendable, Equatable {
    /// `return=`: what a write answers with.
    public enum Return: String, Sendable {
        case minimal, representation, operationOutcome = "OperationOutcome"
    }

    public var returnPreference: Return = .representation
    public var strictHandling = false
    /// `respond-async`: the client takes a 202 and asks for the result later (Bulk Data kick-off).
    public var respondAsync = false

    public init(returnPreference: Return = .representation, strictHandling: Bool = false) {
        self.returnPreference = returnPreference
        self.strictHandling = strictHandling
    }

    /// Parses `return=minimal; handling=strict` (comma or semicolon separated).
    public init(header: String?) {
        guard let header else { return }
        for token in header.split(whereSeparator: { $0 == "," || $0 == ";" }) {
            let parts = token.split(separator: "=", maxSplits: 1).map { String($0).trimming(" \"") }
            if parts == ["respond-async"] { respondAsync = true }
            guard parts.count == 2 else { continue }
            switch (parts[0].lowercased(), parts[1]) {
            case ("return", let value): returnPreference = Return(rawValue: value) ?? returnPreference
            case ("handling", let value): strictHandling = value == "strict"
            default: break
            }
        }
    }
}

extension String {
    var percentEncodedForQuery: String {
        var out = ""
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "|"), UInt8(ascii: ":"), UInt8(ascii: "/"):
                out.unicodeScalars.append(UnicodeScalar(byte))
            default:
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }

    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
