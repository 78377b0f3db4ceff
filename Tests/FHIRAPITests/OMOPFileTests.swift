@testable import BulkExport
import FHIRCore
import Foundation
import Testing

/// The OMOP files follow the official DDL as it is: its columns in order, lengths kept, NULL as an empty field.
@Suite("OMOP CDM files")
struct OMOPFileTests {
    @Test("the shipped DDL gives every CDM table the export writes, with its columns in order and which are required")
    func schema() throws {
        let schema = try OMOPSchema.shipped()
        #expect(schema.tables.count == 39)
        for table in OMOPExport.tables { #expect(schema.tables[table] != nil, "\(table)") }
        let person = try #require(schema.tables["person"])
        #expect(person.prefix(3).map(\.name) == ["person_id", "gender_concept_id", "year_of_birth"])
        #expect(person.first { $0.name == "person_source_value" }?.length == 50 && person.first { $0.name == "month_of_birth" }?.required == false)
        #expect(schema.tables["note_nlp"]?.contains { $0.name == "offset" } == true, "a quoted column name")
        let script = schema.loadScript(tables: ["person"])
        #expect(script.contains("CREATE TABLE person (") && !script.contains("@cdmDatabaseSchema"))
        #expect(script.contains("COPY person FROM 'person.csv'") && script.contains("ALTER TABLE person ADD CONSTRAINT xpk_person PRIMARY KEY (person_id);"))
    }

    @Test("a row is written in the DDL's column order, text quoted, too long a value cut to its length, a missing required value refused")
    func rows() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("karna-omop-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let columns = try #require(try OMOPSchema.shipped().tables["care_site"])
        let file = try OMOPTableFile(table: "care_site", columns: columns, folder: folder)
        try file.write(["care_site_id": "1", "care_site_name": "Vårdcentralen \"Norr\", Kärna" + String(repeating: "x", count: 300)])
        #expect(throws: FHIRError.self) { try file.write(["care_site_name": "no id"]) }
        try file.close()
        let lines = try String(contentsOf: folder.appendingPathComponent("care_site.csv"), encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines.count == 2)
        #expect(lines[0] == "care_site_id,care_site_name,place_of_service_concept_id,location_id,care_site_source_value,place_of_service_source_value")
        let name = "Vårdcentralen \"\"Norr\"\", Kärna" + String(repeating: "x", count: 255 - "Vårdcentralen \"Norr\", Kärna".count)
        #expect(lines[1] == "1,\"\(name)\",,,,")
    }
}
