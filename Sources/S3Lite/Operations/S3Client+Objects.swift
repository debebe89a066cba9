import Reactor

extension S3Client {
    // MARK: Upload

    /// Uploads `bytes` in one request (signed payload; `Expect: 100-continue` when large).
    @discardableResult
    public func putObject(bucket: String, key: String, bytes: [UInt8], attributes: ObjectAttributes = .init()) async throws -> PutObjectResult {
        var request = S3Request(operation: "PutObject", method: "PUT", bucket: bucket, key: key)
        attributes.apply(to: &request.headers)
        addChecksum(for: bytes, to: &request.headers)
        request.payload = .bytes(bytes, sha256: nil)
        return try await execute(request) { head, _ in
            PutObjectResult(etag: head.headers["ETag"], versionID: head.headers["x-amz-version-id"], size: Int64(bytes.count))
        }
    }

    /// Uploads a file: one aws-chunked request (signed chunk by chunk while it streams, never
    /// buffered) below `multipartThreshold`, else a parallel multipart upload whose parts also
    /// stream from the file. Retries re-read the file.
    @discardableResult
    public func putObject(bucket: String, key: String, file path: String, attributes: ObjectAttributes = .init()) async throws -> PutObjectResult {
        let file = try FileHandle.openForReading(path)
        let size = try file.size()
        if size >= Int64(configuration.multipartThreshold) {
            return try await uploadMultipart(bucket: bucket, key: key, file: file, size: size, attributes: attributes)
        }
        var request = S3Request(operation: "PutObject", method: "PUT", bucket: bucket, key: key)
        attributes.apply(to: &request.headers)
        request.payload = .file(file, offset: 0, length: size)
        return try await execute(request) { head, _ in
            PutObjectResult(etag: head.headers["ETag"], versionID: head.headers["x-amz-version-id"], size: size)
        }
    }

    func addChecksum(for bytes: [UInt8], to headers: inout HTTPHeaders) {
        if configuration.checksum == .sha256 {
            headers.set("x-amz-checksum-sha256", Base64.encode(Crypto.sha256(bytes)))
        }
    }

    // MARK: Download

    /// Streams an object (or a range of it) to `body`, one chunk at a time as it arrives.
    /// Not retried once the first chunk was delivered.
    @discardableResult
    public func getObject(bucket: String, key: String, range: ByteRange? = nil,
                          body: (ObjectInfo, [UInt8]) async throws -> Void) async throws -> ObjectInfo {
        var request = S3Request(operation: "GetObject", method: "GET", bucket: bucket, key: key)
        if let range { request.headers.set("Range", range.headerValue) }
        return try await execute(request, restartable: false) { head, response in
            let info = ObjectInfo(head: head)
            while let chunk = try await response.next() { try await body(info, chunk) }
            return info
        }
    }

    /// The object's bytes (or a range of them).
    public func getObject(bucket: String, key: String, range: ByteRange? = nil) async throws -> [UInt8] {
        var request = S3Request(operation: "GetObject", method: "GET", bucket: bucket, key: key)
        if let range { request.headers.set("Range", range.headerValue) }
        return try await execute(request) { _, response in try await response.collect(limit: Int.max) }
    }

    /// Downloads an object into a file (created or truncated), streaming; retried from the
    /// start on transient failures.
    @discardableResult
    public func getObject(bucket: String, key: String, range: ByteRange? = nil, toFile path: String) async throws -> ObjectInfo {
        let file = try FileHandle.openForWriting(path)
        var request = S3Request(operation: "GetObject", method: "GET", bucket: bucket, key: key)
        if let range { request.headers.set("Range", range.headerValue) }
        return try await execute(request) { head, response in
            try file.truncate(to: 0)
            var pending = [UInt8]()
            pending.reserveCapacity(1024 * 1024)
            while let chunk = try await response.next() {
                pending += chunk
                if pending.count >= 1024 * 1024 {  // batch small socket reads into fewer write(2)s
                    try file.write(pending)
                    pending.removeAll(keepingCapacity: true)
                }
            }
            try file.write(pending)
            return ObjectInfo(head: head)
        }
    }

