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
    /// Uniqueness the database enforces for this write, inside its transaction (one active patient per personnummer).
    public var guards: [UniquenessGuard] = []

    public static func create(_ resource: JSONObject, type: String, id: String, ifNoneExist: ConditionalCriteria? = nil) -> WriteOperation {
        WriteOperation(type: type, id: id, kind: .create(resource: resource, ifNoneExist: ifNoneExist))
    }

    public static func update(_ resource: JSONObject, type: String, id: String, ifMatch: Int? = nil) -> WriteOperation {
        WriteOperation(type: type, id: id, kind: .update(resource: resource, ifMatch: ifMatch))
    }

    public static func delete(type: String, id: String, ifMatch: Int? = nil) -> WriteOperation {
        WriteOperation(type: type, id: id, kind: .delete(ifMatch: ifMatch))
    }

    /// The resource a create or update writes; nil for a delete.
    public var resource: JSONObject? {
        switch kind {
        case .create(let resource, _), .update(let resource, _): resource
        case .delete: nil
        }
    }
}

/// A value only one resource may hold, checked by the store inside the commit's transaction while
/// every other commit naming the same `key` waits (an advisory lock on PostgreSQL; SQLite's one
/// writer): a check before the write alone lets twenty parallel registrations of one personnummer
/// all pass.
public struct UniquenessGuard: Sendable {
    /// What is locked: the same key for every write that could collide ("Patient.identifier|system|value").
    public var key: String
    /// The resources that may hold the value; the written resource itself is never a conflict.
    public var criteria: ConditionalCriteria
    /// Whether a match, as stored, still holds the value (a merged record keeps a number as an old identifier).
    public var holds: @Sendable (JSONObject) -> Bool
    /// The error when another resource holds it.
    public var conflict: @Sendable (_ holderID: String) -> FHIRError

    public init(key: String, criteria: ConditionalCriteria, holds: @escaping @Sendable (JSONObject) -> Bool,
                conflict: @escaping @Sendable (_ holderID: String) -> FHIRError) {
        self.key = key
        self.criteria = criteria
        self.holds = holds
        self.conflict = conflict
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
