import VideoCore

/// Server-sent events framing (the `text/event-stream` wire format).
public enum ServerSentEvent {
    /// `id: …` (when given), `event: …` (optional), one `data:` line per line of `data`, a blank
    /// line. An event without `id:` leaves the client's last event id as it was (HTML, "event
    /// stream interpretation"); vidd never sends an empty one, which would clear it.
    public static func format(id: String?, event: String? = nil, data: String) -> String {
        var out = id.map { "id: \($0)\n" } ?? ""
        if let event { out += "event: \(event)\n" }
        for line in data.split(separator: "\n", omittingEmptySubsequences: false) { out += "data: \(line)\n" }
        return out + "\n"
    }

    /// A comment line: keeps proxies and the client's connection from timing out.
    public static let heartbeat = ": heartbeat\n\n"

    /// Sent first: how long a client waits before reconnecting.
    public static func retry(milliseconds: Int) -> String { "retry: \(milliseconds)\n\n" }
}

/// Where a reconnecting client left off: its `Last-Event-ID` header (EventSource sends it by
/// itself), or `?last_event_id=` for clients that cannot set headers.
public enum ProgressResume: Sendable, Equatable {
    case none
    /// Text that is not an id vidd gives out.
    case invalid(String)
    case after(ProgressEventID)

    public init(header: String?, query: String?) {
        guard let text = header ?? query, !text.isEmpty else { self = .none; return }
        self = ProgressEventID(text).map(Self.after) ?? .invalid(text)
    }
}

/// One `GET /progress/{id}` (or `/progress`) client: what to send, in what order, and when to stop.
///
/// The handler subscribes to the pub/sub channel first, then reads where the client starts
/// (`started`): the events after its `Last-Event-ID` from the capped history stream, or the
/// snapshot. Every publish writes the history and publishes in one script, so an event is either
/// in what was read or arrives on the subscription afterwards (or both): nothing falls between.
/// Messages that arrive before `started` are held, then sent after it; an event whose id is not
/// above the last one sent is dropped, so none is sent twice. Events without an id (a snapshot
/// built from the row, JSON published without `event_id`) are ordered by timestamp instead.
public struct ProgressStream: Sendable {
    public enum Action: Sendable, Equatable {
        case send(String)
        /// Send the text (if any) then close the response.
        case close(String?)
    }

    public struct Entry: Sendable, Equatable {
        public var id: ProgressEventID?
        public var event: ProgressEvent
        public init(id: ProgressEventID?, event: ProgressEvent) {
            self.id = id
            self.event = event
        }
    }

    public enum Start: Sendable, Equatable {
        /// The video's current state (nil for `/progress`: the feed starts with what comes next),
        /// and why the client's `Last-Event-ID` was not honoured (nil: it sent none). With a
        /// reason, a `reset` event says so before the snapshot: the snapshot is the whole truth
        /// about the video, but the events in between are gone.
        case snapshot(Entry?, reset: String?)
        /// Everything after the client's `Last-Event-ID`, oldest first (possibly nothing).
        case replay(after: ProgressEventID, [Entry])
    }

    private enum State: Sendable { case awaitingStart([Entry]), streaming, closed }

    /// nil for `/progress` (all videos): that stream never ends on a video's completion.
    public let videoID: String?
    private var state = State.awaitingStart([])
    public private(set) var lastEventID: ProgressEventID?
    private var lastTimestamp: [String: String] = [:]  // video id → timestamp of the last event sent

    public init(videoID: String?) { self.videoID = videoID }

    public var isClosed: Bool { if case .closed = state { true } else { false } }

    /// A message from pub/sub, or one read back from the history after pub/sub reconnected.
    public mutating func published(_ entry: Entry) -> [Action] {
        switch state {
        case .closed:
            return []
        case .awaitingStart(var held):
            held.append(entry)
            state = .awaitingStart(held)
            return []
        case .streaming:
            return emit(entry)
        }
    }

    public mutating func started(_ start: Start) -> [Action] {
        guard case .awaitingStart(let held) = state else { return [] }
        state = .streaming
        var actions: [Action] = []
        switch start {
        case .snapshot(let snapshot, let reset):
            if let reset { actions.append(.send(Self.resetFrame(reset))) }
            if let snapshot { actions += emit(snapshot) }
        case .replay(let after, let entries):
            lastEventID = after
            for entry in entries where !isClosed { actions += emit(entry) }
        }
        for entry in held where !isClosed { actions += emit(entry) }
        return actions
    }

    /// The heartbeat timer fired.
    public mutating func heartbeatDue() -> [Action] {
        if case .closed = state { return [] }
        return [.send(ServerSentEvent.heartbeat)]
    }

    /// The video was deleted: `event: deleted` and the end of a per-video stream (no event can
    /// follow; a client that reconnects gets a 404). The feed (`/progress`) goes on.
    public mutating func deleted() -> [Action] {
        guard let videoID, !isClosed else { return [] }
        state = .closed
        return [.close(Self.deletedFrame(videoID: videoID))]
    }

    /// `event: deleted`, no id, `{"video_id": …}`.
    public static func deletedFrame(videoID: String) -> String {
        ServerSentEvent.format(id: nil, event: "deleted", data: JSONValue.object([("video_id", .string(videoID))]).text)
    }

    /// `event: reset`, no id (the client keeps the one it had until the next event's).
    public static func resetFrame(_ reason: String) -> String {
        ServerSentEvent.format(id: nil, event: "reset", data: JSONValue.object([("reason", .string(reason))]).text)
    }

    private mutating func emit(_ entry: Entry) -> [Action] {
        let event = entry.event
        if let videoID, event.videoID != videoID { return [] }
        if let id = entry.id {
            if let last = lastEventID, id <= last { return [] }
            lastEventID = id
        } else {
            // Timestamps are RFC 3339 UTC with fixed width, so text order is time order.
            if let last = lastTimestamp[event.videoID], event.timestamp <= last { return [] }
        }
        lastTimestamp[event.videoID] = event.timestamp
        let frame = ServerSentEvent.format(id: entry.id?.description, data: event.jsonString())
        if videoID != nil && event.status.isFinal {
            state = .closed
            return [.close(frame)]
        }
        return [.send(frame)]
    }
}
