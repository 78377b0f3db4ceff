import StoreModel
import FHIRCore

/// Versioned resource persistence. Every write makes a new version and no
/// version is ever erased; a commit is all or nothing.
///
/// Patient data reaches a store only through the access gateway; a store
/// knows nothing of users, only of resources.
public protocol ResourceStore: Sendable {
    /// Which database this is, for logs and reports ("sqlite", "postgresql").
    var backendName: String { get }

    /// Applies the named, ordered migrations that have not run yet; returns the names applied.
    @discardableResult
    func migrate() async throws -> [String]

    /// The current version of a resource, including a deletion marker; nil if it never existed.
    func read(type: String, id: String) async throws -> StoredResource?

    /// One version of a resource; nil if there is no such version.
    func vread(type: String, id: String, versionId: Int) async throws -> StoredResource?

    /// Versions newest first, for one resource, one type, or the whole system.
    func history(_ query: HistoryQuery) async throws -> [StoredResource]

    /// Ids of current resources that match `criteria` (a handful at most: callers need none, one or many).
    func find(_ criteria: ConditionalCriteria) async throws -> [String]

    /// Ids of one page of a search, in the query's order, at most `limit`.
    func search(_ query: SearchQuery, limit: Int) async throws -> [String]

    /// One page of matches as their current versions, in the search's order (at most `limit`).
    func searchResources(_ query: SearchQuery, limit: Int) async throws -> [StoredResource]

    /// Several searches' pages as current versions, one list per part in the parts' order.
    func searchResources(together parts: [(query: SearchQuery, limit: Int)]) async throws -> [[StoredResource]]

    /// The number of resources a search matches.
    func count(_ query: SearchQuery) async throws -> Int

    /// For each patient, a match of the first of `queries` (in order) that has one when its one-patient
    /// filter (`patient=Patient/…`) is set to that patient, the lowest id of that query's matches:
    /// patient id → match, only where there is one. Throws when a query has no one-patient filter.
    func firstMatches(_ queries: [SearchQuery], patientIDs: [String]) async throws -> [String: ResourceKey]

    /// The current versions of these resources, leaving out missing and deleted ones; one query, any order.
    func read(keys: [ResourceKey]) async throws -> [StoredResource]

    /// For `_include`: what `ids` of `sourceType` reference through `parameter` (`*`: any), optionally of one type.
    func referenced(sourceType: String, ids: [String], parameter: String, targetType: String?) async throws -> [ResourceKey]

    /// For `_revinclude`: the `sourceType` resources whose `parameter` references one of `ids` of `targetType`.
    func referencing(sourceType: String, parameter: String, targetType: String, ids: [String]) async throws -> [ResourceKey]

    /// For `$everything`: current resources in a patient's compartment, ordered by type and id, after `after`.
    func compartment(patientID: String, since: Int64?, after: ResourceKey?, limit: Int) async throws -> [StoredResource]

    /// For a system-level export: current resources of `types` in no patient's compartment (a practitioner's Schedule,
    /// an Appointment of no patient), ordered by type and id, after `after`.
    func outsideCompartments(types: [String], since: Int64?, after: ResourceKey?, limit: Int) async throws -> [StoredResource]

    /// Applies all operations atomically, in order, inserts `records` (control records that must be new)
    /// and appends the audit records that describe them, all in one transaction; the results come in the
    /// same order as the operations. When a record's key is taken nothing is written: `ControlRecordTaken`.
    func commit(_ operations: [WriteOperation], inserting records: [ControlRecord], audit: [AuditEntry]) async throws -> [WriteResult]

    /// Checks that the database answers, failing at once with what is wrong (a start calls it before anything else).
    func probe() async throws

    /// Takes or renews the lease `name` for `holder` until `until` (ms), when it is free, expired before `now`, or
    /// already the holder's; true when the holder has it. One statement, so two nodes asking at once get one answer.
    func acquireLease(_ name: String, holder: String, until: Int64, now: Int64) async throws -> Bool

    /// Appends audit records to the hash chain in one transaction; returns their sequence numbers.
    @discardableResult
    func appendAudit(_ entries: [AuditEntry]) async throws -> [Int64]

    /// Audit records matching a reviewer's query.
    func auditRecords(_ query: AuditQuery) async throws -> [AuditRecord]

    /// One control record, or nil.
    func controlRecord(kind: String, key: String) async throws -> ControlRecord?

    /// A control record and what its JSON names (see `NamedRecord`), read together: nil when the record is
    /// missing. For records that hold JSON (PostgreSQL refuses a statement over one that does not).
    func controlRecord(kind: String, key: String, naming: [NamedRecord]) async throws -> ControlRecordWithNamed?

    /// The control records of a kind, optionally only those about one patient.
    func controlRecords(kind: String, patientID: String?) async throws -> [ControlRecord]

    /// The control records of a kind about any of these patients.
    func controlRecords(kind: String, patientIDs: [String]) async throws -> [ControlRecord]

