import HTTPClientCodec
import HTTPFetch
import PGWire
import Reactor
import Synchronization

/// The delivery loop: takes due deliveries from the outbox (`WebhookStore.claimDue`, `FOR UPDATE
/// SKIP LOCKED` plus a lease, so any number of processes share the work and none sends a row
/// another is sending), POSTs each signed payload through the SSRF guard, records the attempt
/// and applies `WebhookDeliveryState`'s decision. At most `concurrency` attempts run at once, each
/// bounded by `attemptTimeout`; it runs on its own tasks beside the job loop, so an endpoint that
/// never answers only ever holds one of its own slots, never a job.
public final class WebhookDispatcher: Sendable {
    public struct Options: Sendable {
        public var pollInterval: Duration = .milliseconds(500)
        public var policy = WebhookRetryPolicy()
        /// Bytes of a response body read (and dropped) before the connection is closed.
        public var responseLimit = 64 << 10
        /// Finished deliveries are listed this long, then dropped (checked every `pruneEvery`).
        public var retention: Duration = .seconds(30 * 86_400)
        public var pruneEvery: Duration = .seconds(600)
        public init() {}
    }

    let store: WebhookStore<PGPool>
    let fetcher: HTTPFetcher
    let dialer: GuardedDialer
    let concurrency: Int
    let attemptTimeout: Duration
    let options: Options
    let logger: Logger
    let metrics: MetricsRegistry
    /// Signs a private video's URLs again for each attempt (`WebhookPayloadSigning`).
    let signer: MediaSigner?
    private let inFlight = Mutex<[String: Task<Void, Never>]>([:])

    public init(context: ServiceContext, options: Options = Options()) {
        let settings = context.configuration.webhooks
        var fetchOptions = HTTPFetcher.Options()
        fetchOptions.connectTimeout = settings.attemptTimeout
        fetchOptions.stallTimeout = settings.attemptTimeout
        fetchOptions.totalTimeout = settings.attemptTimeout
        fetchOptions.maxBodyBytes = Int64(options.responseLimit)
        fetchOptions.tls = .client(caFile: context.configuration.ingest.caFile)
        fetchOptions.userAgent = "vidd-webhooks"
        self.fetcher = HTTPFetcher(options: fetchOptions)
        self.dialer = GuardedDialer(policy: context.configuration.ingest.policy)
        self.store = WebhookStore(db: context.database)
        self.concurrency = settings.concurrency
        self.attemptTimeout = settings.attemptTimeout
        self.options = options
        self.logger = context.logger.with("component", "webhooks")
        self.metrics = context.metrics
        self.signer = MediaSigner(context.configuration.mediaSigning)
    }

    /// Until the task is cancelled; then the attempts under way are cancelled too (their rows
    /// become due again when their lease ends).
    public func run() async {
        var warned = false
        var lastPrune = ContinuousClock.now - options.pruneEvery
        while !Task.isCancelled {
            if ContinuousClock.now - lastPrune >= options.pruneEvery {
                lastPrune = ContinuousClock.now
                do { try await store.prune(olderThan: options.retention) } catch {
                    logger.warning("cannot prune old webhook deliveries", ["error": "\(error)"])
                }
            }
            let free = concurrency - inFlight.withLock { $0.count }
            var claimed: [ClaimedWebhookDelivery] = []
            if free > 0 {
                do {
                    // The lease outlives the attempt's own deadline, so a row is never sent twice at once.
                    claimed = try await store.claimDue(limit: free, lease: attemptTimeout + .seconds(30))
                    warned = false
                } catch {
                    if !warned { logger.warning("cannot read due webhook deliveries", ["error": "\(error)"]) }
                    warned = true
                }
            }
            for delivery in claimed { start(delivery) }
            // A full batch: there may be more due at once.
            if !claimed.isEmpty && claimed.count == free { continue }
            try? await Task.sleep(for: options.pollInterval)
        }
        let running = inFlight.withLock { Array($0.values) }
        for task in running { task.cancel() }
        for task in running { await task.value }
    }

