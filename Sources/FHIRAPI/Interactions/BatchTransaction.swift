import FHIRCore
import StoreModel
import Access

/// How a transaction treats client ids; the import command keeps them so loading the same files twice is idempotent.
public struct TransactionOptions: Sendable {
    /// POST entries whose fullUrl is `urn:uuid:X` are stored with id X (create-or-unchanged) instead of a new id.
    public var keepClientIDs = false
    public init(keepClientIDs: Bool = false) { self.keepClientIDs = keepClientIDs }
}

/// What a transaction did, counted by outcome, for import summaries.
public struct TransactionSummary: Sendable {
    public var outcomes: [WriteResult.Outcome: Int] = [:]
    public var entries = 0
    /// Batch entries that failed, each as `Bundle.entry[i]: what went wrong`.
    public var failures: [String] = []
}

extension FHIREngine {
    /// One parsed Bundle entry.
    struct BundleEntry {
        let index: Int
        let fullUrl: String?
        let method: FHIRRequest.Method
        let url: String
        var resource: JSONValue?
        let ifMatch: String?
        let ifNoneExist: String?
        let ifNoneMatch: String?
        var expression: String { "Bundle.entry[\(index)]" }
        /// Whether the url invokes an operation (`Patient/1/$everything`, `ValueSet/$expand`).
        var isOperation: Bool { url.split(separator: "?").first?.split(separator: "/").last?.hasPrefix("$") ?? false }

        /// The position in the processing order FHIR R4 §3.1.0.11.2 prescribes: DELETE, POST, PUT/PATCH, GET.
        var order: Int {
            switch method {
            case .delete: 0
            case .post: 1
            case .put, .patch: 2
            case .get, .head: 3
            }
        }
    }

    /// `POST [base]` with a batch or transaction Bundle (FHIR R4 §3.1.0.11).
    func batchOrTransaction(_ request: FHIRRequest) async throws -> FHIRResponse {
        let (response, _) = try await processBundle(request.body, prefer: request.prefer, options: TransactionOptions())
        return response
    }

    /// Loads a transaction or batch Bundle as the import command does: client ids kept, minimal responses.
    public func importBundle(_ body: JSONValue) async throws -> TransactionSummary {
        try await processBundle(body, prefer: Prefer(returnPreference: .minimal), options: TransactionOptions(keepClientIDs: true)).1
    }

    func processBundle(_ body: JSONValue?, prefer: Prefer, options: TransactionOptions) async throws -> (FHIRResponse, TransactionSummary) {
        guard case .object(let bundle)? = body else {
            throw FHIRError(.invalid, code: .structure, "POST to the base URL takes a batch or transaction Bundle")
        }
        guard bundle.resourceType == "Bundle" else {
            throw FHIRError(.invalid, code: .invalid, "POST to the base URL takes a Bundle, not a \(bundle.resourceType ?? "body without resourceType")",
                            expression: ["resourceType"])
        }
        let bundleType = bundle["type"]?.stringValue
        guard bundleType == "transaction" || bundleType == "batch" else {
            throw FHIRError(.invalid, code: .invalid, "the Bundle's type must be 'transaction' or 'batch'; got '\(bundleType ?? "none")'", expression: ["Bundle.type"])
        }
        let rawEntries = bundle["entry"]?.arrayValue ?? []
        if rawEntries.count > limits.maxBundleEntries {
            throw FHIRError(.tooLarge, code: .tooCostly,
                            "the Bundle has \(rawEntries.count) entries; the limit is \(limits.maxBundleEntries) (KARNA_MAX_BUNDLE_ENTRIES)", expression: ["Bundle.entry"])
        }
        let entries = try rawEntries.enumerated().map { try parseEntry($1, index: $0) }
        if bundleType == "transaction" {
            return try await transaction(entries, prefer: prefer, options: options)
        }
        return try await batch(entries, prefer: prefer, options: options)
    }

