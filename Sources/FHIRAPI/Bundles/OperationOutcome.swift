import FHIRCore

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

    public static func information(_ message: String) -> [UInt8] {
        bytes([FHIRIssue(severity: .information, code: .informational, diagnostics: message)])
    }
}
