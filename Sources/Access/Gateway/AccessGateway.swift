import FHIRCore
import Foundation
import Logging
import Store
import StoreModel
import Synchronization

/// The one gateway all patient data passes (DESIGN.md, "The one rule of the
/// data path"): it authorises every read, search and write under the
/// Patientdatalag rules and the caller's scopes, and writes the audit record
/// before data leaves or in the same transaction as data is written.
public final class AccessGateway: Sendable {
    let store: any ResourceStore
    public let directory: OrganisationDirectory
    public let settings: AccessSettings
    let factFinder: FactFinder
    let auditWriter: AuditWriter
    let logger: Logger
    /// The clinical modules' rules and the organisation tree's, run on every write.
    let rules: [any WriteRule]
    /// What the modules' records mean to the Patientdatalag rules.
    let semantics: RecordSemantics
    /// Types of which a new record at one's own unit opens a care relationship.
    let openingTypes: Set<String>
    /// The chart overview and banner, drawn from the modules' parts.
    public let overview: ChartOverview
    /// Läsläge: while it holds, no clinical record is written.
    public let readOnly: ReadOnlyMode

    /// A gateway over `store` for the clinical modules listed (in the composition root's order).
    /// With `codes`, every write's codings are checked against the terminology as the modules' bindings say.
    public init(store: any ResourceStore, settings: AccessSettings = AccessSettings(), modules: [any ClinicalModule] = [],
                codes: (any CodeChecking)? = nil, readOnly: ReadOnlyMode = ReadOnlyMode(), logger: Logger = Logger(label: "karna.access")) {
        self.store = store
        self.readOnly = readOnly
        self.settings = settings
        let codeRule = codes.map { CodedValueRule(codes: $0, bindings: .combining(modules.map(\.codes))) }
        self.rules = [OrganisationTreeRule(), AssignmentRule()] + modules.flatMap(\.rules) + (codeRule.map { [$0] } ?? [])
        self.overview = ChartOverview(parts: modules.flatMap(\.chart))
        self.semantics = .combining(modules.map(\.records))
        self.openingTypes = Set(semantics.grounds.filter(\.opensOnCreate).map(\.type))
        self.directory = OrganisationDirectory(store: store)
        self.factFinder = FactFinder(store: store, settings: settings, semantics: semantics)
        self.auditWriter = AuditWriter(store: store)
        self.logger = logger
    }

    /// A session for one request of one principal; `action` names the interaction in the audit log.
    /// With `audit`, its read records wait there for `commit(_:)` instead of being appended at each call.
    public func session(_ principal: Principal, action: String, audit: RequestAudit? = nil) -> PatientDataSession {
        RequestOrigin.trace?.principalKind = principal.kind.rawValue
        return PatientDataSession(gateway: self, principal: principal, action: action, requestAudit: audit)
    }

    /// Appends what a request's sessions recorded. Only after this returns may the request's answer leave.
    public func commit(_ audit: RequestAudit) async throws {
        try await auditWriter.write(audit.take())
    }

    /// Which database the gateway guards, for start-up lines and reports.
    public var backendName: String { store.backendName }
}

/// What one principal may do with patient data during one request. Every
/// method checks, filters and audits; none returns what the caller may not see.
public struct PatientDataSession: Sendable {
    let gateway: AccessGateway
    public let principal: Principal
    public let action: String
    let cache = FactsCache()
    let gathering = FactsGathering()
    let requestAudit: RequestAudit?
    /// A disclosure out of the journal (an export to the region's data platform): the patient's spärr holds even
    /// for a system client, and a protected identity's address is left out, as for a user at another unit.
    let disclosure: Bool

    init(gateway: AccessGateway, principal: Principal, action: String, requestAudit: RequestAudit? = nil, disclosure: Bool = false) {
        self.gateway = gateway
        self.principal = principal
        self.action = action
        self.requestAudit = requestAudit
        self.disclosure = disclosure
    }

    /// The same principal reading for a disclosure (`action` in the audit log, e.g. "export"), its read records
    /// waiting in `audit` until `commitAudit(_:)`: a batch of patients read in several calls leaves one record each.
    public func disclosing(action: String, audit: RequestAudit) -> PatientDataSession {
        PatientDataSession(gateway: gateway, principal: principal, action: action, requestAudit: audit, disclosure: true)
    }

    /// Appends what a disclosing session recorded.
    public func commitAudit(_ audit: RequestAudit) async throws {
        try await gateway.commit(audit)
    }

    var store: any ResourceStore { gateway.store }
    private var builder: AuditRecordBuilder { AuditRecordBuilder(principal: principal) }

    /// Records read access: appended now, or with the request's other records when it has a `RequestAudit`.
    func audit(_ entries: [AuditEntry]) async throws {
        if let requestAudit {
            requestAudit.add(entries)
        } else {
            try await gateway.auditWriter.write(entries)
        }
    }

    /// Records what one call read, per patient: with a `RequestAudit`, joined with the request's other calls, so a page
    /// that reads a patient's visit, name and orders in three calls leaves one record for that patient, not three.
    func audit(_ log: PatientAccessLog) async throws {
        if let requestAudit {
            requestAudit.add(log, principal: principal, action: action)
        } else {
            try await gateway.auditWriter.write(log.entries(builder, action: action))
        }
    }