    private func parseEntry(_ value: JSONValue, index: Int) throws(FHIRError) -> BundleEntry {
        let expression = "Bundle.entry[\(index)]"
        guard case .object(let entry) = value else {
            throw FHIRError(.invalid, code: .structure, "each entry must be an object", expression: [expression])
        }
        guard case .object(let request)? = entry["request"] else {
            throw FHIRError(.invalid, code: .required, "the entry has no 'request'; say which method and url it is for", expression: ["\(expression).request"])
        }
        guard let methodText = request["method"]?.stringValue, let method = FHIRRequest.Method(rawValue: methodText), method != .head else {
            throw FHIRError(.invalid, code: .value, "request.method must be GET, POST, PUT, PATCH or DELETE", expression: ["\(expression).request.method"])
        }
        guard let url = request["url"]?.stringValue, !url.isEmpty else {
            throw FHIRError(.invalid, code: .required, "request.url is missing", expression: ["\(expression).request.url"])
        }
        if method == .post || method == .put || method == .patch, entry["resource"] == nil {
            throw FHIRError(.invalid, code: .required, "a \(method.rawValue) entry needs a resource", expression: ["\(expression).resource"])
        }
        return BundleEntry(index: index, fullUrl: entry["fullUrl"]?.stringValue, method: method, url: Self.relative(url, base: baseURL),
                           resource: entry["resource"], ifMatch: request["ifMatch"]?.stringValue,
                           ifNoneExist: request["ifNoneExist"]?.stringValue, ifNoneMatch: request["ifNoneMatch"]?.stringValue)
    }

    /// Entry urls may be absolute on this server's base.
    private static func relative(_ url: String, base: String) -> String {
        url.hasPrefix(base + "/") ? String(url.dropFirst(base.count + 1)) : url
    }

    // MARK: Transaction

    /// Each entry's validation issues by entry index, computed in two halves at once when there are many.
    static func validate(_ entries: [BundleEntry], validator: ResourceValidator) async -> [Int: [FHIRIssue]] {
        func run(_ slice: ArraySlice<BundleEntry>) -> [(Int, [FHIRIssue])] {
            slice.compactMap { entry in entry.resource.map { (entry.index, validator.validate($0)) } }
        }
        guard entries.count >= 16 else { return Dictionary(run(entries[...]), uniquingKeysWith: { a, _ in a }) }
        let half = entries.count / 2
        let entries = entries
        return await withTaskGroup(of: [(Int, [FHIRIssue])].self) { group in
            group.addTask { run(entries[..<half]) }
            group.addTask { run(entries[half...]) }
            var all: [Int: [FHIRIssue]] = [:]
            for await part in group { for (index, issues) in part { all[index] = issues } }
            return all
        }
    }

