/// One problem found in a request, as an OperationOutcome issue will carry it.
public struct FHIRIssue: Sendable, Equatable, CustomStringConvertible {
    /// OperationOutcome.issue.severity.
    public enum Severity: String, Sendable {
        case fatal, error, warning, information
    }

    public var severity: Severity
    /// OperationOutcome.issue.code (IssueType): structure, required, value, invariant, not-found …
    public var code: IssueCode
    /// What is wrong and how to remedy it, for people. Must hold no patient data (no name, personnummer or
    /// clinical text): it is shown to whoever sent the request and written to logs.
    public var diagnostics: String
    /// FHIRPath expressions of the elements concerned.
    public var expression: [String]
    /// The same in Swedish, for the person in front of the web app or the portal (OperationOutcome.issue.details.text);
    /// nil where the issue only concerns integrators. Holds no patient data either.
    public var text: String?

    public init(severity: Severity = .error, code: IssueCode, diagnostics: String, expression: [String] = [], text: String? = nil) {
        self.severity = severity
        self.code = code
        self.diagnostics = diagnostics
        self.expression = expression
        self.text = text
    }

    /// Whether the issue refuses what it is about (an error or fatal); warnings and information do not.
    public var isError: Bool { severity == .error || severity == .fatal }

    public var description: String {
        expression.isEmpty ? diagnostics : "\(expression.joined(separator: ", ")): \(diagnostics)"
    }
}