    private func start(_ delivery: ClaimedWebhookDelivery) {
        inFlight.withLock { tasks in
            tasks[delivery.id] = Task(executorPreference: EventLoop.shared) { [self] in
                await attempt(delivery)
                _ = inFlight.withLock { $0.removeValue(forKey: delivery.id) }
            }
        }
    }

    /// One attempt: sign (the payload's media URLs, then the message), POST, record.
    func attempt(_ delivery: ClaimedWebhookDelivery) async {
        let log = logger.with("webhook_id", delivery.id)
        let startedMs = Timestamp.nowMilliseconds()
        let clock = ContinuousClock.now
        let outcome = await post(delivery, timestamp: startedMs / 1000)
        let latency = ContinuousClock.now - clock
        var state = WebhookDeliveryState(status: .pending, attempts: delivery.attemptsMade)
        let decision = state.attemptFinished(outcome, age: delivery.age + latency, policy: options.policy, random: Double.random(in: 0..<1))
        let code: Int?
        let error: String?
        switch outcome {
        case .answered(let status, _):
            code = status
            error = (200...299).contains(status) ? nil : "HTTP \(status)"
        case .noAnswer(let why):
            code = nil
            error = why
        }
        var next = Duration.zero
        var disable: String?
        switch decision {
        case .delivered:
            metrics.increment(ServiceMetrics.webhookDeliveries, labels: [("outcome", "delivered")])
        case .retry(let after):
            next = after
            metrics.increment(ServiceMetrics.webhookDeliveries, labels: [("outcome", "retry")])
            log.info("webhook attempt failed; retrying", ["attempt": String(state.attempts), "error": error ?? "", "retry_in_ms": String(after.wholeMilliseconds)])
        case .giveUp(let reason, let disableEndpoint):
            metrics.increment(ServiceMetrics.webhookDeliveries, labels: [("outcome", "failed")])
            log.warning("webhook delivery given up", ["attempts": String(state.attempts), "reason": reason, "error": error ?? ""])
            if disableEndpoint { disable = reason }
        }
        let record = WebhookAttemptRecord(
            deliveryID: delivery.id, endpointID: delivery.endpointID, attempt: state.attempts, startedAtMilliseconds: startedMs,
            latencyMilliseconds: latency.wholeMilliseconds,
            responseCode: code, succeeded: decision == .delivered, error: error.map { RequestText.shown($0, limit: 300) })
        do {
            try await store.record(attempt: record, state: state, nextAttemptIn: next, disableEndpoint: disable)
        } catch {
            // The lease ends and the row is due again: the receiver may see this message twice
            // (same webhook-id), which is what the id is for.
            log.warning("cannot record a webhook attempt", ["error": "\(error)"])
        }
    }

    private func post(_ delivery: ClaimedWebhookDelivery, timestamp: Int64) async -> WebhookDeliveryState.Outcome {
        guard let secret = WebhookSecret(text: delivery.secret) else { return .noAnswer("the endpoint's secret is unreadable") }
        let url: HTTPURL
        // Checked at every attempt: VIDD_INGEST_ALLOW may have changed since the endpoint was added.
        do { url = try dialer.policy.check(text: delivery.url) } catch { return .noAnswer(error.description) }
        var payload = delivery.payload
        if let signer, let videoID = delivery.videoID {
            payload = WebhookPayloadSigning.refreshed(payload, videoID: videoID, signer: signer, now: timestamp)
        }
        let body = Array(payload.utf8)
        var headers = HTTPHeaders([("Content-Type", "application/json")])
        for (name, value) in WebhookSignature.headers(secret: secret, messageID: delivery.id, timestamp: timestamp, body: body) {
            headers.add(name, value)
        }
        do {
            let response = try await fetcher.fetch(HTTPFetchRequest(method: "POST", url: url, headers: headers, body: body, maxRedirects: 0),
                                                   dialer: dialer)
            let status = response.status
            let retryAfter = response.head.headers["Retry-After"].flatMap { Int($0) }.map { Duration.seconds(max(0, $0)) }
            // The answer's body means nothing to vidd; read a little so the exchange ends cleanly.
            _ = try? await response.collect(upTo: options.responseLimit)
            response.close()
            return .answered(status: status, retryAfter: retryAfter)
        } catch {
            return .noAnswer("\(error)")
        }
    }
}
