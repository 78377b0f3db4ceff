import Access
import FHIRCore
import Foundation
import StoreModel

/// One export's reading and writing, in the background after the kick-off answered: the patients a batch at a time,
/// each patient's compartment streamed from the store into one NDJSON file per type, every read through the
/// kick-off principal's gateway session as a disclosure (the spärr holds) and audited once per patient per batch.
/// Memory stays bounded by the batch, not the export.
struct ExportRun: Sendable {
    let job: ExportJob
    let session: PatientDataSession
    let jobs: ExportJobs
    let settings: ExportSettings
    let definitions: Definitions
    /// `_typeFilter` as searches, per type, parsed once for the whole job rather than per patient.
    let filters: [String: [SearchQuery]]

    /// A request's `_typeFilter` searches, parsed (before its job starts, so a search the store cannot take refuses the kick-off).
    static func filters(of request: ExportRequest, definitions: Definitions) throws -> [String: [SearchQuery]] {
        try request.typeFilters.mapValues { searches in
            try searches.map { filter in
                let (type, parameters) = try ExportRequest.parseFilter(filter, definitions: definitions)
                return try SearchQuery.parse(type: type, parameters: parameters, strict: true, definitions: definitions)
            }
        }
    }

    /// Runs to the end and tells the jobs how it went; never throws.
    func run() async {
        let writer = NDJSONWriter(folder: await jobs.folder(job.id))
        do {
            let members = try await export(into: writer)
            let deleted = try await exportDeletions(members: members)
            await jobs.finish(job.id, outputs: try writer.close(), deleted: deleted, failure: nil)
        } catch {
            _ = try? writer.close()
            await jobs.finish(job.id, outputs: [], failure: Self.reason(error))
        }
    }

    /// Why a job stopped, as its status tells the client.
    private static func reason(_ error: any Error) -> String {
        switch error {
        case is ExportCancelled: "cancelled"
        case let error as FHIRError: error.issues.first?.diagnostics ?? "refused"
        default: "the store or the export folder failed: \(type(of: error))"
        }
    }

    private var request: ExportRequest { job.request }
    private var wanted: Set<String> { Set(request.types ?? ExportRequest.types(of: request.level, definitions: definitions)) }

    /// Writes the records; answers the Group's members (nil at system and Patient level).
    private func export(into writer: NDJSONWriter) async throws -> Set<String>? {
        var members: [String]?
        switch request.level {
        case .system, .patient:
            try await session.forEachPatientBatch(size: settings.patientsPerBatch, action: "export", { batch, patients in
                try await exportPatients(patients, session: batch, into: writer)
            }, committed: step)
        case .group:
            let group = try await groupMembers()
            members = group
            var done = 0
            for start in stride(from: 0, to: group.count, by: settings.patientsPerBatch) {
                let audit = RequestAudit()
                let batch = session.disclosing(action: "export", audit: audit)
                let keys = group[start..<min(start + settings.patientsPerBatch, group.count)].map { ResourceKey(type: "Patient", id: $0) }
                let patients = try await batch.read(keys: keys).filter { !$0.isDeleted }
                try await exportPatients(patients, session: batch, into: writer)
                try await session.commitAudit(audit)
                done += patients.count
                try await step(done)
            }
        }
        if request.level == .system { try await exportDirectory(into: writer) }
        return members.map(Set.init)
    }

