import Access
import FHIRCore
import StoreModel
import Foundation

extension FHIREngine {
    /// The Patientdatalag operations on a patient:
    /// `GET Patient/[id]/$access` (what the caller may see and why),
    /// `POST …/$care-relationship` (reason, days), `…/$consent` (provider, reason, days),
    /// `…/$emergency-access` (reason), `…/$block` (unit or provider, reason), `…/$unblock` (block).
    func patientAccessOperation(_ request: FHIRRequest, patientID: String, operation: String) async throws -> FHIRResponse {
        let parameters = try operationParameters(request)
        func value(_ name: String) -> String? { parameters[name] }
        func required(_ name: String) throws(FHIRError) -> String {
            guard let text = value(name), !text.isEmpty else {
                throw FHIRError(.invalid, code: .required, "the parameter '\(name)' is required for $\(operation)", expression: [name])
            }
            return text
        }
        func days() throws(FHIRError) -> Int? {
            guard let text = value("days") else { return nil }
            guard let days = Int(text), days > 0 else {
                throw FHIRError(.invalid, code: .invalid, "days must be a whole number above 0; got '\(text)'", expression: ["days"])
            }
            return days
        }
        switch (request.method, operation) {
        case (.get, "access"):
            return FHIRResponse(status: 200, body: JSONWriter.bytes(.object(Self.parametersResource(try await data.accessStatus(patientID: patientID)))))
        case (.post, "care-relationship"):
            let directive = try await data.registerCareRelationship(patientID: patientID, reason: try required("reason"), days: try days())
            return directiveResponse(directive)
        case (.post, "consent"):
            let directive = try await data.registerConsent(patientID: patientID, providerID: try required("provider"), reason: try required("reason"),
                                                           days: try days())
            return directiveResponse(directive)
        case (.post, "emergency-access"):
            return directiveResponse(try await data.openEmergencyAccess(patientID: patientID, reason: try required("reason")))
        case (.post, "block"):
            return directiveResponse(try await data.block(patientID: patientID, unitID: value("unit"), providerID: value("provider"),
                                                          reason: try required("reason"), patientRequest: value("patientRequest")))
        case (.post, "unblock"):
            try await data.unblock(patientID: patientID, directiveID: try required("block"))
            return FHIRResponse(status: 200, body: OperationOutcome.information("the spärr was lifted"))
        default:
            throw FHIRError(.unsupported, code: .notSupported, "\(request.method.rawValue) Patient/[id]/$\(operation) is not a supported operation")
        }
    }

