import VideoCore
import HTTPServer
import Reactor
import RESP
import Synchronization
import PGWire

/// `GET /progress/{id}` and `GET /progress`: Server-Sent Events fed by Redis pub/sub, resumable
/// with `Last-Event-ID`.
///
/// Order of work, so no update falls between what is read and the live events: SUBSCRIBE (the
/// subscription buffers from then on), then read where the client starts — the events after its
/// `Last-Event-ID` from the capped history (`progress:{id}:events`, or the feed's), else the
/// snapshot (`progress:{id}`, checked against the row) — then send that followed by what the
/// subscription holds. Each event is written to the history and published in one script, so it
/// is in what was read or on the subscription; `ProgressStream` drops what was already sent (by
/// event id) and closes after `completed`/`failed`. Heartbeats are comment lines from
/// HTTPServer's event stream when nothing was sent for `Options.heartbeat`; they also notice a
/// client that went away (which cancels the stream).
extension APIHandlers {
    func progress(_ request: HTTPRequest, videoID rawID: String?) async throws -> HTTPResponse {
        guard !progressStreams.isStopping else { throw APIError(.unavailable, "the server is shutting down; reconnect") }
        let query = QueryString.parse(request.head.query ?? "")
        let resume = ProgressResume(header: request.headers["Last-Event-ID"], query: query.last { $0.0 == "last_event_id" }?.1)
        // An unknown video is a 404 before any streaming starts; a private one too, unless the
        // caller has a token or the URL carries the video's signature (its JSON's progress_url:
        // EventSource cannot send a token).
        var videoID: String?
        var signed = false
        if let rawID {
            let video = try await existingVideo(rawID)
            signed = hasValidSignature(request, video: video)
            if video.visibility == .private && !callerSeesPrivate(request) && !signed {
                throw APIError(.notFound, "no video with id \(RequestText.shown(rawID))")
            }
            videoID = video.id
        }
        // Who may go on seeing a video that is made private while they watch.
        let seesPrivate = callerSeesPrivate(request) || signed
        if let videoID, case .after(let last) = resume,
           let history = try await queue.progressReplay(stream: keys.progressHistory(videoID), after: last),
           history.after.isEmpty, history.at?.status.isFinal == true {
            // The client saw the final event: 204 tells EventSource to stop reconnecting (HTML,
            // "reestablish the connection" is not done after a 204).
            return HTTPResponse(status: .noContent, headers: ["Cache-Control": "no-store"])
        }
        let id = videoID
        return HTTPResponse.eventStream(for: request, heartbeat: options.heartbeat) { [self] _, events in
            try await streamProgress(videoID: id, resume: resume, seesPrivate: seesPrivate, events: events)
        }
    }