    private func transaction(_ entries: [BundleEntry], prefer: Prefer, options: TransactionOptions) async throws -> (FHIRResponse, TransactionSummary) {
        var entries = entries
        // 1. Give every created or updated entry its target, so references can point at it.
        var targets: [Int: ResourceKey] = [:]
        var matched: [Int: String] = [:]
        var mapping: [String: String] = [:]
        for entry in entries {
            let target: ResourceKey?
            switch entry.method {
            case .post where try isReadOnlyOperation(entry):
                target = nil
            case .post:
                let type = try entryType(entry)
                if let criteria = try await ifNoneExistCriteria(entry, type: type) {
                    let matches = try await data.find(criteria)
                    if matches.count > 1 {
                        throw FHIRError(.preconditionFailed, code: .multipleMatches,
                                        "\(entry.expression): ifNoneExist '\(entry.ifNoneExist ?? "")' matches \(matches.count) resources", expression: [entry.expression])
                    }
                    if let match = matches.first { matched[entry.index] = match }
                }
                if let match = matched[entry.index] {
                    target = ResourceKey(type: type, id: match)
                } else if options.keepClientIDs, let fullUrl = entry.fullUrl, fullUrl.hasPrefix("urn:uuid:") {
                    target = ResourceKey(type: type, id: try checkEntryID(String(fullUrl.dropFirst(9)), entry))
                } else {
                    target = ResourceKey(type: type, id: Self.newID())
                }
            case .put:
                target = try await putTarget(entry)
            case .delete, .get, .head, .patch:
                target = nil
            }
            if let target {
                targets[entry.index] = target
                if let fullUrl = entry.fullUrl { mapping[fullUrl] = target.description }
            }
        }
        // 2. Resolve references: fullUrls of other entries and conditional references.
        var issues: [FHIRIssue] = []
        var conditionalCache: [String: String] = [:]
        for i in entries.indices {
            guard var resource = entries[i].resource, entries[i].method == .post || entries[i].method == .put else { continue }
            do {
                try await rewriteReferences(in: &resource, entry: entries[i], mapping: mapping, cache: &conditionalCache)
            } catch let error as FHIRError where error.category == .invalid {
                issues.append(contentsOf: error.issues)
            }
            entries[i].resource = resource
        }
        // 3. Validate every resource and report all problems at once; large bundles validate on all cores.
        let prevalidated = await Self.validate(entries.filter { ($0.method == .post || $0.method == .put) && !$0.isOperation }, validator: validator)
        var writes: [(entry: BundleEntry, operation: WriteOperation)] = []
        for entry in entries.sorted(by: { ($0.order, $0.index) < ($1.order, $1.index) }) {
            do {
                switch entry.method {
                case .post, .put:
                    guard let target = targets[entry.index] else { continue }
                    var resource = try validResource(entry.resource, type: target.type, expressionPrefix: "\(entry.expression).resource",
                                                     issues: prevalidated[entry.index])
                    try await requireHeldProfiles(resource, expression: "\(entry.expression).resource")
                    if matched[entry.index] != nil { continue }
                    if entry.method == .put, let bodyID = resource.id, bodyID != target.id {
                        throw FHIRError(.invalid, code: .invalid, "the resource id '\(bodyID)' differs from the id in request.url ('\(target.id)')",
                                        expression: ["\(entry.expression).resource.id"])
                    }
                    resource.set("id", .string(target.id), insertingAt: 1)
                    if entry.method == .post && !options.keepClientIDs {
                        writes.append((entry, .create(resource, type: target.type, id: target.id, ifNoneExist: try await ifNoneExistCriteria(entry, type: target.type))))
                    } else {
                        let ifMatch = try entry.ifMatch.map { (etag: String) throws(FHIRError) -> Int in try Self.version(fromETag: etag) }
                        writes.append((entry, .update(resource, type: target.type, id: target.id, ifMatch: ifMatch)))
                    }
                case .delete:
                    for key in try await deleteTargets(entry) {
                        let ifMatch = try entry.ifMatch.map { (etag: String) throws(FHIRError) -> Int in try Self.version(fromETag: etag) }
                        writes.append((entry, .delete(type: key.type, id: key.id, ifMatch: ifMatch)))
                    }
                case .patch:
                    // Applied to the stored version (not to this transaction's other writes), and written only over it.
                    let request = FHIRRequest(method: .patch, url: entry.url)
                    guard request.path.count == 2, definitions.isResourceType(request.path[0]) else {
                        throw FHIRError(.invalid, code: .invalid, "a PATCH entry's request.url is Type/id; got '\(entry.url)'", expression: ["\(entry.expression).request.url"])
                    }
                    let type = request.path[0], id = try checkEntryID(request.path[1], entry)
                    guard let stored = try await data.read(type: type, id: id), !stored.isDeleted else {
                        throw FHIRError(.invalid, code: .notFound, "\(entry.expression): \(type)/\(id) does not exist; a patch changes an existing resource",
                                        expression: ["\(entry.expression).request.url"])
                    }
                    let patched = try applyPatch(entry.resource ?? .null, to: stored, expression: "\(entry.expression).resource")
                    let resource = try validResource(.object(patched), type: type, expressionPrefix: "\(entry.expression).resource")
                    let ifMatch = try entry.ifMatch.map { (etag: String) throws(FHIRError) -> Int in try Self.version(fromETag: etag) } ?? stored.versionId
                    writes.append((entry, .update(resource, type: type, id: id, ifMatch: ifMatch)))
                case .get, .head:
                    continue
                }
            } catch let error as FHIRError where error.category == .invalid && entry.method != .delete {
                issues.append(contentsOf: error.issues)
            }
        }
        if !issues.isEmpty { throw FHIRError(.invalid, issues: issues) }
        // 4. Write everything in one database transaction.
        let results: [WriteResult]
        do {
            results = try await data.commit(writes.map(\.operation))
        } catch let failure as CommitFailure {
            let entry = writes[failure.index].entry
            throw FHIRError(failure.error.category, issues: failure.error.issues.map { issue in
                var issue = issue
                issue.diagnostics = "\(entry.expression) (\(entry.method.rawValue) \(entry.url)): \(issue.diagnostics); nothing in the transaction was saved"
                issue.expression = [entry.expression]
                return issue
            })
        }
        // 5. Reads come last, and see the transaction's writes.
        var responses: [Int: BundleWriter.Entry] = [:]
        var summary = TransactionSummary()
        summary.entries = entries.count
        for (write, result) in zip(writes, results) {
            summary.outcomes[result.outcome, default: 0] += 1
            responses[write.entry.index] = responseEntry(for: result, entry: write.entry, prefer: prefer)
        }
        for entry in entries where matched[entry.index] != nil {
            summary.outcomes[.matched, default: 0] += 1
            if let target = targets[entry.index], let stored = try await data.read(type: target.type, id: target.id) {
                responses[entry.index] = responseEntry(for: WriteResult(outcome: .matched, resource: stored), entry: entry, prefer: prefer)
            }
        }
        for entry in entries where entry.method == .get || (entry.method == .post && entry.isOperation) {
            var request = FHIRRequest(method: entry.method, url: entry.url)
            request.body = entry.resource
            responses[entry.index] = responseEntry(for: await handle(request))
        }
        var bundle = BundleWriter(type: "transaction-response")
        bundle.entries = entries.map { responses[$0.index] ?? BundleWriter.Entry(response: .object(JSONObject([("status", .string("200 OK"))]))) }
        return (FHIRResponse(status: 200, body: bundle.bytes()), summary)
    }

