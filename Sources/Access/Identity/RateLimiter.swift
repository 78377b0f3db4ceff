import FHIRCore
import Synchronization

/// How often one key (a client address, an account) may do something, per minute (issue 31, item 10:
/// ASVS 2.4.1 for logins, and every API). A fixed one-minute window per key: simple, and enough to
/// stop guessing and flooding; a key's window starts with its first request. Per server: behind a
/// load balancer each node counts its own share.
public final class RateLimiter: Sendable {
    private struct Window {
        var start: Int64
        var count: Int
    }

    /// Allowed per key and minute; 0 turns the limit off.
    public let perMinute: Int
    /// Keys kept before expired windows are swept: a flood of new addresses cannot grow the table without bound.
    private let sweepAbove: Int
    private let windows = Mutex<[String: Window]>([:])

    public init(perMinute: Int, sweepAbove: Int = 100_000) {
        self.perMinute = perMinute
        self.sweepAbove = sweepAbove
    }

    /// Counts one use by `key`: nil when allowed, else the seconds until the key may try again.
    public func use(_ key: String, now: Int64 = Instant.now()) -> Int? {
        guard perMinute > 0 else { return nil }
        return windows.withLock { windows in
            if windows.count > sweepAbove { windows = windows.filter { now - $0.value.start < 60_000 } }
            var window = windows[key] ?? Window(start: now, count: 0)
            if now - window.start >= 60_000 { window = Window(start: now, count: 0) }
            guard window.count < perMinute else { return Int((window.start + 60_000 - now + 999) / 1_000) }
            window.count += 1
            windows[key] = window
            return nil
        }
    }
}
