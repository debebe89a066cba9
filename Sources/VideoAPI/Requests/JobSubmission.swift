import VideoCore
import HTTPClientCodec
import HTTPServer
import FoundationEssentials

/// How a `POST /jobs` body is to be read, from its Content-Type.
public enum SubmissionForm: Sendable, Equatable {
    /// `{"source_key": …}` (or the seed's `{"video_id", "s3_path", "original_name"}`) for a stored object.
    case json
    /// The body is the video (`video/*`, `application/octet-stream`), name from `?name=`.
    case rawUpload
    /// `multipart/form-data` with a `file` field.
    case multipart(boundary: String)

    public static func classify(contentType: String?) throws(APIError) -> SubmissionForm {
        guard let contentType, let mediaType = contentType.split(separator: ";").first?.trimmingBlanksLowercased() else {
            throw APIError(.unsupportedMediaType, "POST /jobs needs a Content-Type: application/json, video/*, application/octet-stream or multipart/form-data")
        }
        switch mediaType {
        case "application/json": return .json
        case "application/octet-stream": return .rawUpload
        case "multipart/form-data":
            guard let boundary = HeaderParameters.parse(contentType)["boundary"], MultipartParser.isValidBoundary(boundary) else {
                throw APIError(.badRequest, "multipart/form-data needs a boundary parameter of 1–70 characters")
            }
            return .multipart(boundary: boundary)
        case _ where mediaType.hasPrefix("video/"): return .rawUpload
        default:
            throw APIError(.unsupportedMediaType, "unsupported Content-Type \(mediaType); use application/json, video/*, application/octet-stream or multipart/form-data")
        }
    }
}

/// A validated JSON submission.
public struct JobSubmission: Sendable, Equatable {
    /// Given by the seed's form; re-submitting it is idempotent. Otherwise vidd makes one.
    public var videoID: String?
    public var sourceKey: String
    public var title: String?
    public var originalName: String?
    /// `visibility` as sent (checked by the handler: `Visibility.requested`).
    public var visibility: String?

    public static let maximumBodyBytes = 64 * 1024
    public static let maximumTitleLength = 500

    public init(videoID: String? = nil, sourceKey: String, title: String? = nil, originalName: String? = nil) {
        self.videoID = videoID
        self.sourceKey = sourceKey
        self.title = title
        self.originalName = originalName
    }

    /// Every field of a JSON submission, of either form.
    fileprivate struct Body: Decodable {
        var video_id: String?
        var source_key: String?
        var s3_path: String?
        var original_name: String?
        var title: String?
        var source_url: String?
        var visibility: String?
    }

    /// Whether the JSON names a `source_url` (URL ingest, `URLSubmission`) rather than a stored object.
    public static func isURLIngest(json: some Collection<UInt8>) -> Bool {
        guard json.count <= maximumBodyBytes, let body = try? JSONDecoder().decode(Body.self, from: Data(json)) else { return false }
        return body.source_url != nil
    }

    /// Validates the JSON form. The key must lie under one of `sourcePrefixes` (never another
    /// video's outputs, nor anything else in the bucket), and an `s3://bucket/…` path must name
    /// `bucket`, the only one vidd reads. Whether the key exists is the handler's check (a 422).
    public init(json: some Collection<UInt8>, bucket: String, sourcePrefixes: [String]) throws(APIError) {
        guard json.count <= Self.maximumBodyBytes else { throw APIError(.payloadTooLarge, "a JSON submission is at most 64 KiB") }
        let body: Body
        do {
            body = try JSONDecoder().decode(Body.self, from: Data(json))
        } catch {
            throw APIError(.badRequest, "body is not a JSON object with string fields source_key, title (or video_id, s3_path, original_name)")
        }
        try JSONDuplicateMember.refuse(in: json)
        var id: String?
        if let raw = body.video_id {
            guard let normalized = VideoID.normalize(raw) else { throw APIError(.validationFailed, "video_id must be a UUID") }
            id = normalized
        }
        guard let rawKey = body.source_key ?? body.s3_path else {
            throw APIError(.validationFailed, "source_key is required (the key of an object already in storage)")
        }
        guard let submitted = ObjectKeys.parseSubmittedKey(rawKey) else {
            throw APIError(.validationFailed, "source_key is not a valid object key")
        }
        if let named = submitted.bucket, named != bucket {
            throw APIError(.validationFailed, "\(RequestText.shown(rawKey)) names bucket \(RequestText.shown(named)); vidd reads sources only from bucket \(bucket)")
        }
        let key = submitted.key
        guard sourcePrefixes.contains(where: { key.hasPrefix($0) }) else {
            throw APIError(.validationFailed, "source_key \(RequestText.shown(key)) is outside the upload prefix; it must start with \(sourcePrefixes.joined(separator: " or "))")
        }
        if let title = body.title, title.count > Self.maximumTitleLength {
            throw APIError(.validationFailed, "title is longer than \(Self.maximumTitleLength) characters")
        }
        self.init(videoID: id, sourceKey: key, title: body.title?.trimmingBlanks().nilIfEmpty, originalName: body.original_name)
        visibility = body.visibility
    }

