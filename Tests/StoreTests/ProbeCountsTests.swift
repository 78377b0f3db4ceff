@testable import Store
import StoreModel
import Testing

/// The planner's kept index-row counts: served while they last, then counted again; 0 seconds keeps none.
struct ProbeCountsTests {
    let statement = SQLStatement(sql: "SELECT count(*) FROM search_token WHERE code = $1", binds: [.text("a")])

    @Test func countsLastTheirLifetime() {
        let counts = ProbeCounts(seconds: 60)
        #expect(counts.count(statement, now: 0) == nil)
        counts.keep(42, for: statement, now: 1_000)
        #expect(counts.count(statement, now: 60_999) == 42)
        #expect(counts.count(statement, now: 61_000) == nil, "expired at 60 s")
        let other = SQLStatement(sql: statement.sql, binds: [.text("b")])
        #expect(counts.count(other, now: 2_000) == nil, "another value is another count")
    }

    @Test func zeroSecondsKeepsNothingAndAFullTableStartsOver() {
        let none = ProbeCounts(seconds: 0)
        none.keep(1, for: statement, now: 0)
        #expect(none.count(statement, now: 0) == nil && none.count == 0)
        let small = ProbeCounts(seconds: 60, capacity: 2)
        for value in ["a", "b", "c"] { small.keep(1, for: SQLStatement(sql: statement.sql, binds: [.text(value)]), now: 0) }
        #expect(small.count == 1 && small.count(SQLStatement(sql: statement.sql, binds: [.text("c")]), now: 0) == 1)
    }
}
