import VideoCore
import FoundationEssentials

/// A validated `PATCH /videos/{id}` body: a JSON object (or JSON Merge Patch, RFC 7396) of the
/// fields to change — `title`, `visibility` — absent fields unchanged, `"title": null` clears it.
///
/// Not JSON at all is a 400; JSON of the wrong shape (not an object, no field or another field, a
/// title that is not a string, blank, too long or with control characters, a visibility other
/// than public or private) is a 422 saying which. Surrounding blanks are trimmed.
public struct VideoUpdate: Sendable, Equatable {
    /// nil: unchanged; `.some(nil)`: cleared.
    public var title: String??
    /// nil: unchanged; else `public` or `private` (checked against the server's keys by the handler).
    public var visibility: String?

    public static let maximumBodyBytes = 16 * 1024
    public static let maximumTitleLength = JobSubmission.maximumTitleLength
    static let fields = ["title", "visibility"]

    public init(title: String?? = nil, visibility: String? = nil) {
        self.title = title
        self.visibility = visibility
    }

    /// The fields this update changes, for the log.
    public var fieldNames: [String] { [title != nil ? "title" : nil, visibility != nil ? "visibility" : nil].compactMap { $0 } }

    private enum Value: Decodable {
        case string(String)
        case null
        case other

        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() {
                self = .null
            } else if let s = try? c.decode(String.self) {
                self = .string(s)
            } else {
                self = .other
            }
        }
    }

    public init(json: some Collection<UInt8>) throws(APIError) {
        let fields: [String: Value]
        do {
            fields = try JSONDecoder().decode([String: Value].self, from: Data(json))
        } catch DecodingError.dataCorrupted {
            throw APIError(.badRequest, "the body is not JSON; send {\"title\": \"…\"} or {\"visibility\": \"private\"}")
        } catch {
            throw APIError(.validationFailed, "the body must be a JSON object such as {\"title\": \"…\"}")
        }
        try JSONDuplicateMember.refuse(in: json)
        let unknown = fields.keys.filter { !Self.fields.contains($0) }.sorted()
        guard unknown.isEmpty else {
            throw APIError(.validationFailed, "only title and visibility can be changed; unknown field\(unknown.count == 1 ? "" : "s") \(unknown.map { RequestText.shown($0, limit: 40) }.joined(separator: ", "))")
        }
        guard !fields.isEmpty else { throw APIError(.validationFailed, "nothing to change: send title and/or visibility") }
        switch fields["title"] {
        case nil: title = nil
        case .null?: title = .some(nil)
        case .other?: throw APIError(.validationFailed, "title must be a string (or null to clear it)")
        case .string(let raw)?: title = .some(try Self.validTitle(raw))
        }
        switch fields["visibility"] {
        case nil: visibility = nil
        case .string(let raw)?: visibility = raw
        case .null?, .other?: throw APIError(.validationFailed, "visibility must be public or private")
        }
    }

    static func validTitle(_ raw: String) throws(APIError) -> String {
        let title = raw.trimmingBlanks()
        guard !title.isEmpty else { throw APIError(.validationFailed, "title must not be empty (null clears it)") }
        guard title.count <= Self.maximumTitleLength else {
            throw APIError(.validationFailed, "title is longer than \(Self.maximumTitleLength) characters")
        }
        guard !title.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7f...0x9f).contains($0.value) }) else {
            throw APIError(.validationFailed, "title must not contain control characters (line breaks, tabs)")
        }
        return title
    }

    /// JSON, or JSON Merge Patch (RFC 7396), of which this body is a valid instance.
    static func acceptsContentType(_ contentType: String) -> Bool {
        let mediaType = contentType.split(separator: ";").first?.trimmingBlanksLowercased() ?? ""
        return mediaType == "application/json" || mediaType == "application/merge-patch+json"
    }
}
