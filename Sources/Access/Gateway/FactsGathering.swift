import Synchronization

/// Lets the searches one request runs at the same time (the start page's four lists) gather their
/// patients' access facts in one batch instead of one batch each.
///
/// A search says when it starts asking the store; when its matches arrive it waits for the session's
/// other searches still asking, and the last to arrive gathers the facts for all of them. Only the
/// store call stands between a start and an arrival, so every waiter is released: by the last
/// arrival, or by a failed search that leaves no one else asking. What a waiter still lacks after
/// that (the gatherer failed, or its batch missed a patient) it gathers itself, as without this.
final class FactsGathering: Sendable {
    /// What an arriving search does next.
    enum Turn: Sendable {
        /// Gather these patients' facts, then release the waiters.
        case gather(Set<String>, waiters: [CheckedContinuation<Turn, Never>])
        /// Another search gathered (or gave up); use the facts that are there.
        case released
    }

    private struct State {
        var asking = 0
        var wanted: Set<String> = []
        var waiters: [CheckedContinuation<Turn, Never>] = []
    }

    private let state = Mutex(State())

    /// How many arrived searches wait for others now.
    var waiting: Int { state.withLock { $0.waiters.count } }

    /// A search is about to ask the store.
    func started() {
        state.withLock { $0.asking += 1 }
    }

    /// A search's matches arrived, naming the patients whose facts it lacks: answers when it is this
    /// search's turn — to gather for everyone (the last to arrive) or to use what another gathered.
    func arrived(wanting patients: Set<String>) async -> Turn {
        await withCheckedContinuation { (continuation: CheckedContinuation<Turn, Never>) in
            let turn = state.withLock { state -> Turn? in
                state.asking -= 1
                state.wanted.formUnion(patients)
                guard state.asking == 0 else {
                    state.waiters.append(continuation)
                    return nil
                }
                defer { state.wanted = []; state.waiters = [] }
                return .gather(state.wanted, waiters: state.waiters)
            }
            if let turn { continuation.resume(returning: turn) }
        }
    }

    /// A search failed before its matches arrived: if no one else is asking, the waiters go on alone.
    func failed() {
        let waiters = state.withLock { state -> [CheckedContinuation<Turn, Never>] in
            state.asking -= 1
            guard state.asking == 0 else { return [] }
            defer { state.wanted = []; state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: .released) }
    }
}