    /// Size, ETag, content type, cache headers and metadata of an object. A missing object
    /// throws `S3Error` with status 404 (code `NotFound`: HEAD responses carry no body).
    public func headObject(bucket: String, key: String) async throws -> ObjectInfo {
        try await execute(S3Request(operation: "HeadObject", method: "HEAD", bucket: bucket, key: key)) { head, _ in
            ObjectInfo(head: head)
        }
    }

    // MARK: Delete and copy

    public func deleteObject(bucket: String, key: String) async throws {
        try await execute(S3Request(operation: "DeleteObject", method: "DELETE", bucket: bucket, key: key)) { _, _ in }
    }

    public struct DeleteObjectsResult: Sendable, Hashable {
        public var deleted: [String]
        /// Keys S3 refused to delete, with its code and message.
        public var errors: [(key: String, code: String, message: String)]
        public static func == (a: Self, b: Self) -> Bool {
            a.deleted == b.deleted && a.errors.map { [$0.key, $0.code, $0.message] } == b.errors.map { [$0.key, $0.code, $0.message] }
        }
        public func hash(into h: inout Hasher) { h.combine(deleted) }
    }

    /// Deletes up to 1000 keys per request (more are split into batches).
    public func deleteObjects(bucket: String, keys: [String]) async throws -> DeleteObjectsResult {
        var result = DeleteObjectsResult(deleted: [], errors: [])
        var start = 0
        while start < keys.count {
            let batch = keys[start..<min(start + 1000, keys.count)]
            start += batch.count
            let doc = XMLElement(name: "Delete", children: [XMLElement(name: "Quiet", text: "false")] +
                batch.map { XMLElement(name: "Object", children: [XMLElement(name: "Key", text: $0)]) })
            let body = Array(("<?xml version=\"1.0\" encoding=\"UTF-8\"?>" + doc.serialized()).utf8)
            var request = S3Request(operation: "DeleteObjects", method: "POST", bucket: bucket, query: [QueryItem("delete")])
            request.keysInBody = Array(batch)
            request.headers.set("Content-Type", "application/xml")
            request.headers.set("Content-MD5", Base64.encode(Crypto.md5(body)))  // required by S3 for this call
            request.payload = .bytes(body, sha256: nil)
            let xml = try await execute(request) { _, response in try XMLParser.parse(try await response.collect()) }
            guard xml.name == "DeleteResult" else {
                throw S3ClientError.invalidResponse(operation: "DeleteObjects", reason: "root element \(xml.name)")
            }
            result.deleted += xml.children("Deleted").compactMap { $0.string("Key") }
            result.errors += xml.children("Error").map { ($0.string("Key") ?? "", $0.string("Code") ?? "", $0.string("Message") ?? "") }
        }
        return result
    }

    /// Server-side copy (objects up to 5 GiB). `attributes` nil keeps the source's metadata;
    /// otherwise they replace it.
    @discardableResult
    public func copyObject(sourceBucket: String, sourceKey: String, bucket: String, key: String,
                           attributes: ObjectAttributes? = nil) async throws -> String? {
        var request = S3Request(operation: "CopyObject", method: "PUT", bucket: bucket, key: key)
        request.copySource = (sourceBucket, sourceKey)
        if let attributes {
            attributes.apply(to: &request.headers)
            request.headers.set("x-amz-metadata-directive", "REPLACE")
        }
        return try await execute(request) { _, response in
            // S3 may report a failure inside a 200 response.
            let xml = try XMLParser.parse(try await response.collect())
            if xml.name == "Error" { throw S3Error.decode(status: 200, body: Array(xml.serialized().utf8), headers: [:], operation: "CopyObject", bucket: bucket, key: key) }
            return xml.string("ETag")
        }
    }
}
