import VideoCore
import HTTPServer
import Reactor
import RESP
import Synchronization

/// `GET /progress/{id}` and `GET /progress`: Server-Sent Events fed by Redis pub/sub.
///
/// Order of work, so no update falls between the snapshot and the live events: SUBSCRIBE (the
/// subscription buffers from then on), then read the snapshot (`progress:{id}`, checked against
/// the row), then send the snapshot followed by what the subscription holds — `ProgressStream`
/// drops messages the snapshot already covers and closes after `completed`/`failed`.
/// Heartbeats are comment lines from HTTPServer's event stream when nothing was sent for
/// `Options.heartbeat`; they also notice a client that went away (which cancels the stream).
extension APIHandlers {
    func progress(_ request: HTTPRequest, videoID rawID: String?) async throws -> HTTPResponse {
        guard !progressStreams.isStopping else { throw APIError(.unavailable, "the server is shutting down; reconnect") }
        // An unknown video is a 404 before any streaming starts.
        var videoID: String?
        if let rawID { videoID = try await existingVideo(rawID).id }
        let id = videoID
        return HTTPResponse.eventStream(for: request, heartbeat: options.heartbeat) { [self] _, events in
            try await streamProgress(videoID: id, events: events)
        }
    }

    private func streamProgress(videoID: String?, events: EventStreamWriter) async throws {
        let logger = videoID.map { context.logger.with("video_id", $0) } ?? context.logger
        let channel = videoID.map(keys.progressChannel) ?? keys.progressAllChannel
        let subscription: RESPSubscription
        do {
            subscription = try await context.redis.pubSub.subscribe(channel)
        } catch {
            // Refused by the server (an unreachable Redis is waited for inside subscribe). Headers
            // are gone already: say why in the stream, and end it (EventSource retries).
            logger.error("progress stream could not subscribe", ["error": "\(error)"])
            try await events.send(encoded: Array(Self.errorEvent("cannot subscribe to progress updates; try again later").utf8))
            return
        }
        guard let registration = progressStreams.add(subscription) else {
            await subscription.unsubscribe()
            return
        }
        context.metrics.increment(ServiceMetrics.sseClients, by: 1)
        do {
            try await relay(subscription, registration: registration, videoID: videoID, events: events, logger: logger)
        } catch {
            await finish(subscription, registration)
            throw error
        }
        await finish(subscription, registration)
    }

    private func finish(_ subscription: RESPSubscription, _ registration: UInt64) async {
        progressStreams.remove(registration)
        context.metrics.increment(ServiceMetrics.sseClients, by: -1)
        await subscription.unsubscribe()
    }

    private func relay(_ subscription: RESPSubscription, registration: UInt64, videoID: String?, events: EventStreamWriter, logger: Logger) async throws {
        let (seconds, attoseconds) = options.reconnectDelay.components
        let retry = Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
        try await events.send(encoded: Array(ServerSentEvent.retry(milliseconds: retry).utf8))
        if let hook = options.afterSubscribe { await hook(videoID) }
        var stream = ProgressStream(videoID: videoID)
        if let videoID {
            guard let snapshot = try await snapshot(videoID: videoID) else { return }  // deleted meanwhile
            if try await perform(stream.snapshotLoaded(snapshot), events) { return }
        } else {
            _ = try await perform(stream.snapshotLoaded(nil), events)
        }
        // Pub/sub is at-most-once: what is published while the subscriber's connection is down
        // is lost (the final event included, which would leave this stream open for ever). So a
        // per-video stream re-reads the snapshot each time the subscriptions were restored;
        // ProgressStream drops it unless it is newer than what was sent.
        let (inputs, feed) = AsyncStream<RelayInput>.makeStream()
        let forward = Task(executorPreference: EventLoop.shared) {
            for await message in subscription { feed.yield(.message(message)) }
            feed.finish()
        }
        if videoID != nil {
            progressStreams.onResubscribed(registration) { feed.yield(.resubscribed) }
        }
        defer { forward.cancel() }
        // Ends when the subscription is cancelled (shutdown) or this task is (client gone).
        for await input in inputs {
            switch input {
            case .message(let message):
                guard let event = try? ProgressEvent.decode(message.payload) else {
                    logger.warning("ignoring a progress message that is not a progress event", ["channel": message.channel])
                    continue
                }
                if try await perform(stream.published(event), events) { return }
            case .resubscribed:
                guard let videoID, let current = try await snapshot(videoID: videoID) else { continue }
                logger.info("progress subscription restored; snapshot re-read")
                if try await perform(stream.published(current), events) { return }
            }
        }
    }