    /// `?name=clip.mp4&title=…` of a raw upload: the name to store the source under.
    public static func rawUploadName(query: String) throws(APIError) -> (name: String, title: String?) {
        let params = QueryString.parse(query)
        guard let name = params.first(where: { $0.0 == "name" })?.1, !name.isEmpty else {
            throw APIError(.validationFailed, "a raw upload needs ?name=<file name>, e.g. ?name=clip.mp4")
        }
        let title = params.first(where: { $0.0 == "title" })?.1
        if let title, title.count > maximumTitleLength {
            throw APIError(.validationFailed, "title is longer than \(maximumTitleLength) characters")
        }
        return (name, title?.nilIfEmpty)
    }
}

/// A validated `{"source_url": "https://…", "title": …}` submission: the URL has passed every
/// SSRF rule that needs no lookup (scheme, credentials, local names, literal addresses in any
/// spelling); the worker resolves it, checks the addresses and fetches it.
public struct URLSubmission: Sendable, Equatable {
    /// Normalised (no credentials, no fragment).
    public var sourceURL: String
    /// The file name to store the source under: the URL's last path segment, made safe.
    public var fileName: String
    public var title: String?
    public var originalName: String?
    public var visibility: String?

    public init(json: some Collection<UInt8>, policy: OutboundPolicy) throws(APIError) {
        guard json.count <= JobSubmission.maximumBodyBytes else { throw APIError(.payloadTooLarge, "a JSON submission is at most 64 KiB") }
        let body: JobSubmission.Body
        do {
            body = try JSONDecoder().decode(JobSubmission.Body.self, from: Data(json))
        } catch {
            throw APIError(.badRequest, "body is not a JSON object with string fields source_url, title (and optionally original_name)")
        }
        try JSONDuplicateMember.refuse(in: json)
        guard let text = body.source_url else { throw APIError(.validationFailed, "source_url is required") }
        if body.source_key != nil || body.s3_path != nil {
            throw APIError(.validationFailed, "give either source_url or source_key, not both")
        }
        if body.video_id != nil {
            throw APIError(.validationFailed, "video_id is not accepted with source_url (vidd names URL submissions)")
        }
        if let title = body.title, title.count > JobSubmission.maximumTitleLength {
            throw APIError(.validationFailed, "title is longer than \(JobSubmission.maximumTitleLength) characters")
        }
        let url: HTTPURL
        do {
            url = try policy.check(text: text)
        } catch {
            throw APIError(.sourceURLRefused, "source_url \(error.message)", rule: error.rule.rawValue)
        }
        let lastSegment = url.path.split(separator: "/").last.map { QueryString.percentDecode(String($0)) } ?? ""
        sourceURL = url.description
        fileName = ObjectKeys.sanitizeFileName(body.original_name ?? lastSegment)
        title = body.title?.trimmingBlanks().nilIfEmpty
        originalName = body.original_name ?? (lastSegment.isEmpty ? nil : lastSegment)
        visibility = body.visibility
    }
}

extension StringProtocol {
    func trimmingBlanksLowercased() -> String { String(self).trimmingBlanks().lowercased() }
}

extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}
