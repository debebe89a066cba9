/// The job queue's timing and retry rules, derived from the configuration.
///
/// A worker owns a stream entry while it is pending under its consumer name. It proves it is alive
/// by re-claiming its own entries (`XCLAIM … 0 JUSTID`, which resets their idle time without
/// counting a delivery) every `heartbeatInterval`. Every worker runs `XAUTOCLAIM … minIdle=lease`
/// every `claimInterval`, so an entry is only taken over when its owner missed three heartbeats in
/// a row — never while the owner is alive.
public struct LeasePolicy: Sendable, Equatable {
    public var lease: Duration
    public var maxAttempts: Int
    public var shutdownGrace: Duration

    public init(lease: Duration = .seconds(60), maxAttempts: Int = 3, shutdownGrace: Duration = .seconds(30)) {
        precondition(lease >= .seconds(1) && maxAttempts >= 1)
        self.lease = lease
        self.maxAttempts = maxAttempts
        self.shutdownGrace = shutdownGrace
    }

    public init(_ c: Configuration) {
        self.init(lease: c.lease, maxAttempts: c.maxAttempts, shutdownGrace: c.shutdownGrace)
    }

    public var heartbeatInterval: Duration { lease / 3 }
    public var claimInterval: Duration { lease / 2 }
    /// XREADGROUP BLOCK: short enough that heartbeats and claims stay on time on a single connection.
    public var readBlock: Duration { min(heartbeatInterval, .seconds(5)) }
    /// How often a worker sweeps dead workers' work directories and idle consumers.
    public var sweepInterval: Duration { lease }
    /// A consumer idle this long with nothing pending belongs to a worker that is gone (a live idle
    /// one is recreated by its next delivery, so removing it costs nothing).
    public var consumerIdleLimit: Duration { lease * 2 }
}

/// Why a job did not complete.
public enum JobFailure: Sendable, Equatable {
    /// The source cannot be processed (not media, corrupt, no video stream) or fetched (a
    /// source_url refused by the SSRF guard, answered 404, larger than the limit): fail now, no retry.
    case badMedia(FailureCode, String)
    /// Anything else (network, storage, database, crash of the transcoder): retried by redelivery.
    case transient(String)
}

/// A stream entry handed to this worker by XREADGROUP or XAUTOCLAIM.
public struct Delivery: Sendable, Equatable {
    public var entryID: String
    public var videoID: String
    /// Times delivered (XPENDING's counter): 1 on the first XREADGROUP, +1 per claim by XAUTOCLAIM.
    public var deliveryCount: Int

    public init(entryID: String, videoID: String, deliveryCount: Int) {
        self.entryID = entryID
        self.videoID = videoID
        self.deliveryCount = deliveryCount
    }
}

/// How a started job ended, as the job runner reports it.
public enum JobOutcome: Sendable, Equatable {
    /// The database now says `completed`.
    case completed
    /// `markProcessing` found the video finished or deleted: nothing to do.
    case alreadyFinished
    case failed(JobFailure)
    /// Stopped by `cancelJobs` (shutdown grace expired).
    case cancelled
}
