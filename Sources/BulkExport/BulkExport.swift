public import Access
import Foundation
public import FHIRCore
import StoreModel

/// The export module (its own room): FHIR Bulk Data `$export` for the region's data platform — system, Patient and
/// Group level, `_type`, `_since`, `_typeFilter`, NDJSON files kept for a configured time — run in the background on
/// the kick-off client's gateway session, so an export holds only what that client may read, the spärr holds, and
/// each patient exported is one audited access ("export"). `$omop-export` runs the OMOP CDM export as the same kind of job.
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
            OperationDescriptor(name: "omop-export", resourceType: nil, level: .system, affectsState: false,
                                parameters: ["pseudonymise:boolean", "shiftDates:boolean", "shiftDays:integer", "includeText:boolean", "format:code"],
                                documentation: "OMOP CDM v5.4 export of everything the client may read: one CSV file per CDM table and load-duckdb.sql, or with format=duckdb one DuckDB database file (asynchronous: Prefer: respond-async; as karna export omop)",
                                module: name, standardDefinition: nil),
        ]
    }

    public func answer(_ call: OperationCall) async throws -> OperationAnswer {
        guard call.name == "export" || call.name == "omop-export" else { throw call.unsupported() }
        // Bulk clients are backend services (SMART Backend Services, system/*.rs): a user's session exports nothing in bulk.
        guard call.session.principal.kind == .system else {
            throw FHIRError(.forbidden, code: .forbidden, "$\(call.name) is for backend services authorised with SMART Backend Services (system/*.rs scopes), not for a user or patient token")
        }
        if call.name == "omop-export" { return try await omop(call) }
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

    /// `$omop-export`: `karna export omop` as a job of the same kind as `$export` (polled, its files listed in the
    /// manifest by table, downloaded with the same authorisation, removed after the retention time).
    private func omop(_ call: OperationCall) async throws -> OperationAnswer {
        guard call.respondAsync else {
            throw FHIRError(.invalid, code: .required, "$omop-export runs asynchronously: send the header 'Prefer: respond-async'", expression: ["Prefer"])
        }
        let shiftDays = try call.input.int("shiftDays") ?? 180
        guard (1...3_650).contains(shiftDays) else {
            throw FHIRError(.invalid, code: .value, "shiftDays must be between 1 and 3650; got \(shiftDays)", expression: ["shiftDays"])
        }
        // `format=duckdb`: the tables as one DuckDB database file, as `karna export omop --out FILE.duckdb` writes it;
        // DuckDB is found before the job starts, so a server without it refuses at once and says what to install.
        let format = call.input["format"] ?? "csv"
        guard ["csv", "duckdb"].contains(format) else {
            throw FHIRError(.invalid, code: .value, "format must be csv (a CSV file per CDM table and load-duckdb.sql) or duckdb (one DuckDB database file); got '\(format)'",
                            expression: ["format"])
        }
        var duckdb: DuckDBFile?
        if format == "duckdb" {
            do {
                duckdb = try DuckDBFile.find(asked: "format=duckdb", otherwise: "or ask for format=csv and load the files with load-duckdb.sql")
            } catch let failure as DuckDBFile.Failure {
                throw FHIRError(.invalid, code: .notSupported, "this server cannot write DuckDB files: \(failure.description)", expression: ["format"])
            }
        }
        let export = try OMOPExport(options: .init(pseudonymise: try call.input.bool("pseudonymise", default: false), shiftDates: try call.input.bool("shiftDates", default: false),
                                                   shiftDays: shiftDays, includeText: try call.input.bool("includeText", default: false), patientsPerBatch: settings.patientsPerBatch))
        let job = try await exportJobs.start(try ExportRequest(call, definitions: definitions), client: call.session.principal.id)
        let (jobs, session) = (exportJobs, call.session)
        Task.detached {
            do {
                // Cancellation and progress after each batch of patients, as `$export` has them.
                let folder = await jobs.folder(job.id)
                let summary = try await export.write(directory: folder, session: session) { done in
                    if await jobs.isCancelled(job.id) { throw ExportCancelled() }
                    await jobs.progress(job.id, patients: done)
                }
                if let duckdb {
                    // The database replaces the files it was loaded from: one output, the folder's disk once.
                    try await duckdb.loadAside(tables: folder, into: folder.appendingPathComponent(OMOPExport.databaseFile))
                    for table in OMOPExport.tables { try? FileManager.default.removeItem(at: folder.appendingPathComponent("\(table).csv")) }
                    await jobs.finish(job.id, outputs: [ExportJob.Output(type: "duckdb", file: OMOPExport.databaseFile, count: summary.persons)], failure: nil)
                    return
                }
                let tables = OMOPExport.tables.map { ExportJob.Output(type: $0, file: "\($0).csv", count: summary.rows[$0] ?? 0) }
                await jobs.finish(job.id, outputs: tables + [ExportJob.Output(type: "load-duckdb", file: "load-duckdb.sql", count: 1)], failure: nil)
            } catch let failure as DuckDBFile.Failure {
                await jobs.finish(job.id, outputs: [], failure: failure.description)
            } catch {
                await jobs.finish(job.id, outputs: [], failure: (error as? FHIRError)?.issues.first?.diagnostics ?? "the store or the export folder failed: \(type(of: error))")
            }
        }
        return .accepted(owner: exportJobs.owner, job: job.id)
    }
}