    // MARK: Decisions

    /// The facts about a patient, gathered once per session.
    func facts(_ patientID: String) async throws -> PatientAccessFacts {
        if let cached = cache.facts(patientID) { return cached }
        let facts = try await gateway.factFinder.facts(patientID: patientID, for: principal, now: Instant.now())
        cache.store(facts)
        return facts
    }

    /// Gathers the facts of several patients at once, a few at a time: a ward's or a day's list must
    /// not wait for each patient's care-relationship lookups one after the other.
    func prefetchFacts(_ resources: [StoredResource]) async throws {
        guard gathersFacts else { return }
        let missing = missingFacts(resources)
        guard missing.count > 1 else { return }
        try await gatherFacts(missing)
    }

    /// A practitioner under an assignment: the principal whose decisions rest on per-patient facts worth gathering ahead.
    private var gathersFacts: Bool { (principal.kind == .practitioner && principal.assignment != nil) || disclosure }

    /// The patients of these records whose facts this request has not gathered yet (a Patient itself needs none to be found).
    private func missingFacts(_ resources: [StoredResource]) -> Set<String> {
        Set(resources.compactMap { $0.type == "Patient" ? nil : $0.patientID }).filter { cache.facts($0) == nil }
    }

    private func gatherFacts(_ patientIDs: Set<String>) async throws {
        for facts in try await gateway.factFinder.facts(patientIDs: patientIDs.sorted(), for: principal, now: Instant.now()).values {
            cache.store(facts)
        }
    }

    /// Asks the store while the request's other searches may be asking too; when the matches arrive,
    /// the facts of the `candidates` among them are gathered in one batch with theirs (`FactsGathering`).
    private func asking<Found>(_ search: () async throws -> Found, candidates: (Found) -> [StoredResource]) async throws -> Found {
        guard gathersFacts else { return try await search() }
        gathering.started()
        let found: Found
        do {
            found = try await search()
        } catch {
            gathering.failed()
            throw error
        }
        switch await gathering.arrived(wanting: missingFacts(candidates(found))) {
        case .released:
            break
        case .gather(let patientIDs, let waiters):
            // Released also when gathering fails: each then gathers what it still lacks itself.
            defer { for waiter in waiters { waiter.resume(returning: .released) } }
            if !patientIDs.isEmpty { try await gatherFacts(patientIDs) }
        }
        return found
    }

    /// Whether the token's scopes allow `interaction` on `type` for a resource of `patientID`.
    func scopeProblem(_ interaction: Character, type: String, patientID: String?) -> String? {
        let contexts = principal.scopeContexts
        if principal.scopes.allows(interaction, on: type, in: contexts.subtracting([.patient])) { return nil }
        if contexts.contains(.patient), principal.scopes.allows(interaction, on: type, in: [.patient]) {
            let own = principal.kind == .patient ? principal.id : principal.launchPatient
            if let own, patientID == own { return nil }
            return "the token's patient/ scopes cover only the patient the app was launched for"
        }
        return "the token's scopes (\(principal.scopes)) do not allow '\(interaction)' on \(type)"
    }

    /// The decision for one stored resource, with the facts it rested on.
    func decide(_ stored: StoredResource, interaction: Character = "r") async throws -> (AccessDecision, PatientAccessFacts?) {
        if let problem = scopeProblem(interaction, type: stored.type, patientID: stored.patientID) {
            return (.denied(problem, text: "Appens behörighet räcker inte till de här uppgifterna."), nil)
        }
        guard principal.permissions.mayRead(stored.type) else {
            return (.denied("your assignment's position may not read \(stored.type)", text: "Din befattning i uppdraget får inte läsa den här sortens uppgifter."), nil)
        }
        guard let patientID = stored.patientID else { return (.allowed(.directory), nil) }
        switch principal.kind {
        case .system:
            guard disclosure else { return (.allowed(.system), nil) }
            let facts = try await facts(patientID)
            if let unit = gateway.factFinder.recordUnit(stored.object), facts.blockedUnits.contains(unit) { return (.blocked, facts) }
            if !facts.blockedProviders.isEmpty {
                let unit = gateway.factFinder.recordUnit(stored.object)
                var provider = gateway.settings.defaultProviderID
                if let unit { provider = try await gateway.directory.provider(of: unit) }
                if facts.blockedProviders.contains(provider) { return (.blocked, facts) }
            }
            return (.allowed(.system), facts)
        case .patient:
            return patientID == principal.id ? (.allowed(.ownRecord), nil) : (.denied("a patient may read only their own record", text: "En patient får bara läsa sin egen journal."), nil)
        case .practitioner:
            guard let assignment = principal.assignment else { return (.denied("no assignment (medarbetaruppdrag) was chosen at login", text: "Inget medarbetaruppdrag valdes vid inloggningen."), nil) }
            // Finding a patient is a directory look-up: a search listing fifty patients must not gather
            // fifty patients' care relationships. Facts already gathered in this request are richer.
            if stored.type == "Patient" {
                return (.allowed(.directory), cache.facts(patientID) ?? FactFinder.directoryFacts(stored))
            }
            let facts = try await facts(patientID)
            let object = stored.object
            if let addressed = addressedDecision(object, assignment: assignment, facts: facts) { return (addressed, facts) }
            let unit = gateway.factFinder.recordUnit(object)
            var provider = gateway.settings.defaultProviderID
            if let unit { provider = try await gateway.directory.provider(of: unit) }
            return (PDLPolicy.decide(assignment: assignment, facts: facts, recordUnit: unit, recordProvider: provider), facts)
        }
    }

