/// OperationOutcome.issue.code: the R4 IssueType value set (http://hl7.org/fhir/issue-type), as a
/// type so a misspelt code does not compile and callers compare codes, not strings.
public struct IssueCode: Sendable, Hashable, CustomStringConvertible {
    /// The code as FHIR writes it (`not-found`).
    public let rawValue: String

    private init(_ rawValue: String) {
        self.rawValue = rawValue
    }

    /// The code with this FHIR text, if it is one of the value set.
    public init?(rawValue: String) {
        guard let code = Self.all.first(where: { $0.rawValue == rawValue }) else { return nil }
        self = code
    }

    public var description: String { rawValue }

    public static let invalid = Self("invalid")
    public static let structure = Self("structure")
    public static let required = Self("required")
    public static let value = Self("value")
    public static let invariant = Self("invariant")
    public static let security = Self("security")
    public static let login = Self("login")
    public static let unknown = Self("unknown")
    public static let expired = Self("expired")
    public static let forbidden = Self("forbidden")
    public static let suppressed = Self("suppressed")
    public static let processing = Self("processing")
    public static let notSupported = Self("not-supported")
    public static let duplicate = Self("duplicate")
    public static let multipleMatches = Self("multiple-matches")
    public static let notFound = Self("not-found")
    public static let deleted = Self("deleted")
    public static let tooLong = Self("too-long")
    public static let codeInvalid = Self("code-invalid")
    public static let `extension` = Self("extension")
    public static let tooCostly = Self("too-costly")
    public static let businessRule = Self("business-rule")
    public static let conflict = Self("conflict")
    public static let transient = Self("transient")
    public static let lockError = Self("lock-error")
    public static let noStore = Self("no-store")
    public static let exception = Self("exception")
    public static let timeout = Self("timeout")
    public static let incomplete = Self("incomplete")
    public static let throttled = Self("throttled")
    public static let informational = Self("informational")

    /// Every code of the value set, in its order.
    public static let all: [IssueCode] = [
        .invalid, .structure, .required, .value, .invariant, .security, .login, .unknown, .expired, .forbidden, .suppressed, .processing,
        .notSupported, .duplicate, .multipleMatches, .notFound, .deleted, .tooLong, .codeInvalid, .extension, .tooCostly, .businessRule,
        .conflict, .transient, .lockError, .noStore, .exception, .timeout, .incomplete, .throttled, .informational,
    ]
}

extension FHIRError.Category {
    /// The issue code an error of this category carries unless its thrower names a more precise one.
    public var defaultIssueCode: IssueCode {
        switch self {
        case .notFound: .notFound
        case .gone: .deleted
        case .conflict, .preconditionFailed: .conflict
        case .unsupported, .methodNotAllowed, .notAcceptable, .unsupportedMediaType: .notSupported
        case .tooLarge: .tooCostly
        case .unauthorized: .login
        case .forbidden: .forbidden
        case .busy: .transient
        case .unprocessable: .processing
        case .internalError: .exception
        default: .invalid
        }
    }
}
