import FHIRCore

/// One change the store applies inside an atomic commit.
public struct WriteOperation: Sendable {
    /// What to do.
    public enum Kind: Sendable {
        /// Create a new resource; with `ifNoneExist`, do nothing when a match exists (conditional create).
        case create(resource: JSONObject, ifNoneExist: ConditionalCriteria?)
        /// Update (or create with the client's id). `ifMatch` is the version the client last saw.
        case update(resource: JSONObject, ifMatch: Int?)
        /// Delete the current version; history stays readable.
        case delete(ifMatch: Int?)
    }

    public let type: String
    public let id: String
    public let kind: Kind
    /// The resource's search index rows when the caller has already computed them (the access gateway does).
    public var index: SearchIndexEntries?

    public static func create(_ resource: JSONObject, type: String, id: String, ifNoneExist: ConditionalCriteria? = nil) -> WriteOperation {
        WriteOperation(type: type, id: id, kind: .create(resource: resource, ifNoneExist: ifNoneExist))
    }

    public static func update(_ resource: JSONObject, type: String, id: String, ifMatch: Int? = nil) -> WriteOperation {
        WriteOperation(type: type, id: id, kind: .update(resource: resource, ifMatch: ifMatch))
    }

    public static func delete(type: String, id: String, ifMatch: Int? = nil) -> WriteOperation {
        WriteOperation(type: type, id: id, kind: .delete(ifMatch: ifMatch))
    }
}

/// What a write did.
public struct WriteResult: Sendable {
    /// The effect on the resource.
    public enum Outcome: String, Sendable {
        case created, updated, deleted
        /// An update whose content equals the current version: no new version.
        case unchanged
        /// A conditional create that found its match.
        case matched
        /// A delete of something already deleted or never there.
        case noneDeleted
    }

    public let outcome: Outcome
    /// The current version after the write (nil after `noneDeleted`).
    public let resource: StoredResource?

    public init(outcome: Outcome, resource: StoredResource?) {
        self.outcome = outcome
        self.resource = resource
    }
}
