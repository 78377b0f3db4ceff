import FHIRCore

extension FHIREngine {
    /// capabilities: `GET [base]/metadata` (FHIR R4 §3.1.0.12). It states only what the server really does.
    func capabilities() -> FHIRResponse {
        FHIRResponse(status: 200, body: capabilityStatementBytes)
    }

    /// The CapabilityStatement, from the operation table and the search definitions (made once, at wiring).
    func makeCapabilityStatement() -> [UInt8] {
        let resources: [JSONValue] = definitions.resourceTypes.map { type in
            var members: [(key: String, value: JSONValue)] = [
                ("type", .string(type)),
                ("profile", .string("http://hl7.org/fhir/StructureDefinition/\(type)")),
                ("interaction", .array(Self.interactions(of: type).map { .object(JSONObject([("code", .string($0))])) })),
            ]
            if Self.isStored(type), Self.unwritableTypes[type] == nil {
                members += [
                    ("versioning", .string("versioned-update")),
                    ("readHistory", .bool(true)),
                    ("updateCreate", .bool(true)),
                    ("conditionalCreate", .bool(true)),
                    ("conditionalRead", .string("not-supported")),
                    ("conditionalUpdate", .bool(true)),
                    ("conditionalDelete", .string("single")),
                ]
            }
            members.append(("searchParam", .array(searchParameters(of: type).map { parameter in
                .object(JSONObject([("name", .string(parameter.name)), ("definition", .string(parameter.url)), ("type", .string(parameter.type))]))
            })))
            let operations: [JSONValue] = operations.descriptors.filter { $0.resourceType == type }.map { operation in
                .object(JSONObject([("name", .string(operation.name)), ("definition", .string(operation.definitionURL(base: baseURL)))]))
            }
            if !operations.isEmpty { members.append(("operation", .array(operations))) }
            return .object(JSONObject(members))
        }
        let statement = JSONObject([
            ("resourceType", .string("CapabilityStatement")),
            ("status", .string("active")),
            ("date", .string("2026-12-04")),
            ("publisher", .string("Kärna")),
            ("kind", .string("instance")),
            ("software", .object(JSONObject([("name", .string("Kärna")), ("version", .string(KarnaVersion.current))]))),
            ("implementation", .object(JSONObject([("description", .string("Kärna FHIR R4 server")), ("url", .string(baseURL))]))),
            ("fhirVersion", .string(definitions.fhirVersion)),
            ("format", .array([.string("application/fhir+json"), .string("json"), .string("application/fhir+xml"), .string("xml")])),
            ("patchFormat", .array([.string("application/json-patch+json"), .string("application/fhir+json"), .string("application/fhir+xml")])),
            ("rest", .array([.object(JSONObject([
                ("mode", .string("server")),
                ("security", securityBlock),
                ("resource", .array(resources)),
                ("interaction", .array(["transaction", "batch", "history-system"].map { .object(JSONObject([("code", .string($0))])) })),
                ("operation", .array(operations.descriptors.filter { $0.resourceType == nil }.map { operation in
                    .object(JSONObject([("name", .string(operation.name)), ("definition", .string(operation.definitionURL(base: baseURL)))]))
                })),
            ]))])),
        ])
        return JSONWriter.bytes(.object(statement))
    }

    /// Whether the type's records are kept in the store (versioned, written through the REST
    /// interactions): the audit log and the operation definitions are the server's own.
    static func isStored(_ type: String) -> Bool {
        type != "AuditEvent" && type != "OperationDefinition"
    }

    /// The interactions the router accepts on a type (FHIREngine.route, AccessOperations.auditEvents).
    static func interactions(of type: String) -> [String] {
        if unwritableTypes[type] != nil { return ["read", "vread", "history-instance", "history-type", "search-type", "delete"] }
        return isStored(type) ? ["read", "vread", "update", "patch", "delete", "history-instance", "history-type", "create", "search-type"] : ["read", "search-type"]
    }

    /// The search parameters a search on the type accepts: those of R4 that have an expression the
    /// indexer evaluates (SearchParser refuses `special` ones and those without one), plus `_id`.
    /// The audit log and the operation definitions have their own, smaller, search.
    func searchParameters(of type: String) -> [(name: String, url: String, type: String)] {
        switch type {
        case "AuditEvent":
            return [("patient", "http://hl7.org/fhir/SearchParameter/AuditEvent-patient", "reference"),
                    ("agent", "http://hl7.org/fhir/SearchParameter/AuditEvent-agent", "reference"),
                    ("date", "http://hl7.org/fhir/SearchParameter/AuditEvent-date", "date"),
                    ("subtype", "http://hl7.org/fhir/SearchParameter/AuditEvent-subtype", "token")]
        case "OperationDefinition":
            return []
        default:
            var found: [(name: String, url: String, type: String)] = [("_id", "http://hl7.org/fhir/SearchParameter/Resource-id", "token")]
            var seen: Set<String> = ["_id"]
            for parameter in definitions.searchParameters(for: type) where SearchQuery.isSupported(parameter, in: definitions) && seen.insert(parameter.name).inserted {
                found.append((parameter.name, parameter.url, parameter.type))
            }
            return found
        }
    }

    /// `GET [base]/OperationDefinition[/id]`: the definitions of the operations this server answers.
    /// They are the server's own, made from the modules' declarations, so they are read-only.
    func operationDefinitions(_ request: FHIRRequest) throws -> FHIRResponse {
        let path = request.path
        switch (request.method, path.count) {
        case (.get, 1), (.head, 1):
            var bundle = BundleWriter(type: "searchset")
            let wanted = request.parameter("code")
            for operation in operations.descriptors where wanted == nil || operation.name == wanted {
                bundle.entries.append(BundleWriter.Entry(fullUrl: operation.definitionURL(base: baseURL),
                                                         resource: JSONWriter.bytes(.object(operation.operationDefinition(base: baseURL))),
                                                         search: .object(JSONObject([("mode", .string("match"))]))))
            }
            bundle.total = bundle.entries.count
            return FHIRResponse(status: 200, body: bundle.bytes())
        case (.get, 2), (.head, 2):
            guard let operation = operations.descriptor(id: path[1]) else {
                throw FHIRError(.notFound, code: .notFound, "OperationDefinition/\(path[1]) is not an operation of this server; GET \(baseURL)/OperationDefinition lists them")
            }
            return FHIRResponse(status: 200, body: JSONWriter.bytes(.object(operation.operationDefinition(base: baseURL))))
        default:
            throw FHIRError(.methodNotAllowed, code: .notSupported,
                            "\(request.method.rawValue) on OperationDefinition: the server's operation definitions are made from its modules and cannot be changed")
        }
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
