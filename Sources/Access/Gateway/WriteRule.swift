import FHIRCore
import Store
import StoreModel

/// A domain rule a clinical module adds to every write of some resource types,
/// whichever interface the write comes from (FHIR, web app, import), so a rule
/// such as "one patient per personnummer" cannot be bypassed by a plain PUT.
public protocol WriteRule: Sendable {
    /// The resource types the rule examines.
    var types: Set<String> { get }

    /// Throws a `FHIRError` naming what is wrong and where. `resource` is what is about to be
    /// written, `current` what is stored now, `commit` every resource of the same commit.
    func check(_ resource: JSONObject, id: String, current: StoredResource?, commit: [WriteOperation], session: PatientDataSession) async throws

    /// Throws when the stored `current` may not be deleted (journal records are kept, not erased).
    func checkDelete(_ current: StoredResource, commit: [WriteOperation], session: PatientDataSession) async throws

    /// What the database must hold unique when `resource` is written, checked again inside the commit's
    /// transaction: `check` alone sees the store before concurrent writers commit.
    func guards(for resource: JSONObject, id: String) throws -> [UniquenessGuard]
}

extension WriteRule {
    public func checkDelete(_ current: StoredResource, commit: [WriteOperation], session: PatientDataSession) async throws {}
    public func guards(for resource: JSONObject, id: String) throws -> [UniquenessGuard] { [] }
}

extension PatientDataSession {
    /// An assignment (medarbetaruppdrag) from the organisation directory, for a rule that checks what the
    /// person a record names may do (a verbal order's ordinator): directory data, not patient data.
    public func assignment(id: String) async throws -> Assignment? {
        try await gateway.directory.assignment(id: id)
    }

    /// The uniqueness each rule asks the database to hold for the creates and updates of a commit.
    func guarded(_ operations: [WriteOperation]) throws -> [WriteOperation] {
        try operations.map { operation in
            guard let resource = operation.resource else { return operation }
            var operation = operation
            for rule in gateway.rules where rule.types.contains(operation.type) {
                operation.guards += try rule.guards(for: resource, id: operation.id)
            }
            return operation
        }
    }

    /// Runs the gateway's rules over the creates and updates of a commit.
    func checkRules(_ operations: [WriteOperation], currents: [ResourceKey: StoredResource]) async throws {
        for operation in operations {
            let rules = gateway.rules.filter { $0.types.contains(operation.type) }
            guard !rules.isEmpty else { continue }
            let resource: JSONObject
            var conditional: ConditionalCriteria?
            switch operation.kind {
            case .create(let object, let criteria):
                // A conditional create that finds its match writes nothing: nothing to check.
                if let criteria, try await !store.find(criteria).isEmpty { continue }
                conditional = criteria
                resource = object
            case .update(let object, _): resource = object
            case .delete:
                guard let current = currents[ResourceKey(type: operation.type, id: operation.id)], !current.isDeleted else { continue }
                for rule in rules { try await rule.checkDelete(current, commit: operations, session: self) }
                continue
            }
            for rule in rules {
                do {
                    try await rule.check(resource, id: operation.id, current: currents[ResourceKey(type: operation.type, id: operation.id)],
                                         commit: operations, session: self)
                } catch let error as FHIRError where error.category == .conflict {
                    // A parallel conditional create with the same criteria may have committed since the look
                    // above: then this one will find it and write nothing, which is no conflict.
                    guard let conditional, try await !store.find(conditional).isEmpty else { throw error }
                }
            }
        }
    }

    /// The next number of a named series, unique across servers (reservnummer, receipts).
    public func nextNumber(series: String) async throws -> Int64 {
        try await store.nextNumber(series: series)
    }

    /// A region's configuration document (fee schedule and the like), nil when never configured.
    public func configuration(_ key: String) async throws -> [UInt8]? {
        try await store.controlRecord(kind: ControlKind.configuration, key: key)?.json
    }

    /// Replaces a configuration document: administration only, audited with `summary`.
    public func configure(_ key: String, json: [UInt8], summary: String) async throws {
        guard principal.permissions.administer else {
            throw try await deny(patientID: nil, "changing \(key) needs a systemförvaltare assignment (administer permission)",
                                 text: "Inställningen kräver ett uppdrag som systemförvaltare.")
        }
        let entry = AuditRecordBuilder(principal: principal).entry(action: "configure-\(key)", patientID: nil, resources: [], basis: nil,
                                                                   outcome: "allowed", facts: nil, reason: summary)
        try await store.writeControlRecords([ControlRecord(kind: ControlKind.configuration, key: key, patientID: nil, json: json)], deleting: [], audit: [entry])
    }
}
