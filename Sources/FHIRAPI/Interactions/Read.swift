import FHIRCore
import StoreModel
import Access

extension FHIREngine {
    /// read: `GET [base]/[type]/[id]` (FHIR R4 §3.1.0.3), with `_summary` and `_elements`.
    func read(_ request: FHIRRequest, type: String, id: String) async throws -> FHIRResponse {
        let subset = try ResourceSubset.parse(summary: request.parameter("_summary"), elements: request.parameter("_elements"))
        guard let stored = try await data.read(type: type, id: id) else {
            throw FHIRError(.notFound, code: .notFound, "\(type)/\(id) does not exist")
        }
        if stored.isDeleted {
            var response = FHIRResponse.outcome(FHIRError(.gone, code: .deleted, "\(type)/\(id) was deleted in version \(stored.versionId); its history is still readable"))
            response.versionId = stored.versionId
            response.lastModified = stored.lastUpdated
            return response
        }
        if let ifNoneMatch = request.ifNoneMatch, (try? Self.version(fromETag: ifNoneMatch)) == stored.versionId {
            return .resource(stored, status: 304, body: nil)
        }
        return .resource(stored, status: 200, body: try subsetted(stored, subset))
    }

    /// vread: `GET [base]/[type]/[id]/_history/[vid]` (FHIR R4 §3.1.0.4).
    func vread(_ request: FHIRRequest, type: String, id: String, version: String) async throws -> FHIRResponse {
        guard let versionId = Int(version), versionId > 0 else {
            throw FHIRError(.invalid, code: .invalid, "the version in the URL must be a positive whole number; got '\(version)'")
        }
        let subset = try ResourceSubset.parse(summary: request.parameter("_summary"), elements: request.parameter("_elements"))
        guard let stored = try await data.vread(type: type, id: id, versionId: versionId) else {
            if try await data.read(type: type, id: id) == nil {
                throw FHIRError(.notFound, code: .notFound, "\(type)/\(id) does not exist")
            }
            throw FHIRError(.notFound, code: .notFound, "\(type)/\(id) has no version \(versionId)")
        }
        if stored.isDeleted {
            throw FHIRError(.gone, code: .deleted, "version \(versionId) of \(type)/\(id) is its deletion")
        }
        return .resource(stored, status: 200, body: try subsetted(stored, subset))
    }

    /// The stored bytes, or the `_summary`/`_elements` subset of them.
    func subsetted(_ stored: StoredResource, _ subset: ResourceSubset?) throws -> [UInt8] {
        guard let subset else { return stored.json }
        guard case .object(let object) = try JSONParser.parse(stored.json, limits: .serverWritten) else {
            return stored.json
        }
        return JSONWriter.bytes(.object(subset.apply(to: object, definitions: definitions)))
    }
}