    /// Whether a POST entry invokes an operation that only reads (`$validate`, `$expand`, `$everything` …): those
    /// run after the commit, as reads do. One that changes data commits on its own, so it cannot be part of the
    /// transaction's all-or-nothing and is refused, by name.
    private func isReadOnlyOperation(_ entry: BundleEntry) throws(FHIRError) -> Bool {
        guard let (level, type, _, name) = Self.operationTarget(FHIRRequest(method: .post, url: entry.url).path) else { return false }
        if name == "validate" { return true }
        guard let operation = operations.entry(level: level, type: type, name: name) else {
            throw FHIRError(.invalid, code: .notSupported, "\(entry.expression): '\(entry.url)' invokes $\(name), which this server does not answer at that level; "
                            + "GET \(baseURL)/metadata lists the operations", expression: ["\(entry.expression).request.url"])
        }
        if operation.descriptor.affectsState {
            throw FHIRError(.invalid, code: .notSupported, "\(entry.expression): $\(name) changes data and commits on its own, so it cannot be part of a transaction's "
                            + "all-or-nothing; send it on its own or in a batch", expression: ["\(entry.expression).request.url"])
        }
        return true
    }

    private func entryType(_ entry: BundleEntry) throws(FHIRError) -> String {
        let type = String(entry.url.split(separator: "?").first ?? "")
        guard definitions.isResourceType(type) else {
            throw FHIRError(.invalid, code: .invalid, "request.url '\(entry.url)' must name a resource type for a POST", expression: ["\(entry.expression).request.url"])
        }
        return type
    }

    private func checkEntryID(_ id: String, _ entry: BundleEntry) throws(FHIRError) -> String {
        if let problem = PrimitiveFormat.problem(type: "id", value: .string(id)) {
            throw FHIRError(.invalid, code: .invalid, problem, expression: ["\(entry.expression).fullUrl"])
        }
        return id
    }

