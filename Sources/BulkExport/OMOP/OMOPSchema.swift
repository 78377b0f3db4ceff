import FHIRCore
import Foundation

/// The OMOP CDM v5.4 tables as the official DuckDB DDL declares them: each table's columns in order, with their
/// types, lengths and whether they are required. Read from the shipped DDL, so the files follow it as it is.
struct OMOPSchema: Sendable {
    /// One column of a CDM table.
    struct Column: Sendable {
        var name: String
        var type: String
        /// `varchar(n)`'s n: longer source values are cut to it, as any CDM database would refuse them.
        var length: Int?
        var required: Bool
    }

    var tables: [String: [Column]]
    var ddl: String
    var primaryKeys: String

    static func shipped() throws -> OMOPSchema {
        func text(_ name: String) throws -> String {
            guard let url = Bundle.module.url(forResource: name, withExtension: "sql", subdirectory: "OMOPData") else {
                throw FHIRError(.internalError, code: .exception, "the OMOP CDM definitions (\(name).sql) are missing from the BulkExport bundle")
            }
            return try String(contentsOf: url, encoding: .utf8)
        }
        let ddl = try text("OMOPCDM_duckdb_5.4_ddl")
        return OMOPSchema(tables: parse(ddl), ddl: ddl, primaryKeys: try text("OMOPCDM_duckdb_5.4_primary_keys"))
    }

    /// `CREATE TABLE @cdmDatabaseSchema.person (` … `person_id integer NOT NULL,` … `);`
    static func parse(_ ddl: String) -> [String: [Column]] {
        var tables: [String: [Column]] = [:], current: String?
        for raw in ddl.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("CREATE TABLE"), let dot = line.firstIndex(of: "."), let paren = line.firstIndex(of: "(") {
                current = line[line.index(after: dot)..<paren].trimmingCharacters(in: .whitespaces).lowercased()
                tables[current!] = []
                continue
            }
            guard let table = current, !line.isEmpty, !line.hasPrefix("--") else { continue }
            let words = line.split(separator: " ").map(String.init)
            guard words.count >= 3 else { continue }
            let type = words[1].lowercased()
            var length: Int?
            if type.hasPrefix("varchar("), let close = type.firstIndex(of: ")") { length = Int(type[type.index(type.startIndex, offsetBy: 8)..<close]) }
            tables[table]!.append(Column(name: words[0].replacingOccurrences(of: "\"", with: ""), type: type, length: length, required: line.contains("NOT NULL")))
            if line.hasSuffix(");") { current = nil }
        }
        return tables
    }

    /// The script that makes a DuckDB database of the files: the DDL as published, the CSV files, then the primary keys
    /// (which DuckDB checks as they are added: a duplicate fails the load).
    func loadScript(tables written: [String]) -> String {
        var script = ["-- Load with: duckdb karna-omop.duckdb < load-duckdb.sql (run in this directory)", ddl.replacingOccurrences(of: "@cdmDatabaseSchema.", with: "")]
        for table in written {
            script.append("COPY \(table) FROM '\(table).csv' (HEADER, DELIMITER ',', QUOTE '\"', ESCAPE '\"', NULL '');")
        }
        script.append(primaryKeys.replacingOccurrences(of: "@cdmDatabaseSchema.", with: ""))
        return script.joined(separator: "\n") + "\n"
    }
}

/// One CDM table as a CSV file (RFC 4180, a header of the DDL's columns, an empty field for NULL), written through a buffer.
final class OMOPTableFile: @unchecked Sendable {
    // Used by one export task only: a handle on a file, not shared state.
    let table: String
    let columns: [OMOPSchema.Column]
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private(set) var rows = 0

    init(table: String, columns: [OMOPSchema.Column], folder: URL) throws {
        let url = folder.appendingPathComponent("\(table).csv")
        guard FileManager.default.createFile(atPath: url.path, contents: nil), let handle = FileHandle(forWritingAtPath: url.path) else {
            throw FHIRError(.internalError, code: .exception, "\(url.path) cannot be written")
        }
        self.table = table
        self.columns = columns
        self.handle = handle
        buffer += Array((columns.map(\.name).joined(separator: ",") + "\n").utf8)
    }

    /// One row by column name; a column not given is NULL. A required column left out is the exporter's fault, not the data's.
    func write(_ values: [String: String?]) throws {
        var fields: [String] = []
        for column in columns {
            guard let value = values[column.name] ?? nil, !value.isEmpty else {
                if column.required { throw FHIRError(.internalError, code: .exception, "OMOP \(table).\(column.name) is required but the export gave no value") }
                fields.append("")
                continue
            }
            var text = value
            if let length = column.length, text.count > length { text = String(text.prefix(length)) }
            let quoted = text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) || column.type.hasPrefix("varchar") || column.type == "text"
            fields.append(quoted ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text)
        }
        buffer += Array((fields.joined(separator: ",") + "\n").utf8)
        rows += 1
        if buffer.count >= 1_048_576 { try flush() }
    }

    private func flush() throws {
        try handle.write(contentsOf: buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    func close() throws {
        try flush()
        try handle.close()
    }
}
