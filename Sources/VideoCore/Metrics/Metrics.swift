import Synchronization

/// Counters, gauges and histograms with labels, rendered as Prometheus text exposition (0.0.4)
/// for `GET /metrics`. Updates take a mutex briefly; rendering copies under it.
public final class MetricsRegistry: Sendable {
    public enum Kind: String, Sendable { case counter, gauge, histogram }

    public typealias Labels = [(String, String)]

    struct Family: Sendable {
        var name: String
        var help: String
        var kind: Kind
        var buckets: [Double]
        /// Keyed by the rendered label set, e.g. `method="GET",status="200"`.
        var series: [String: Series] = [:]
    }

    struct Series: Sendable {
        var value: Double = 0
        var bucketCounts: [UInt64] = []
        var count: UInt64 = 0
    }

    private let families = Mutex<[String: Family]>([:])

    public init() {}

    public static let defaultBuckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    /// Declares a metric (idempotent). Names must match `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    public func register(_ name: String, _ kind: Kind, help: String, buckets: [Double] = MetricsRegistry.defaultBuckets) {
        precondition(Self.isValidName(name), "invalid metric name \(name)")
        families.withLock { f in
            if f[name] == nil { f[name] = Family(name: name, help: help, kind: kind, buckets: buckets.sorted()) }
        }
    }

    public func increment(_ name: String, by amount: Double = 1, labels: Labels = []) {
        update(name, labels) { s, _ in s.value += amount }
    }

    public func set(_ name: String, _ value: Double, labels: Labels = []) {
        update(name, labels) { s, _ in s.value = value }
    }

    public func observe(_ name: String, _ value: Double, labels: Labels = []) {
        update(name, labels) { s, buckets in
            if s.bucketCounts.isEmpty { s.bucketCounts = Array(repeating: 0, count: buckets.count) }
            for (i, bound) in buckets.enumerated() where value <= bound { s.bucketCounts[i] += 1 }
            s.count += 1
            s.value += value
        }
    }

    private func update(_ name: String, _ labels: Labels, _ body: (inout Series, [Double]) -> Void) {
        let key = Self.renderLabels(labels)
        families.withLock { f in
            guard var family = f[name] else { return }
            var series = family.series[key] ?? Series()
            body(&series, family.buckets)
            family.series[key] = series
            f[name] = family
        }
    }

    /// The exposition text, families sorted by name, series by labels.
    public func render() -> String {
        let snapshot = families.withLock { $0 }
        var out = ""
        for family in snapshot.values.sorted(by: { $0.name < $1.name }) {
            out += "# HELP \(family.name) \(Self.escapeHelp(family.help))\n"
            out += "# TYPE \(family.name) \(family.kind.rawValue)\n"
            for (labels, s) in family.series.sorted(by: { $0.key < $1.key }) {
                switch family.kind {
                case .counter, .gauge:
                    out += "\(family.name)\(Self.braced(labels)) \(Self.number(s.value))\n"
                case .histogram:
                    let sep = labels.isEmpty ? "" : labels + ","
                    for (i, bound) in family.buckets.enumerated() {
                        let count = s.bucketCounts.isEmpty ? 0 : s.bucketCounts[i]
                        out += "\(family.name)_bucket{\(sep)le=\"\(Self.number(bound))\"} \(count)\n"
                    }
                    out += "\(family.name)_bucket{\(sep)le=\"+Inf\"} \(s.count)\n"
                    out += "\(family.name)_sum\(Self.braced(labels)) \(Self.number(s.value))\n"
                    out += "\(family.name)_count\(Self.braced(labels)) \(s.count)\n"
                }
            }
        }
        return out
    }

    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    static func isValidName(_ n: String) -> Bool {
        guard let f = n.unicodeScalars.first,
              f == "_" || f == ":" || (f.value >= 0x41 && f.value <= 0x5A) || (f.value >= 0x61 && f.value <= 0x7A) else { return false }
        return n.unicodeScalars.allSatisfy { $0 == "_" || $0 == ":" || ($0.value >= 0x30 && $0.value <= 0x39) || ($0.value >= 0x41 && $0.value <= 0x5A) || ($0.value >= 0x61 && $0.value <= 0x7A) }
    }

    static func renderLabels(_ labels: Labels) -> String {
        labels.sorted { $0.0 < $1.0 }.map { "\($0.0)=\"\(escapeLabel($0.1))\"" }.joined(separator: ",")
    }

    static func braced(_ rendered: String) -> String { rendered.isEmpty ? "" : "{\(rendered)}" }

    static func escapeLabel(_ v: String) -> String {
        v.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"").replacing("\n", with: "\\n")
    }

    static func escapeHelp(_ v: String) -> String {
        v.replacing("\\", with: "\\\\").replacing("\n", with: "\\n")
    }

    static func number(_ d: Double) -> String {
        if d.isNaN { return "NaN" }
        if d.isInfinite { return d > 0 ? "+Inf" : "-Inf" }
        if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
        return "\(d)"
    }
}

