/// What an endpoint can subscribe to (`POST /webhooks {"events": [...]}`; none listed: all).
public enum WebhookEventType: String, Sendable, CaseIterable, Codable {
    /// The video can be played (its HLS master playlist is there).
    case videoReady = "video.ready"
    case videoCompleted = "video.completed"
    case videoFailed = "video.failed"
    case videoDeleted = "video.deleted"
    /// One rung of the ladder is stored and recorded.
    case renditionCompleted = "rendition.completed"
}
