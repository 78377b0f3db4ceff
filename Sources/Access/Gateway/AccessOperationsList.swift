import FHIRCore

extension AccessGateway {
    /// The Patientdatalag, log-review and position operations (docs/access.md has each one in full).
    public static let operations: [OperationDescriptor] = {
        let m = "Access"
        return [
            .instance("Patient", "access", post: false, module: m, "What the caller may see of this patient, and on what ground"),
            .instance("Patient", "care-relationship", post: true, "reason:string!", "days:integer", module: m,
                      "Register a care relationship (vårdrelation) at the user's unit"),
            .instance("Patient", "consent", post: true, "provider:id!", "reason:string!", "days:integer", module: m,
                      "Record the patient's consent (samtycke) to read another care provider's records"),
            .instance("Patient", "emergency-access", post: true, "reason:string!", module: m,
                      "Open nödåtkomst: read without consent in an emergency, flagged for log review"),
            .instance("Patient", "block", post: true, "reason:string!", "unit:id", "provider:id", "patientRequest:string", module: m,
                      "Block (spärra) a unit's or provider's records at the patient's request"),
            .instance("Patient", "unblock", post: true, "block:id!", module: m, "Lift a spärr at the patient's request"),
            .type("AuditEvent", "review-queue", post: false, "flag:code", "_cursor:string", "_count:integer", module: m,
                  "Access records flagged for log review (loggranskning)"),
            .instance("AuditEvent", "review", post: true, "verdict:code!", "comment:string", module: m, "Record the log reviewer's decision"),
            .system("positions", post: false, module: m, "The positions (befattningar) and what each may read, write and sign"),
            .system("configure-position", post: true, "code:code!", "display:string", "read:string", "write:string", "sign:boolean", "prescribe:boolean",
                    "protectedIdentity:boolean", "auditReview:boolean", "administer:boolean", "patientIdentity:boolean", "emergencyAccess:boolean", module: m,
                    "Set one position's permissions"),
        ]
    }()
}