    /// A record sent to a unit (a referral and its workflow task, as their module says) is read and
    /// answered there without consent, as the sender disclosed it to that unit. A spärr still holds.
    func addressedDecision(_ object: JSONObject, assignment: Assignment, facts: PatientAccessFacts) -> AccessDecision? {
        guard let addressees = gateway.factFinder.addressees(object), addressees.contains(assignment.unitID),
              assignment.purpose != .followUp else { return nil }
        if let unit = gateway.factFinder.recordUnit(object), facts.blockedUnits.contains(unit) { return .blocked }
        return .allowed(.referral)
    }

    /// Patient-level access for compartment reads and `$everything`: the user needs a ground for the
    /// patient's records at their own provider (or their own record, or a system scope).
    public func requireAccess(patientID: String) async throws {
        switch principal.kind {
        case .system: return
        case .patient:
            if patientID != principal.id { throw try await deny(patientID: patientID, "a patient may read only their own record", text: "En patient får bara läsa sin egen journal.") }
        case .practitioner:
            guard let assignment = principal.assignment else { throw try await deny(patientID: patientID, "no assignment (medarbetaruppdrag) was chosen", text: "Inget medarbetaruppdrag valdes vid inloggningen.") }
            let facts = try await facts(patientID)
            if case .denied(let why, let text) = PDLPolicy.decide(assignment: assignment, facts: facts, recordUnit: assignment.unitID, recordProvider: assignment.providerID) {
                throw try await deny(patientID: patientID, why, text: text, facts: facts)
            }
        }
    }

    /// Audits a refusal and returns the error to throw.
    func deny(patientID: String?, _ why: String, text: String, facts: PatientAccessFacts? = nil, resources: [String] = []) async throws -> FHIRError {
        // The log keeps the refusal as the user was told it, in Swedish: the logggranskare reads it in log review.
        try await audit([builder.entry(action: action, patientID: patientID, resources: resources, basis: nil,
                                       outcome: "denied", facts: facts, reason: text)])
        return FHIRError(.forbidden, code: .forbidden, "access denied: \(why)", text: text)
    }

    /// Keeps what the principal may see (redacted where needed), audits it per patient, and returns it in order.
    func visible(_ resources: [StoredResource], interaction: Character = "r") async throws -> [StoredResource] {
        var kept: [StoredResource] = []
        var log = PatientAccessLog()
        try await prefetchFacts(resources)
        for stored in resources {
            guard case (.allowed(let basis), let facts) = try await decide(stored, interaction: interaction) else { continue }
            kept.append(redacted(stored, facts: facts))
            if let patientID = stored.patientID { log.add(patientID, "\(stored.type)/\(stored.id)", basis: basis, facts: facts) }
        }
        try await audit(log)
        return kept
    }

    /// Hides a protected identity's address and contact details from those without the permission.
    func redacted(_ stored: StoredResource, facts: PatientAccessFacts?) -> StoredResource {
        guard stored.type == "Patient", !stored.isDeleted, facts?.protectedIdentity == true,
              disclosure || (principal.kind == .practitioner && !principal.permissions.protectedIdentity)
        else { return stored }
        let object = stored.object.filter { !Self.hiddenFromTheUnpermitted.contains($0) }
        return StoredResource(type: stored.type, id: stored.id, versionId: stored.versionId, lastUpdated: stored.lastUpdated, method: stored.method,
                              json: JSONWriter.bytes(.object(object)), sequence: stored.sequence, patientID: stored.patientID)
    }

    // MARK: Reads

    /// The current version, if the principal may see it. Blocked information answers nil (as if absent);
    /// a missing ground is a 403 naming what the user can do.
    public func read(type: String, id: String) async throws -> StoredResource? {
        // The facts of this request read the Patient moments ago (a write through this session forgets them).
        if type == "Patient", let patient = cache.facts(id)?.patient { return try await one(patient) }
        guard let stored = try await store.read(type: type, id: id) else { return nil }
        return try await one(stored)
    }

    public func vread(type: String, id: String, versionId: Int) async throws -> StoredResource? {
        guard let stored = try await store.vread(type: type, id: id, versionId: versionId) else { return nil }
        return try await one(stored)
    }

    private func one(_ stored: StoredResource) async throws -> StoredResource? {
        if stored.isDeleted { return stored }
        switch try await decide(stored) {
        case (.allowed(let basis), let facts):
            var log = PatientAccessLog()
            if let patientID = stored.patientID { log.add(patientID, "\(stored.type)/\(stored.id)", basis: basis, facts: facts) }
            try await audit(log)
            return redacted(stored, facts: facts)
        case (.blocked, _):
            return nil
        case (.denied(let why, let text), let facts):
            throw try await deny(patientID: stored.patientID, why, text: text, facts: facts, resources: ["\(stored.type)/\(stored.id)"])
        }
    }

