public import Access
import FHIRCore
public import Foundation
import StoreModel

/// The monthly delivery to Socialstyrelsen's patientregister (PAR): for a delivery month, the three months before it
/// (rolling), inpatient stays discharged in them (slutenvård) and doctor visits at the hospitals' units (öppenvård,
/// with the emergency department's times), with their diagnoses and procedures, as semicolon-separated files laid out
/// by `par.json`. Primary care is not reported; an emergency visit is reported only once a doctor saw the patient, and
/// one left on the patient's own initiative after that is `AVBRUTEN` 1. The same records give the same bytes: rows are
/// numbered in a fixed order and nothing of the moment of writing goes into the files.
public struct PARExport: Sendable {
    let layout: PARLayout

    /// The delivery laid out by `layoutFile` (a region's own `par.json`), or by the one Kärna ships when nil.
    public init(layoutFile: URL? = nil) throws {
        guard let url = layoutFile ?? Bundle.module.url(forResource: "par", withExtension: "json", subdirectory: "PARData") else {
            throw FHIRError(.internalError, code: .exception, "par.json is missing from the BulkExport bundle")
        }
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw FHIRError(.invalid, code: .notFound, "the PAR layout \(url.path) cannot be read: \(error.localizedDescription)")
        }
        do {
            layout = try JSONDecoder().decode(PARLayout.self, from: data)
        } catch let DecodingError.keyNotFound(key, context) {
            throw FHIRError(.invalid, code: .required, "the PAR layout \(url.path) lacks \(Self.path(context.codingPath + [key]))")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            throw FHIRError(.invalid, code: .value, "the PAR layout \(url.path) has the wrong kind of value at \(Self.path(context.codingPath)): \(context.debugDescription)")
        } catch {
            throw FHIRError(.invalid, code: .structure, "the PAR layout \(url.path) is not JSON as par.json is: \(error.localizedDescription)")
        }
    }

    private static func path(_ keys: [any CodingKey]) -> String { keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".") }

    /// The files of the delivery in `month` (YYYY-MM), by file name, each line ending as the layout says.
    public func files(month: String, session: PatientDataSession) async throws -> [(name: String, text: String, lines: Int)] {
        guard let first = SwedishTime.parseDay(month + "-01") else {
            throw FHIRError(.invalid, code: .value, "the delivery month must be YYYY-MM; got '\(month)'", expression: ["month"])
        }
        let date = CivilCalendar.date(fromDaysSince1970: first)
        let (year, monthNumber) = date.month > 3 ? (date.year, date.month - 3) : (date.year - 1, date.month + 9)
        let window = CivilCalendar.daysSince1970(year: year, month: monthNumber, day: 1)..<first
        let reader = PARReader(layout: layout, session: session, window: window)
        let rows = try await reader.rows()
        let (from, to) = (SwedishTime.formatDay(window.lowerBound).replacingOccurrences(of: "-", with: ""),
                          SwedishTime.formatDay(window.upperBound - 1).replacingOccurrences(of: "-", with: ""))
        return layout.files.keys.sorted().map { file in
            let variables = layout.files[file]!
            let lines = (rows[file] ?? []).map { row in variables.map { PARExport.field(row[$0] ?? "", separator: layout.separator) }.joined(separator: layout.separator) }
            let name = layout.fileName.replacingOccurrences(of: "{lanskod}", with: layout.lanskod).replacingOccurrences(of: "{file}", with: file)
                .replacingOccurrences(of: "{from}", with: from).replacingOccurrences(of: "{to}", with: to)
            return (name, lines.map { $0 + layout.lineEnding }.joined(), lines.count)
        }
    }

    /// Writes the files into `directory` (each atomically).
    public func write(month: String, directory: URL, session: PatientDataSession) async throws -> [(name: String, lines: Int)] {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var written: [(name: String, lines: Int)] = []
        for file in try await files(month: month, session: session) {
            try Data(file.text.utf8).write(to: directory.appendingPathComponent(file.name), options: .atomic)
            written.append((file.name, file.lines))
        }
        return written
    }

    /// A field never carries the separator or a line break: they would shift every field after it.
    static func field(_ value: String, separator: String) -> String {
        value.replacingOccurrences(of: separator, with: " ").replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
    }
}

/// `par.json`.
struct PARLayout: Codable, Sendable {
    var lanskod: String
    var fileName: String
    var lineEnding: String
    var separator: String
    /// A hospital's HSA-id → its sjukhuskod; a unit within none of them (a vårdcentral) is not reported.
    var hospitals: [String: String]
    var mvoByUnitName: [String: String]
    var akutverksamhetByUnitName: [String: String]
    var doctorQualifications: [String]
    var qualificationSystem: String
    var sex: [String: String]
    var admission: [String: String]
    var discharge: [String: String]
    /// The emergency visit's dischargeDisposition for one left on the patient's own initiative after the doctor (avbruten vård).
    var abandonedDisposition: String
    var medication: Medication
    var files: [String: [String]]

    /// What goes into the LT files (läkemedelstillförsel).
    struct Medication: Codable, Sendable {
        var atcSystem: String
        /// The ATC codes reported, by prefix (`L01` is every antineoplastic); empty reports every code given.
        var atcPrefixes: [String]

        func reports(atc: String) -> Bool { atcPrefixes.isEmpty || atcPrefixes.contains { atc.hasPrefix($0) } }
    }

    /// The value of the longest name prefix a table has for a unit's name (`Medicinavdelning 1, X sjukhus` → Medicinavdelning).
    static func byName(_ table: [String: String], _ name: String?) -> String? {
        guard let name else { return nil }
        return table.filter { name.hasPrefix($0.key) }.max { $0.key.count < $1.key.count }?.value
    }
}
