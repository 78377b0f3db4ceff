import FHIRCore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The NLL-simulator (Tests/Support/nll_simulator.py — a test component, not E-hälsomyndighetens NLL),
/// started as its own process on a free port for one test and stopped after it.
public final class NLLSimulator: Sendable {
    let process: ChildProcess
    /// Where the simulator answers (give it to `NLLClient` or `--nll-url`).
    public let url: URL

    static var script: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Tests/Support/nll_simulator.py").standardized
    }

    /// Whether the simulator can run here (python3 on the path).
    public static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") }

    public init() throws {
        // It ends when its standard input closes, so a test process that dies leaves no simulator behind.
        process = try ChildProcess("/usr/bin/python3", ["-u", Self.script.path, "--port", "0", "--exit-with-stdin"],
                                   stdin: .pipe, stdout: .pipe, quietErrors: true)
        // The first line names the address: "... på http://127.0.0.1:PORT".
        let text = process.readLine()
        guard let range = text.range(of: "http://"), let url = URL(string: String(text[range.lowerBound...]).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            process.terminate()
            throw SimulatorError(description: "the NLL-simulator did not start: \(text)")
        }
        self.url = url
    }

    deinit {
        process.terminate()
    }

    public struct SimulatorError: Error, CustomStringConvertible { public var description: String }

    /// Calls one of the simulator's own controls (`/_simulator/...`), answering its JSON.
    @discardableResult
    public func control(_ name: String, _ body: [String: Any] = [:]) async throws -> [String: Any] {
        var request = URLRequest(url: url.appendingPathComponent("_simulator/\(name)"))
        request.httpMethod = "POST"
        request.httpBody = try JSONSerialization.data(withJSONObject: body)
        request.setValue("\(request.httpBody!.count)", forHTTPHeaderField: "Content-Length")
        let (data, _) = try await URLSession.shared.data(for: request)
        return (try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
    }

    /// The calls NLL received (method, path, the x- headers), oldest first.
    public func calls() async throws -> [[String: Any]] {
        try await control("calls")["calls"] as? [[String: Any]] ?? []
    }
}
