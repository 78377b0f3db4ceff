/// A transport-neutral error from the FHIR domain: a category that the REST
/// layer maps to an HTTP status, and the issues that say what and where.
public struct FHIRError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is. A struct over a private enum so new cases break no caller.
    public struct Category: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case invalid, notFound, gone, conflict, preconditionFailed, unsupported
            case tooLarge, forbidden, busy, notAcceptable, unsupportedMediaType, unprocessable, internalError, unauthorized
            case methodNotAllowed
        }
        private let base: Base

        /// The request is malformed (400).
        public static let invalid = Category(base: .invalid)
        /// The resource or type does not exist (404).
        public static let notFound = Category(base: .notFound)
        /// The resource existed and was deleted (410).
        public static let gone = Category(base: .gone)
        /// The change conflicts with the current state (409).
        public static let conflict = Category(base: .conflict)
        /// An `If-Match` version did not match (412).
        public static let preconditionFailed = Category(base: .preconditionFailed)
        /// The interaction or parameter is not supported (501 or 400 by context).
        public static let unsupported = Category(base: .unsupported)
        /// The request exceeds a configured limit (413).
        public static let tooLarge = Category(base: .tooLarge)
        /// The request carries no valid credentials (401).
        public static let unauthorized = Category(base: .unauthorized)
        /// The caller may not do this (403).
        public static let forbidden = Category(base: .forbidden)
        /// The resource never accepts this interaction, whoever asks (405).
        public static let methodNotAllowed = Category(base: .methodNotAllowed)
        /// The server is overloaded; try again (503).
        public static let busy = Category(base: .busy)
        /// The requested format cannot be produced (406).
        public static let notAcceptable = Category(base: .notAcceptable)
        /// The body's format is not one the server reads (415).
        public static let unsupportedMediaType = Category(base: .unsupportedMediaType)
        /// The content is well-formed but fails validation (422).
        public static let unprocessable = Category(base: .unprocessable)
        /// A fault in the server, not the request (500).
        public static let internalError = Category(base: .internalError)

        public var description: String { base.rawValue }

        /// The HTTP status every interface answers this category with.
        public var httpStatus: Int {
            switch self {
            case .invalid: 400
            case .unauthorized: 401
            case .forbidden: 403
            case .notFound: 404
            case .methodNotAllowed: 405
            case .notAcceptable: 406
            case .conflict: 409
            case .gone: 410
            case .preconditionFailed: 412
            case .tooLarge: 413
            case .unsupportedMediaType: 415
            case .unprocessable: 422
            case .unsupported: 501
            case .busy: 503
            default: 500
            }
        }
    }

    public let category: Category
    public let issues: [FHIRIssue]

    public init(_ category: Category, issues: [FHIRIssue]) {
        self.category = category
        self.issues = issues
    }

    /// One issue; its code is the category's default (`defaultIssueCode`) unless named.
    public init(_ category: Category, code: IssueCode? = nil, _ diagnostics: String, expression: [String] = [], text: String? = nil) {
        self.init(category, issues: [FHIRIssue(code: code ?? category.defaultIssueCode, diagnostics: diagnostics, expression: expression, text: text)])
    }

    /// What the error says to a person, in Swedish: the issues' texts, or nil when one of them has none.
    public var text: String? {
        let texts = issues.filter(\.isError).compactMap(\.text)
        return texts.isEmpty || texts.count < issues.filter(\.isError).count ? nil : texts.joined(separator: " ")
    }

    /// Whether any of its issues carries `code` (retry logic asks this, not the text).
    public func has(_ code: IssueCode) -> Bool {
        issues.contains { $0.code == code }
    }

    public var description: String {
        "\(category): " + issues.map(\.description).joined(separator: "; ")
    }
}
