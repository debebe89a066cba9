/// A page of the video listing: `GET /videos?limit&offset&status`.
public struct PageRequest: Sendable, Equatable {
    public static let defaultLimit = 20
    public static let maximumLimit = 100

    public var limit: Int
    public var offset: Int
    public var status: VideoStatus?

    public init(limit: Int = PageRequest.defaultLimit, offset: Int = 0, status: VideoStatus? = nil) {
        self.limit = limit
        self.offset = offset
        self.status = status
    }
}