    /// One page of a search: what the principal may see, in the query's order, and whether more follow.
    /// Hidden matches are skipped by reading further, so a page is full whenever enough visible matches exist.
    public func search(_ query: SearchQuery, limit: Int) async throws -> (resources: [StoredResource], hasMore: Bool) {
        let (result, hasMore) = try await allowedPage(try await readable(query), limit: limit)
        return (try await visible(result, interaction: "s"), hasMore)
    }

    /// Several searches answered as one access: one audit record per patient for them all (a chart
    /// overview is one look at the chart, not ten). Each result is one page of visible matches.
    public func search(together queries: [(query: SearchQuery, limit: Int)]) async throws -> [[StoredResource]] {
        var queries = queries
        for i in queries.indices { queries[i].query = try await readable(queries[i].query) }
        // The first batch of every part in one store call (one statement on PostgreSQL); a part whose
        // batch was mostly hidden reads on by itself.
        let sizes = queries.map { Self.batchSize(limit: $0.limit, found: 0) }
        let batches = try await asking({ try await store.searchResources(together: zip(queries, sizes).map { ($0.query, $1 + 1) }) },
                                       candidates: { zip($0, sizes).flatMap { batch, size in batch.prefix(size) } })
        var pages: [[StoredResource]] = []
        for (part, batch) in zip(queries, batches) {
            pages.append(try await allowedPage(part.query, limit: part.limit, firstBatch: batch).resources)
        }
        let shown = try await visible(pages.flatMap { $0 }, interaction: "s")
        var byKey: [String: StoredResource] = [:]
        for stored in shown { byKey["\(stored.type)/\(stored.id)"] = stored }
        return pages.map { page in page.compactMap { byKey["\($0.type)/\($0.id)"] } }
    }

    /// One page of matches the principal may see, decided but not yet audited.
    private func allowedPage(_ query: SearchQuery, limit: Int, firstBatch: [StoredResource]? = nil) async throws -> (resources: [StoredResource], hasMore: Bool) {
        var query = query
        var result: [StoredResource] = []
        var firstBatch = firstBatch
        for _ in 0..<8 {
            let batchSize = Self.batchSize(limit: limit, found: result.count)
            let found: [StoredResource]
            if let batch = firstBatch {
                found = batch
            } else {
                found = try await asking({ [query] in try await store.searchResources(query, limit: batchSize + 1) }, candidates: { Array($0.prefix(batchSize)) })
            }
            firstBatch = nil
            let candidates = Array(found.prefix(batchSize))
            // Decide first, audit only what is returned: a look-ahead match is not an access.
            var allowed: [StoredResource] = []
            try await prefetchFacts(candidates)
            for candidate in candidates where result.count + allowed.count < limit + 1 {
                if case .allowed = try await decide(candidate, interaction: "s").0 { allowed.append(candidate) }
            }
            result += allowed
            let exhausted = found.count <= candidates.count
            if result.count > limit || exhausted { break }
            guard let last = candidates.last?.id else { break }
            if query.beforeID != nil { query.beforeID = last } else if query.sort.isEmpty { query.afterID = last } else { query.offset += candidates.count }
        }
        return (Array(result.prefix(limit)), result.count > limit)
    }

    /// Read ahead past hidden matches, up to twice the page (at most 1,000) per round.
    private static func batchSize(limit: Int, found: Int) -> Int {
        max(limit + 1 - found, min(limit * 2, 1_000))
    }

    /// How many matches the principal may see, or nil when finding out would examine more than the configured maximum.
    public func count(_ query: SearchQuery) async throws -> Int? {
        var query = try await readable(query)
        if principal.kind == .system, scopeProblem("s", type: query.type, patientID: nil) == nil { return try await store.count(query) }
        query.sort = []
        query.afterID = nil
        query.beforeID = nil
        query.offset = 0
        var seen = 0, visible = 0
        while seen < gateway.settings.maximumVisibleCount {
            let stored = try await store.searchResources(query, limit: 1_000)
            for candidate in stored {
                if case .allowed = try await decide(candidate, interaction: "s").0 { visible += 1 }
            }
            seen += stored.count
            guard stored.count == 1_000, let last = stored.last else { return visible }
            query.afterID = last.id
        }
        return nil
    }

    /// Current versions by key, leaving out what the principal may not see (for `_include`).
    public func read(keys: [ResourceKey]) async throws -> [StoredResource] {
        // A Patient whose facts this request has gathered was read with them (as `read(_:id:)` uses it): a board's
        // or a list's patients are not read twice.
        var found: [ResourceKey: StoredResource] = [:]
        var missing: [ResourceKey] = []
        for key in keys {
            if key.type == "Patient", let patient = cache.facts(key.id)?.patient { found[key] = patient } else { missing.append(key) }
        }
        if !missing.isEmpty { for stored in try await store.read(keys: missing) { found[stored.key] = stored } }
        var seen = Set<ResourceKey>()
        return try await visible(keys.compactMap { seen.insert($0).inserted ? found[$0] : nil })
    }

    public func referenced(sourceType: String, ids: [String], parameter: String, targetType: String?) async throws -> [ResourceKey] {
        try await store.referenced(sourceType: sourceType, ids: ids, parameter: parameter, targetType: targetType)
    }