    enum RelayInput: Sendable {
        case message(RESPPubSubMessage)
        case resubscribed
    }

    /// Sends the frames; true once the stream is to end.
    private func perform(_ actions: [ProgressStream.Action], _ events: EventStreamWriter) async throws -> Bool {
        for action in actions {
            switch action {
            case .send(let frame):
                try await events.send(encoded: Array(frame.utf8))
            case .close(let frame):
                if let frame { try await events.send(encoded: Array(frame.utf8)) }
                return true
            }
        }
        return false
    }

    /// The event a client sees first: the `progress:{id}` snapshot, or one made from the row when
    /// the key expired or never existed. The row decides whether the video is finished: a final
    /// row with a stale (non-final) snapshot yields the final event, so the stream still ends.
    /// nil when the video no longer exists.
    func snapshot(videoID: String) async throws -> ProgressEvent? {
        let stored = try await queue.latestProgress(videoID: videoID)
        guard let video = try await store.video(id: videoID) else { return nil }
        if let stored, stored.status.isFinal || !video.status.isFinal { return stored }
        return Self.event(from: video)
    }

    static func event(from video: Video) -> ProgressEvent {
        ProgressEvent(
            videoID: video.id, status: video.status, percent: video.status == .completed ? 100 : 0,
            error: video.status == .failed ? video.errorMessage : nil,
            timestamp: video.completedAt ?? video.startedAt ?? video.createdAt,
            playable: video.isPlayable, playableAt: video.playableAt)
    }

    static func errorEvent(_ message: String) -> String {
        ServerSentEvent.format(id: "0", event: "error", data: APIError(.unavailable, message).jsonBody)
    }
}

/// The open progress streams, so shutdown can end them (their subscriptions finish, the
/// responses complete, the connections close) instead of waiting out the grace period; and so
/// every per-video stream hears when pub/sub restored its subscriptions.
final class ProgressStreamRegistry: Sendable {
    private struct State {
        var stopping = false
        var next: UInt64 = 0
        var open: [UInt64: RESPSubscription] = [:]
        var resubscribed: [UInt64: @Sendable () -> Void] = [:]
    }
    private let state = Mutex(State())

    var isStopping: Bool { state.withLock { $0.stopping } }
    var count: Int { state.withLock { $0.open.count } }

    /// nil once shutdown began: the caller ends its stream at once.
    func add(_ subscription: RESPSubscription) -> UInt64? {
        state.withLock { s in
            guard !s.stopping else { return nil }
            s.next += 1
            s.open[s.next] = subscription
            return s.next
        }
    }

    func remove(_ id: UInt64) {
        state.withLock { s in
            s.open.removeValue(forKey: id)
            s.resubscribed.removeValue(forKey: id)
        }
    }

    /// `action` runs (on the pub/sub supervisor's task) each time `pubSub` restored its subscriptions.
    func onResubscribed(_ id: UInt64, _ action: @escaping @Sendable () -> Void) {
        state.withLock { s in if s.open[id] != nil { s.resubscribed[id] = action } }
    }

    /// Tells every per-video stream when `pubSub` restored its subscriptions.
    func follow(_ pubSub: RESPPubSub) {
        pubSub.onResubscribed { [weak self] in
            guard let self else { return }
            for action in state.withLock({ Array($0.resubscribed.values) }) { action() }
        }
    }

    func endAll() async {
        let open = state.withLock { s in
            s.stopping = true
            return Array(s.open.values)
        }
        for subscription in open { await subscription.unsubscribe() }
    }
}
