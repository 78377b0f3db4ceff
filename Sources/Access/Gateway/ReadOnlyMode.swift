import FHIRCore
import Foundation
import Store
import StoreModel
import Synchronization

/// Läsläge: the node takes no new clinical records while reads go on. A node enters it by its setting (started
/// against a replica, say), by the operators' command (`karna downtime on`, a control record every node follows),
/// or by itself when the database refuses a write (for `retrySeconds`: the banner says so while each write still
/// tries the database). Every page says so in its banner and, on command or by setting, every clinical write is
/// refused with a Swedish message before it reaches the database; the Patientdatalag's own
/// records (care relationship, samtycke, spärr, nödåtkomst) and the audit trail are not clinical writes and go on
/// where the database takes them.
public final class ReadOnlyMode: Sendable {
    /// Why the node is read-only.
    public enum Reason: Sendable, Equatable {
        case setting
        case command(text: String, by: String)
        case database
    }

    /// The mode as it stands: nil when the node takes writes.
    public struct State: Sendable, Equatable {
        public var reason: Reason
        public var since: Int64

        public init(reason: Reason, since: Int64) {
            self.reason = reason
            self.since = since
        }
    }

    private let state = Mutex<(setting: Bool, command: State?, database: State?)>((false, nil, nil))
    private let ended = Mutex<[BackEntry.Period]>([])

    /// The downtimes that ended, as this node last read them: what a record entered afterwards is checked against.
    public var periods: [BackEntry.Period] { ended.withLock { $0 } }

    /// Follows the recorded downtimes (`karna downtime off` adds each).
    public func follow(periods: [BackEntry.Period]) { ended.withLock { $0 = periods } }
    /// How long a refused write keeps the node read-only before the next write tries the database again.
    public let retrySeconds: Int

    public init(setting: Bool = false, retrySeconds: Int = 30) {
        self.retrySeconds = retrySeconds
        state.withLock { $0.setting = setting }
    }

    /// The reason that holds now, the operators' first, then the database's (until its retry time), then the setting's.
    public func current(now: Int64 = Instant.now()) -> State? {
        state.withLock { value in
            if let command = value.command { return command }
            if let database = value.database {
                if now - database.since < Int64(retrySeconds) * 1_000 { return database }
                value.database = nil
            }
            return value.setting ? State(reason: .setting, since: 0) : nil
        }
    }

    /// Follows the operators' command as stored (nil: none).
    public func follow(command: State?) { state.withLock { $0.command = command } }

    /// A write the database refused: read-only until the retry time.
    public func databaseRefused(now: Int64 = Instant.now()) {
        state.withLock { value in if value.database == nil { value.database = State(reason: .database, since: now) } }
    }

    /// What a page's banner says, in Swedish.
    public func notice(now: Int64 = Instant.now()) -> String? {
        guard let state = current(now: now) else { return nil }
        let since = state.since > 0 ? " sedan \(SwedishTime.format(state.since).dropFirst(11).prefix(5))" : ""
        let why = switch state.reason {
        case .setting: "den här servern är startad i läsläge"
        case .command(let text, _): text.isEmpty ? "driftstopp" : text
        case .database: "databasen tar inte emot ändringar"
        }
        return "Läsläge\(since): \(why). Journalen kan läsas men inga ändringar sparas. Dokumentera på papper enligt reservrutinen och för in det i Kärna efteråt."
    }

    /// Whether clinical writes are refused before they reach the database: on command and by setting. When the
    /// database itself refused, each write still tries it (and gets its precise answer, "full" or "unreachable"),
    /// so the node takes writes again the moment the database does; the banner says what happened meanwhile.
    public func refusesWrites(now: Int64 = Instant.now()) -> Bool {
        guard let state = current(now: now) else { return false }
        return state.reason != .database
    }

    /// The refusal a clinical write gets while the node is read-only on command or by setting.
    func refusal(now: Int64 = Instant.now()) -> FHIRError? {
        guard refusesWrites(now: now) else { return nil }
        return FHIRError(.busy, code: .transient, "the server is read-only (downtime): no clinical record is written now; try again when it is over",
                         text: "Kärna är i läsläge: ändringen sparades inte. Dokumentera på papper enligt reservrutinen och för in det efteråt.")
    }

    // MARK: The operators' command, stored so every node follows it

    static let key = "read-only"

    /// The command as stored.
    struct Stored: Codable {
        var reason: String
        var by: String
        var since: Int64
    }

    /// Stores the command (`nil` ends it) as a control record every node reads (`karna downtime on|off`).
    public static func store(_ command: State?, in store: any ResourceStore) async throws {
        if let command, case .command(let text, let by) = command.reason {
            let json = try JSONEncoder().encode(Stored(reason: text, by: by, since: command.since))
            try await store.writeControlRecords([ControlRecord(kind: ControlKind.configuration, key: key, json: [UInt8](json))], deleting: [], audit: [])
        } else {
            try await store.writeControlRecords([], deleting: [ControlRecordKey(kind: ControlKind.configuration, key: key)], audit: [])
        }
    }

    /// The stored command, if any.
    public static func stored(in store: any ResourceStore) async throws -> State? {
        guard let record = try await store.controlRecord(kind: ControlKind.configuration, key: key),
              let stored = try? JSONDecoder().decode(Stored.self, from: Data(record.json)) else { return nil }
        return State(reason: .command(text: stored.reason, by: stored.by), since: stored.since)
    }
}