    /// The AuditEvent endpoint, read-only: search (`patient`, `agent`, `date`, `_flag`, `_count`),
    /// read, `$review-queue` and `POST AuditEvent/[id]/$review` (verdict, comment).
    func auditEvents(_ request: FHIRRequest) async throws -> FHIRResponse {
        let path = request.path
        switch (request.method, path.count) {
        case (.get, 1),
             (.post, 2) where path[1] == "_search":
            var query = AuditQuery(limit: try count(request))
            for (name, value) in request.query {
                switch name {
                case "patient", "entity": query.patientID = value.hasPrefix("Patient/") ? String(value.dropFirst(8)) : value
                case "agent", "who": query.actor = value
                case "_flag": query.flag = value
                case "subtype", "action": query.action = value
                case "date":
                    guard let (prefix, millis) = Self.datePrefix(value) else {
                        throw FHIRError(.invalid, code: .invalid, "date must be like ge2026-01-01 or le2026-01-31T12:00:00Z; got '\(value)'", expression: ["date"])
                    }
                    if prefix == "ge" || prefix == "gt" { query.from = millis.low } else { query.to = millis.high }
                case "_cursor":
                    guard let sequence = Int64(value) else { throw FHIRError(.invalid, code: .invalid, "_cursor must be a number from a next link") }
                    query.beforeSequence = sequence
                case "_count", "_format": break
                default:
                    if request.prefer.strictHandling { throw FHIRError(.invalid, code: .notSupported, "unknown AuditEvent search parameter '\(name)'") }
                }
            }
            let events = try await data.auditEvents(query)
            var bundle = BundleWriter(type: "searchset")
            for event in events {
                bundle.entries.append(BundleWriter.Entry(fullUrl: "\(baseURL)/AuditEvent/\(event.id ?? "")", resource: JSONWriter.bytes(.object(event)),
                                                         search: .object(JSONObject([("mode", .string("match"))]))))
            }
            let kept = request.query.filter { $0.name != "_cursor" }
            bundle.links.append(("self", "\(baseURL)/AuditEvent?" + FHIRRequest.queryString(request.query)))
            if events.count == query.limit, let last = events.last?.id {
                bundle.links.append(("next", "\(baseURL)/AuditEvent?" + FHIRRequest.queryString(kept + [("_cursor", last)])))
            }
            return FHIRResponse(status: 200, body: bundle.bytes())
        case (.get, 2) where path[1] == "$review-queue":
            let after = try request.parameter("_cursor").map { cursor -> Int64 in
                guard let sequence = Int64(cursor), sequence >= 0 else {
                    throw FHIRError(.invalid, code: .invalid, "_cursor must be a number from a next link; got '\(cursor)'", expression: ["_cursor"])
                }
                return sequence
            } ?? 0
            let limit = try count(request)
            let events = try await data.reviewQueue(flag: request.parameter("flag"), after: after, limit: limit)
            var bundle = BundleWriter(type: "searchset")
            for event in events {
                bundle.entries.append(BundleWriter.Entry(fullUrl: "\(baseURL)/AuditEvent/\(event.id ?? "")", resource: JSONWriter.bytes(.object(event)),
                                                         search: .object(JSONObject([("mode", .string("match"))]))))
            }
            // A queue page is not the whole queue: `total` counts this page, `next` continues after its last record.
            bundle.total = events.count
            if events.count == limit, let last = events.last?.id {
                let kept = request.query.filter { $0.name != "_cursor" }
                bundle.links.append(("next", "\(baseURL)/AuditEvent/$review-queue?" + FHIRRequest.queryString(kept + [("_cursor", last)])))
            }
            return FHIRResponse(status: 200, body: bundle.bytes())
        case (.get, 2):
            guard let sequence = Int64(path[1]), let event = try await data.auditEvent(sequence: sequence) else {
                throw FHIRError(.notFound, code: .notFound, "AuditEvent/\(path[1]) does not exist")
            }
            return FHIRResponse(status: 200, body: JSONWriter.bytes(.object(event)))
        case (.post, 3) where path[2] == "$review":
            guard let sequence = Int64(path[1]) else { throw FHIRError(.notFound, code: .notFound, "AuditEvent/\(path[1]) does not exist") }
            let parameters = try operationParameters(request)
            guard let verdictText = parameters["verdict"], let verdict = ReviewDecision.Verdict(rawValue: verdictText) else {
                throw FHIRError(.invalid, code: .required, "verdict must be one of \(ReviewDecision.Verdict.allCases.map(\.rawValue).joined(separator: ", "))",
                                expression: ["verdict"])
            }
            let decision = try await data.decide(sequence: sequence, verdict: verdict, comment: parameters["comment"] ?? "")
            return FHIRResponse(status: 200, body: OperationOutcome.information("AuditEvent/\(decision.sequence) reviewed: \(decision.verdict.rawValue)"))
        default:
            throw FHIRError(.methodNotAllowed, code: .notSupported,
                            "\(request.method.rawValue) on AuditEvent: audit records are written by the server and never changed or deleted")
        }
    }

    /// Operation parameters from a Parameters body (valueString/valueCode/valueInteger/valueReference) or the query.
    func operationParameters(_ request: FHIRRequest) throws(FHIRError) -> [String: String] {
        try OperationInput.flat(query: request.query, body: request.body)
    }

    private func directiveResponse(_ directive: Directive) -> FHIRResponse {
        var members: [(key: String, value: JSONValue)] = [("id", .string(directive.id)), ("kind", .string(directive.kind.rawValue)),
                                                          ("patient", .string(directive.patientID)), ("reason", .string(directive.reason)),
                                                          ("validFrom", .string(Instant.format(milliseconds: directive.validFrom)))]
        if let until = directive.validUntil { members.append(("validUntil", .string(Instant.format(milliseconds: until)))) }
        if let unit = directive.unitID { members.append(("unit", .string(unit))) }
        if let provider = directive.providerID { members.append(("provider", .string(provider))) }
        return FHIRResponse(status: 200, body: JSONWriter.bytes(.object(Self.parametersResource(JSONObject(members)))))
    }

