import Metrics
import Prometheus

/// The server's metrics in Prometheus's text format (`/metrics`): swift-metrics is bootstrapped once per process
/// with swift-prometheus's factory, so the request, pool, audit, outbox and MLLP figures recorded anywhere
/// through swift-metrics land in one registry. Labels name route templates, channels and outboxes, never a
/// patient, a user or an id.
public enum Telemetry {
    /// The process's registry; its first use bootstraps swift-metrics with it (once: swift-metrics allows one).
    public static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // Prometheus names allow [a-zA-Z0-9_:]; swift-metrics labels here (Hummingbird's, ours) use dots.
        factory.nameAndLabelSanitizer = { name, labels in (prometheusName(name), labels.map { (prometheusName($0.0), $0.1) }) }
        // Pool waits and audit appends take well under a millisecond when all is well: buckets that show it.
        factory.defaultDurationHistogramBuckets = [.microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
                                                   .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
                                                   .milliseconds(500), .seconds(1), .milliseconds(2_500), .seconds(5), .seconds(10)]
        factory.valueHistogramBuckets["karna_audit_batch_size"] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000]
        MetricsSystem.bootstrap(factory)
        return registry
    }()

    /// Makes sure swift-metrics records into the registry from now on (a handle made earlier stays a no-op).
    public static func start() { _ = registry }

    /// Every metric, in Prometheus's text exposition format.
    public static func exposition() -> String {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    static func prometheusName(_ name: String) -> String {
        String(name.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == ":") ? $0 : "_" })
    }

    /// One outbox's backlog: how many items wait and how long the oldest has waited.
    static func outbox(_ name: String, depth: Int, oldestSeconds: Double) {
        Gauge(label: "karna.outbox.depth", dimensions: [("outbox", name)]).record(depth)
        Gauge(label: "karna.outbox.oldest_age_seconds", dimensions: [("outbox", name)]).record(oldestSeconds)
    }
}