    public func referencing(sourceType: String, parameter: String, targetType: String, ids: [String]) async throws -> [ResourceKey] {
        try await store.referencing(sourceType: sourceType, parameter: parameter, targetType: targetType, ids: ids)
    }

    /// Conditional matching (If-None-Exist, conditional update/delete): ids only; the write itself is authorised.
    public func find(_ criteria: ConditionalCriteria) async throws -> [String] {
        try await store.find(criteria)
    }

    /// `$everything`: the patient's compartment, after a patient-level check, filtered per record.
    public func compartment(patientID: String, since: Int64?, after: ResourceKey?, limit: Int) async throws -> [StoredResource] {
        try await requireAccess(patientID: patientID)
        return try await visible(try await store.compartment(patientID: patientID, since: since, after: after, limit: limit))
    }

    /// One page of the patient's compartment as the store holds it, filtered per record, with where the next page
    /// starts (nil on the last): a page whose records were all hidden still moves on.
    public func compartmentPage(patientID: String, since: Int64?, after: ResourceKey?, limit: Int) async throws -> (resources: [StoredResource], next: ResourceKey?) {
        try await requireAccess(patientID: patientID)
        let page = try await store.compartment(patientID: patientID, since: since, after: after, limit: limit)
        return (try await visible(page), page.count == limit ? page.last?.key : nil)
    }

    /// One page of the records of `types` that belong to no patient, filtered per record, with where the next page
    /// starts (nil on the last).
    public func outsideCompartmentsPage(types: [String], since: Int64?, after: ResourceKey?, limit: Int) async throws -> (resources: [StoredResource], next: ResourceKey?) {
        let page = try await store.outsideCompartments(types: types, since: since, after: after, limit: limit)
        return (try await visible(page), page.count == limit ? page.last?.key : nil)
    }

    /// The deletions of one page of history, for a system client's export `_since` (Bulk Data's `deleted`): only the keys
    /// of records its scopes cover; a deleted version carries no record, so nothing is audited. Empty for anyone else.
    public func deletions(_ query: HistoryQuery) async throws -> (versions: [StoredResource], nextCursor: Int64?) {
        guard principal.kind == .system else { return ([], nil) }
        let versions = try await store.history(query)
        var deleted: [StoredResource] = []
        for version in versions where version.isDeleted {
            // A deletion keeps no body: whose record it was is the version before it.
            var patientID = version.patientID
            if patientID == nil {
                patientID = try await store.history(HistoryQuery(type: version.type, id: version.id, beforeSequence: version.sequence, count: 1)).first?.patientID
            }
            guard scopeProblem("r", type: version.type, patientID: patientID) == nil else { continue }
            deleted.append(StoredResource(type: version.type, id: version.id, versionId: version.versionId, lastUpdated: version.lastUpdated, method: version.method,
                                          json: version.json, sequence: version.sequence, patientID: patientID))
        }
        return (deleted, versions.count == query.count ? versions.last?.sequence : nil)
    }

    /// History, filtered to what the principal may see, with the cursor of the next page (nil on the last);
    /// deletions of patient data show only to system clients.
    public func history(_ query: HistoryQuery) async throws -> (versions: [StoredResource], nextCursor: Int64?) {
        let versions = try await store.history(query)
        let nextCursor = versions.count == query.count ? versions.last?.sequence : nil
        var kept: [StoredResource] = []
        let live = try await visible(versions.filter { !$0.isDeleted })
        var liveByKey = Dictionary(grouping: live, by: { "\($0.key)/\($0.versionId)" })
        for version in versions {
            if version.isDeleted {
                if principal.kind == .system || version.patientID == nil { kept.append(version) }
            } else if let match = liveByKey["\(version.key)/\(version.versionId)"]?.first {
                kept.append(match)
                liveByKey["\(version.key)/\(version.versionId)"] = nil
            }
        }
        return (kept, nextCursor)
    }

    // MARK: Writes

    /// Authorises and applies writes atomically, with their audit records in the same transaction.
    /// New records are tagged with the writer's care unit, so later reads know where they were made.
    public func commit(_ operations: [WriteOperation]) async throws -> [WriteResult] {
        try await commit(operations, inserting: [], audit: [])
    }

    /// As `commit(_:)`, for a sanctioned change of whose record this is: a merge (or its undoing) moves
    /// records made at other units to another Patient. Needs the `patientIdentity` permission.
    public func commit(_ operations: [WriteOperation], intent: WriteIntent) async throws -> [WriteResult] {
        try await commit(operations, inserting: [], audit: [], intent: intent)
    }

