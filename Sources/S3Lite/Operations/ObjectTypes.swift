/// Headers stored with an object on upload.
public struct ObjectAttributes: Sendable, Hashable {
    public var contentType: String?
    public var cacheControl: String?
    public var contentDisposition: String?
    public var contentEncoding: String?
    public var contentLanguage: String?
    /// User metadata, sent as `x-amz-meta-<name>` (names are lower-cased by S3).
    public var metadata: [String: String]
    public var storageClass: String?

    public init(contentType: String? = nil, cacheControl: String? = nil, contentDisposition: String? = nil,
                contentEncoding: String? = nil, contentLanguage: String? = nil, metadata: [String: String] = [:],
                storageClass: String? = nil) {
        self.contentType = contentType
        self.cacheControl = cacheControl
        self.contentDisposition = contentDisposition
        self.contentEncoding = contentEncoding
        self.contentLanguage = contentLanguage
        self.metadata = metadata
        self.storageClass = storageClass
    }

    func apply(to headers: inout HTTPHeaders) {
        headers.set("Content-Type", contentType ?? "application/octet-stream")
        if let cacheControl { headers.set("Cache-Control", cacheControl) }
        if let contentDisposition { headers.set("Content-Disposition", contentDisposition) }
        if let contentEncoding { headers.set("Content-Encoding", contentEncoding) }
        if let contentLanguage { headers.set("Content-Language", contentLanguage) }
        if let storageClass { headers.set("x-amz-storage-class", storageClass) }
        for (k, v) in metadata.sorted(by: { $0.key < $1.key }) { headers.set("x-amz-meta-\(k.lowercased())", v) }
    }
}

/// What HeadObject (and GetObject) report about an object.
public struct ObjectInfo: Sendable, Hashable {
    /// Size of the whole object (for a Range GET: of the object, not the range).
    public var size: Int64
    public var etag: String?
    public var contentType: String?
    public var cacheControl: String?
    public var contentDisposition: String?
    public var contentEncoding: String?
    public var lastModified: String?
    public var metadata: [String: String]
    public var versionID: String?
    /// The byte range returned by a Range GET (`Content-Range`), if any.
    public var contentRange: String?

    init(head: HTTPResponseHead) {
        let h = head.headers
        var size = Int64(h["Content-Length"] ?? "") ?? 0
        if let range = h["Content-Range"], let slash = range.lastIndex(of: "/"), let total = Int64(range[range.index(after: slash)...]) {
            size = total
        }
        self.size = size
        etag = h["ETag"]
        contentType = h["Content-Type"]
        cacheControl = h["Cache-Control"]
        contentDisposition = h["Content-Disposition"]
        contentEncoding = h["Content-Encoding"]
        lastModified = h["Last-Modified"]
        versionID = h["x-amz-version-id"]
        contentRange = h["Content-Range"]
        var meta: [String: String] = [:]
        for f in h where f.name.lowercased().hasPrefix("x-amz-meta-") {
            meta[String(f.name.lowercased().dropFirst(11))] = f.value
        }
        metadata = meta
    }
}

/// A byte range of an object (HTTP `Range`), inclusive as in HTTP.
public enum ByteRange: Sendable, Hashable {
    /// Bytes `lower...upper`.
    case bounded(Int64, Int64)
    /// From `lower` to the end.
    case from(Int64)
    /// The last `n` bytes.
    case suffix(Int64)

    var headerValue: String {
        switch self {
        case .bounded(let a, let b): return "bytes=\(a)-\(b)"
        case .from(let a): return "bytes=\(a)-"
        case .suffix(let n): return "bytes=-\(n)"
        }
    }
}

public struct PutObjectResult: Sendable, Hashable {
    public var etag: String?
    public var versionID: String?
    /// Bytes uploaded.
    public var size: Int64
}
