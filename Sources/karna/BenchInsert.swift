import ArgumentParser
import FHIRCore
import Foundation
import Store
import StoreModel
import SyntheticPopulation

/// `karna bench-insert`: the raw-insert ceiling the benchmark report compares imports with.
struct BenchInsert: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-insert",
        abstract: "Insert the JSON bytes of a seeded population as plain rows and report rows/s and MB/s (benchmark ceiling).",
        shouldDisplay: false
    )
    @Option(help: "sqlite:PATH or postgres://… (a scratch table bench_raw is created and dropped).") var databaseURL: String
    @Option(help: "Patients whose resources to insert.") var patients: Int = 2000
    @Option(help: "Insert these payloads instead, one per line (the benchmark's HL7 v2 messages: the same bytes stored raw).")
    var payloadFile: String?

    func run() async throws {
        var payloads: [[UInt8]] = []
        if let payloadFile {
            guard let data = FileManager.default.contents(atPath: payloadFile) else { throw ValidationError("cannot read \(payloadFile)") }
            payloads = data.split(separator: UInt8(ascii: "\n")).map(Array.init)
        } else {
            let generator = RegionGenerator(seed: 1, patientCount: patients)
            for n in 0..<patients { payloads += generator.patient(n).map { JSONWriter.bytes(.object($0)) } }
        }
        let result = try await RawInsertBenchmark.run(url: databaseURL, payloads: payloads)
        let rate = Double(result.rows) / result.seconds
        print("raw inserts: \(result.rows) rows, \(String(format: "%.1f", Double(result.bytes) / 1e6)) MB in \(String(format: "%.2f", result.seconds)) s: \(Int(rate)) rows/s, \(String(format: "%.1f", Double(result.bytes) / 1e6 / result.seconds)) MB/s")
    }
}