    /// As `commit(_:)`, with control records that must be new and their audit records in the same
    /// transaction (a login with the practitioner it belongs to): a taken key writes nothing.
    func commit(_ operations: [WriteOperation], inserting records: [ControlRecord], audit extra: [AuditEntry],
                intent: WriteIntent = .ordinary) async throws -> [WriteResult] {
        guard !operations.isEmpty || !records.isEmpty else { return [] }
        // Läsläge refuses clinical records only: a login's or a PDL decision's control records still go where the database takes them.
        if !operations.isEmpty, let refusal = gateway.readOnly.refusal() { throw refusal }
        let currents = Dictionary(try await store.read(keys: operations.map { ResourceKey(type: $0.type, id: $0.id) }).map { ($0.key, $0) },
                                  uniquingKeysWith: { a, _ in a })
        try await checkRules(operations, currents: currents)
        var prepared: [WriteOperation] = []
        prepared.reserveCapacity(operations.count)
        for operation in operations {
            let current = currents[ResourceKey(type: operation.type, id: operation.id)]
            prepared.append(keepingHidden(tagged(operation, current: current), current: current))
        }
        prepared = try guarded(prepared)
        let indexes = await WriteOperation.precomputeIndexes(prepared)
        let compartment = PatientCompartment()
        // Patients this commit opens a care contact for, or registers: what is written with the contact
        // (or with the registration: next of kin, guardian) belongs to it.
        var opening = Set<String>()
        for (i, operation) in prepared.enumerated() where (gateway.openingTypes.contains(operation.type) || operation.type == "Patient")
            && currents[ResourceKey(type: operation.type, id: operation.id)] == nil {
            if let index = indexes[i], let patientID = compartment.patientID(type: operation.type, id: operation.id, index: index) { opening.insert(patientID) }
        }
        var log = PatientAccessLog()
        var touchesOrganisations = false
        for (i, operation) in prepared.enumerated() {
            prepared[i].index = indexes[i]
            let current = currents[ResourceKey(type: operation.type, id: operation.id)]
            touchesOrganisations = touchesOrganisations || operation.type == "Organization" || operation.type == "PractitionerRole"
            let interaction: Character
            switch operation.kind {
            case .create: interaction = "c"
            case .update: interaction = current == nil ? "c" : "u"
            case .delete: interaction = "d"
            }
            var patients: [String] = []
            if let index = indexes[i], let patientID = compartment.patientID(type: operation.type, id: operation.id, index: index) { patients.append(patientID) }
            if let old = current?.patientID, !patients.contains(old) { patients.append(old) }
            let reference = "\(operation.type)/\(operation.id)"
            var problem = scopeProblem(interaction, type: operation.type, patientID: patients.first)
            if problem != nil, case .update = operation.kind, current == nil {
                // An update that creates is allowed by either scope.
                problem = scopeProblem("u", type: operation.type, patientID: patients.first)
            }
            if let problem { throw try await deny(patientID: patients.first, problem, text: "Appens behörighet räcker inte för att ändra de här uppgifterna.", resources: [reference]) }
            guard principal.permissions.mayWrite(operation.type) else {
                throw try await deny(patientID: patients.first, "your assignment's position may not write \(operation.type)",
                                     text: "Din befattning i uppdraget får inte skriva den här sortens uppgifter.", resources: [reference])
            }
            for patientID in patients {
                let (basis, facts, flags) = try await writeGround(operation, patientID: patientID, current: current, reference: reference,
                                                                  opensRelationship: opening.contains(patientID), intent: intent)
                log.add(patientID, reference, basis: basis, facts: facts, flags: flags)
            }
        }
        // After the decisions: whether a referenced resource exists is told only to a writer allowed to write here.
        try await checkReferences(prepared)
        let results: [WriteResult]
        do {
            results = try await store.commit(prepared, inserting: records, audit: log.entries(builder, action: action) + extra)
        } catch let unavailable as StoreUnavailable {
            // The database refuses writes (gone, read-only, full): the node says so on every page until it tries again.
            if !operations.isEmpty { gateway.readOnly.databaseRefused() }
            throw unavailable
        }
        // What was written may create a care relationship (a new contact): decide afresh from now on.
        for patientID in log.patients { cache.forget(patientID) }
        if touchesOrganisations { await gateway.directory.invalidate() }
        return results
    }

    /// The units whose record this is to change: the unit that made it, and those its module names as
    /// responsible now (a stay transferred to another ward is that ward's to discharge).
    func owningUnits(_ record: JSONObject) -> Set<String> {
        var units = Set<String>()
        if let unit = gateway.factFinder.recordUnit(record) { units.insert(unit) }
        if let responsible = record.resourceType.flatMap({ gateway.semantics.responsibleUnits[$0] }) { units.formUnion(responsible(record)) }
        return units
    }