    /// With `_since`: what was deleted since and before the export began, of the types wanted (at Patient and Group
    /// level only patients' records, and a Group's only its members'), as transaction Bundles of DELETE entries, a
    /// thousand to a line, in `deleted.ndjson` (Bulk Data IG v2, the manifest's `deleted`).
    private func exportDeletions(members: Set<String>?) async throws -> ExportJob.Output? {
        guard let since = request.since else { return nil }
        let wanted = self.wanted
        var entries: [JSONValue] = [], bundles = 0, keys = Set<ResourceKey>()
        let writer = NDJSONWriter(folder: await jobs.folder(job.id))
        func flush() throws {
            guard !entries.isEmpty else { return }
            try writer.write(line: JSONWriter.bytes(.object(JSONObject([("resourceType", .string("Bundle")), ("id", .string(UUID().uuidString.lowercased())),
                                                                          ("type", .string("transaction")), ("entry", .array(entries))]))), as: "deleted")
            entries = []
            bundles += 1
        }
        var query = HistoryQuery(since: since, before: job.transactionTime, count: 1_000)
        while true {
            let (versions, next) = try await session.deletions(query)
            for version in versions where wanted.contains(version.type) && keys.insert(version.key).inserted {
                switch request.level {
                case .system: break
                case .patient: guard version.patientID != nil else { continue }
                case .group: guard let patient = version.patientID, members?.contains(patient) == true else { continue }
                }
                entries.append(.object(JSONObject([("request", .object(JSONObject([("method", .string("DELETE")), ("url", .string("\(version.type)/\(version.id)"))])))])))
                if entries.count == 1_000 { try flush() }
            }
            guard let next else { break }
            query.beforeSequence = next
        }
        try flush()
        _ = try writer.close()
        return bundles == 0 ? nil : ExportJob.Output(type: "Bundle", file: "deleted.ndjson", count: bundles)
    }

    private func step(_ done: Int) async throws {
        if await jobs.isCancelled(job.id) { throw ExportCancelled() }
        await jobs.progress(job.id, patients: done)
    }

    /// The Group's members that are patients (`member.entity` Patient references).
    private func groupMembers() async throws -> [String] {
        guard let id = request.groupID, let group = try await session.read(type: "Group", id: id), !group.isDeleted else {
            throw FHIRError(.notFound, code: .notFound, "Group/\(request.groupID ?? "") does not exist")
        }
        var seen = Set<String>()
        return (group.object["member"]?.arrayValue ?? []).compactMap { member -> String? in
            guard let reference = member.objectValue?["entity"]?.objectValue?["reference"]?.stringValue, reference.hasPrefix("Patient/") else { return nil }
            let id = String(reference.dropFirst("Patient/".count))
            return seen.insert(id).inserted ? id : nil
        }
    }

    /// Each patient: the Patient itself, then the compartment's records of the types wanted (filtered types by their searches).
    private func exportPatients(_ patients: [StoredResource], session: PatientDataSession, into writer: NDJSONWriter) async throws {
        let wanted = self.wanted
        for patient in patients {
            if wanted.contains("Patient") {
                if filters["Patient"] != nil {
                    for stored in try await filtered("Patient", patientID: patient.id, session: session) { try await write(stored, into: writer, session: session) }
                } else if request.since.map({ patient.lastUpdated >= $0 }) ?? true {
                    try await write(patient, into: writer, session: session)
                }
            }
            var after: ResourceKey?
            while true {
                let (page, next) = try await session.compartmentPage(patientID: patient.id, since: request.since, after: after, limit: 1_000)
                for stored in page where stored.type != "Patient" && wanted.contains(stored.type) && filters[stored.type] == nil {
                    try await write(stored, into: writer, session: session)
                }
                guard let next else { break }
                after = next
            }
            for type in filters.keys.sorted() where type != "Patient" && wanted.contains(type) {
                for stored in try await filtered(type, patientID: patient.id, session: session) { try await write(stored, into: writer, session: session) }
            }
        }
    }

    /// The patient's records of `type` matching any of its `_typeFilter` searches (each record once).
    private func filtered(_ type: String, patientID: String, session: PatientDataSession) async throws -> [StoredResource] {
        var found: [StoredResource] = [], seen = Set<String>()
        for filter in filters[type] ?? [] {
            var query = try sinceQuery(filter)
            if type == "Patient" {
                query.filters.append(.ids([patientID]))
            } else {
                let parameters = definitions.patientCompartment[type] ?? []
                query.filters.append(.anyOf(parameters.map { .values(parameter: $0, type: "reference", modifier: nil, values: [.reference(type: "Patient", id: patientID, url: nil)]) }))
            }
            for stored in try await session.everyMatch(query) where seen.insert(stored.id).inserted { found.append(stored) }
        }
        return found
    }

