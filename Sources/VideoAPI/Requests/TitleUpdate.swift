import VideoCore
import FoundationEssentials

/// A validated `PATCH /videos/{id}` body: `{"title": "…"}`, the one field a client may change.
///
/// Not JSON at all is a 400; JSON of the wrong shape (not an object, other fields, a title that is
/// missing, not a string, blank, too long or with control characters) is a 422 saying which.
/// Surrounding blanks are trimmed.
public struct TitleUpdate: Sendable, Equatable {
    public var title: String

    public static let maximumBodyBytes = 16 * 1024
    public static let maximumLength = JobSubmission.maximumTitleLength

    public init(title: String) { self.title = title }

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
            throw APIError(.badRequest, "the body is not JSON; send {\"title\": \"…\"}")
        } catch {
            throw APIError(.validationFailed, "the body must be a JSON object such as {\"title\": \"…\"}")
        }
        let unknown = fields.keys.filter { $0 != "title" }.sorted()
        guard unknown.isEmpty else {
            throw APIError(.validationFailed, "only title can be changed; unknown field\(unknown.count == 1 ? "" : "s") \(unknown.map { RequestText.shown($0, limit: 40) }.joined(separator: ", "))")
        }
        guard let value = fields["title"] else { throw APIError(.validationFailed, "title is required") }
        guard case .string(let raw) = value else { throw APIError(.validationFailed, "title must be a string") }
        let title = raw.trimmingBlanks()
        guard !title.isEmpty else { throw APIError(.validationFailed, "title must not be empty") }
        guard title.count <= Self.maximumLength else {
            throw APIError(.validationFailed, "title is longer than \(Self.maximumLength) characters")
        }
        guard !title.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7f...0x9f).contains($0.value) }) else {
            throw APIError(.validationFailed, "title must not contain control characters (line breaks, tabs)")
        }
        self.title = title
    }

    /// JSON, or JSON Merge Patch (RFC 7396), of which this body is a valid instance.
    static func acceptsContentType(_ contentType: String) -> Bool {
        let mediaType = contentType.split(separator: ";").first?.trimmingBlanksLowercased() ?? ""
        return mediaType == "application/json" || mediaType == "application/merge-patch+json"
    }
}