    private func ifNoneExistCriteria(_ entry: BundleEntry, type: String) async throws -> ConditionalCriteria? {
        guard let ifNoneExist = entry.ifNoneExist, !ifNoneExist.isEmpty else { return nil }
        let query = ifNoneExist.split(separator: "?", maxSplits: 1).last.map(String.init) ?? ifNoneExist
        do {
            return try ConditionalCriteria(type: type, query: query)
        } catch {
            throw FHIRError(error.category, code: .invalid, "\(entry.expression).request.ifNoneExist: \(error.issues.first?.diagnostics ?? "")",
                            expression: ["\(entry.expression).request.ifNoneExist"])
        }
    }

    private func putTarget(_ entry: BundleEntry) async throws -> ResourceKey {
        let request = FHIRRequest(method: .put, url: entry.url)
        guard let type = request.path.first, definitions.isResourceType(type) else {
            throw FHIRError(.invalid, code: .invalid, "request.url '\(entry.url)' must start with a resource type", expression: ["\(entry.expression).request.url"])
        }
        if request.path.count == 2 { return ResourceKey(type: type, id: try checkEntryID(request.path[1], entry)) }
        let matches = try await data.find(try ConditionalCriteria(type: type, query: request.criteriaQuery))
        switch matches.count {
        case 0: return ResourceKey(type: type, id: entry.resource?.objectValue?.id ?? Self.newID())
        case 1: return ResourceKey(type: type, id: matches[0])
        default:
            throw FHIRError(.preconditionFailed, code: .multipleMatches, "\(entry.expression): '\(entry.url)' matches \(matches.count) resources",
                            expression: ["\(entry.expression).request.url"])
        }
    }

    private func deleteTargets(_ entry: BundleEntry) async throws -> [ResourceKey] {
        let request = FHIRRequest(method: .delete, url: entry.url)
        guard let type = request.path.first, definitions.isResourceType(type) else {
            throw FHIRError(.invalid, code: .invalid, "request.url '\(entry.url)' must start with a resource type", expression: ["\(entry.expression).request.url"])
        }
        if request.path.count == 2 { return [ResourceKey(type: type, id: request.path[1])] }
        let matches = try await data.find(try ConditionalCriteria(type: type, query: request.criteriaQuery))
        if matches.count > 1 {
            throw FHIRError(.preconditionFailed, code: .multipleMatches, "\(entry.expression): '\(entry.url)' matches \(matches.count) resources",
                            expression: ["\(entry.expression).request.url"])
        }
        return matches.map { ResourceKey(type: type, id: $0) }
    }

    /// Rewrites `urn:uuid:` and other fullUrl references to the entries' targets, and
    /// conditional references (`Type?identifier=…`) to the one resource they match.
    func rewriteReferences(in resource: inout JSONValue, entry: BundleEntry, mapping: [String: String], cache: inout [String: String]) async throws {
        var pending: [String] = []
        var unresolved: [String] = []
        resource.rewriteReferences { reference in
            if let target = mapping[reference] { return target }
            if reference.hasPrefix("urn:uuid:") || reference.hasPrefix("urn:oid:") {
                unresolved.append(reference)
            } else if let question = reference.firstIndex(of: "?"), reference[..<question].allSatisfy(\.isLetter) {
                pending.append(reference)
            }
            return nil
        }
        if let first = unresolved.first {
            throw FHIRError(.invalid, code: .notFound,
                            "\(entry.expression).resource refers to \(first), which is not the fullUrl of any entry in this transaction",
                            expression: ["\(entry.expression).resource"])
        }
        for reference in pending where cache[reference] == nil {
            let question = reference.firstIndex(of: "?")!
            let type = String(reference[..<question])
            try checkType(type)
            let criteria = try ConditionalCriteria(type: type, query: String(reference[reference.index(after: question)...]))
            let matches = try await data.find(criteria)
            guard matches.count == 1 else {
                throw FHIRError(matches.isEmpty ? .invalid : .preconditionFailed, code: matches.isEmpty ? .notFound : .multipleMatches,
                                "\(entry.expression).resource has the conditional reference '\(reference)', which matches \(matches.count) resources; it must match exactly one",
                                expression: ["\(entry.expression).resource"])
            }
            cache[reference] = "\(type)/\(matches[0])"
        }
        if !pending.isEmpty {
            let resolved = cache
            resource.rewriteReferences { resolved[$0] }
        }
    }

