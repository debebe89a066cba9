import VideoCore

/// An API failure: `{"error": {"code": "...", "message": "..."}}` with its HTTP status.
public struct APIError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, CaseIterable {
        case badRequest = "bad_request"
        case unauthorized
        case notFound = "not_found"
        case methodNotAllowed = "method_not_allowed"
        case conflict
        case payloadTooLarge = "payload_too_large"
        case unsupportedMediaType = "unsupported_media_type"
        case validationFailed = "validation_failed"
        /// A `source_url` the SSRF guard refused; `rule` says which rule.
        case sourceURLRefused = "source_url_refused"
        case rateLimited = "rate_limited"
        case rangeNotSatisfiable = "range_not_satisfiable"
        case internalError = "internal_error"
        case unavailable
        // tus (`/uploads`): an unsupported Tus-Resumable version, an upload that expired or was
        // terminated, and a body whose Upload-Checksum did not match (tus's own 460).
        case preconditionFailed = "precondition_failed"
        case gone
        case checksumMismatch = "checksum_mismatch"
        /// A private video's media without a valid, unexpired signature.
        case forbidden
        // Refused by HTTPServer before a handler runs (`APIResponder.refusal`).
        case requestTimeout = "request_timeout"
        case uriTooLong = "uri_too_long"
        case headerFieldsTooLarge = "header_fields_too_large"
        case expectationFailed = "expectation_failed"
        case notImplemented = "not_implemented"
        case httpVersionNotSupported = "http_version_not_supported"

        public var status: Int {
            switch self {
            case .badRequest: 400
            case .unauthorized: 401
            case .notFound: 404
            case .methodNotAllowed: 405
            case .conflict: 409
            case .payloadTooLarge: 413
            case .unsupportedMediaType: 415
            case .rangeNotSatisfiable: 416
            case .validationFailed, .sourceURLRefused: 422
            case .rateLimited: 429
            case .internalError: 500
            case .unavailable: 503
            case .preconditionFailed: 412
            case .gone: 410
            case .checksumMismatch: 460
            case .forbidden: 403
            case .requestTimeout: 408
            case .uriTooLong: 414
            case .headerFieldsTooLarge: 431
            case .expectationFailed: 417
            case .notImplemented: 501
            case .httpVersionNotSupported: 505
            }
        }
    }

    public var code: Code
    public var message: String
    /// The SSRF rule that refused a `source_url` (`loopback`, `scheme`, …).
    public var rule: String?

    public init(_ code: Code, _ message: String, rule: String? = nil) {
        self.code = code
        self.message = message
        self.rule = rule
    }

    public var status: Int { code.status }
    public var description: String { "\(status) \(code.rawValue): \(message)" }

    public var jsonBody: String {
        "{\"error\":{\"code\":\(JSONText.string(code.rawValue)),\"message\":\(JSONText.string(message))"
            + (rule.map { ",\"rule\":\(JSONText.string($0))" } ?? "") + "}}"
    }

    /// Extra headers the status calls for (401 must say how to authenticate).
    public var headers: [(String, String)] {
        code == .unauthorized ? [("WWW-Authenticate", "Bearer")] : []
    }

    /// What a client sees for an unexpected failure: a generic message (details go to the log only).
    public static let internalError = APIError(.internalError, "internal error; see the server log")
}
