import VideoCore
import HTTPServer
import Reactor

/// A creation request (`POST /uploads`), validated.
public struct TusCreationRequest: Sendable, Equatable {
    /// nil: `Upload-Defer-Length: 1`, the length comes with a later PATCH.
    public var length: Int64?
    public var metadata: UploadMetadata
    /// creation-with-upload: the body holds the first bytes (`Content-Type: application/offset+octet-stream`).
    public var hasInitialData: Bool
    public var checksum: UploadChecksum?
}

/// An append (`PATCH /uploads/{id}`, or the body of a creation-with-upload), validated.
public struct TusAppendRequest: Sendable, Equatable {
    public var offset: Int64
    public var checksum: UploadChecksum?
    /// `Upload-Length` sent with the PATCH: sets a deferred length (must match one already known).
    public var length: Int64?
    /// From Content-Length; nil for a chunked body.
    public var bodyLength: Int64?
}

/// The tus request headers, each checked before any body byte is read, each refusal a typed
/// `APIError` that says which header was wrong and what was expected.
public enum TusRequestHeaders {
    /// `Tus-Resumable` must name a version this server speaks; otherwise 412 and the request is not
    /// processed (the responder adds `Tus-Version`). Required on every request but OPTIONS.
    public static func checkVersion(_ headers: HTTPFields) throws(APIError) {
        let values = headers.values("Tus-Resumable")
        guard let value = values.first?.trimmingBlanks() else {
            throw APIError(.preconditionFailed, "Tus-Resumable is missing; this server speaks tus \(TusProtocol.supportedVersions.joined(separator: ", "))")
        }
        guard values.count == 1, TusProtocol.supportedVersions.contains(value) else {
            throw APIError(.preconditionFailed, "tus version \(RequestText.shown(value, limit: 40)) is not supported; this server speaks \(TusProtocol.supportedVersions.joined(separator: ", "))")
        }
    }

    public static func creation(_ headers: HTTPFields, framing: HTTPBodyFraming, maxSize: Int64) throws(APIError) -> TusCreationRequest {
        try checkVersion(headers)
        // Not offered (Tus-Extension says so), but clients send it unasked (tus-js-client with
        // parallelUploads > 1): each partial upload would become a video of part of the file.
        guard headers.values("Upload-Concat").isEmpty else {
            throw APIError(.badRequest, "Upload-Concat: this server does not offer tus concatenation (see Tus-Extension); "
                + "send the file as one upload (tus-js-client: parallelUploads 1)")
        }
        let length = try nonNegative(headers, "Upload-Length")
        let deferValues = headers.values("Upload-Defer-Length")
        if !deferValues.isEmpty {
            guard deferValues.count == 1, deferValues[0].trimmingBlanks() == "1" else {
                throw APIError(.badRequest, "Upload-Defer-Length must be 1")
            }
            guard length == nil else { throw APIError(.badRequest, "send either Upload-Length or Upload-Defer-Length: 1, not both") }
        } else if length == nil {
            throw APIError(.badRequest, "a creation request needs Upload-Length (the size in bytes) or Upload-Defer-Length: 1")
        }
        if let length { try checkLength(length, maxSize: maxSize) }
        let metadata: UploadMetadata
        do { metadata = try UploadMetadata(header: joined(headers, "Upload-Metadata")) } catch {
            throw APIError(.badRequest, error.description)
        }
        // A title or visibility vidd cannot read would be dropped: the video registered untitled,
        // or public when it was meant to be private. A key alone is allowed, except visibility.
        for pair in metadata.pairs where pair.key == "title" || pair.key == "visibility" {
            guard let bytes = pair.value ?? (pair.key == "title" ? [] : nil), String(validating: bytes, as: UTF8.self) != nil else {
                throw APIError(.validationFailed, "Upload-Metadata: the value of \(pair.key) must be UTF-8 text"
                    + (pair.key == "visibility" ? " (public or private)" : ""))
            }
        }
        if let title = metadata.title, title.count > JobSubmission.maximumTitleLength {
            throw APIError(.validationFailed, "Upload-Metadata: title is longer than \(JobSubmission.maximumTitleLength) characters")
        }
        if let visibility = metadata.text("visibility"), Visibility(rawValue: visibility) == nil {
            throw APIError(.validationFailed, "Upload-Metadata: visibility must be public or private")
        }
        let hasBody = Self.hasBody(framing)
        if hasBody { try requireOffsetContentType(headers) }
        // As a PATCH: a body declared longer than the upload is refused before anything exists.
        if case .contentLength(let n) = framing, Int64(n) > (length ?? maxSize) {
            throw APIError(.payloadTooLarge, "the \(n)-byte body goes past "
                + (length.map { "Upload-Length \($0)" } ?? "Tus-Max-Size \(maxSize) (the length is not declared yet)"))
        }
        return TusCreationRequest(length: length, metadata: metadata, hasInitialData: hasBody,
                                  checksum: hasBody ? try checksum(headers) : nil)
    }

