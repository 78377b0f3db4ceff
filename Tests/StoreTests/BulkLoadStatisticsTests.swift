import FHIRCore
import Foundation
import KarnaTesting
import PostgresNIO
@testable import Store
import StoreModel
import Testing

/// Issue 31, item 12: a bulk load through the store leaves the planner statistics of what was loaded.
@Suite("Planner statistics after a bulk load")
struct BulkLoadStatisticsTests {
    @Test("the store analyses each time the resources written since its last analysis reach the count it had then")
    func dueAsTheTablesDouble() {
        let statistics = BulkLoadStatistics(minimumRows: 100)
        #expect(!statistics.wrote(99))
        #expect(statistics.wrote(1), "100 rows from empty")
        #expect(!statistics.wrote(500), "one analysis at a time")
        statistics.finished()
        #expect(statistics.wrote(0), "the 500 written meanwhile reach the 100 analysed")
        statistics.finished()
        #expect(!statistics.wrote(599))
        #expect(statistics.wrote(1), "600 more: the tables doubled")
    }

    @Test("on PostgreSQL, a load past the threshold is analysed without a separate command",
          .enabled(if: StoreBackend.postgresql.isAvailable, "PostgreSQL binaries are not installed"))
    func postgresAnalysesAfterALoad() async throws {
        let url = try SharedPostgres.freshDatabase()
        let store = try PostgresStore(url: url, maximumConnections: 4, analyzeAfterRows: 200, waitSeconds: 60)
        try await store.migrate()
        func lastAnalyze() async throws -> Bool {
            let rows = try await store.client.query("SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'resource'")
            for try await analysed in rows.decode(Bool.self) { return analysed }
            return false
        }
        #expect(try await lastAnalyze() == false)
        _ = try await store.commit(searchablePatients(250))
        var analysed = false
        for _ in 0..<50 where !analysed {
            try await Task.sleep(for: .milliseconds(100))
            analysed = try await lastAnalyze()
        }
        #expect(analysed)
        try await store.close()
    }
}
