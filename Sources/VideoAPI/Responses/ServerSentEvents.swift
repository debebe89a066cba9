import VideoCore

/// Server-sent events framing (the `text/event-stream` wire format).
public enum ServerSentEvent {
    /// `id: …`, `event: …` (optional), one `data:` line per line of `data`, a blank line.
    public static func format(id: String, event: String? = nil, data: String) -> String {
        var out = "id: \(id)\n"
        if let event { out += "event: \(event)\n" }
        for line in data.split(separator: "\n", omittingEmptySubsequences: false) { out += "data: \(line)\n" }
        return out + "\n"
    }

    /// A comment line: keeps proxies and the client's connection from timing out.
    public static let heartbeat = ": heartbeat\n\n"

    /// Sent first: how long a client waits before reconnecting.
    public static func retry(milliseconds: Int) -> String { "retry: \(milliseconds)\n\n" }
}

/// One `GET /progress/{id}` (or `/progress`) client: what to send, in what order, and when to stop.
///
/// The handler subscribes to the pub/sub channel first and only then reads the snapshot (the
/// `progress:{id}` key, or the video row when there is no key), so no update can fall between
/// them. Messages that arrive while the snapshot is being read are held, then sent after it,
/// skipping those the snapshot already covers (not newer than it).
public struct ProgressStream: Sendable {
    public enum Action: Sendable, Equatable {
        case send(String)
        /// Send the text (if any) then close the response.
        case close(String?)
    }

    private enum State: Sendable { case awaitingSnapshot([ProgressEvent]), streaming, closed }

    /// nil for `/progress` (all videos): that stream never ends on a video's completion.
    public let videoID: String?
    private var state = State.awaitingSnapshot([])
    private var lastSent: [String: String] = [:]  // video id → timestamp of the last event sent
    private var sequence = 0

    public init(videoID: String?) { self.videoID = videoID }

    public var isClosed: Bool { if case .closed = state { true } else { false } }

    /// A message from pub/sub.
    public mutating func published(_ event: ProgressEvent) -> [Action] {
        switch state {
        case .closed:
            return []
        case .awaitingSnapshot(var held):
            held.append(event)
            state = .awaitingSnapshot(held)
            return []
        case .streaming:
            return emit(event)
        }
    }

    /// The snapshot: the current event for the video (nil when nothing is known yet, e.g. queued
    /// and never started — the handler then builds one from the row), or nil for `/progress`.
    public mutating func snapshotLoaded(_ snapshot: ProgressEvent?) -> [Action] {
        guard case .awaitingSnapshot(let held) = state else { return [] }
        state = .streaming
        var actions: [Action] = []
        if let snapshot { actions += emit(snapshot) }
        for event in held where !isClosed {
            actions += emit(event)
        }
        return actions
    }

    /// The heartbeat timer fired.
    public mutating func heartbeatDue() -> [Action] {
        if case .closed = state { return [] }
        return [.send(ServerSentEvent.heartbeat)]
    }

    private mutating func emit(_ event: ProgressEvent) -> [Action] {
        if let videoID, event.videoID != videoID { return [] }
        // Timestamps are RFC 3339 UTC with fixed width, so text order is time order.
        if let last = lastSent[event.videoID], event.timestamp <= last { return [] }
        lastSent[event.videoID] = event.timestamp
        sequence += 1
        let frame = ServerSentEvent.format(id: String(sequence), data: event.jsonString())
        if videoID != nil && event.status.isFinal {
            state = .closed
            return [.close(frame)]
        }
        return [.send(frame)]
    }
}