    /// At system level, what belongs to no patient: the organisation, practitioners, locations, medications, code systems,
    /// and the records of compartment types that name no patient (a practitioner's Schedule, an Appointment of no patient).
    private func exportDirectory(into writer: NDJSONWriter) async throws {
        let compartment = Set(definitions.patientCompartment.keys).union(["Patient"])
        let unfiltered = wanted.intersection(compartment).filter { filters[$0] == nil }.sorted()
        var after: ResourceKey?
        while !unfiltered.isEmpty {
            if await jobs.isCancelled(job.id) { throw ExportCancelled() }
            let (page, next) = try await session.outsideCompartmentsPage(types: unfiltered, since: request.since, after: after, limit: 1_000)
            for stored in page { try await write(stored, into: writer, session: session) }
            guard let next else { break }
            after = next
        }
        // The rest by search: types outside the compartment, and compartment types with a `_typeFilter` (whose
        // matches that belong to a patient were written with the patient).
        for type in wanted.subtracting(unfiltered).sorted() {
            if await jobs.isCancelled(job.id) { throw ExportCancelled() }
            let inCompartment = compartment.contains(type)
            let queries = try (filters[type] ?? [SearchQuery(type: type)]).map(sinceQuery)
            var seen = Set<String>()
            for query in queries {
                for stored in try await session.everyMatch(query) where (!inCompartment || stored.patientID == nil) && seen.insert(stored.id).inserted {
                    try await write(stored, into: writer, session: session)
                }
            }
        }
    }

    /// A record changed after the export began is written as it was then (the manifest's `transactionTime`: the IG
    /// includes what changed up to it and nothing after), or not at all if it did not exist then; the client's next
    /// export `_since` that time brings the change.
    private func write(_ stored: StoredResource, into writer: NDJSONWriter, session: PatientDataSession) async throws {
        guard stored.lastUpdated > job.transactionTime else { return try writer.write(stored) }
        let (versions, _) = try await session.history(HistoryQuery(type: stored.type, id: stored.id, before: job.transactionTime, count: 1))
        guard let then = versions.first, !then.isDeleted, request.since.map({ then.lastUpdated >= $0 }) ?? true else { return }
        try writer.write(then)
    }

    /// The search with `_since` added.
    private func sinceQuery(_ query: SearchQuery) throws -> SearchQuery {
        guard let since = request.since else { return query }
        var query = query
        query.filters += try SearchQuery.parse(type: query.type, parameters: [("_lastUpdated", "ge" + Instant.format(milliseconds: since))], strict: true,
                                               definitions: definitions).filters
        return query
    }
}

struct ExportCancelled: Error {}

/// One NDJSON file per resource type in the job's folder, written through a buffer of about a mebibyte per type.
final class NDJSONWriter: @unchecked Sendable {
    // Used by one runner task only: the class is a handle on files, not shared state.
    private let folder: URL
    private var files: [String: (handle: FileHandle, buffer: [UInt8], count: Int)] = [:]
    private var order: [String] = []

    init(folder: URL) { self.folder = folder }

    func write(_ stored: StoredResource) throws {
        // One resource per line: a stored version with a line break inside (a client's pretty JSON) is written compactly.
        try write(line: stored.json.contains(10) ? JSONWriter.bytes(.object(stored.object)) : stored.json, as: stored.type)
    }

    /// One line of the file `<name>.ndjson`.
    func write(line: [UInt8], as name: String) throws {
        if files[name] == nil {
            let url = folder.appendingPathComponent("\(name).ndjson")
            guard FileManager.default.createFile(atPath: url.path, contents: nil), let handle = FileHandle(forWritingAtPath: url.path) else {
                throw FHIRError(.internalError, code: .exception, "the export file \(url.lastPathComponent) cannot be written in the export folder (export-dir)")
            }
            files[name] = (handle, [], 0)
            order.append(name)
        }
        files[name]!.buffer += line
        files[name]!.buffer.append(10)
        files[name]!.count += 1
        if files[name]!.buffer.count >= 1_048_576 { try flush(name) }
    }

    private func flush(_ type: String) throws {
        guard let file = files[type], !file.buffer.isEmpty else { return }
        try file.handle.write(contentsOf: file.buffer)
        files[type]!.buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes and closes every file; the outputs in the order their types first appeared.
    func close() throws -> [ExportJob.Output] {
        var outputs: [ExportJob.Output] = []
        for type in order {
            try flush(type)
            try files[type]?.handle.close()
            outputs.append(ExportJob.Output(type: type, file: "\(type).ndjson", count: files[type]?.count ?? 0))
        }
        files = [:]
        return outputs
    }
}
