import FHIRCore
import StoreModel

/// The decision for one write, made from the current version alone: no I/O,
/// so both backends share it and tests exercise it directly.
enum VersionPolicy {
    /// What the backend must persist.
    enum Decision {
        /// Write this new version and make it current.
        case write(StoredResource, WriteResult.Outcome, patientID: String?, index: SearchIndexEntries)
        /// Change nothing and answer with this result.
        case none(WriteResult)
    }

    static func decide(_ operation: WriteOperation, current: StoredResource?, now: Int64, compartment: PatientCompartment,
                       index precomputed: SearchIndexEntries? = nil) throws(FHIRError) -> Decision {
        let nextVersion = (current?.versionId ?? 0) + 1
        let lastUpdated = max(now, (current?.lastUpdated ?? 0) + 1)
        switch operation.kind {
        case .create(let resource, _):
            if let current, !current.isDeleted {
                throw FHIRError(.conflict, code: .duplicate, "\(operation.type)/\(operation.id) already exists")
            }
            return stamp(resource, operation: operation, version: nextVersion, at: lastUpdated, method: .create, outcome: .created, compartment: compartment, index: precomputed)

        case .update(let resource, let ifMatch):
            try check(ifMatch: ifMatch, current: current, operation: operation)
            if let current, !current.isDeleted {
                // An update that changes nothing makes no version (as HAPI and Blaze do): re-imports stay idempotent.
                let candidate = resource.stamped(id: operation.id, versionId: current.versionId, lastUpdated: current.lastUpdatedInstant)
                if JSONWriter.bytes(.object(candidate)) == current.json {
                    return .none(WriteResult(outcome: .unchanged, resource: current))
                }
                return stamp(resource, operation: operation, version: nextVersion, at: lastUpdated, method: .update, outcome: .updated, compartment: compartment, index: precomputed)
            }
            return stamp(resource, operation: operation, version: nextVersion, at: lastUpdated, method: .update, outcome: .created, compartment: compartment, index: precomputed)

        case .delete(let ifMatch):
            try check(ifMatch: ifMatch, current: current, operation: operation)
            guard let current, !current.isDeleted else {
                return .none(WriteResult(outcome: .noneDeleted, resource: nil))
            }
            let tombstone = StoredResource(type: operation.type, id: operation.id, versionId: nextVersion, lastUpdated: lastUpdated, method: .delete, json: [],
                                           patientID: current.patientID)
            return .write(tombstone, .deleted, patientID: nil, index: SearchIndexEntries())
        }
    }

    private static func check(ifMatch: Int?, current: StoredResource?, operation: WriteOperation) throws(FHIRError) {
        guard let ifMatch else { return }
        guard let current, !current.isDeleted else {
            throw FHIRError(.preconditionFailed, code: .conflict,
                            "If-Match names version \(ifMatch) of \(operation.type)/\(operation.id), which has no current version")
        }
        if current.versionId != ifMatch {
            throw FHIRError(.preconditionFailed, code: .conflict,
                            "If-Match names version \(ifMatch) of \(operation.type)/\(operation.id) but the current version is \(current.versionId); read it again and reapply your change")
        }
    }

    private static func stamp(_ resource: JSONObject, operation: WriteOperation, version: Int, at time: Int64, method: StoredResource.Method,
                              outcome: WriteResult.Outcome, compartment: PatientCompartment, index precomputed: SearchIndexEntries?) -> Decision {
        let stamped = resource.stamped(id: operation.id, versionId: version, lastUpdated: Instant.format(milliseconds: time))
        var stored = StoredResource(type: operation.type, id: operation.id, versionId: version, lastUpdated: time, method: method,
                                    json: JSONWriter.bytes(.object(stamped)))
        var index: SearchIndexEntries
        if let precomputed {
            // Computed before the write lock from the unstamped resource; only _lastUpdated depends on the stamp.
            index = precomputed
            index.dates.removeAll { $0.parameter == "_lastUpdated" }
            index.dates.append(SearchIndexEntries.DateRange(parameter: "_lastUpdated", low: time, high: time))
        } else {
            index = SearchIndexer.r4.entries(for: stamped, type: operation.type)
        }
        let patientID = compartment.patientID(type: operation.type, id: operation.id, index: index)
        stored.patientID = patientID
        return .write(stored, outcome, patientID: patientID, index: index)
    }
}

extension WriteOperation {
    /// The index rows of the resource this operation writes, computed ahead of the transaction
    /// (in parallel for large commits) so the database's write lock is held for I/O only.
    public static func precomputeIndexes(_ operations: [WriteOperation]) async -> [SearchIndexEntries?] {
        func entries(_ operation: WriteOperation) -> SearchIndexEntries? {
            if let index = operation.index { return index }
            switch operation.kind {
            case .create(let resource, _), .update(let resource, _):
                return SearchIndexer.r4.entries(for: resource, type: operation.type)
            case .delete:
                return nil
            }
        }
        guard operations.count >= 16 else { return operations.map(entries) }
        let chunks = 2
        let size = (operations.count + chunks - 1) / chunks
        return await withTaskGroup(of: (Int, [SearchIndexEntries?]).self) { group in
            for chunk in 0..<chunks {
                let slice = Array(operations[min(chunk * size, operations.count)..<min((chunk + 1) * size, operations.count)])
                group.addTask { (chunk, slice.map(entries)) }
            }
            var parts = Array(repeating: [SearchIndexEntries?](), count: chunks)
            for await (chunk, part) in group { parts[chunk] = part }
            return parts.flatMap { $0 }
        }
    }
}
