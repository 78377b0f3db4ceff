import Access
import ArgumentParser
import FHIRCore
import KarnaServer
import Store

/// `karna downtime on|off|status`: the operators' läsläge command, stored in the database; every node follows it
/// within seconds (the banner on every page, clinical writes refused, reads going on).
struct DowntimeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "downtime", abstract: "Läsläge (read-only) for every node, on command.",
                                                    subcommands: [On.self, Off.self, Status.self])

    struct On: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Put every node in läsläge, with the reason the banner shows.")
        @OptionGroup var options: ServerOptions
        @Option(help: "Why, as the users read it (\"planerat underhåll till 06.00\").") var reason: String
        @Option(help: "Who decided (name or role), kept with the command.") var by: String = "drift"

        func run() async throws {
            let store = try await DowntimeCommand.open(options)
            try await ReadOnlyMode.store(ReadOnlyMode.State(reason: .command(text: reason, by: by), since: Instant.now()), in: store)
            try await store.close()
            print("läsläge on: every node follows within \(5) seconds; `karna downtime off` ends it")
        }
    }

    struct Off: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "End the commanded läsläge.")
        @OptionGroup var options: ServerOptions

        func run() async throws {
            let store = try await DowntimeCommand.open(options)
            try await ReadOnlyMode.store(nil, in: store)
            try await store.close()
            print("läsläge off: nodes take clinical records again within 5 seconds")
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Say whether läsläge is commanded.")
        @OptionGroup var options: ServerOptions

        func run() async throws {
            let store = try await DowntimeCommand.open(options)
            let stored = try await ReadOnlyMode.stored(in: store)
            try await store.close()
            if let stored, case .command(let text, let by) = stored.reason {
                print("läsläge on since \(SwedishTime.format(stored.since)) by \(by): \(text)")
            } else {
                print("läsläge off")
            }
        }
    }

    static func open(_ options: ServerOptions) async throws -> any ResourceStore {
        let configuration = try options.resolve()
        return try await KarnaApplication.openStore(configuration, logger: options.logger(configuration))
    }
}
