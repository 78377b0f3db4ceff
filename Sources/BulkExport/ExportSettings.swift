public import Access

/// Settings of the export module; every limit is explicit.
public struct ExportSettings: Sendable {
    /// Where the jobs' files are written (one folder per job).
    public var directory: String
    /// How long a finished job's files are kept before they are removed.
    public var retentionMinutes: Int
    /// The least time between two status requests of one job; sooner is answered 429.
    public var pollSeconds: Int
    /// How many exports may run at once on this node; one more is refused.
    public var maximumRunning: Int
    /// How many patients are read, written and audited together.
    public var patientsPerBatch: Int

    public init(directory: String = "./data/export", retentionMinutes: Int = 60, pollSeconds: Int = 2, maximumRunning: Int = 2, patientsPerBatch: Int = 100) {
        self.directory = directory
        self.retentionMinutes = retentionMinutes
        self.pollSeconds = pollSeconds
        self.maximumRunning = maximumRunning
        self.patientsPerBatch = patientsPerBatch
    }

    public enum Keys {
        public static let directory = Setting.text("export-dir", default: "./data/export", "folder for Bulk Data $export jobs' NDJSON files (one folder per job)")
        public static let retentionMinutes = Setting.integer("export-retention-minutes", default: 60, 1...10_080,
                                                             "minutes a finished $export's files are kept before they are removed")
        public static let pollSeconds = Setting.integer("export-poll-seconds", default: 2, 0...600,
                                                        "least seconds between two status requests of one $export job; sooner is answered 429 with Retry-After")
        public static let maximumRunning = Setting.integer("export-max-running", default: 2, 1...64, "$export jobs running at once on one node; one more is refused (503)")
        public static let patientsPerBatch = Setting.integer("export-batch-patients", default: 100, 1...10_000,
                                                             "patients an $export reads, writes and audits together")
        public static let all = [directory, retentionMinutes, pollSeconds, maximumRunning, patientsPerBatch]
    }

    public init(reading settings: any SettingsReader) throws {
        self.init(directory: try settings.text(Keys.directory) ?? "./data/export", retentionMinutes: try settings.integer(Keys.retentionMinutes),
                  pollSeconds: try settings.integer(Keys.pollSeconds), maximumRunning: try settings.integer(Keys.maximumRunning),
                  patientsPerBatch: try settings.integer(Keys.patientsPerBatch))
    }
}
