/// Why a request was refused. Every case maps to the status the server answers with before closing
/// (framing errors make the rest of the byte stream unreadable, so the connection is always closed).
public struct HTTPParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        case bareLF = "bare-lf"
        case bareCR = "bare-cr"
        case obsFold = "obs-fold"
        case whitespaceBeforeColon = "whitespace-before-colon"
        case invalidMethod = "invalid-method"
        case invalidRequestTarget = "invalid-request-target"
        case invalidRequestLine = "invalid-request-line"
        case unsupportedVersion = "unsupported-version"
        case requestTargetTooLong = "request-target-too-long"
        case invalidFieldName = "invalid-field-name"
        case invalidFieldValue = "invalid-field-value"
        case missingColon = "missing-colon"
        case headerSectionTooLarge = "header-section-too-large"
        case tooManyFields = "too-many-fields"
        case missingHost = "missing-host"
        case duplicateHost = "duplicate-host"
        case contentLengthWithTransferEncoding = "content-length-with-transfer-encoding"
        case duplicateContentLength = "duplicate-content-length"
        case invalidContentLength = "invalid-content-length"
        case chunkedNotFinal = "chunked-not-final"
        case unsupportedTransferCoding = "unsupported-transfer-coding"
        case transferEncodingInHTTP10 = "transfer-encoding-in-http10"
        case invalidChunkSize = "invalid-chunk-size"
        case chunkSizeOverflow = "chunk-size-overflow"
        case invalidChunkExtension = "invalid-chunk-extension"
        case chunkLineTooLong = "chunk-line-too-long"
        case missingChunkTerminator = "missing-chunk-terminator"
        case bodyTooLarge = "body-too-large"
        case unsupportedExpectation = "unsupported-expectation"
    }

    public var kind: Kind
    /// What the server answers before closing.
    public var status: HTTPStatus
    /// Offset of the offending byte from the start of the connection's byte stream (best effort).
    public var offset: Int
    public var detail: String

    public init(_ kind: Kind, offset: Int, detail: String = "") {
        self.kind = kind
        self.offset = offset
        self.detail = detail
        self.status = switch kind {
        case .requestTargetTooLong: .uriTooLong
        case .headerSectionTooLarge, .tooManyFields: .requestHeaderFieldsTooLarge
        case .bodyTooLarge: .contentTooLarge
        case .unsupportedVersion: .httpVersionNotSupported
        case .unsupportedTransferCoding: .notImplemented
        case .unsupportedExpectation: .expectationFailed
        default: .badRequest
        }
    }

    public var description: String {
        "HTTP request refused (\(status)): \(kind.rawValue) at byte \(offset)" + (detail.isEmpty ? "" : ": \(detail)")
    }
}