    private func responseEntry(for result: WriteResult, entry: BundleEntry, prefer: Prefer) -> BundleWriter.Entry {
        guard let stored = result.resource else {
            return BundleWriter.Entry(response: .object(JSONObject([("status", .string("204 No Content"))])))
        }
        let status: Int
        switch result.outcome {
        case .created: status = 201
        case .deleted: status = 204
        default: status = 200
        }
        var response = JSONObject([("status", .string(StatusMapping.statusLine(status)))])
        if !stored.isDeleted {
            response["location"] = .string("\(stored.type)/\(stored.id)/_history/\(stored.versionId)")
        }
        response["etag"] = .string("W/\"\(stored.versionId)\"")
        response["lastModified"] = .string(stored.lastUpdatedInstant)
        let include = prefer.returnPreference == .representation && !stored.isDeleted
        return BundleWriter.Entry(fullUrl: stored.isDeleted ? nil : "\(baseURL)/\(stored.type)/\(stored.id)",
                                  resource: include ? stored.json : nil, response: .object(response))
    }

    private func responseEntry(for response: FHIRResponse) -> BundleWriter.Entry {
        var members = JSONObject([("status", .string(StatusMapping.statusLine(response.status)))])
        if let location = response.location { members["location"] = .string(location) }
        if let etag = response.etag { members["etag"] = .string(etag) }
        if let lastModified = response.lastModified { members["lastModified"] = .string(Instant.format(milliseconds: lastModified)) }
        if response.isError, let body = response.body, case .object(let outcome)? = try? JSONParser.parse(body) {
            members["outcome"] = .object(outcome)
            return BundleWriter.Entry(response: .object(members))
        }
        return BundleWriter.Entry(resource: response.body, response: .object(members))
    }

    // MARK: Batch

    /// Each entry on its own: one failing entry does not stop the others.
    private func batch(_ entries: [BundleEntry], prefer: Prefer, options: TransactionOptions) async throws -> (FHIRResponse, TransactionSummary) {
        var responses: [Int: BundleWriter.Entry] = [:]
        var summary = TransactionSummary()
        summary.entries = entries.count
        for entry in entries.sorted(by: { ($0.order, $0.index) < ($1.order, $1.index) }) {
            var request = FHIRRequest(method: entry.method, url: entry.url)
            var resourceID: String?
            if options.keepClientIDs, entry.method == .post, entry.ifNoneExist == nil, let fullUrl = entry.fullUrl, fullUrl.hasPrefix("urn:uuid:") {
                // Importing: the client's id makes a second load an unchanged update, not a duplicate.
                resourceID = String(fullUrl.dropFirst(9))
                request = FHIRRequest(method: .put, path: request.path + [resourceID!])
            }
            request.ifMatch = entry.ifMatch
            request.ifNoneExist = entry.ifNoneExist
            request.ifNoneMatch = entry.ifNoneMatch
            request.prefer = prefer
            var response: FHIRResponse
            do {
                if var resource = entry.resource {
                    if let resourceID, case .object(var object) = resource {
                        object.set("id", .string(resourceID), insertingAt: 1)
                        resource = .object(object)
                    }
                    var cache: [String: String] = [:]
                    try await rewriteReferences(in: &resource, entry: entry, mapping: [:], cache: &cache)
                    request.body = resource
                }
                response = await handle(request)
            } catch let error as FHIRError {
                response = .outcome(error)
            }
            if let outcome = response.outcome { summary.outcomes[outcome, default: 0] += 1 }
            if response.isError, let body = response.body {
                summary.failures.append("\(entry.expression) (\(entry.method.rawValue) \(entry.url)): \(String(decoding: body, as: UTF8.self))")
            }
            responses[entry.index] = responseEntry(for: response)
        }
        var bundle = BundleWriter(type: "batch-response")
        bundle.entries = entries.map { responses[$0.index]! }
        return (FHIRResponse(status: 200, body: bundle.bytes()), summary)
    }
}