    private func streamProgress(videoID: String?, resume: ProgressResume, seesPrivate: Bool, events: EventStreamWriter) async throws {
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
            try await relay(subscription, registration: registration, videoID: videoID, resume: resume, events: events, logger: logger,
                            visible: seesPrivate ? nil : visibilities)
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

    /// `visible`: for a client without a token (or, for one video, its signature), which videos'
    /// events it may see (public ones).
    private func relay(_ subscription: RESPSubscription, registration: UInt64, videoID: String?, resume: ProgressResume,
                       events: EventStreamWriter, logger: Logger, visible: VisibilityCache?) async throws {
        let retry = Int(options.reconnectDelay.wholeMilliseconds)
        try await events.send(encoded: Array(ServerSentEvent.retry(milliseconds: retry).utf8))
        if let hook = options.afterSubscribe { await hook(videoID) }
        var stream = ProgressStream(videoID: videoID)
        guard var start = try await startingPoint(videoID: videoID, resume: resume) else { return }  // deleted meanwhile
        if let visible, case .replay(let after, let entries) = start {
            start = .replay(after: after, try await visible.publicOnly(entries))
        }
        if resume != .none, case .snapshot(_, let reset?) = start {
            logger.info("progress stream resumed from the snapshot", ["reason": reset])
        }
        if try await perform(stream.started(start), events) { return }
        // Pub/sub is at-most-once: what is published while the subscriber's connection is down
        // is lost (the final event included, which would leave this stream open for ever). So
        // each time the subscriptions were restored, the stream reads the history after the last
        // event it sent (or the snapshot, when that is gone); ProgressStream drops what it sent.
        let (inputs, feed) = AsyncStream<RelayInput>.makeStream()
        let forward = Task(executorPreference: EventLoop.shared) {
            for await message in subscription { feed.yield(.message(message)) }
            feed.finish()
        }
        progressStreams.onResubscribed(registration) { feed.yield(.resubscribed) }
        defer { forward.cancel() }
        // Ends when the subscription is cancelled (shutdown) or this task is (client gone).
        for await input in inputs {
            switch input {
            case .message(let message):
                if let videoID, VideoDeletedNotice.isNotice(message.payload, videoID: videoID) {
                    if try await perform(stream.deleted(), events) { return }
                    continue
                }
                guard let (id, event) = try? ProgressEvent.decodeMessage(message.payload) else {
                    logger.warning("ignoring a progress message that is not a progress event", ["channel": message.channel])
                    continue
                }
                if let visible, try await visible.visibility(of: event.videoID) != .public {
                    // A video made private while a caller who may not see it watches: its stream
                    // ends (a reconnection gets the 404); the feed just leaves the event out.
                    if videoID != nil { return }
                    continue
                }
                if try await perform(stream.published(.init(id: id, event: event)), events) { return }
            case .resubscribed:
                logger.info("progress subscription restored; missed events re-read")
                guard var entries = try await missed(videoID: videoID, after: stream.lastEventID) else {
                    // Deleted while pub/sub was down: its notice was lost with the connection.
                    if try await perform(stream.deleted(), events) { return }
                    continue
                }
                if let visible { entries = try await visible.publicOnly(entries) }
                for entry in entries {
                    if try await perform(stream.published(entry), events) { return }
                }
            }
        }
    }

    /// Where a client starts: after its `Last-Event-ID` when the history still holds that id,
    /// else the snapshot (for `/progress`, nothing), with a `reset` reason when it sent an id
    /// that could not be honoured. nil when the video no longer exists.
    private func startingPoint(videoID: String?, resume: ProgressResume) async throws -> ProgressStream.Start? {
        let stream = videoID.map(keys.progressHistory) ?? keys.progressFeed
        var reset: String?
        switch resume {
        case .none:
            break
        case .invalid(let text):
            reset = "Last-Event-ID \(RequestText.shown(text)) is not an event id of this server"
        case .after(let last):
            if let history = try await queue.progressReplay(stream: stream, after: last) {
                return .replay(after: last, history.after.compactMap { entry in entry.event.map { .init(id: entry.id, event: $0) } })
            }
            reset = "Last-Event-ID \(last) is no longer in the event history (expired, trimmed or lost)"
        }
        guard let videoID else {
            return .snapshot(nil, reset: reset.map { $0 + "; reload the list of videos (GET /videos)" })
        }
        guard let snapshot = try await snapshotEntry(videoID: videoID) else { return nil }
        return .snapshot(snapshot, reset: reset.map { $0 + "; this is the video's current state" })
    }

    /// After pub/sub reconnected: the events after `last` from the history, then (for a video)
    /// its snapshot — which `ProgressStream` drops unless it is newer than what was sent, and
    /// which still ends the stream when Redis lost the history but the row says the video is done.
    /// nil when the video no longer exists.
    private func missed(videoID: String?, after last: ProgressEventID?) async throws -> [ProgressStream.Entry]? {
        let stream = videoID.map(keys.progressHistory) ?? keys.progressFeed
        var entries: [ProgressStream.Entry] = []
        if let last, let history = try await queue.progressReplay(stream: stream, after: last) {
            entries = history.after.compactMap { entry in entry.event.map { .init(id: entry.id, event: $0) } }
        }
        if let videoID {
            guard let current = try await snapshotEntry(videoID: videoID) else { return nil }
            entries.append(current)
        }
        return entries
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

    /// The event a client sees first: the `progress:{id}` snapshot with its id, or one made from
    /// the row (without an id) when the key expired or never existed. The row decides whether the
    /// video is finished: a final row with a stale (non-final) snapshot yields the final event, so
    /// the stream still ends. nil when the video no longer exists.
    func snapshotEntry(videoID: String) async throws -> ProgressStream.Entry? {
        let stored = try await queue.latestProgressEntry(videoID: videoID)
        guard let video = try await store.video(id: videoID) else { return nil }
        if let stored, stored.event.status.isFinal || !video.status.isFinal { return .init(id: stored.id, event: stored.event) }
        return .init(id: nil, event: Self.event(from: video))
    }

    static func event(from video: Video) -> ProgressEvent {
        ProgressEvent(
            videoID: video.id, status: video.status, percent: video.status == .completed ? 100 : 0,
            error: video.status == .failed ? video.errorMessage : nil,
            timestamp: video.completedAt ?? video.startedAt ?? video.createdAt,
            playable: video.isPlayable, playableAt: video.playableAt)
    }

    static func errorEvent(_ message: String) -> String {
        ServerSentEvent.format(id: nil, event: "error", data: APIError(.unavailable, message).jsonBody)
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

/// Each video's visibility as this instance last read it, kept for `recheck`: the feed
/// (`GET /progress`) for a caller without a token carries public videos' events only, and `/media`
/// admits an unsigned request for a public video, both without a query per event or per segment.
/// A change made through this instance (`forget`) applies at once; one made through another
/// instance, within `recheck`. One per `APIHandlers`, shared by every connection.
final class VisibilityCache: Sendable {
    let store: VideoStore<PGPool>
    let recheck: Duration
    private let known = Mutex<[String: (visibility: Visibility?, at: ContinuousClock.Instant)]>([:])

    init(store: VideoStore<PGPool>, recheck: Duration = .seconds(10)) {
        self.store = store
        self.recheck = recheck
    }

    /// nil for a video that does not exist (or no longer does).
    func visibility(of videoID: String) async throws -> Visibility? {
        let now = ContinuousClock.now
        if let entry = known.withLock({ $0[videoID] }), now - entry.at < recheck { return entry.visibility }
        let visibility = try await store.video(id: videoID)?.visibility
        known.withLock { cache in
            if cache.count > 10_000 { cache.removeAll() }
            cache[videoID] = (visibility, now)
        }
        return visibility
    }

    /// The video's visibility changed (or it was deleted) through this instance.
    func forget(_ videoID: String) {
        _ = known.withLock { $0.removeValue(forKey: videoID) }
    }

    /// The entries of public videos (a deleted video's last events are not shown either).
    func publicOnly(_ entries: [ProgressStream.Entry]) async throws -> [ProgressStream.Entry] {
        var out: [ProgressStream.Entry] = []
        for entry in entries where try await visibility(of: entry.event.videoID) == .public { out.append(entry) }
        return out
    }
}
