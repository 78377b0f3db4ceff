import FHIRCore
import Foundation
import GRDB
import KarnaTesting
import PostgresNIO
@testable import Store
import Testing

/// Migration 0008: date rows indexed as UTC days before it become the Swedish days a newly indexed date gets.
@Suite("Dates without a zone are Swedish days, in old databases too")
struct SwedishDatesMigrationTests {
    /// Dates, months and years across the rule's edges (the last Sundays of March and October, New Year) and far back.
    static let values: [String] = {
        var values = ["1975", "2026", "2026-03", "2026-10", "1985-09", "2026-12-07", "2026-03-29", "2026-03-28", "2026-10-25", "2026-10-24",
                      "1985-09-30", "1969-12-31", "1970-01-01", "2000-02-29", "2030-12-31"]
        for day in stride(from: CivilCalendar.daysSince1970(year: 1960, month: 1, day: 3), to: CivilCalendar.daysSince1970(year: 2040, month: 1, day: 1), by: 11) {
            values.append(SwedishTime.formatDay(day))
        }
        return values
    }()

    /// The row each value had before the migration: its UTC day, month or year.
    static func utcRow(_ value: String) -> (low: Int64, high: Int64) {
        var zoned = FHIRPathTemporal.parse(value)!
        zoned.zoneMinutes = 0
        return zoned.range
    }

    /// What the migration leaves alone: a time with a zone, and a row open at both ends.
    static let untouched: [(low: Int64, high: Int64)] = [
        FHIRPathTemporal.parse("2026-12-07T00:40:00+01:00")!.range, FHIRPathTemporal.parse("2026-06-01T12:00:00Z")!.range, (Int64.min, Int64.max),
    ]

    /// The rows to migrate, with the rows they must become: every value as a whole range and as the open ends of a Period.
    static func cases() -> [(before: (Int64, Int64), after: (Int64, Int64))] {
        var cases: [(before: (Int64, Int64), after: (Int64, Int64))] = []
        for value in values {
            let (before, after) = (utcRow(value), FHIRPathTemporal.parse(value)!.range)
            cases.append((before, after))
            cases.append(((before.low, Int64.max), (after.low, Int64.max)))
            cases.append(((Int64.min, before.high), (Int64.min, after.high)))
        }
        return cases + untouched.map { ($0, $0) }
    }

    static var migration: String { Migrations.all.first { $0.name == "0008-swedish-dates" }! .sqlite[0] }

    @Test("on SQLite, each UTC-day row moves to the Swedish day FHIRPathTemporal gives the same value; zoned and open rows stay")
    func sqlite() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("karna-dates-\(UUID().uuidString).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = try SQLiteStore(path: path)
        try await store.migrate()
        let cases = Self.cases()
        let rows = try await store.pool.write { db -> [(Int64, Int64)] in
            for (index, row) in cases.enumerated() {
                try db.execute(sql: "INSERT INTO search_date (resource_type, id, parameter, low, high) VALUES ('Patient', ?, 'birthdate', ?, ?)",
                               arguments: [String(index), row.before.0, row.before.1])
            }
            try db.execute(sql: Self.migration)
            return try Row.fetchAll(db, sql: "SELECT low, high FROM search_date ORDER BY CAST(id AS INTEGER)").map { ($0[0], $0[1]) }
        }
        try await store.close()
        Self.expect(rows, cases)
    }

    @Test("on PostgreSQL, the same rows move the same way", .enabled(if: StoreBackend.postgresql.isAvailable, "PostgreSQL binaries are not installed"))
    func postgres() async throws {
        let store = try PostgresStore(url: try SharedPostgres.freshDatabase(), maximumConnections: 2, waitSeconds: 60)
        try await store.migrate()
        let cases = Self.cases()
        for (index, row) in cases.enumerated() {
            try await store.client.query("INSERT INTO search_date (resource_type, id, parameter, low, high) VALUES ('Patient', \(String(index)), 'birthdate', \(row.before.0), \(row.before.1))")
        }
        try await store.client.query(PostgresQuery(unsafeSQL: Migrations.all.first { $0.name == "0008-swedish-dates" }!.postgres[0]))
        var rows: [(Int64, Int64)] = []
        for try await row in try await store.client.query("SELECT low, high FROM search_date ORDER BY id::int").decode((Int64, Int64).self) { rows.append(row) }
        try await store.close()
        Self.expect(rows, cases)
    }

    static func expect(_ rows: [(Int64, Int64)], _ cases: [(before: (Int64, Int64), after: (Int64, Int64))]) {
        #expect(rows.count == cases.count)
        var wrong: [String] = []
        for (row, expected) in zip(rows, cases) where row != expected.after {
            wrong.append("\(expected.before) became \(row), not \(expected.after)")
        }
        let misplaced = wrong.count
        #expect(misplaced == 0, "the first of them: \(wrong.prefix(3))")
    }
}
