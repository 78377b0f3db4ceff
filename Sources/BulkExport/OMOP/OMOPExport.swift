public import Access
import FHIRCore
public import Foundation
import StoreModel

/// The OMOP CDM v5.4 export (`karna export omop`): every patient the session may read, as the CDM's tables in CSV
/// files beside the script that loads them into DuckDB with the official DDL and primary keys. Read a batch of
/// patients at a time through the gateway as a disclosure (the spärr holds), audited once per patient ("omop-export").
/// Codes stay as they were recorded (`*_source_value`) with concept 0, listed in `source_to_concept_map`; the few
/// standard concepts the export sets come from `omop-mapping.json`.
public struct OMOPExport: Sendable {
    /// What the researchers get.
    public struct Options: Sendable {
        /// Person ids are never derived from personnummer; pseudonymised, no source value names the patient or the practitioner either.
        public var pseudonymise: Bool
        /// Each person's dates moved by one random number of days (±`shiftDays`), the same for all their records.
        public var shiftDates: Bool
        public var shiftDays: Int
        /// Free text (notes, free-text dosage, text answers) is left out unless asked for.
        public var includeText: Bool
        public var patientsPerBatch: Int

        public init(pseudonymise: Bool = false, shiftDates: Bool = false, shiftDays: Int = 180, includeText: Bool = false, patientsPerBatch: Int = 100) {
            self.pseudonymise = pseudonymise
            self.shiftDates = shiftDates
            self.shiftDays = shiftDays
            self.includeText = includeText
            self.patientsPerBatch = patientsPerBatch
        }
    }

    /// What was written.
    public struct Summary: Sendable {
        public var persons = 0
        public var rows: [String: Int] = [:]
        /// Patients without a birth date: the CDM has no person without a year of birth.
        public var skippedPatients = 0
        /// Records dated before the birth or after the death, or without a date: not a plausible event of the person.
        public var skippedRecords = 0
    }

    let options: Options
    let mapping: OMOPMapping
    let schema: OMOPSchema

    public init(options: Options = Options()) throws {
        self.options = options
        mapping = try OMOPMapping.shipped()
        schema = try OMOPSchema.shipped()
    }

    /// The database file `format=duckdb` writes into a job's folder.
    static let databaseFile = "omop.duckdb"

    /// The tables the export writes (the clinical and health-system tables the CDM defines, and its metadata).
    static let tables = ["person", "observation_period", "visit_occurrence", "visit_detail", "condition_occurrence", "procedure_occurrence", "drug_exposure",
                         "measurement", "observation", "note", "death", "location", "care_site", "provider", "cdm_source", "source_to_concept_map"]

    /// Writes the CSV files and `load-duckdb.sql` into `directory` (created if missing). `committed` hears how many
    /// patients are done after each batch; what it throws (a job cancelled) stops the export there.
    public func write(directory: URL, session: PatientDataSession, committed: (_ done: Int) async throws -> Void = { _ in }) async throws -> Summary {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var files: [String: OMOPTableFile] = [:]
        for table in Self.tables {
            guard let columns = schema.tables[table] else { throw FHIRError(.internalError, code: .exception, "the OMOP DDL has no table \(table)") }
            files[table] = try OMOPTableFile(table: table, columns: columns, folder: directory)
        }
        var writer = OMOPRows(options: options, mapping: mapping, files: files, today: SwedishTime.today)
        try await writer.directory(session: session)
        try await session.forEachPatientBatch(size: options.patientsPerBatch, action: "omop-export") { batch, patients in
            for patient in patients where !patient.isDeleted {
                var records: [StoredResource] = []
                var next: ResourceKey?
                repeat {
                    let page = try await batch.compartmentPage(patientID: patient.id, since: nil, after: next, limit: 1_000)
                    records += page.resources.filter { $0.type != "Patient" && !$0.isDeleted }
                    next = page.next
                } while next != nil
                try writer.person(patient.object, records: records.map(\.object))
            }
        } committed: { done in try await committed(done) }
        try writer.finish()
        for file in files.values { try file.close() }
        try Data(schema.loadScript(tables: Self.tables).utf8).write(to: directory.appendingPathComponent("load-duckdb.sql"), options: .atomic)
        var summary = writer.summary
        summary.rows = files.mapValues(\.rows)
        return summary
    }
}

/// The mapping data (`omop-mapping.json`).
struct OMOPMapping: Codable, Sendable {
    struct Source: Codable, Sendable {
        var name: String
        var abbreviation: String
        var holder: String
        var documentation: String
    }

    var gender: [String: Int]
    var visitClass: [String: Int]
    var ehrTypeConcept: Int
    var cdmVersionConcept: Int
    var vocabularies: [String: String]
    var source: Source

    static func shipped() throws -> OMOPMapping {
        guard let url = Bundle.module.url(forResource: "omop-mapping", withExtension: "json", subdirectory: "OMOPData") else {
            throw FHIRError(.internalError, code: .exception, "omop-mapping.json is missing from the BulkExport bundle")
        }
        return try JSONDecoder().decode(OMOPMapping.self, from: Data(contentsOf: url))
    }
}
