import Reactor

/// What goes in `x-amz-content-sha256` (and the last line of the canonical request).
public enum PayloadHash: Sendable, Hashable {
    /// The body is not hashed (`UNSIGNED-PAYLOAD`); integrity then rests on TLS (or a checksum).
    case unsigned
    /// SHA-256 of the whole body, computed by the caller (possibly while reading a file).
    case sha256([UInt8])
    /// aws-chunked upload: the body is signed chunk by chunk (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD`).
    case streaming
    /// An empty body.
    public static let empty = PayloadHash.sha256(Crypto.sha256([UInt8]()))

    public var headerValue: String {
        switch self {
        case .unsigned: return "UNSIGNED-PAYLOAD"
        case .sha256(let digest): return Hex.encode(digest)
        case .streaming: return "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
        }
    }
}

/// One query parameter, decoded. An absent value (`?uploads`) is the empty string.
public struct QueryItem: Sendable, Hashable {
    public var name: String
    public var value: String
    public init(_ name: String, _ value: String = "") {
        self.name = name
        self.value = value
    }
}

/// A request as the signer needs it: nothing about connections or bodies.
public struct SignableRequest: Sendable {
    public var method: String
    /// The `Host` header value: lower-case, without `:80` / `:443` (minio-go #695); see `hostHeader`.
    public var host: String
    /// The decoded path, beginning with `/` (e.g. `/bucket/a b@c.txt`). Encoded once when signed.
    public var path: String
    public var query: [QueryItem]
    /// Headers to send and sign (any case; repeated names allowed). None of the signer's own
    /// (`SigV4Signer.reservedHeaderNames`: host, authorization, x-amz-date, …) may be among them.
    public var headers: [(name: String, value: String)]

    public init(method: String, host: String, path: String, query: [QueryItem] = [],
                headers: [(name: String, value: String)] = []) {
        self.method = method
        self.host = host
        self.path = path
        self.query = query
        self.headers = headers
    }

    /// The Host header for `host`:`port` under `scheme`: the port only when it is not the default.
    public static func hostHeader(host: String, port: Int, secure: Bool) -> String {
        let h = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        return port == (secure ? 443 : 80) ? h.lowercased() : "\(h.lowercased()):\(port)"
    }
}

/// The result of header signing: the wire target and every header to send.
public struct SignedRequest: Sendable {
    /// `encoded-path?canonical-query` — send exactly this as the request target.
    public var target: String
    /// The request headers plus `host`, `x-amz-date`, `x-amz-content-sha256`,
    /// `x-amz-security-token` (with a session token) and `authorization`.
    public var headers: [(name: String, value: String)]
    /// The hex signature (the seed signature of an aws-chunked upload).
    public var signature: String
    /// The instant signed; aws-chunked chunk signatures must use the same one.
    public var date: SigningDate
}

public enum SigV4Error: Error, Sendable, Hashable, CustomStringConvertible {
    case invalidExpiry(seconds: Int)
    case invalidPath(String)
    /// A request header the signer sets itself (name as given).
    case reservedHeader(String)

    public var description: String {
        switch self {
        case .invalidExpiry(let s):
            return "presigned URL expiry must be between 1 and 604800 seconds (7 days), got \(s)"
        case .invalidPath(let p):
            return "request path must begin with '/': \(p)"
        case .reservedHeader(let name):
            return "header \(name) is set by the SigV4 signer and must not be given with the request"
        }
    }
}

/// AWS Signature Version 4 for S3 (and any SigV4 service): header signing, presigned URLs and
/// aws-chunked chunk signatures. Pure computation: no clock, no I/O, no HTTP client.
///
/// Modelled on soto's `SotoSignerV4`; checked against AWS's documented examples and, on random
/// requests, against botocore (see the tests).
public struct SigV4Signer: Sendable {
    public let credentials: S3Credentials
    public let region: String
    public let service: String
    /// The derived key changes once a day: derive it once per date, not per request.
    private let keyCache = SigningKeyCache()

