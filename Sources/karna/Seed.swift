import ArgumentParser
import FHIRCore
import Foundation
import KarnaServer
import Store
import StoreModel
import SyntheticPopulation
import Access

/// `karna seed`: fills a database with the synthetic population of Region Kärnland.
struct Seed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fill the database with a deterministic synthetic Swedish population (for demos and benchmarks).",
        discussion: """
            The same --seed and --patients always give the same resources, and seeding again changes nothing \
            (each resource is written by id and an unchanged update makes no version). Patients are generated \
            and written one batch at a time, so memory stays flat however many are asked for.
            """
    )
    @OptionGroup var options: ServerOptions
    @Option(help: "How many patients.") var patients: Int = 1000
    @Option(help: "Random seed: another seed gives another region.") var seed: UInt64 = 1
    @Option(help: "Resources per database transaction.") var batchSize: Int = 1000
    @Option(help: "Transactions in flight at once: one is indexed while another writes.") var writers: Int = 2
    @Flag(help: "Only the demo records (contacts, appointment books, journal) on a database seeded before with the same --patients and --seed.")
    var demoOnly = false

    func validate() throws {
        guard patients >= 0 else { throw ValidationError("--patients must be 0 or more") }
        guard patients <= RegionGenerator.maximumPatientCount else {
            throw ValidationError("--patients can be at most \(RegionGenerator.maximumPatientCount): beyond that the synthetic population's birth years spread too far")
        }
        guard (1...100_000).contains(batchSize) else { throw ValidationError("--batch-size must be between 1 and 100000") }
        guard (1...16).contains(writers) else { throw ValidationError("--writers must be between 1 and 16") }
    }

    func run() async throws {
        let configuration = try options.resolve()
        let logger = options.logger(configuration)
        let store = try await KarnaApplication.openStore(configuration, logger: logger)
        guard !configuration.production else {
            try await store.close()
            throw ValidationError("production: karna seed writes synthetic patients and demo users; it does not run on a production installation")
        }
        let services = try await KarnaApplication.services(configuration, store: store, logger: logger)
        let created = try await DemoSetup.ensure(gateway: services.gateway, accounts: services.accounts, clients: services.tokens.clients,
                                                 configuration: configuration)
        if created != nil { say("created the demo organisation, users and clients (credentials: \(configuration.demoCredentialsPath))") }
        // Seeding is a job: it passes the gateway as a system principal, audited per patient and batch. What it
        // writes is a history (stays long finished, doses given under ordinations completed since), so it is
        // written as an import is: the rules for live recording (a dose only under an active ordination) do not judge it.
        let job = services.gateway.session(.job("karna-seed"), action: "import")
        let generator = RegionGenerator(seed: seed, patientCount: patients)
        say("seeding \(patients) patients (seed \(seed)) into \(store.backendName) (\(configuration.redactedDatabaseURL))")
        let clock = ContinuousClock()
        let started = clock.now
        var byType: [String: Int] = [:]
        var outcomes: [WriteResult.Outcome: Int] = [:]
        var written = 0

        func operations(_ resources: [JSONObject]) -> [WriteOperation] {
            resources.map { .update($0, type: $0.resourceType ?? "", id: $0["id"]?.stringValue ?? "") }
        }
        if demoOnly { say("adding only the demo records") }
        let organisations = demoOnly ? [] : generator.organisations()
        for result in organisations.isEmpty ? [] : try await job.commit(operations(organisations)) { outcomes[result.outcome, default: 0] += 1 }
        for resource in organisations { byType[resource.resourceType ?? "", default: 0] += 1 }
        written += organisations.count

        var nextPatient = 0
        var reported = 0
        // The patient with the most records: the chart a benchmark should open.
        var heaviest = (patient: 0, resources: 0)
        let writers = self.writers
        try await withThrowingTaskGroup(of: [WriteResult].self) { group in
            var inFlight = 0
            while !demoOnly, nextPatient < patients || inFlight > 0 {
                while inFlight < writers, nextPatient < patients {
                    var batch: [JSONObject] = []
                    while batch.count < batchSize, nextPatient < patients {
                        let resources = generator.patient(nextPatient)
                        if resources.count > heaviest.resources { heaviest = (nextPatient, resources.count) }
                        batch += resources
                        nextPatient += 1
                    }
                    for resource in batch { byType[resource.resourceType ?? "", default: 0] += 1 }
                    written += batch.count
                    let work = operations(batch)
                    group.addTask { try await job.commit(work) }
                    inFlight += 1
                }
                if let results = try await group.next() {
                    inFlight -= 1
                    for result in results { outcomes[result.outcome, default: 0] += 1 }
                }
                if nextPatient - reported >= max(1000, patients / 20) || (nextPatient == patients && inFlight == 0 && reported < patients) {
                    reported = nextPatient
                    let seconds = (clock.now - started) / .seconds(1)
                    say("  \(nextPatient)/\(patients) patients, \(written) resources, \(Int(Double(written) / max(seconds, 0.001))) resources/s")
                }
            }
        }
        // Each module's demo data, in the composition root's order (care contacts before the notes written on them).
        var demoLines: [String] = []
        for module in services.modules {
            demoLines += try await module.seedDemo(DemoSetup.context(gateway: services.gateway, patients: patients))
        }
        try await store.optimize()
        let seconds = (clock.now - started) / .seconds(1)
        say("seeded \(patients) patients: \(written) resources in \(String(format: "%.1f", seconds)) s (\(Int(Double(written) / max(seconds, 0.001))) resources/s)")
        say("  by type: " + byType.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        say("  outcomes: " + outcomes.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.value) \($0.key.rawValue)" }.joined(separator: ", "))
        if patients > 0, !demoOnly { say("  heaviest patient: \(generator.patientID(heaviest.patient)) (\(heaviest.resources) resources)") }
        for line in demoLines { say("  " + line) }
        try await store.close()
    }

    /// Writes a line unbuffered, so progress reaches a log file as it happens.
    func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}
