import VideoCore

extension PageRequest {
    /// Deeper than any listing a person pages through; bounds the work a request can ask of PostgreSQL.
    static let maximumOffset = 10_000_000

    /// From the raw query string (after `?`); unknown parameters are ignored, bad values are a 400.
    public init(query: String) throws(APIError) {
        self.init()
        for (name, value) in QueryString.parse(query) {
            switch name {
            case "limit":
                guard let n = Int(value), (1...Self.maximumLimit).contains(n) else {
                    throw APIError(.badRequest, "limit must be a whole number from 1 to \(Self.maximumLimit)")
                }
                limit = n
            case "offset":
                guard let n = Int(value), (0...Self.maximumOffset).contains(n) else {
                    throw APIError(.badRequest, "offset must be a whole number from 0 to \(Self.maximumOffset)")
                }
                offset = n
            case "status":
                guard let s = VideoStatus(rawValue: value) else {
                    throw APIError(.badRequest, "status must be one of \(VideoStatus.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                status = s
            case "q":
                let text = value.trimmingBlanks()
                guard text.count <= Self.maximumSearchLength else {
                    throw APIError(.badRequest, "q is longer than \(Self.maximumSearchLength) characters")
                }
                // PostgreSQL text cannot hold NUL (and so no name does): refused here, not a 500.
                guard !text.unicodeScalars.contains("\0") else {
                    throw APIError(.badRequest, "q must not contain a NUL character (%00)")
                }
                search = text.isEmpty ? nil : text
            default:
                continue
            }
        }
    }
}