    /// tus 1.0's rules between a PATCH and the upload's stored `length` and `offset`: the length
    /// cannot change once known nor fall below the stored bytes (400), the offset must be the
    /// upload's (409), a declared body cannot run past the length or `Tus-Max-Size` (413).
    public static func check(_ append: TusAppendRequest, against length: Int64?, offset: Int64, maxSize: Int64) throws(APIError) {
        if let declared = append.length {
            if let known = length, known != declared {
                throw APIError(.badRequest, "Upload-Length is already \(known); it cannot change to \(declared)")
            }
            if declared < offset {
                throw APIError(.badRequest, "Upload-Length \(declared) is less than the \(offset) bytes already stored")
            }
        }
        guard append.offset == offset else {
            throw APIError(.conflict, "Upload-Offset \(append.offset) does not match the upload's offset \(offset); HEAD gives the offset to resume from")
        }
        if let body = append.bodyLength {
            if let length = length ?? append.length, offset + body > length {
                throw APIError(.payloadTooLarge, "\(body) bytes at offset \(offset) go past Upload-Length \(length)")
            }
            if offset + body > maxSize {
                throw APIError(.payloadTooLarge, "\(body) bytes at offset \(offset) go past Tus-Max-Size \(maxSize) (the length is not declared yet)")
            }
        }
    }

    public static func append(_ headers: HTTPFields, framing: HTTPBodyFraming, maxSize: Int64) throws(APIError) -> TusAppendRequest {
        try checkVersion(headers)
        try requireOffsetContentType(headers)
        guard let offset = try nonNegative(headers, "Upload-Offset") else {
            throw APIError(.badRequest, "PATCH needs Upload-Offset (the upload's current offset, from HEAD)")
        }
        let length = try nonNegative(headers, "Upload-Length")
        if let length { try checkLength(length, maxSize: maxSize) }
        var bodyLength: Int64?
        switch framing {
        case .none: bodyLength = 0
        case .contentLength(let n): bodyLength = Int64(n)
        case .chunked: bodyLength = nil
        }
        return TusAppendRequest(offset: offset, checksum: try checksum(headers), length: length, bodyLength: bodyLength)
    }

    /// `Upload-Checksum`; nil when absent. An algorithm this server lacks is a 400, as the spec says.
    public static func checksum(_ headers: HTTPFields) throws(APIError) -> UploadChecksum? {
        let values = headers.values("Upload-Checksum")
        guard let raw = values.first else { return nil }
        guard values.count == 1 else { throw APIError(.badRequest, "Upload-Checksum appears more than once") }
        let parts = raw.trimmingBlanks().split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 2 else {
            throw APIError(.badRequest, "Upload-Checksum must be \"<algorithm> <base64 digest>\", e.g. sha256 n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=")
        }
        guard let algorithm = Crypto.Digest.Algorithm(rawValue: String(parts[0])) else {
            throw APIError(.badRequest, "checksum algorithm \(RequestText.shown(String(parts[0]), limit: 20)) is not supported; use one of \(TusProtocol.checksumAlgorithms.joined(separator: ", "))")
        }
        guard let digest = Base64.decode(parts[1]), digest.count == algorithm.length else {
            throw APIError(.badRequest, "Upload-Checksum: the \(algorithm.rawValue) digest must be \(algorithm.length) bytes in base64")
        }
        return UploadChecksum(algorithm: algorithm, digest: digest)
    }

    /// Whether the request has body bytes to read.
    public static func hasBody(_ framing: HTTPBodyFraming) -> Bool {
        switch framing {
        case .none, .contentLength(0): false
        default: true
        }
    }

    static func requireOffsetContentType(_ headers: HTTPFields) throws(APIError) {
        let mediaType = headers["Content-Type"]?.split(separator: ";").first?.trimmingBlanksLowercased()
        guard mediaType == TusProtocol.offsetContentType else {
            throw APIError(.unsupportedMediaType, "upload bytes must be sent with Content-Type: \(TusProtocol.offsetContentType)"
                + (mediaType.map { " (got \(RequestText.shown($0, limit: 60)))" } ?? ""))
        }
    }

    static func checkLength(_ length: Int64, maxSize: Int64) throws(APIError) {
        guard length <= maxSize else {
            throw APIError(.payloadTooLarge, "Upload-Length \(length) exceeds this server's Tus-Max-Size of \(maxSize) bytes")
        }
        guard length > 0 else {
            throw APIError(.validationFailed, "Upload-Length is 0: an empty file cannot become a video")
        }
    }

    /// A header that must hold a non-negative integer (digits only), at most once; nil when absent.
    static func nonNegative(_ headers: HTTPFields, _ name: String) throws(APIError) -> Int64? {
        let values = headers.values(name)
        guard let raw = values.first else { return nil }
        guard values.count == 1 else { throw APIError(.badRequest, "\(name) appears more than once") }
        let text = raw.trimmingBlanks()
        guard !text.isEmpty, text.utf8.count <= 19, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let n = Int64(text) else {
            throw APIError(.badRequest, "\(name) must be a non-negative integer (got \(RequestText.shown(text, limit: 40)))")
        }
        return n
    }

    /// A list header that may arrive as several fields: joined with commas, as HTTP allows.
    static func joined(_ headers: HTTPFields, _ name: String) -> String? {
        let values = headers.values(name)
        return values.isEmpty ? nil : values.joined(separator: ",")
    }
}
