import Access
import ArgumentParser
import FHIRCore
import KarnaServer
import Store

/// `karna downtime on|off|status`: the operators' läsläge command, stored in the database; every node follows it
/// within seconds (the banner on every page, clinical writes refused, reads going on).
struct DowntimeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "downtime", abstract: "Läsläge (read-only) for every node, on command.",
                                                    subcommands: [On.self, Off.self, Status.self, Record.self])

    struct On: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Put every node in läsläge, with the reason the banner shows.")
        @OptionGroup var options: ServerOptions
        @Option(help: "Why, as the users read it (\"planerat underhåll till 06.00\").") var reason: String
        @Option(help: "Who decided (name or role), kept with the command.") var by: String = "drift"

        func run() async throws {
            try await options.withStore { store, _, _ in
                try await ReadOnlyMode.store(ReadOnlyMode.State(reason: .command(text: reason, by: by), since: Instant.now()), in: store)
            }
            print("läsläge on: every node follows within \(5) seconds; `karna downtime off` ends it")
        }
    }

    struct Off: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "End the commanded läsläge.")
        @OptionGroup var options: ServerOptions

        func run() async throws {
            try await options.withStore { store, _, _ in
                // The downtime that ends is kept: what is entered afterwards about its hours is marked as back-entered.
                if let stored = try await ReadOnlyMode.stored(in: store), case .command(let text, _) = stored.reason {
                    try await BackEntry.record(BackEntry.Period(from: stored.since, to: Instant.now(), reason: text), in: store)
                }
                try await ReadOnlyMode.store(nil, in: store)
            }
            print("läsläge off: nodes take clinical records again within 5 seconds; what is entered about the downtime is marked efterregistrerad")
        }
    }

    /// An outage nobody could command (the database itself was gone) is recorded afterwards, so that what is
    /// entered about its hours is marked as back-entered too.
    struct Record: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record a downtime that has ended (an unplanned outage), from and to, for efterregistrering.")
        @OptionGroup var options: ServerOptions
        @Option(help: "When it began (ISO 8601, e.g. 2026-12-06T14:05:00+01:00).") var from: String
        @Option(help: "When it ended.") var to: String
        @Option(help: "What happened, as the users read it.") var reason: String

        func run() async throws {
            guard let start = Instant.parse(from) else { throw ValidationError("--from must be a time as 2026-12-06T14:05:00+01:00; got '\(from)'") }
            guard let end = Instant.parse(to) else { throw ValidationError("--to must be a time as 2026-12-06T16:40:00+01:00; got '\(to)'") }
            guard start < end else { throw ValidationError("--from must be before --to") }
            guard end <= Instant.now() else { throw ValidationError("--to is in the future: record a downtime once it has ended") }
            try await options.withStore { store, _, _ in
                try await BackEntry.record(BackEntry.Period(from: start, to: end, reason: reason), in: store)
            }
            print("recorded the downtime \(SwedishTime.format(start)) – \(SwedishTime.format(end)): what is entered about it is marked efterregistrerad")
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Say whether läsläge is commanded.")
        @OptionGroup var options: ServerOptions

        func run() async throws {
            let stored = try await options.withStore { store, _, _ in try await ReadOnlyMode.stored(in: store) }
            if let stored, case .command(let text, let by) = stored.reason {
                print("läsläge on since \(SwedishTime.format(stored.since)) by \(by): \(text)")
            } else {
                print("läsläge off")
            }
        }
    }
}
