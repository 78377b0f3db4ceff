import Foundation
import Logging
import Synchronization

/// One JSON object per line (time, level, label, message, then the metadata's keys), for log collectors that
/// read JSON. Written by hand: swift-log ships only its text handler, and this is all a collector needs.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    let label: String
    let write: @Sendable (String) -> Void

    /// Writes each line to standard output.
    public static func standardOutput(label: String, metadataProvider: Logger.MetadataProvider?) -> JSONLogHandler {
        JSONLogHandler(label: label, metadataProvider: metadataProvider) { line in
            StandardOutput.lock.withLock { _ in
                fputs(line, StandardOutput.stream)
                fflush(StandardOutput.stream)
            }
        }
    }

    public init(label: String, metadataProvider: Logger.MetadataProvider? = nil, write: @escaping @Sendable (String) -> Void) {
        self.label = label
        self.metadataProvider = metadataProvider
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let given = event.metadata { merged.merge(given) { $1 } }
        var object: [String: Any] = ["time": Self.timestamp(), "level": event.level.rawValue, "label": label, "message": "\(event.message)"]
        for (key, value) in merged where object[key] == nil { object[key] = Self.plain(value) }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else { return }
        write(String(decoding: data, as: UTF8.self) + "\n")
    }

    static func plain(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case .string(let text): text
        case .stringConvertible(let convertible): convertible.description
        case .array(let values): values.map(plain)
        case .dictionary(let values): values.mapValues(plain)
        }
    }

    static func timestamp() -> String {
        Date().formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}

/// Standard output, written a line at a time by the log handlers and the start banner alike.
public enum StandardOutput {
    static let lock = Mutex(())
    /// C's stdout, looked up once: Swift 6 refuses to read the C global `stdout` (shared mutable state), so its
    /// address comes from the symbol table; every write here goes through `lock`.
    nonisolated(unsafe) static let stream: UnsafeMutablePointer<FILE> = {
        guard let symbol = dlsym(nil, "stdout") else { fatalError("the C library's stdout symbol was not found") }
        return symbol.assumingMemoryBound(to: UnsafeMutablePointer<FILE>.self).pointee
    }()

    /// Line-buffers stdout: a service manager's journal or a pipe gets each line when it is written, not
    /// when a block fills or the process exits (the start banner reached the log only at exit before).
    public static func lineBuffered() {
        setvbuf(stream, nil, _IOLBF, 0)
    }
}
