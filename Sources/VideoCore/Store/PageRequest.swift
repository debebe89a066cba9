/// A page of the video listing: `GET /videos?limit&offset&status&q`.
public struct PageRequest: Sendable, Equatable {
    public static let defaultLimit = 20
    public static let maximumLimit = 100
    public static let maximumSearchLength = 200

    public var limit: Int
    public var offset: Int
    public var status: VideoStatus?
    /// Text the shown name (title, else file name) contains, case-insensitively; nil for all.
    public var search: String?

    public init(limit: Int = PageRequest.defaultLimit, offset: Int = 0, status: VideoStatus? = nil, search: String? = nil) {
        self.limit = limit
        self.offset = offset
        self.status = status
        self.search = search
    }

    /// An ILIKE pattern matching names that contain `text` literally: `%`, `_` and the escape
    /// character `\` (LIKE's default) in what a person typed are escaped, not wildcards.
    public static func containsPattern(_ text: String) -> String {
        var pattern = "%"
        for c in text {
            if c == "%" || c == "_" || c == "\\" { pattern.append("\\") }
            pattern.append(c)
        }
        return pattern + "%"
    }
}
