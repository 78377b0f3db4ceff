import FHIRCore

/// How many ids `find` returns at most: enough to tell none, one and several apart.
public let conditionalMatchLimit = 10

/// What `changeControlRecord` does with the record it read, the audit records to append with it, and what it answers.
public struct ControlRecordChange<Result: Sendable>: Sendable {
    public enum Action: Sendable {
        case keep
        case write(ControlRecord)
        case delete
    }

    public var action: Action
    public var audit: [AuditEntry]
    public var result: Result

    public init(_ action: Action, audit: [AuditEntry] = [], result: Result) {
        self.action = action
        self.audit = audit
        self.result = result
    }
}

/// A control record to insert already exists (a username taken by someone in the same instant).
public struct ControlRecordTaken: Error, Sendable, Equatable {
    public let key: ControlRecordKey

    public init(key: ControlRecordKey) {
        self.key = key
    }
}

/// The primary key of a control record.
public struct ControlRecordKey: Sendable, Hashable {
    public var kind: String
    public var key: String

    public init(kind: String, key: String) {
        self.kind = kind
        self.key = key
    }
}

/// A record a control record's JSON names: the control record of a kind whose key, or the resource of a
/// type whose id, is the string at `path` (object keys from the top). Lets a caller read a record and
/// what it points to in one statement (a web session, its user's account and assignment).
public struct NamedRecord: Sendable, Hashable {
    public enum Target: Sendable, Hashable {
        case control(kind: String)
        case resource(type: String)
    }

    /// What was found under a name.
    public enum Found: Sendable {
        case control(ControlRecord)
        /// The current version, a deletion marker included, as `read(type:id:)` answers.
        case resource(StoredResource)
    }

    public var target: Target
    public var path: [String]

    public init(_ target: Target, at path: [String]) {
        self.target = target
        self.path = path
    }

    /// The string at `path` in a parsed JSON document; nil where the path ends early or is not a string.
    public static func string(at path: [String], in document: JSONValue?) -> String? {
        var current = document
        for key in path { current = current?.objectValue?[key] }
        return current?.stringValue
    }
}

/// A control record with what it names, in the order the names were asked for (nil where nothing is stored).
public struct ControlRecordWithNamed: Sendable {
    public var record: ControlRecord
    public var named: [NamedRecord.Found?]

    public init(record: ControlRecord, named: [NamedRecord.Found?]) {
        self.record = record
        self.named = named
    }

    /// The control record under the `index`th name, if it is one (nil past the names asked for).
    public func control(_ index: Int) -> ControlRecord? {
        guard named.indices.contains(index), case .control(let record)? = named[index] else { return nil }
        return record
    }

    /// The resource under the `index`th name, if it is one (nil past the names asked for).
    public func resource(_ index: Int) -> StoredResource? {
        guard named.indices.contains(index), case .resource(let stored)? = named[index] else { return nil }
        return stored
    }
}
