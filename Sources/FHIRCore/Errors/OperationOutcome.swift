/// Builds OperationOutcome resources from issues.
public enum OperationOutcome {
    public static func json(_ issues: [FHIRIssue]) -> JSONValue {
        .object(JSONObject([
            ("resourceType", .string("OperationOutcome")),
            ("issue", .array(issues.map { issue in
                var object = JSONObject([
                    ("severity", .string(issue.severity.rawValue)),
                    ("code", .string(issue.code.rawValue)),
                    ("diagnostics", .string(issue.diagnostics)),
                ])
                if let text = issue.text { object["details"] = .object(JSONObject([("text", .string(text))])) }
                if !issue.expression.isEmpty {
                    object["expression"] = .array(issue.expression.map(JSONValue.string))
                }
                return .object(object)
            })),
        ]))
    }

    public static func bytes(_ issues: [FHIRIssue]) -> [UInt8] {
        JSONWriter.bytes(json(issues))
    }

    /// What `$validate` and `karna validate --outcome` answer: the issues, led by an information line when
    /// none is an error, so both say the same thing about the same resource.
    public static func validation(_ issues: [FHIRIssue], type: String, profile: String?, mode: String?) -> [UInt8] {
        var issues = issues
        if !issues.contains(where: { $0.severity == .error || $0.severity == .fatal }) {
            issues.insert(FHIRIssue(severity: .information, code: .informational,
                                    diagnostics: "no errors: the \(type) is valid R4\(profile.map { " and conforms to \($0)" } ?? "") (mode \(mode ?? "profile"))"), at: 0)
        }
        return bytes(issues)
    }

    public static func information(_ message: String) -> [UInt8] {
        bytes([FHIRIssue(severity: .information, code: .informational, diagnostics: message)])
    }
}
