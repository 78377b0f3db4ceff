@testable import Access
import Testing

/// The searches of one request meet before their facts are gathered: the last to arrive gathers for
/// all, and no one waits for a search that failed.
@Suite("Facts gathered once for a request's searches", .timeLimit(.minutes(1)))
struct FactsGatheringTests {
    /// Waits (up to five seconds) until `count` searches wait; the arrivals run in tasks of their own.
    func until(_ gathering: FactsGathering, waiting count: Int) async throws {
        for _ in 0..<5_000 where gathering.waiting < count { try await Task.sleep(for: .milliseconds(1)) }
        #expect(gathering.waiting == count)
    }

    @Test("three searches asking at once: the last to arrive gathers every patient the three lack, the others use what it gathered")
    func lastArrivalGathersForAll() async throws {
        let gathering = FactsGathering()
        for _ in 0..<3 { gathering.started() }
        let first = Task { await gathering.arrived(wanting: ["p1", "p2"]) }
        try await until(gathering, waiting: 1)
        let second = Task { await gathering.arrived(wanting: ["p2", "p3"]) }
        try await until(gathering, waiting: 2)
        guard case .gather(let patients, let waiters) = await gathering.arrived(wanting: ["p4"]) else {
            Issue.record("the last search to arrive gathers")
            return
        }
        #expect(patients == ["p1", "p2", "p3", "p4"])
        #expect(waiters.count == 2 && gathering.waiting == 0)
        for waiter in waiters { waiter.resume(returning: .released) }
        for task in [first, second] {
            guard case .released = await task.value else {
                Issue.record("a waiting search is released, not asked to gather")
                continue
            }
        }
        // The next search of the request starts afresh: it gathers only what it lacks.
        gathering.started()
        guard case .gather(let alone, let none) = await gathering.arrived(wanting: ["p5"]) else {
            Issue.record("a search asking alone gathers at once")
            return
        }
        #expect(alone == ["p5"] && none.isEmpty)
    }

    @Test("a search that fails releases those waiting for it once no other search is asking; they gather for themselves")
    func failedSearchReleasesTheWaiters() async throws {
        let gathering = FactsGathering()
        for _ in 0..<3 { gathering.started() }
        let waiting = Task { await gathering.arrived(wanting: ["p1"]) }
        try await until(gathering, waiting: 1)
        gathering.failed()
        #expect(gathering.waiting == 1, "another search is still asking")
        gathering.failed()
        guard case .released = await waiting.value else {
            Issue.record("the waiter is released when the last search asking fails")
            return
        }
        #expect(gathering.waiting == 0)
        gathering.started()
        guard case .gather(let patients, _) = await gathering.arrived(wanting: ["p2"]) else {
            Issue.record("a later search gathers")
            return
        }
        #expect(patients == ["p2"], "the failed round's wants are not carried over")
    }
}