    /// Headers that proxies may change or drop, so signing them breaks requests (botocore's list).
    static let unsignedHeaderNames: Set<String> = [
        "connection", "expect", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
        "trailer", "transfer-encoding", "upgrade", "user-agent", "x-amzn-trace-id", "authorization",
    ]

    /// Headers the signer adds itself. Given with the request as well, they would go on the wire
    /// twice (two Authorization headers, or two x-amz-date values signed as one), which S3 refuses.
    public static let reservedHeaderNames: Set<String> = [
        "host", "authorization", "x-amz-date", "x-amz-content-sha256", "x-amz-security-token",
    ]

    /// Longest presigned URL lifetime SigV4 allows.
    public static let maximumExpirySeconds = 604_800

    public init(credentials: S3Credentials, region: String, service: String = "s3") {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    // MARK: Header signing

    /// Signs `request` for the `Authorization` header.
    public func sign(_ request: SignableRequest, payload: PayloadHash, date: SigningDate) throws -> SignedRequest {
        guard request.path.hasPrefix("/") else { throw SigV4Error.invalidPath(request.path) }
        try Self.refuseReservedHeaders(request.headers)
        let timestamp = date.timestamp
        var headers = request.headers
        headers.append(("host", request.host))
        headers.append(("x-amz-date", timestamp))
        headers.append(("x-amz-content-sha256", payload.headerValue))
        if let token = credentials.sessionToken { headers.append(("x-amz-security-token", token)) }

        let canonicalHeaders = Self.canonicalHeaders(headers)
        let encodedPath = URIEncoding.encodePath(request.path)
        let query = Self.canonicalQuery(request.query)
        let scope = credentialScope(date)
        let signature = signature(method: request.method, encodedPath: encodedPath, canonicalQuery: query,
                                  canonicalHeaders: canonicalHeaders, payloadHash: payload.headerValue,
                                  timestamp: timestamp, scope: scope, date: date)
        headers.append(("authorization",
                        "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(canonicalHeaders.signedNames), Signature=\(signature)"))
        return SignedRequest(target: query.isEmpty ? encodedPath : encodedPath + "?" + query,
                             headers: headers, signature: signature, date: date)
    }

    /// Hashes the canonical request as it is assembled (no intermediate string) and signs the
    /// string to sign with the day's key.
    private func signature(method: String, encodedPath: String, canonicalQuery: String, canonicalHeaders: CanonicalHeaders,
                           payloadHash: String, timestamp: String, scope: String, date: SigningDate) -> String {
        var hasher = Crypto.SHA256()
        let newline: [UInt8] = [0x0a]
        hasher.update(method.utf8); hasher.update(newline)
        hasher.update(encodedPath.utf8); hasher.update(newline)
        hasher.update(canonicalQuery.utf8); hasher.update(newline)
        hasher.update(canonicalHeaders.text.utf8); hasher.update(newline)
        hasher.update(canonicalHeaders.signedNames.utf8); hasher.update(newline)
        hasher.update(payloadHash.utf8)
        let canonicalHash = hasher.finalize()
        var sts = [UInt8]()
        sts.reserveCapacity(160)
        sts += "AWS4-HMAC-SHA256\n".utf8
        sts += timestamp.utf8
        sts.append(0x0a)
        sts += scope.utf8
        sts.append(0x0a)
        Self.appendHex(canonicalHash, to: &sts)
        return Self.hex(Crypto.hmacSHA256(key: signingKey(date), data: sts))
    }

    // MARK: Presigned URLs

    /// A presigned request target (`/path?...&X-Amz-Signature=...`): prefix it with
    /// `scheme://host`. Only `host` (and any `request.headers`, which the user of the URL must
    /// then send verbatim) is signed; the payload is `UNSIGNED-PAYLOAD`.
    public func presign(_ request: SignableRequest, expiresInSeconds: Int, date: SigningDate) throws -> String {
        guard (1...Self.maximumExpirySeconds).contains(expiresInSeconds) else {
            throw SigV4Error.invalidExpiry(seconds: expiresInSeconds)
        }
        guard request.path.hasPrefix("/") else { throw SigV4Error.invalidPath(request.path) }
        try Self.refuseReservedHeaders(request.headers)
        let timestamp = date.timestamp
        var headers = request.headers
        headers.append(("host", request.host))
        let canonicalHeaders = Self.canonicalHeaders(headers)
        let scope = credentialScope(date)
        var query = request.query
        query.append(QueryItem("X-Amz-Algorithm", "AWS4-HMAC-SHA256"))
        query.append(QueryItem("X-Amz-Credential", "\(credentials.accessKeyID)/\(scope)"))
        query.append(QueryItem("X-Amz-Date", timestamp))
        query.append(QueryItem("X-Amz-Expires", String(expiresInSeconds)))
        query.append(QueryItem("X-Amz-SignedHeaders", canonicalHeaders.signedNames))
        if let token = credentials.sessionToken { query.append(QueryItem("X-Amz-Security-Token", token)) }
        let encodedPath = URIEncoding.encodePath(request.path)
        let canonicalQuery = Self.canonicalQuery(query)
        let signature = signature(method: request.method, encodedPath: encodedPath, canonicalQuery: canonicalQuery,
                                  canonicalHeaders: canonicalHeaders, payloadHash: PayloadHash.unsigned.headerValue,
                                  timestamp: timestamp, scope: scope, date: date)
        return "\(encodedPath)?\(canonicalQuery)&X-Amz-Signature=\(signature)"
    }

    // MARK: aws-chunked

    /// The signer for the chunks that follow a request signed with `.streaming`.
    public func chunkSigner(for signed: SignedRequest) -> AWSChunkedSigner {
        AWSChunkedSigner(signingKey: signingKey(signed.date), timestamp: signed.date.timestamp,
                         scope: credentialScope(signed.date), seedSignature: signed.signature)
    }

    // MARK: Pieces (internal so tests can check intermediate values)

    func credentialScope(_ date: SigningDate) -> String {
        "\(date.dateStamp)/\(region)/\(service)/aws4_request"
    }

    func signingKey(_ date: SigningDate) -> [UInt8] {
        let stamp = date.dateStamp
        if let key = keyCache.key(for: stamp) { return key }
        let key = deriveSigningKey(dateStamp: stamp)
        keyCache.store(key, for: stamp)
        return key
    }

    func deriveSigningKey(dateStamp: String) -> [UInt8] {
        let kDate = Crypto.hmacSHA256(key: Array("AWS4\(credentials.secretAccessKey)".utf8), data: Array(dateStamp.utf8))
        let kRegion = Crypto.hmacSHA256(key: kDate, data: Array(region.utf8))
        let kService = Crypto.hmacSHA256(key: kRegion, data: Array(service.utf8))
        return Crypto.hmacSHA256(key: kService, data: Array("aws4_request".utf8))
    }

    struct CanonicalHeaders {
        var text: String          // "name:value\n" lines, sorted
        var signedNames: String   // "a;b;c"
    }

    /// A caller's header that the signer sets itself (it would go out twice).
    static func refuseReservedHeaders(_ headers: [(name: String, value: String)]) throws(SigV4Error) {
        if let reserved = headers.first(where: { reservedHeaderNames.contains(asciiLowercased($0.name)) }) {
            throw .reservedHeader(reserved.name)
        }
    }

    /// Lower-cased names, sorted; values trimmed with inner runs of spaces collapsed; repeated
    /// names joined with `,` in the order given.
    static func canonicalHeaders(_ headers: [(name: String, value: String)]) -> CanonicalHeaders {
        var fields: [(name: [UInt8], value: String)] = []
        fields.reserveCapacity(headers.count)
        for (name, value) in headers {
            let lower = asciiLowercased(name)
            if unsignedHeaderNames.contains(lower) { continue }
            fields.append((Array(lower.utf8), trimAll(value)))
        }
        // Stable byte-wise sort by name keeps repeated names in the order given.
        let order = fields.indices.sorted { a, b in
            fields[a].name == fields[b].name ? a < b : fields[a].name.lexicographicallyPrecedes(fields[b].name)
        }
        var text = [UInt8]()
        var signed = [UInt8]()
        text.reserveCapacity(256)
        var previous: [UInt8]?
        for i in order {
            let f = fields[i]
            if f.name == previous {
                text.removeLast()  // the newline: repeated names join their values with ","
                text.append(UInt8(ascii: ","))
            } else {
                if previous != nil { signed.append(UInt8(ascii: ";")) }
                signed += f.name
                text += f.name
                text.append(UInt8(ascii: ":"))
            }
            text += f.value.utf8
            text.append(0x0a)
            previous = f.name
        }
        return CanonicalHeaders(text: String(decoding: text, as: UTF8.self), signedNames: String(decoding: signed, as: UTF8.self))
    }

    /// Sorted by encoded name, then encoded value (byte order).
    static func canonicalQuery(_ items: [QueryItem]) -> String {
        if items.isEmpty { return "" }
        let encoded = items.map { (Array(URIEncoding.encode($0.name).utf8), Array(URIEncoding.encode($0.value).utf8)) }
            .sorted { a, b in
                a.0 == b.0 ? a.1.lexicographicallyPrecedes(b.1) : a.0.lexicographicallyPrecedes(b.0)
            }
        var out = [UInt8]()
        for (i, (n, v)) in encoded.enumerated() {
            if i > 0 { out.append(UInt8(ascii: "&")) }
            out.append(contentsOf: n)
            out.append(UInt8(ascii: "="))
            out.append(contentsOf: v)
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    static func appendHex(_ bytes: [UInt8], to out: inout [UInt8]) {
        for b in bytes {
            out.append(hexDigits[Int(b >> 4)])
            out.append(hexDigits[Int(b & 0x0f)])
        }
    }

    /// Lower-case hex, specialized for the signer's hot path.
    static func hex(_ bytes: [UInt8]) -> String {
        String(unsafeUninitializedCapacity: bytes.count * 2) { buf in
            var i = 0
            for b in bytes {
                buf[i] = hexDigits[Int(b >> 4)]
                buf[i + 1] = hexDigits[Int(b & 0x0f)]
                i += 2
            }
            return i
        }
    }

    static func asciiLowercased(_ s: String) -> String {
        var bytes = Array(s.utf8)
        var changed = false
        for i in bytes.indices where bytes[i] >= 65 && bytes[i] <= 90 {
            bytes[i] += 32
            changed = true
        }
        return changed ? String(decoding: bytes, as: UTF8.self) : s
    }

    /// SigV4's Trimall: strip leading/trailing whitespace, collapse inner runs to one space.
    static func trimAll(_ value: String) -> String {
        var out = [UInt8]()
        out.reserveCapacity(value.utf8.count)
        var pendingSpace = false
        for b in value.utf8 {
            if b == 0x20 || b == 0x09 || b == 0x0a || b == 0x0d || b == 0x0b || b == 0x0c {
                pendingSpace = !out.isEmpty
            } else {
                if pendingSpace { out.append(0x20); pendingSpace = false }
                out.append(b)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

import Synchronization

/// The last derived signing key and its date stamp.
final class SigningKeyCache: Sendable {
    private let entry = Mutex<(stamp: String, key: [UInt8])?>(nil)

    func key(for stamp: String) -> [UInt8]? {
        entry.withLock { $0?.stamp == stamp ? $0?.key : nil }
    }

    func store(_ key: [UInt8], for stamp: String) {
        entry.withLock { $0 = (stamp, key) }
    }
}
