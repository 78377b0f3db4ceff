import FHIRCore
import Foundation
import GRDB
import KarnaTesting
import PostgresNIO
@testable import Store
import StoreModel
import Testing

/// A search of a code in a date window starts from the code+date rows (SearchIndexEntries.codeDate), and
/// finds exactly what the code's search and the dates' search find together.
@Suite("Observations of a code in a date window")
struct CodeDateSearchTests {
    static let npu = "http://www.ihe.net/NPU"

    /// Sixty Observations over December 2025: two codes, some also coded a third way, points and periods of a
    /// few days, an open-ended period, and a few with no date at all.
    static func observations() -> [WriteOperation] {
        (0..<60).map { n in
            let code = n % 3 == 0 ? "NPU19748" : "NPU27300"
            var coding = [FHIR.coding(npu, code)]
            if n % 7 == 0 { coding.append(FHIR.coding("urn:oid:1.2.752.108.1", "LOKAL\(code)")) }
            var members: [(String, JSONValue?)] = [("resourceType", .string("Observation")), ("id", .string("o\(n)")), ("status", .string("final")),
                                                   ("code", FHIR.object([("coding", .array(coding))]))]
            let day = 1 + n % 28
            let hour = n % 24
            switch n % 10 {
            case 9:
                break
            case 5:
                members.append(("effectivePeriod", FHIR.object([("start", .string(String(format: "2025-12-%02d", day))),
                                                                 ("end", .string(String(format: "2025-12-%02d", min(31, day + 3))))])))
            case 8:
                members.append(("effectivePeriod", FHIR.object([("start", .string(String(format: "2025-12-%02dT08:00:00+01:00", day)))])))
            default:
                members.append(("effectiveDateTime", .string(String(format: "2025-12-%02dT%02d:30:00+01:00", day, hour))))
            }
            let resource = FHIR.object(members).objectValue!
            return .update(resource, type: "Observation", id: "o\(n)")
        }
    }

    /// Date filters of every prefix the implied filter bounds, and some it leaves alone (`ne`, `ap`).
    static let windows: [[String]] = [
        ["ge2025-12-10", "lt2025-12-15"], ["2025-12-12"], ["gt2025-12-20"], ["le2025-12-05"], ["sa2025-12-25"], ["eb2025-12-04"],
        ["ge2025-12-12T12:00:00+01:00", "le2025-12-13T06:00:00+01:00"], ["ge2025-12-28"], ["lt2025-12-02"], ["ne2025-12-12"],
        ["ge2025-12-10", "ne2025-12-11"], ["2025-12"],
    ]

    static let codes = ["NPU19748", "\(npu)|NPU27300", "LOKALNPU27300", "NPU19748,NPU27300"]

    @Test("every window, every code: the same records as the code's search and the dates' search together", arguments: backends)
    func sameAnswersAsEachAlone(backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        _ = try await store.commit(Self.observations())
        func ids(_ parameters: [(name: String, value: String)]) async throws -> Set<String> {
            Set(try await store.search(SearchQuery.parse(type: "Observation", parameters: parameters, strict: true), limit: 1_000))
        }
        var checked = 0
        for code in Self.codes {
            let coded = try await ids([("code", code)])
            for window in Self.windows {
                let dates = window.map { (name: "date", value: $0) }
                let expected = coded.intersection(try await ids(dates))
                let found = try await ids([("code", code)] + dates)
                #expect(found == expected, "code=\(code) date=\(window): \(found.subtracting(expected).sorted()) too many, \(expected.subtracting(found).sorted()) missing")
                checked += expected.isEmpty ? 0 : 1
            }
        }
        #expect(checked > 30, "most windows hold records of the code")
        try await store.close()
    }