    /// Upserts and deletes control records, with the audit records that describe the change, in one transaction.
    func writeControlRecords(_ records: [ControlRecord], deleting: [ControlRecordKey], audit: [AuditEntry]) async throws

    /// Reads a control record and replaces or deletes it as `change` decides, in one transaction that
    /// every other change of the same record waits for: an authorization code is taken once, a
    /// one-time password accepted once, and failed logins counted without losing any.
    func changeControlRecord<Result: Sendable>(kind: String, key: String,
                                               _ change: @escaping @Sendable (ControlRecord?) throws -> ControlRecordChange<Result>) async throws -> Result

    /// The next number of a named series (1, 2, 3 …), atomically even across servers: for
    /// reservnummer, receipt and frikort numbers, which must never repeat.
    func nextNumber(series: String) async throws -> Int64

    /// Number of current (not deleted) resources of a type, or of all types.
    func count(type: String?) async throws -> Int

    /// Refreshes the query planner's statistics after a bulk load (ANALYZE / PRAGMA optimize).
    func optimize() async throws

    func close() async throws
}

extension ResourceStore {
    /// Applies all operations atomically, in order, with the audit records that describe them.
    public func commit(_ operations: [WriteOperation], audit: [AuditEntry]) async throws -> [WriteResult] {
        try await commit(operations, inserting: [], audit: audit)
    }

    /// A search, then a read of its matches: a store that can do both in one statement says so.
    public func searchResources(_ query: SearchQuery, limit: Int) async throws -> [StoredResource] {
        let ids = try await search(query, limit: limit)
        let byID = Dictionary(try await read(keys: ids.map { ResourceKey(type: query.type, id: $0) }).map { ($0.id, $0) },
                              uniquingKeysWith: { first, _ in first })
        return ids.compactMap { byID[$0] }
    }

    /// One patient after the other: a read here is a call into the same process.
    public func controlRecords(kind: String, patientIDs: [String]) async throws -> [ControlRecord] {
        var records: [ControlRecord] = []
        for patientID in patientIDs { records += try await controlRecords(kind: kind, patientID: patientID) }
        return records
    }

    /// The record, then each named one: reads here are calls into the same process.
    public func controlRecord(kind: String, key: String, naming: [NamedRecord]) async throws -> ControlRecordWithNamed? {
        guard let record = try await controlRecord(kind: kind, key: key) else { return nil }
        let document = try? JSONParser.parse(record.json)
        var named: [NamedRecord.Found?] = []
        for name in naming {
            guard let value = NamedRecord.string(at: name.path, in: document) else {
                named.append(nil)
                continue
            }
            switch name.target {
            case .control(let kind): named.append(try await controlRecord(kind: kind, key: value).map { .control($0) })
            case .resource(let type): named.append(try await read(type: type, id: value).map { .resource($0) })
            }
        }
        return ControlRecordWithNamed(record: record, named: named)
    }

    /// The parts at once: each is a few index reads here, so they need not wait for one another.
    public func searchResources(together parts: [(query: SearchQuery, limit: Int)]) async throws -> [[StoredResource]] {
        try await withThrowingTaskGroup(of: (Int, [StoredResource]).self) { group in
            for (index, part) in parts.enumerated() {
                group.addTask { (index, try await self.searchResources(part.query, limit: part.limit)) }
            }
            var pages = [[StoredResource]](repeating: [], count: parts.count)
            for try await (index, page) in group { pages[index] = page }
            return pages
        }
    }

    /// Applies one operation without an audit record: for tests and the store's own tools.
    public func commit(_ operation: WriteOperation) async throws -> WriteResult {
        try await commit([operation], audit: [])[0]
    }

    /// Applies operations without audit records: for tests and the store's own tools, never for patient data.
    public func commit(_ operations: [WriteOperation]) async throws -> [WriteResult] {
        try await commit(operations, audit: [])
    }
}


/// The audit chain walked from its first record to its head.
public struct AuditChainWalk: Sendable {
    public var checked: Int
    public var headSequence: Int64
    public var headHash: String
    public var oldestRecordedAt: Int64?
    /// The first record that breaks the chain, or nil when it is intact.
    public var broken: AuditChain.Break?
}

extension ResourceStore {
    /// Checks that no audit record was changed, removed or reordered, a page at a time (constant memory).
    public func walkAuditChain(pageSize: Int = 5_000) async throws -> AuditChainWalk {
        var walk = AuditChainWalk(checked: 0, headSequence: 0, headHash: "", oldestRecordedAt: nil, broken: nil)
        while true {
            let records = try await auditRecords(AuditQuery(afterSequence: walk.headSequence, ascending: true, limit: pageSize))
            if let broken = AuditChain.verify(records, previousHash: walk.headHash, previousSequence: walk.headSequence) {
                walk.broken = broken
                return walk
            }
            if walk.oldestRecordedAt == nil { walk.oldestRecordedAt = records.first?.entry.recordedAt }
            walk.checked += records.count
            guard let last = records.last else { return walk }
            walk.headHash = last.hash
            walk.headSequence = last.sequence
        }
    }
}
