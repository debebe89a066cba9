/// An error answered by the S3 service (the XML `<Error>` document, or the status alone for
/// bodiless responses such as HEAD).
public struct S3Error: Error, Sendable, Hashable, CustomStringConvertible {
    /// HTTP status of the response (200 for errors S3 reports inside a 200 body, e.g. during
    /// CompleteMultipartUpload and CopyObject).
    public var status: Int
    /// S3's error code: `NoSuchKey`, `SignatureDoesNotMatch`, `SlowDown`… For HEAD responses,
    /// which have no body, `NotFound`, `Forbidden` or `HTTP<status>`.
    public var code: String
    public var message: String
    public var requestID: String?
    public var hostID: String?
    /// The bucket or object the error is about, as S3 reports it.
    public var resource: String?
    /// The operation that failed (`PutObject`, `UploadPart`…), and its bucket and key.
    public var operation: String
    public var bucket: String?
    public var key: String?

    public init(status: Int, code: String, message: String, requestID: String? = nil, hostID: String? = nil,
                resource: String? = nil, operation: String, bucket: String? = nil, key: String? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.requestID = requestID
        self.hostID = hostID
        self.resource = resource
        self.operation = operation
        self.bucket = bucket
        self.key = key
    }

    /// Decodes an `<Error>` body; falls back to the status when the body is not S3 XML.
    static func decode(status: Int, body: [UInt8], headers: HTTPHeaders, operation: String,
                       bucket: String?, key: String?) -> S3Error {
        let requestID = headers["x-amz-request-id"]
        if let xml = try? XMLParser.parse(body), xml.name == "Error" {
            return S3Error(status: status, code: xml.string("Code") ?? "HTTP\(status)", message: xml.string("Message") ?? "",
                           requestID: xml.string("RequestId") ?? requestID, hostID: xml.string("HostId") ?? headers["x-amz-id-2"],
                           resource: xml.string("Resource") ?? xml.string("Key") ?? xml.string("BucketName"),
                           operation: operation, bucket: bucket, key: key)
        }
        let code: String
        switch status {
        case 301: code = "PermanentRedirect"
        case 304: code = "NotModified"
        case 400: code = "BadRequest"
        case 403: code = "Forbidden"
        case 404: code = "NotFound"
        case 412: code = "PreconditionFailed"
        case 503: code = "ServiceUnavailable"
        default: code = "HTTP\(status)"
        }
        let text = String(decoding: body.prefix(512), as: UTF8.self)
        return S3Error(status: status, code: code, message: text, requestID: requestID, hostID: headers["x-amz-id-2"],
                       resource: nil, operation: operation, bucket: bucket, key: key)
    }

    public var description: String {
        var s = "S3 \(operation) failed: \(code) (HTTP \(status))"
        if !message.isEmpty { s += ": \(message)" }
        if let bucket { s += " bucket=\(bucket)" }
        if let key { s += " key=\(key)" }
        if let resource { s += " resource=\(resource)" }
        if let requestID { s += " request-id=\(requestID)" }
        return s
    }
}

/// Failures of the client itself (as opposed to errors the service answered).
public enum S3ClientError: Error, Sendable, CustomStringConvertible {
    case invalidArgument(String)
    /// An object key refused before anything was sent (`reason` says why: empty, too long). See
    /// `S3Request.validate`. `key` is shortened when it is too long to print.
    case invalidKey(operation: String, key: String, reason: String)
    /// A bucket name refused before anything was sent (empty, or containing `/`).
    case invalidBucketName(operation: String, bucket: String, reason: String)
    case invalidEndpoint(String)
    /// A response S3Lite could not make sense of (malformed XML, missing field).
    case invalidResponse(operation: String, reason: String)
    /// ListObjectsV2 said it was truncated but gave no continuation token: stopping rather than looping.
    case truncatedListingWithoutToken(bucket: String)
    /// A multipart upload failed and was aborted; `underlying` is why.
    case multipartUploadFailed(bucket: String, key: String, uploadID: String, underlying: any Error, aborted: Bool)
    case fileIO(path: String, operation: String, errno: Int32)

    public var description: String {
        switch self {
        case .invalidArgument(let s): return "invalid argument: \(s)"
        case .invalidKey(let op, let key, let reason): return "S3 \(op): invalid object key \"\(key)\": \(reason)"
        case .invalidBucketName(let op, let bucket, let reason): return "S3 \(op): invalid bucket name \"\(bucket)\": \(reason)"
        case .invalidEndpoint(let s): return "invalid S3 endpoint: \(s)"
        case .invalidResponse(let op, let reason): return "S3 \(op): invalid response: \(reason)"
        case .truncatedListingWithoutToken(let b):
            return "ListObjectsV2 on \(b) reported IsTruncated without NextContinuationToken; stopped instead of looping"
        case .multipartUploadFailed(let b, let k, let id, let e, let aborted):
            return "multipart upload of \(b)/\(k) (upload id \(id)) failed: \(e); " + (aborted ? "aborted" : "abort also failed; parts may remain")
        case .fileIO(let path, let op, let e): return "\(op) \(path) failed: errno \(e)"
        }
    }
}