    /// A flat JSON object as a FHIR Parameters resource.
    static func parametersResource(_ object: JSONObject) -> JSONObject {
        var parameters: [JSONValue] = []
        for (name, value) in object {
            switch value {
            case .string(let text): parameters.append(.object(JSONObject([("name", .string(name)), ("valueString", .string(text))])))
            case .bool(let flag): parameters.append(.object(JSONObject([("name", .string(name)), ("valueBoolean", .bool(flag))])))
            case .number(let text): parameters.append(.object(JSONObject([("name", .string(name)), ("valueInteger", .number(text))])))
            case .array(let items):
                for item in items {
                    if case .string(let text) = item { parameters.append(.object(JSONObject([("name", .string(name)), ("valueString", .string(text))]))) }
                    if case .object(let part) = item {
                        parameters.append(.object(JSONObject([("name", .string(name)), ("part", .array(parametersResource(part)["parameter"]?.arrayValue ?? []))])))
                    }
                }
            case .null, .object: break
            }
        }
        return JSONObject([("resourceType", .string("Parameters")), ("parameter", .array(parameters))])
    }

    /// `ge2026-01-01` → (prefix, range in ms).
    static func datePrefix(_ value: String) -> (String, (low: Int64, high: Int64))? {
        let prefixes = ["ge", "gt", "le", "lt", "eq"]
        let prefix = prefixes.first { value.hasPrefix($0) } ?? "eq"
        let text = prefixes.contains(String(value.prefix(2))) ? String(value.dropFirst(2)) : value
        guard let temporal = FHIRPathTemporal.parse(text), temporal.kind != .time else { return nil }
        return (prefix, (temporal.range.low, temporal.range.high))
    }
}

extension FHIREngine {
    /// `GET [base]/$positions` lists positions with their permissions; `POST [base]/$configure-position`
    /// (code, display, read, write as comma lists of types or `*`, and the flags sign, prescribe,
    /// protectedIdentity, auditReview, administer, patientIdentity, emergencyAccess) sets one. Administration only.
    func positionsOperation(_ request: FHIRRequest) async throws -> FHIRResponse {
        if request.method == .post {
            let p = try operationParameters(request)
            guard let code = p["code"], !code.isEmpty else { throw FHIRError(.invalid, code: .required, "code is required", expression: ["code"]) }
            func list(_ name: String) -> Set<String> { Set((p[name] ?? "").split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }) }
            func flag(_ name: String) throws(FHIRError) -> Bool {
                switch p[name] {
                case nil, "false": return false
                case "true": return true
                case let other?: throw FHIRError(.invalid, code: .invalid, "\(name) must be true or false; got '\(other)'", expression: [name])
                }
            }
            for type in list("read").union(list("write")) where type != "*" && !definitions.isResourceType(type) {
                throw FHIRError(.invalid, code: .invalid, "'\(type)' is not an R4 resource type", expression: ["read", "write"])
            }
            let position = Position(code: code, display: p["display"] ?? code,
                                    permissions: Permissions(read: list("read"), write: list("write"), sign: try flag("sign"), prescribe: try flag("prescribe"),
                                                             protectedIdentity: try flag("protectedIdentity"), auditReview: try flag("auditReview"),
                                                             administer: try flag("administer"), patientIdentity: try flag("patientIdentity"),
                                                             emergencyAccess: try flag("emergencyAccess")))
            try await data.configure(position)
            return FHIRResponse(status: 200, body: OperationOutcome.information("position \(code) configured"))
        }
        var parameters: [JSONValue] = []
        for position in try await data.positions() {
            let permissions = position.permissions
            let parts: [(String, JSONValue)] = [
                ("code", .string(position.code)), ("display", .string(position.display)),
                ("read", .string(permissions.read.sorted().joined(separator: ","))), ("write", .string(permissions.write.sorted().joined(separator: ","))),
                ("sign", .bool(permissions.sign)), ("prescribe", .bool(permissions.prescribe)), ("protectedIdentity", .bool(permissions.protectedIdentity)),
                ("auditReview", .bool(permissions.auditReview)), ("administer", .bool(permissions.administer)), ("patientIdentity", .bool(permissions.patientIdentity)),
                ("emergencyAccess", .bool(permissions.emergencyAccess)),
            ]
            parameters.append(.object(JSONObject([("name", .string("position")), ("part", .array(parts.map { name, value in
                .object(JSONObject([("name", .string(name)), (value.boolValue == nil ? "valueString" : "valueBoolean", value)]))
            }))])))
        }
        return FHIRResponse(status: 200, body: JSONWriter.bytes(.object(JSONObject([("resourceType", .string("Parameters")), ("parameter", .array(parameters))]))))
    }
}
