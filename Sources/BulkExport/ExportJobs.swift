import Access
import FHIRCore
import Foundation

/// One export job as its folder's `job.json` keeps it: who asked, what, and how far it came.
struct ExportJob: Codable, Sendable {
    enum State: String, Codable, Sendable { case running, complete, failed }

    /// One NDJSON file of the output.
    struct Output: Codable, Sendable {
        var type: String
        var file: String
        var count: Int
    }

    var id: String
    /// The backend client that started it; only it may ask for the job and its files.
    var client: String
    var request: ExportRequest
    /// When the export began reading (the manifest's `transactionTime`), ms since 1970.
    var transactionTime: Int64
    var state: State
    var patients: Int
    var outputs: [Output]
    /// With `_since`: the records deleted since, as transaction Bundles of DELETE entries (the manifest's `deleted`).
    var deleted: Output?
    /// Why it failed, as the status request says.
    var failure: String?
    var finished: Int64?
}

/// The export jobs of this node, each a folder under the export directory holding `job.json` and its NDJSON files:
/// a job outlives the request that started it, and a restarted server still serves the finished ones. A job that was
/// running when the server stopped is marked failed, visibly, rather than left to look as if it ran.
actor ExportJobs: AsyncJobs {
    nonisolated let owner = "export"
    let settings: ExportSettings
    let clock: @Sendable () -> Int64
    private var jobs: [String: ExportJob] = [:]
    private var cancelled: Set<String> = []
    private var lastPolled: [String: Int64] = [:]
    private var sweeping = false

    init(settings: ExportSettings, clock: @escaping @Sendable () -> Int64 = { Instant.now() }) {
        self.settings = settings
        self.clock = clock
        let root = URL(fileURLWithPath: settings.directory)
        let decoder = JSONDecoder()
        for folder in (try? FileManager.default.contentsOfDirectory(at: root, includingPropertiesForKeys: nil)) ?? [] {
            guard let data = try? Data(contentsOf: folder.appendingPathComponent("job.json")), var job = try? decoder.decode(ExportJob.self, from: data) else { continue }
            if job.state == .running {
                job.state = .failed
                job.failure = "the server stopped while this export ran; nothing of it is kept - start the export again"
                job.finished = clock()
                // Unwritable now, it is read as running again next start and marked failed then: nothing is lost.
                try? Self.save(job, in: root)
            }
            jobs[job.id] = job
        }
    }

    private var root: URL { URL(fileURLWithPath: settings.directory) }

    func folder(_ id: String) -> URL { root.appendingPathComponent(id) }

    // MARK: Starting and running

    /// Registers a new job for `client`; refused when this node already runs as many as it may.
    func start(_ request: ExportRequest, client: String) throws -> ExportJob {
        sweep()
        let running = jobs.values.filter { $0.state == .running }.count
        guard running < settings.maximumRunning else {
            throw FHIRError(.busy, code: .throttled, "\(running) exports are running on this server, the most it runs at once (export-max-running); start this one later")
        }
        let job = ExportJob(id: UUID().uuidString.lowercased(), client: client, request: request, transactionTime: clock(), state: .running,
                            patients: 0, outputs: [])
        do {
            try FileManager.default.createDirectory(at: folder(job.id), withIntermediateDirectories: true)
        } catch {
            throw FHIRError(.internalError, code: .exception, "the export folder \(settings.directory) (export-dir) cannot be written: \(error.localizedDescription)")
        }
        do {
            try Self.save(job, in: root)
        } catch {
            try? FileManager.default.removeItem(at: folder(job.id))
            throw FHIRError(.internalError, code: .exception, "the export job's record cannot be written in \(settings.directory) (export-dir): \(error.localizedDescription)")
        }
        jobs[job.id] = job
        return job
    }

    func isCancelled(_ id: String) -> Bool { cancelled.contains(id) }

    func progress(_ id: String, patients: Int) {
        jobs[id]?.patients = patients
    }

    /// The runner's end: the outputs written, or why it stopped. A cancelled job's folder is removed.
    func finish(_ id: String, outputs: [ExportJob.Output], deleted: ExportJob.Output? = nil, failure: String?) {
        if cancelled.contains(id) {
            try? FileManager.default.removeItem(at: folder(id))
            jobs[id] = nil
            return
        }
        guard var job = jobs[id] else { return }
        job.state = failure == nil ? .complete : .failed
        job.outputs = outputs
        job.deleted = deleted
        job.failure = failure
        job.finished = clock()
        do {
            try Self.save(job, in: root)
        } catch {
            // Files without a record would not survive a restart: the client is told now rather than then.
            job.state = .failed
            job.failure = "the job's record could not be written in the export folder (export-dir): \(error.localizedDescription)"
        }
        jobs[id] = job
        startSweeper()
    }

    // MARK: What the interface asks

    private func job(_ id: String, for principal: Principal) throws -> ExportJob {
        sweep()
        // Another client's job is as unknown as a missing one: its existence is not theirs to learn.
        guard let job = jobs[id], principal.kind == .system, job.client == principal.id else {
            throw FHIRError(.notFound, code: .notFound, "there is no export job \(id) for this client (finished jobs are removed after \(settings.retentionMinutes) minutes)")
        }
        return job
    }

    func status(_ id: String, principal: Principal) throws -> AsyncJobStatus {
        let job = try job(id, for: principal)
        let now = clock()
        if let last = lastPolled[id], now - last < Int64(settings.pollSeconds) * 1_000 { return .tooFrequent(retryAfter: settings.pollSeconds) }
        lastPolled[id] = now
        switch job.state {
        case .running:
            return .running(progress: "\(job.patients) patients exported", retryAfter: settings.pollSeconds)
        case .failed:
            return .failed(FHIRError(.internalError, code: .exception, "the export failed: \(job.failure ?? "no reason was recorded")"))
        case .complete:
            return .complete(manifest: manifest(job), expires: (job.finished ?? now) + Int64(settings.retentionMinutes) * 60_000)
        }
    }

    func file(_ id: String, name: String, principal: Principal) throws -> AsyncJobFile {
        let job = try job(id, for: principal)
        guard job.state == .complete, (job.outputs + [job.deleted].compactMap { $0 }).contains(where: { $0.file == name }) else {
            throw FHIRError(.notFound, code: .notFound, "export job \(id) has no file \(name)")
        }
        let type = name.hasSuffix(".csv") ? "text/csv; charset=utf-8" : name.hasSuffix(".sql") ? "application/sql"
            : name.hasSuffix(".duckdb") ? "application/octet-stream" : "application/fhir+ndjson"
        return AsyncJobFile(path: folder(id).appendingPathComponent(name).path, contentType: type)
    }

    func cancel(_ id: String, principal: Principal) throws {
        let job = try job(id, for: principal)
        lastPolled[id] = nil
        if job.state == .running {
            // The runner stops at its next batch and removes what it wrote.
            cancelled.insert(id)
        } else {
            jobs[id] = nil
            try? FileManager.default.removeItem(at: folder(id))
        }
    }

    /// The completion manifest (Bulk Data IG v2): one output entry per file, with its count.
    func manifest(_ job: ExportJob) -> [UInt8] {
        func entry(_ output: ExportJob.Output) -> JSONValue {
            .object(JSONObject([("type", .string(output.type)), ("url", .string("\(job.request.baseURL)/_jobs/\(owner)/\(job.id)/\(output.file)")),
                                ("count", .number(String(output.count)))]))
        }
        var manifest = JSONObject([
            ("transactionTime", .string(Instant.format(milliseconds: job.transactionTime))),
            ("request", .string(job.request.requestURL)),
            ("requiresAccessToken", .bool(true)),
            ("output", .array(job.outputs.map(entry))),
            ("error", .array([])),
        ])
        if let deleted = job.deleted { manifest["deleted"] = .array([entry(deleted)]) }
        return JSONWriter.bytes(.object(manifest))
    }

    // MARK: Removal after the retention time

    /// Removes finished jobs past their retention.
    func sweep() {
        let now = clock(), keep = Int64(settings.retentionMinutes) * 60_000
        for job in jobs.values where job.state != .running {
            if let finished = job.finished, now - finished >= keep {
                try? FileManager.default.removeItem(at: folder(job.id))
                jobs[job.id] = nil
                lastPolled[job.id] = nil
            }
        }
    }

    /// Wakes once a minute while finished jobs wait for removal, so files go when their time is up, asked for or not.
    private func startSweeper() {
        guard !sweeping else { return }
        sweeping = true
        Task { [weak self] in
            while let self, await self.sweepAndContinue() {
                try? await Task.sleep(for: .seconds(60))
            }
        }
    }

    private func sweepAndContinue() -> Bool {
        sweep()
        sweeping = jobs.values.contains { $0.state != .running }
        return sweeping
    }

    private static func save(_ job: ExportJob, in root: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try encoder.encode(job).write(to: root.appendingPathComponent(job.id).appendingPathComponent("job.json"), options: .atomic)
    }
}
