import FHIRCore

extension FHIREngine {
    /// capabilities: `GET [base]/metadata` (FHIR R4 §3.1.0.12). It states only what the server really does.
    func capabilities() -> FHIRResponse {
        FHIRResponse(status: 200, body: capabilityStatementBytes)
    }

    var capabilityStatementBytes: [UInt8] {
        let interactions: [JSONValue] = ["read", "vread", "update", "delete", "history-instance", "history-type", "create", "search-type"].map {
            .object(JSONObject([("code", .string($0))]))
        }
        let searchParams: [JSONValue] = [
            .object(JSONObject([("name", .string("_id")), ("type", .string("token"))])),
            .object(JSONObject([("name", .string("identifier")), ("type", .string("token"))])),
        ]
        let resources: [JSONValue] = definitions.resourceTypes.map { type in
            var members: [(key: String, value: JSONValue)] = [
                ("type", .string(type)),
                ("profile", .string("http://hl7.org/fhir/StructureDefinition/\(type)")),
                ("interaction", .array(interactions)),
                ("versioning", .string("versioned-update")),
                ("readHistory", .bool(true)),
                ("updateCreate", .bool(true)),
                ("conditionalCreate", .bool(true)),
                ("conditionalRead", .string("not-supported")),
                ("conditionalUpdate", .bool(true)),
                ("conditionalDelete", .string("single")),
                ("searchParam", .array(searchParams)),
            ]
            // Kärna's operations; each is described in docs/patient-administration.md, docs/documentation.md and docs/access.md.
            let operations = (AdministrationOperations.byType[type] ?? []) + (DocumentationOperations.byType[type] ?? [])
            if !operations.isEmpty {
                members.append(("operation", .array(operations.map { name in
                    .object(JSONObject([("name", .string(name)),
                                        ("definition", .string(name == "everything" ? "http://hl7.org/fhir/OperationDefinition/Patient-everything"
                                                                                    : "https://karna.se/fhir/OperationDefinition/\(type)-\(name)"))]))
                })))
            }
            return .object(JSONObject(members))
        }
        let statement = JSONObject([
            ("resourceType", .string("CapabilityStatement")),
            ("status", .string("active")),
            ("date", .string("2026-11-22")),
            ("publisher", .string("Kärna")),
            ("kind", .string("instance")),
            ("software", .object(JSONObject([("name", .string("Kärna")), ("version", .string(KarnaVersion.current))]))),
            ("implementation", .object(JSONObject([("description", .string("Kärna FHIR R4 server")), ("url", .string(baseURL))]))),
            ("fhirVersion", .string(definitions.fhirVersion)),
            ("format", .array([.string("application/fhir+json"), .string("json")])),
            ("rest", .array([.object(JSONObject([
                ("mode", .string("server")),
                ("security", securityBlock),
                ("resource", .array(resources)),
                ("interaction", .array(["transaction", "batch", "history-system"].map { .object(JSONObject([("code", .string($0))])) })),
                ("operation", .array(["fee-schedule", "configure-fee-schedule", "invoice-export", "positions", "configure-position", "note-templates", "configure-note-templates"].map { name in
                    .object(JSONObject([("name", .string(name)), ("definition", .string("https://karna.se/fhir/OperationDefinition/\(name)"))]))
                })),
            ]))])),
        ])
        return JSONWriter.bytes(.object(statement))
    }

    /// SMART on FHIR discovery in the CapabilityStatement (App Launch 2.0 §2.3, oauth-uris extension).
    private var securityBlock: JSONValue {
        let auth = (baseURL.hasSuffix("/fhir") ? String(baseURL.dropLast(5)) : baseURL) + "/auth"
        let uris: [JSONValue] = [("authorize", "\(auth)/authorize"), ("token", "\(auth)/token"), ("revoke", "\(auth)/revoke")].map {
            .object(JSONObject([("url", .string($0.0)), ("valueUri", .string($0.1))]))
        }
        return .object(JSONObject([
            ("extension", .array([.object(JSONObject([("url", .string("http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris")),
                                                      ("extension", .array(uris))]))])),
            ("service", .array([.object(JSONObject([("coding", .array([.object(JSONObject([
                ("system", .string("http://terminology.hl7.org/CodeSystem/restful-security-service")), ("code", .string("SMART-on-FHIR")),
            ]))]))]))])),
            ("description", .string("OAuth 2.0 bearer tokens (SMART App Launch 2.0 and Backend Services); access under the Patientdatalag rules, every access audited")),
        ]))
    }
}

/// The version Kärna reports in its CapabilityStatement and `karna --version`.
public enum KarnaVersion {
    public static let current = "0.1.0"
}
