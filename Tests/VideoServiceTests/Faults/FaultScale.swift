import TestSupport

/// How big the fault suite runs. The short form runs in `scripts/test.sh` (every scenario, small:
/// the whole suite well under four minutes); the long form in `scripts/fault-suite.sh`
/// (`VIDD_FAULT_SCALE=long`), whose figures are in docs/reliability.md.
struct FaultScale: Sendable {
    var name: String
    /// Worker kills: jobs in the batch, SIGKILLs over it, `vidd worker` processes alive at once.
    var killJobs: Int
    var kills: Int
    var workers: Int
    /// Redis and PostgreSQL restarts: jobs in the batch, how long the server stays down.
    var outageJobs: Int
    var outageSeconds: Int
    /// `pg_ctl restart`s back to back after the outage.
    var restarts: Int
    /// S3 faults: jobs in the batch, how long every request fails.
    var s3Jobs: Int
    var s3FullOutageSeconds: Int
    /// Concurrent POSTs of one `video_id`.
    var duplicatePosts: Int

    static let short = FaultScale(name: "short", killJobs: 8, kills: 5, workers: 3, outageJobs: 6, outageSeconds: 4, restarts: 3,
                                  s3Jobs: 6, s3FullOutageSeconds: 3, duplicatePosts: 16)
    static let long = FaultScale(name: "long", killJobs: 40, kills: 24, workers: 3, outageJobs: 30, outageSeconds: 15, restarts: 10,
                                 s3Jobs: 30, s3FullOutageSeconds: 10, duplicatePosts: 64)

    static var current: FaultScale { TestServices.env("VIDD_FAULT_SCALE") == "long" ? .long : .short }

    /// The lease the scenarios with crashes use: a killed worker's job is taken over after it.
    /// (5 s is the shortest `VIDD_LEASE_SECONDS` accepts.)
    static let leaseSeconds = 5

    /// Settings every scenario's daemons share: a short lease, attempts enough that the faults a
    /// scenario injects never exhaust them (each scenario caps what one job can suffer), the
    /// fastest preset, and debug logs (the audit reads `job done` and the S3 retries from them).
    static let daemonSettings: [String: String] = [
        "VIDD_LEASE_SECONDS": String(leaseSeconds),
        "VIDD_MAX_ATTEMPTS": "10",
        "VIDD_X264_PRESET": "ultrafast",
        "VIDD_SHUTDOWN_GRACE_SECONDS": "10",
        "VIDD_LOG_LEVEL": "debug",
    ]
}