    /// The ground for writing a record of `patientID`, or a refusal, with the review flags the write earns.
    /// A write needs the read ground and more (docs/access.md, "Writes"): a patient record is never
    /// deleted, who a patient is changes only for positions with the `patientIdentity` permission, and a
    /// unit's records are changed by that unit or their author.
    private func writeGround(_ operation: WriteOperation, patientID: String, current: StoredResource?, reference: String,
                             opensRelationship: Bool, intent: WriteIntent) async throws -> (AccessBasis, PatientAccessFacts?, [ReviewFlag]) {
        let live = current.flatMap { $0.isDeleted ? nil : $0 }
        var flags: [ReviewFlag] = []
        if operation.type == "Patient", operation.id == patientID {
            if case .delete = operation.kind, live != nil {
                guard principal.kind == .system else {
                    throw try await deny(patientID: patientID, "a patient record is never deleted: merge a duplicate into the real record ($merge), "
                                         + "or correct what was entered in error",
                                         text: "En patient tas aldrig bort ur journalen. Slå ihop en dubblett med den riktiga journalen, eller rätta det som blev fel.",
                                         resources: [reference])
                }
                flags.append(.patientDeleted)
            }
            let changes = WritePolicy.identityChanges(from: live?.object, to: operation.resource)
            if !changes.isEmpty {
                let what = changes.map(\.rawValue).joined(separator: ", ")
                if principal.kind == .patient {
                    throw try await deny(patientID: patientID, "a patient cannot change their own \(what); ask the care unit",
                                         text: "Du kan inte själv ändra dina identitetsuppgifter. Kontakta din mottagning.", resources: [reference])
                }
                if principal.kind == .practitioner, !principal.permissions.patientIdentity {
                    throw try await deny(patientID: patientID, "changing a patient's \(what) needs a position with the patientIdentity permission "
                                         + "(medicinsk sekreterare or läkare by default)",
                                         text: "Att ändra en patients identitetsuppgifter kräver en befattning med den behörigheten (medicinsk sekreterare eller läkare).",
                                         resources: [reference])
                }
                flags.append(.identityChange)
            }
            if intent == .merge { flags.append(.identityChange) }
        }
        if intent == .merge, principal.kind == .practitioner, !principal.permissions.patientIdentity {
            throw try await deny(patientID: patientID, "merging patient records needs a position with the patientIdentity permission",
                                 text: "Att slå ihop journaler kräver en befattning med behörighet att ändra identitetsuppgifter.", resources: [reference])
        }
        switch principal.kind {
        case .system:
            return (.system, nil, flags)
        case .patient:
            guard patientID == principal.id else { throw try await deny(patientID: patientID, "a patient may write only to their own record",
                                                                                                text: "En patient får bara skriva i sin egen journal.", resources: [reference]) }
            return (.ownRecord, nil, flags)
        case .practitioner:
            guard let assignment = principal.assignment else {
                throw try await deny(patientID: patientID, "no assignment (medarbetaruppdrag) was chosen at login",
                                     text: "Inget medarbetaruppdrag valdes vid inloggningen.", resources: [reference])
            }
            let facts = try await facts(patientID)
            if operation.type == "Patient" {
                // Registering a patient is administration of the patient index; changing one already
                // registered needs a ground for the record, as reading more than the directory does.
                // The Patient is the region's shared index, not a unit's entry: no spärr of a unit applies to it.
                guard live != nil else { return (.directory, facts, flags) }
                if assignment.purpose == .followUp {
                    throw try await deny(patientID: patientID, "an assignment for uppföljning does not change patient records",
                                         text: "Ett uppdrag för uppföljning ändrar inte journaler.", facts: facts, resources: [reference])
                }
                if facts.careRelationship != nil { return (.careRelationship, facts, flags) }
                if facts.emergencyAccess != nil { return (.emergencyAccess, facts, flags) }
                throw try await deny(patientID: patientID, "changing a registered patient needs a care relationship (vårdrelation) with the patient at "
                                     + "\(assignment.unitName), or nödåtkomst",
                                     text: "Att ändra en registrerad patient kräver en vårdrelation med patienten vid \(assignment.unitName), eller nödåtkomst.",
                                     facts: facts, resources: [reference])
            }
            // A new care contact, episode, booking or care team at one's own unit is what creates a care relationship.
            if current == nil, gateway.openingTypes.contains(operation.type) {
                return (facts.careRelationship != nil ? .careRelationship : .directory, facts, flags)
            }
            // A new record written together with the contact that opens the care relationship (a booking's
            // notification, an admission's episode) is written at the user's unit under that relationship.
            if current == nil, opensRelationship { return (.careRelationship, facts, flags) }
            if let live, let addressed = addressedDecision(live.object, assignment: assignment, facts: facts) {
                if case .allowed(let basis) = addressed { return (basis, facts, flags) }
            }
            let unit = live.flatMap { gateway.factFinder.recordUnit($0.object) } ?? assignment.unitID
            let provider = try await gateway.directory.provider(of: unit)
            switch PDLPolicy.decide(assignment: assignment, facts: facts, recordUnit: unit, recordProvider: provider) {
            case .allowed(let basis):
                // Reading another unit's record is not changing it: that unit (or the author) corrects its
                // own entries, through the journal's correction flow where it is a note.
                if let live, !owningUnits(live.object).contains(assignment.unitID), gateway.factFinder.recordUnit(live.object) != nil,
                   intent != .merge, !WritePolicy.isAuthor(live.object, principal: principal) {
                    let name = try await gateway.directory.unit(unit)?.name ?? unit
                    throw try await deny(patientID: patientID, "\(reference) was recorded at \(name); only that unit or its author may change it "
                                         + "(ask them to correct it, or document your own finding)",
                                         text: "Uppgiften dokumenterades vid \(name). Bara den enheten eller den som skrev den kan ändra den: be dem rätta, eller dokumentera ditt eget fynd.",
                                         facts: facts, resources: [reference])
                }
                return (basis, facts, flags)
            case .blocked: throw try await deny(patientID: patientID, "the record is blocked (spärrad)", text: "Uppgiften är spärrad.", facts: facts, resources: [reference])
            case .denied(let why, let text): throw try await deny(patientID: patientID, why, text: text, facts: facts, resources: [reference])
            }
        }
    }

    /// Authorises and applies one write.
    public func commit(_ operation: WriteOperation) async throws -> WriteResult {
        try await commit([operation])[0]
    }

