import StoreModel
import Synchronization

/// When to refresh the planner's statistics after a bulk load through the API. PostgreSQL's
/// autovacuum analyses a table after about a tenth of it changed, but a table loaded from empty is
/// analysed while nearly empty and then not again for minutes: a name search planned for a few rows
/// took ~400 ms instead of ~2 ms at 100,000 patients (issue 31, item 12). So the store analyses
/// itself each time the resources written since its last analysis reach the count it had then
/// (and at least `minimumRows`): a load from empty is analysed at 5,000, 10,000, 20,000 … rows.
final class BulkLoadStatistics: Sendable {
    private struct State {
        var writtenSince = 0
        var rowsAtLast = 0
        var running = false
    }

    private let state = Mutex(State())
    let minimumRows: Int

    init(minimumRows: Int) {
        self.minimumRows = minimumRows
    }

    /// Counts written resources; true when an analysis is due now (and no other is running).
    func wrote(_ rows: Int) -> Bool {
        state.withLock { state in
            state.writtenSince += rows
            guard !state.running, state.writtenSince >= max(minimumRows, state.rowsAtLast) else { return false }
            state.running = true
            state.rowsAtLast += state.writtenSince
            state.writtenSince = 0
            return true
        }
    }

    /// The analysis ended (or failed: the next load tries again).
    func finished() {
        state.withLock { $0.running = false }
    }
}