/// The metrics vidd exports (names are part of the operator's contract, like the Redis names).
public enum ServiceMetrics {
    public static let httpRequests = "vidd_http_requests_total"
    public static let httpDuration = "vidd_http_request_duration_seconds"
    public static let jobsStarted = "vidd_jobs_started_total"
    public static let jobsCompleted = "vidd_jobs_completed_total"
    public static let jobsFailed = "vidd_jobs_failed_total"
    public static let jobsDeadLettered = "vidd_jobs_dead_lettered_total"
    public static let jobsActive = "vidd_jobs_active"
    public static let jobDuration = "vidd_job_duration_seconds"
    public static let sseClients = "vidd_sse_clients"
    public static let uploadBytes = "vidd_upload_bytes_total"
    public static let tusUploads = "vidd_tus_uploads_total"
    public static let ingestBytes = "vidd_ingest_bytes_total"
    public static let ingestRefused = "vidd_ingest_refused_total"
    public static let rateLimited = "vidd_rate_limited_total"
    public static let rateLimitFailOpen = "vidd_rate_limit_fail_open_total"
    public static let webhookDeliveries = "vidd_webhook_attempts_total"
    public static let signedMediaRefused = "vidd_signed_media_refused_total"
    public static let s3Retries = "vidd_s3_retries_total"

    public static func registerAll(in r: MetricsRegistry) {
        r.register(httpRequests, .counter, help: "HTTP requests by route and status")
        r.register(httpDuration, .histogram, help: "HTTP request duration in seconds by route")
        r.register(jobsStarted, .counter, help: "Jobs started by this process")
        r.register(jobsCompleted, .counter, help: "Jobs completed by this process")
        r.register(jobsFailed, .counter, help: "Jobs failed, by reason (bad_media, transient)")
        r.register(jobsDeadLettered, .counter, help: "Jobs moved to the dead-letter stream")
        r.register(jobsActive, .gauge, help: "Jobs running now")
        r.register(jobDuration, .histogram, help: "Whole job wall time in seconds", buckets: [1, 5, 10, 30, 60, 120, 300, 600, 1200, 3600])
        r.register(sseClients, .gauge, help: "Connected progress (SSE) clients")
        r.register(uploadBytes, .counter, help: "Bytes received in uploads")
        r.register(tusUploads, .counter, help: "tus uploads by event (created, completed, expired, terminated, checksum_mismatch)")
        r.register(ingestBytes, .counter, help: "Bytes of sources fetched from a source_url")
        r.register(ingestRefused, .counter, help: "source_url submissions and redirect hops refused by the SSRF guard, by rule")
        r.register(rateLimited, .counter, help: "Requests refused with 429, by limit (submit, read)")
        r.register(rateLimitFailOpen, .counter, help: "Requests let through unchecked because Redis could not answer the rate limiter in time")
        r.register(webhookDeliveries, .counter, help: "Webhook attempts by outcome (delivered, retry, failed)")
        r.register(s3Retries, .counter, help: "S3 requests retried, by operation and code (S3 error code, or the network failure)")
        r.register(signedMediaRefused, .counter, help: "Media requests of private videos refused with 403, by reason (unsigned, invalid, expired)")
    }
}