    /// A protected identity's address and contact details, hidden from a writer without the permission to
    /// see them (`redacted`), stay as stored: writing back the Patient they read must not wipe them.
    private func keepingHidden(_ operation: WriteOperation, current: StoredResource?) -> WriteOperation {
        guard operation.type == "Patient", principal.kind == .practitioner, !principal.permissions.protectedIdentity,
              let current, !current.isDeleted, RecordTags.isProtected(current.object),
              case .update(var resource, let ifMatch) = operation.kind else { return operation }
        for member in Self.hiddenFromTheUnpermitted { resource[member] = current.object[member] }
        return .update(resource, type: operation.type, id: operation.id, ifMatch: ifMatch)
    }

    /// What `redacted` removes from a protected identity's Patient.
    static let hiddenFromTheUnpermitted = ["address", "telecom", "contact", "photo"]

    /// Puts the writer's care unit on a new record; an update keeps the unit that made the record.
    private func tagged(_ operation: WriteOperation, current: StoredResource?) -> WriteOperation {
        // Only an explicit tag counts here: an untagged record stays untagged when a system client rewrites it.
        let existingUnit = current.flatMap { $0.isDeleted ? nil : FactFinder.unitTag($0.object) }
        let unit = existingUnit ?? principal.assignment?.unitID
        func retag(_ resource: JSONObject) -> JSONObject {
            guard let unit else { return resource }
            // System clients (imports, integrations) may bring the source system's unit; users may not choose another unit's.
            if principal.kind == .system, existingUnit == nil, gateway.factFinder.recordUnit(resource) != nil { return resource }
            return RecordTags.tagged(resource, unit: unit)
        }
        // A new record that happened during a downtime that has ended is marked as back-entered (efterregistrerad).
        let periods = gateway.readOnly.periods, now = Instant.now()
        var result: WriteOperation
        switch operation.kind {
        case .create(let resource, let criteria):
            result = .create(BackEntry.marked(retag(resource), periods: periods, now: now), type: operation.type, id: operation.id, ifNoneExist: criteria)
        case .update(let resource, let ifMatch):
            let fresh = current == nil || current?.isDeleted == true
            result = .update(fresh ? BackEntry.marked(retag(resource), periods: periods, now: now) : retag(resource), type: operation.type, id: operation.id, ifMatch: ifMatch)
        case .delete: result = operation
        }
        result.index = nil
        return result
    }
}

/// Why a commit is made, where that changes what it may touch.
public enum WriteIntent: Sendable, Equatable {
    case ordinary
    /// A merge of two patient records, or its undoing: records of other units move with the patient.
    case merge
}

/// What one call touched, grouped per patient: one audit record each, in the order first touched.
struct PatientAccessLog {
    private var order: [String] = []
    private var groups: [String: (resources: [String], basis: AccessBasis, facts: PatientAccessFacts?, flags: [ReviewFlag])] = [:]

    mutating func add(_ patientID: String, _ resource: String, basis: AccessBasis, facts: PatientAccessFacts?, flags: [ReviewFlag] = []) {
        add(patientID, resources: [resource], basis: basis, facts: facts, flags: flags)
    }

    mutating func add(_ patientID: String, resources: [String], basis: AccessBasis, facts: PatientAccessFacts?, flags: [ReviewFlag] = []) {
        if groups[patientID] == nil { order.append(patientID) }
        var group = groups[patientID] ?? ([], basis, facts, [])
        group.resources += resources
        for flag in flags where !group.flags.contains(flag) { group.flags.append(flag) }
        // The strongest ground used for the patient is the one recorded (nödåtkomst must show), and a
        // look at the record itself outweighs finding the patient in the directory.
        if basis == .emergencyAccess || (group.basis == .directory && basis != .directory) {
            group.basis = basis
            if let facts { group.facts = facts }
        }
        groups[patientID] = group
    }

    /// The patients touched, in order.
    var patients: [String] { order }

    /// Adds what another call touched: each patient's resources (once each), the stronger ground and the flags.
    mutating func merge(_ other: PatientAccessLog) {
        for patientID in other.order {
            guard let theirs = other.groups[patientID] else { continue }
            let known = Set(groups[patientID]?.resources ?? [])
            add(patientID, resources: theirs.resources.filter { !known.contains($0) }, basis: theirs.basis, facts: theirs.facts, flags: theirs.flags)
        }
    }

    func entries(_ builder: AuditRecordBuilder, action: String) -> [AuditEntry] {
        order.compactMap { patientID in
            groups[patientID].map {
                builder.entry(action: action, patientID: patientID, resources: $0.resources, basis: $0.basis, outcome: "allowed", facts: $0.facts,
                              extraFlags: $0.flags)
            }
        }
    }
}

/// Facts gathered during one request, so a search over one patient's records asks once.
final class FactsCache: Sendable {
    private let byPatient = Mutex<[String: PatientAccessFacts]>([:])

    func facts(_ patientID: String) -> PatientAccessFacts? { byPatient.withLock { $0[patientID] } }
    func store(_ facts: PatientAccessFacts) { byPatient.withLock { $0[facts.patientID] = facts } }
    func forget(_ patientID: String) { _ = byPatient.withLock { $0.removeValue(forKey: patientID) } }
}
