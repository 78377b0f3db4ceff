public import Access
public import FHIRCore
import StoreModel

/// The export module (its own room): FHIR Bulk Data `$export` for the region's data platform — system, Patient and
/// Group level, `_type`, `_since`, `_typeFilter`, NDJSON files kept for a configured time — run in the background on
/// the kick-off client's gateway session, so an export holds only what that client may read, the spärr holds, and
/// each patient exported is one audited access ("export").
public struct BulkExport: ClinicalModule {
    public let name = "BulkExport"
    public let settings: ExportSettings
    let exportJobs: ExportJobs
    let definitions: Definitions

    /// `clock` (ms since 1970) decides when a finished job's files are removed; tests move it on.
    public init(settings: ExportSettings = ExportSettings(), definitions: Definitions = .r4, clock: @escaping @Sendable () -> Int64 = { Instant.now() }) {
        self.settings = settings
        self.definitions = definitions
        exportJobs = ExportJobs(settings: settings, clock: clock)
    }

    public var jobs: (any AsyncJobs)? { exportJobs }

    public var operations: [OperationDescriptor] {
        let parameters = ["_outputFormat:string", "_since:instant", "_type:string*", "_typeFilter:string*"]
        return [
            OperationDescriptor(name: "export", resourceType: nil, level: .system, affectsState: false, parameters: parameters,
                                documentation: "Bulk Data export of everything the client may read, as NDJSON files per type (asynchronous: Prefer: respond-async)",
                                module: name, standardDefinition: "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export"),
            OperationDescriptor(name: "export", resourceType: "Patient", level: .type, affectsState: false, parameters: parameters,
                                documentation: "Bulk Data export of every patient's compartment the client may read (asynchronous: Prefer: respond-async)",
                                module: name, standardDefinition: "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export"),
            OperationDescriptor(name: "export", resourceType: "Group", level: .instance, affectsState: false, parameters: parameters,
                                documentation: "Bulk Data export of the compartments of the Group's member patients (asynchronous: Prefer: respond-async)",
                                module: name, standardDefinition: "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export"),
        ]
    }

    public func answer(_ call: OperationCall) async throws -> OperationAnswer {
        guard call.name == "export" else { throw call.unsupported() }
        // Bulk clients are backend services (SMART Backend Services, system/*.rs): a user's session exports nothing in bulk.
        guard call.session.principal.kind == .system else {
            throw FHIRError(.forbidden, code: .forbidden, "$export is for backend services authorised with SMART Backend Services (system/*.rs scopes), not for a user or patient token")
        }
        let request = try ExportRequest(call, definitions: definitions)
        if let group = request.groupID {
            guard let stored = try await call.session.read(type: "Group", id: group), !stored.isDeleted else {
                throw FHIRError(.notFound, code: .notFound, "Group/\(group) does not exist")
            }
        }
        let filters = try ExportRun.filters(of: request, definitions: definitions)
        let job = try await exportJobs.start(request, client: call.session.principal.id)
        let run = ExportRun(job: job, session: call.session, jobs: exportJobs, settings: settings, definitions: definitions, filters: filters)
        Task.detached { await run.run() }
        return .accepted(owner: exportJobs.owner, job: job.id)
    }
}
