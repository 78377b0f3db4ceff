import Access
import Foundation
import FHIRCore
import StoreModel

extension FHIREngine {
    /// patch: `PATCH [base]/[type]/[id]` (FHIR R4 §3.1.0.7.2) with a JSON Patch (a JSON array,
    /// `application/json-patch+json`) or a FHIRPath Patch (a Parameters resource). The result is
    /// validated as an update and written only over the version it was made from: `If-Match` when the
    /// client sends one, else the version read, so a write in between is a conflict, never lost.
    func patch(_ request: FHIRRequest, type: String, id: String) async throws -> FHIRResponse {
        guard let body = request.body else {
            throw FHIRError(.invalid, code: .required, "a PATCH needs a body: a JSON Patch array or a FHIRPath Patch Parameters resource")
        }
        guard let stored = try await data.read(type: type, id: id), !stored.isDeleted else {
            throw FHIRError(.notFound, code: .notFound, "\(type)/\(id) does not exist; a patch changes an existing resource")
        }
        let expected = try request.ifMatch.map { (etag: String) throws(FHIRError) -> Int in try Self.version(fromETag: etag) }
        if let expected, expected != stored.versionId {
            throw FHIRError(.preconditionFailed, code: .conflict,
                            "If-Match names version \(expected) but \(type)/\(id) is at version \(stored.versionId); nothing was changed")
        }
        let patched = try applyPatch(body, to: stored, expression: type)
        let resource = try validResource(.object(patched), type: type)
        try await requireHeldProfiles(resource, expression: type)
        let result = try await data.commit(.update(resource, type: type, id: id, ifMatch: expected ?? stored.versionId))
        guard let written = result.resource else { throw FHIRError(.internalError, code: .exception, "the patch returned no resource") }
        if result.outcome == .unchanged {
            return writeResponse(written, status: 200, outcome: .unchanged, prefer: request.prefer, message: "\(type)/\(id) is unchanged by the patch; no new version was made")
        }
        return writeResponse(written, status: 200, outcome: .updated, prefer: request.prefer, message: "patched \(type)/\(id) to version \(written.versionId)")
    }

    /// RFC 7386: an object's members are merged recursively, `null` removes a member, anything else replaces.
    static func mergePatch(_ target: JSONValue, with patch: JSONValue) -> JSONValue {
        guard case .object(let changes) = patch else { return patch }
        var result = target.objectValue ?? JSONObject()
        for (key, value) in changes {
            if value == .null { result[key] = nil } else { result[key] = mergePatch(result[key] ?? .null, with: value) }
        }
        return .object(result)
    }

    /// The stored resource with the patch applied; the patch may not change its type or id.
    func applyPatch(_ body: JSONValue, to stored: StoredResource, expression: String) throws(FHIRError) -> JSONObject {
        guard case .object(let current)? = try? JSONParser.parse(stored.json) else {
            throw FHIRError(.internalError, code: .exception, "the stored \(stored.type)/\(stored.id) is not a JSON object")
        }
        let patched: JSONObject
        switch body {
        case .array:
            guard case .object(let object) = try JSONPatch.apply(body, to: .object(current)) else {
                throw FHIRError(.invalid, code: .structure, "the JSON Patch leaves something other than a resource")
            }
            patched = object
        case .object(let parameters) where parameters.resourceType == "Parameters" && stored.type != "Parameters":
            patched = try FHIRPathPatch(definitions: definitions).apply(parameters, to: current)
        case .object(let binary) where binary.resourceType == "Binary" && stored.type != "Binary":
            // In a transaction a JSON Patch travels as a Binary (R4 §3.1.0.7.2).
            guard let data = binary["data"]?.stringValue, let bytes = Data(base64Encoded: data).map(Array.init) else {
                throw FHIRError(.invalid, code: .required, "a Binary patch needs its JSON Patch in base64 'data'", expression: ["\(expression).data"])
            }
            return try applyPatch(try parseBody(bytes), to: stored, expression: expression)
        case .object(let partial) where partial.resourceType == nil || partial.resourceType == stored.type:
            // JSON Merge Patch (RFC 7386), as fhirpy's patch() sends it: members replace, null removes, objects merge.
            guard case .object(let object) = Self.mergePatch(.object(current), with: .object(partial)) else {
                throw FHIRError(.invalid, code: .structure, "the merge patch leaves something other than a resource")
            }
            patched = object
        default:
            throw FHIRError(.invalid, code: .structure, "a PATCH body is a JSON Patch array, a FHIRPath Patch Parameters resource, a JSON Merge Patch of the "
                            + "\(stored.type), or (in a Bundle) a Binary holding a JSON Patch")
        }
        if patched.resourceType != stored.type || patched.id != stored.id {
            throw FHIRError(.invalid, code: .invalid, "a patch may not change the resource's type or id")
        }
        return patched
    }
}
