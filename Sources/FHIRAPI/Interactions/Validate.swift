import Access
import FHIRCore
import StoreModel

extension FHIREngine {
    /// The modes `$validate` accepts (R4 Resource-validate's `mode`; `profile` is the default when absent).
    static let validationModes: Set<String> = ["create", "update", "delete", "profile"]

    /// `$validate` at type and instance level (FHIR R4 §3.1.0.15, OperationDefinition Resource-validate):
    /// the body is the resource or a Parameters with `resource`, `mode` and `profile`. The answer is 200
    /// with an OperationOutcome whether the resource is valid or not; only a malformed request is 4xx.
    /// Nothing is written. The checks are those of a write (the R4 definitions, required bindings,
    /// narratives, invariants), plus the profile's when one is named.
    func validateOperation(_ request: FHIRRequest, type: String, id: String?) async throws -> FHIRResponse {
        guard request.method == .post else {
            throw FHIRError(.methodNotAllowed, code: .notSupported, "$validate takes the resource in a POST body")
        }
        var resource: JSONValue? = request.body
        var mode = request.parameter("mode")
        var profile = request.parameter("profile")
        if case .object(let body)? = request.body, body.resourceType == "Parameters" {
            resource = nil
            for case .object(let parameter) in body["parameter"]?.arrayValue ?? [] {
                switch parameter["name"]?.stringValue {
                case "resource": resource = parameter["resource"]
                case "mode": mode = parameter["valueCode"]?.stringValue ?? mode
                case "profile": profile = parameter["valueUri"]?.stringValue ?? parameter["valueCanonical"]?.stringValue ?? profile
                default: continue
                }
            }
        }
        if let mode, !Self.validationModes.contains(mode) {
            throw FHIRError(.invalid, code: .value, "mode '\(mode)' is not one of create, update, delete, profile", expression: ["mode"])
        }
        var issues: [FHIRIssue] = []
        if mode == "delete" {
            guard let id else { throw FHIRError(.invalid, code: .required, "mode=delete validates an existing resource: POST \(type)/[id]/$validate") }
            guard let stored = try await data.read(type: type, id: id), !stored.isDeleted else {
                throw FHIRError(.notFound, code: .notFound, "\(type)/\(id) does not exist")
            }
            return FHIRResponse(status: 200, body: OperationOutcome.information("\(type)/\(id) exists and the checks a delete makes here pass; "
                                                                                 + "references to it are checked when it is deleted"))
        }
        guard case .object(let object)? = resource else {
            throw FHIRError(.invalid, code: .required, "send the \(type) to validate as the body, or in a Parameters resource's 'resource' parameter")
        }
        if let actual = object.resourceType, actual != type {
            throw FHIRError(.invalid, code: .invalid, "the resource is a \(actual) but the URL is for \(type)", expression: ["resourceType"])
        }
        if mode == "update" {
            guard let id else { throw FHIRError(.invalid, code: .required, "mode=update validates against an instance: POST \(type)/[id]/$validate") }
            if object["id"]?.stringValue != id {
                issues.append(FHIRIssue(code: .invalid, diagnostics: "an update must carry the id '\(id)' of the URL", expression: ["\(type).id"]))
            }
        }
        if mode != "profile", let reason = Self.unwritableTypes[type] {
            issues.append(FHIRIssue(code: .notSupported, diagnostics: reason, expression: [type]))
        }
        issues += validator.validate(.object(object), expectedType: type)
        // Profiles the resource claims, and the one asked for: held ones are checked, unknown ones named.
        var profiles = (object["meta"]?.objectValue?["profile"]?.arrayValue ?? []).compactMap(\.stringValue).map { (url: $0, claimed: true) }
        if let profile { profiles.append((profile, false)) }
        for (url, claimed) in profiles {
            guard let definition = try await heldProfile(url) else {
                issues.append(FHIRIssue(severity: claimed && !limits.unknownProfilesAreErrors ? .warning : .error, code: .notFound,
                                        diagnostics: "the profile \(url) is not held by this server (store its StructureDefinition to have it checked)",
                                        expression: [claimed ? "\(type).meta.profile" : "profile"]))
                continue
            }
            let checker = try ProfileChecker(structureDefinition: definition)
            issues += checker.check(object)
            if let note = checker.coverageNote { issues.append(note) }
        }
        // Extensions the server holds no definition for: a warning each, as R4 asks of a validator.
        var seen = Set<String>()
        for url in Self.extensionURLs(in: .object(object)) where seen.insert(url).inserted && seen.count <= 50 {
            if try await heldProfile(url) == nil {
                issues.append(FHIRIssue(severity: .warning, code: .extension,
                                        diagnostics: "the extension \(url) is not defined on this server; it was checked only as an Extension",
                                        expression: [type]))
            }
        }
        return FHIRResponse(status: 200, body: OperationOutcome.validation(issues, type: type, profile: profile, mode: mode))
    }

    /// The `url` of every extension and modifier extension in a resource (contained ones included).
    static func extensionURLs(in value: JSONValue) -> [String] {
        var urls: [String] = []
        value.forEachMember { key, member in
            if key == "extension" || key == "modifierExtension", case .array(let items) = member {
                urls += items.compactMap { $0.objectValue?["url"]?.stringValue }
            }
        }
        return urls
    }

    /// With `unknown-profiles=error`: a write whose `meta.profile` names a profile the server does not hold is refused.
    func requireHeldProfiles(_ resource: JSONObject, expression: String) async throws {
        guard limits.unknownProfilesAreErrors else { return }
        for url in (resource["meta"]?.objectValue?["profile"]?.arrayValue ?? []).compactMap(\.stringValue) where try await heldProfile(url) == nil {
            throw FHIRError(.unprocessable, code: .notFound,
                            "the profile \(url) is not held by this server, and unknown profiles are refused (KARNA_UNKNOWN_PROFILES=error); store its StructureDefinition first",
                            expression: ["\(expression).meta.profile"])
        }
    }

    /// The StructureDefinition with this canonical URL (a `|version` suffix is ignored), read through the gateway.
    func heldProfile(_ canonical: String) async throws -> JSONObject? {
        let url = canonical.split(separator: "|", maxSplits: 1).first.map(String.init) ?? canonical
        let criteria = try ConditionalCriteria(type: "StructureDefinition", query: "url=\(url.addingPercentEncodingForQuery)")
        for id in try await data.find(criteria) {
            if let stored = try await data.read(type: "StructureDefinition", id: id), !stored.isDeleted,
               case .object(let definition) = try JSONParser.parse(stored.json) {
                return definition
            }
        }
        return nil
    }
}

extension String {
    /// Percent-encodes what would end a query value (`&`, `#`, `+`, `%`, space).
    var addingPercentEncodingForQuery: String {
        var result = ""
        for scalar in unicodeScalars {
            switch scalar {
            case "&", "#", "+", "%", " ", "=": result += "%" + String(scalar.value, radix: 16, uppercase: true)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }
}