    @Test("a bounded window adds the code+date filter, and a count small for it makes it the filter the page starts from")
    func theWindowDrives() throws {
        let query = try SearchQuery.parse(type: "Observation", parameters: [("code", "\(Self.npu)|NPU19748"), ("date", "ge2025-12-26"), ("date", "lt2025-12-31")], strict: true)
        let implied = SearchSQL.withCodeDateFilter(query)
        #expect(implied.filters.count == query.filters.count + 1 && SearchSQL.isCodeDateFilter(implied.filters[0]))
        for dialect in [SQLDialect.sqlite, .postgres] {
            let probed = SearchSQL.probes(query, cap: 3000, dialect: dialect).map(\.filter)
            #expect(probed.first == 0, "the code+date filter is counted first (\(dialect))")
            let page = SearchSQL.plannedPage(query, limit: 50, dialect: dialect, counts: [(0, 41), (1, 3000)], threshold: 3000).sql
            let distinct = dialect == .postgres ? "DISTINCT " : ""
            #expect(page.contains("r.id IN (SELECT \(distinct)id FROM search_composite"), "\(dialect): \(page)")
            // A broad window (every count at the cap) starts from it too, ahead of the code's rows.
            let broad = SearchSQL.plannedPage(query, limit: 50, dialect: dialect, counts: [(0, 3000), (1, 3000)], threshold: 3000).sql
            #expect(broad.contains("r.id IN (SELECT \(distinct)id FROM search_composite"), "\(dialect): \(broad)")
        }
        // Unbounded dates, another type, or one patient's records: nothing added.
        for parameters in [[("code", "NPU19748"), ("date", "ne2025-12-26")], [("code", "NPU19748")], [("code", "NPU19748"), ("subject", "Patient/p1"), ("date", "ge2025-12-26")]] {
            let other = try SearchQuery.parse(type: "Observation", parameters: parameters, strict: true)
            #expect(SearchSQL.withCodeDateFilter(other).filters.count == other.filters.count, "\(parameters)")
        }
        let condition = try SearchQuery.parse(type: "Condition", parameters: [("code", "I10"), ("onset-date", "ge2025-12-26")], strict: true)
        #expect(SearchSQL.withCodeDateFilter(condition).filters.count == condition.filters.count)
    }

    @Test("one code newest first, read from the code+date rows: the order the dates give, records without a date last", arguments: backends)
    func newestFirstFromTheCodeDateRows(backend: StoreBackend) async throws {
        // A threshold of one: every search counts as broad, so a sorted one reads its sort index in order.
        let store = try await backend.makeStore(scanThreshold: 1)
        _ = try await store.commit(Self.observations())
        for code in ["NPU19748", "\(Self.npu)|NPU27300", "LOKALNPU27300"] {
            let query = try SearchQuery.parse(type: "Observation", parameters: [("code", code), ("_sort", "-date")], strict: true)
            #expect(SearchSQL.codeDateSort(query) != nil)
            // The same code twice is the same search, read from every record's dates instead.
            let reference = try SearchQuery.parse(type: "Observation", parameters: [("code", "\(code),\(code)"), ("_sort", "-date")], strict: true)
            #expect(SearchSQL.codeDateSort(reference) == nil)
            for limit in [5, 100] {
                let found = try await store.search(query, limit: limit), expected = try await store.search(reference, limit: limit)
                #expect(found == expected, "code=\(code), \(limit): \(found) against \(expected)")
                #expect(!found.isEmpty)
            }
        }
        try await store.close()
    }

    @Test("migration 0010 writes for stored records the code+date rows the indexer writes for new ones", arguments: backends)
    func migrationFillsWhatTheIndexerWrites(backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        _ = try await store.commit(Self.observations())
        let fill = try #require(Migrations.all.first { $0.name == "0010-code-date" })
        let select = "SELECT id, system1, code1, low2, high2 FROM search_composite WHERE parameter = 'code+date' ORDER BY id, system1, code1"
        typealias Row5 = (String, String, String, Int64, Int64)
        var before: [Row5] = [], after: [Row5] = []
        if let sqlite = store as? SQLiteStore {
            (before, after) = try await sqlite.pool.write { db in
                let read = { try GRDB.Row.fetchAll(db, sql: select).map { Row5($0[0], $0[1], $0[2], $0[3], $0[4]) } }
                let before = try read()
                try db.execute(sql: "DELETE FROM search_composite WHERE parameter = 'code+date'")
                for statement in fill.sqlite where statement.hasPrefix("INSERT") { try db.execute(sql: statement) }
                return (before, try read())
            }
        } else {
            let postgres = try #require(store as? PostgresStore)
            func read() async throws -> [Row5] {
                var rows: [Row5] = []
                for try await row in try await postgres.client.query(PostgresQuery(unsafeSQL: select)).decode(Row5.self) { rows.append(row) }
                return rows
            }
            before = try await read()
            try await postgres.client.query("DELETE FROM search_composite WHERE parameter = 'code+date'")
            for statement in fill.postgres where statement.hasPrefix("INSERT") { try await postgres.client.query(PostgresQuery(unsafeSQL: statement)) }
            after = try await read()
        }
        // Every dated record once per code (two for the ones also coded locally); none for the six without a date.
        #expect(before.count == 54 + 8)
        #expect(Set(before.map(\.0)).count == 54)
        #expect(before.map { "\($0)" } == after.map { "\($0)" })
        try await store.close()
    }
}
