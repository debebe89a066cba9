import Reactor

/// A part that was uploaded, as CompleteMultipartUpload needs it.
public struct CompletedPart: Sendable, Hashable {
    public var partNumber: Int
    public var etag: String
    public init(partNumber: Int, etag: String) {
        self.partNumber = partNumber
        self.etag = etag
    }
}

/// A part as ListParts reports it (for resuming an upload).
public struct UploadedPart: Sendable, Hashable {
    public var partNumber: Int
    public var etag: String
    public var size: Int64
}

/// A multipart upload begun and neither completed nor aborted (ListMultipartUploads).
public struct MultipartUploadSummary: Sendable, Hashable {
    public var key: String
    public var uploadID: String
    /// When it began, as the server wrote it (ISO 8601).
    public var initiated: String?
}

extension S3Client {
    // MARK: The multipart API

    /// Starts a multipart upload and returns its upload id.
    public func createMultipartUpload(bucket: String, key: String, attributes: ObjectAttributes = .init()) async throws -> String {
        var request = S3Request(operation: "CreateMultipartUpload", method: "POST", bucket: bucket, key: key, query: [QueryItem("uploads")])
        attributes.apply(to: &request.headers)
        let xml = try await execute(request) { _, body in try XMLParser.parse(try await body.collect()) }
        guard let id = xml.string("UploadId"), !id.isEmpty else {
            throw S3ClientError.invalidResponse(operation: "CreateMultipartUpload", reason: "no UploadId")
        }
        return id
    }

    /// Uploads one part held in memory (signed with its SHA-256).
    public func uploadPart(bucket: String, key: String, uploadID: String, partNumber: Int, bytes: [UInt8]) async throws -> CompletedPart {
        var request = partRequest(bucket: bucket, key: key, uploadID: uploadID, partNumber: partNumber)
        addChecksum(for: bytes, to: &request.headers)
        request.payload = .bytes(bytes, sha256: nil)
        return try await sendPart(request, partNumber: partNumber)
    }

    func uploadPart(bucket: String, key: String, uploadID: String, partNumber: Int,
                    file: FileHandle, offset: Int64, length: Int64) async throws -> CompletedPart {
        var request = partRequest(bucket: bucket, key: key, uploadID: uploadID, partNumber: partNumber)
        request.payload = .file(file, offset: offset, length: length)
        return try await sendPart(request, partNumber: partNumber)
    }

    private func partRequest(bucket: String, key: String, uploadID: String, partNumber: Int) -> S3Request {
        S3Request(operation: "UploadPart", method: "PUT", bucket: bucket, key: key,
                  query: [QueryItem("partNumber", String(partNumber)), QueryItem("uploadId", uploadID)])
    }

    private func sendPart(_ request: S3Request, partNumber: Int) async throws -> CompletedPart {
        try await execute(request) { head, _ in
            guard let etag = head.headers["ETag"] else {
                throw S3ClientError.invalidResponse(operation: "UploadPart", reason: "no ETag for part \(partNumber)")
            }
            return CompletedPart(partNumber: partNumber, etag: etag)
        }
    }

    /// Completes an upload from its parts (sorted by part number here). S3 may report a failure
    /// inside a 200 response; it is thrown as `S3Error`.
    @discardableResult
    public func completeMultipartUpload(bucket: String, key: String, uploadID: String, parts: [CompletedPart]) async throws -> String? {
        let doc = XMLElement(name: "CompleteMultipartUpload", children: parts.sorted { $0.partNumber < $1.partNumber }.map {
            XMLElement(name: "Part", children: [XMLElement(name: "PartNumber", text: String($0.partNumber)),
                                                XMLElement(name: "ETag", text: $0.etag)])
        })
        var request = S3Request(operation: "CompleteMultipartUpload", method: "POST", bucket: bucket, key: key,
                                query: [QueryItem("uploadId", uploadID)])
        request.headers.set("Content-Type", "application/xml")
        request.payload = .bytes(Array(doc.serialized().utf8), sha256: nil)
        return try await execute(request) { _, body in
            let bytes = try await body.collect()
            let xml = try XMLParser.parse(bytes)
            if xml.name == "Error" {
                throw S3Error.decode(status: 200, body: bytes, headers: [:], operation: "CompleteMultipartUpload", bucket: bucket, key: key)
            }
            // Ceph RGW 16 answers with an empty ETag element: no ETag rather than "".
            return xml.string("ETag").flatMap { $0.isEmpty ? nil : $0 }
        }
    }

    /// Aborts an upload, freeing its parts.
    public func abortMultipartUpload(bucket: String, key: String, uploadID: String) async throws {
        try await execute(S3Request(operation: "AbortMultipartUpload", method: "DELETE", bucket: bucket, key: key,
                                    query: [QueryItem("uploadId", uploadID)])) { _, _ in }
    }

    /// Every part uploaded so far (all pages), to resume an interrupted upload.
    public func listParts(bucket: String, key: String, uploadID: String) async throws -> [UploadedPart] {
        var parts: [UploadedPart] = []
        var marker: String?
        while true {
            var query = [QueryItem("uploadId", uploadID)]
            if let marker { query.append(QueryItem("part-number-marker", marker)) }
            let xml = try await execute(S3Request(operation: "ListParts", method: "GET", bucket: bucket, key: key, query: query)) { _, body in
                try XMLParser.parse(try await body.collect())
            }
            for p in xml.children("Part") {
                guard let n = p.string("PartNumber").flatMap({ Int($0) }), let etag = p.string("ETag") else {
                    throw S3ClientError.invalidResponse(operation: "ListParts", reason: "Part without PartNumber/ETag")
                }
                parts.append(UploadedPart(partNumber: n, etag: etag, size: p.string("Size").flatMap { Int64($0) } ?? 0))
            }
            guard xml.string("IsTruncated") == "true" else { return parts }
            guard let next = xml.string("NextPartNumberMarker"), !next.isEmpty, next != marker else {
                throw S3ClientError.invalidResponse(operation: "ListParts", reason: "truncated without a new NextPartNumberMarker")
            }
            marker = next
        }
    }

    /// Every multipart upload in progress in `bucket` (all pages), optionally only keys under
    /// `prefix`: uploads that were never completed keep their parts, and cost storage, until
    /// they are aborted.
    public func listMultipartUploads(bucket: String, prefix: String? = nil) async throws -> [MultipartUploadSummary] {
        var uploads: [MultipartUploadSummary] = []
        var markers: (key: String, uploadID: String)?
        while true {
            var query = [QueryItem("uploads")]
            if let prefix { query.append(QueryItem("prefix", prefix)) }
            if let markers {
                query.append(QueryItem("key-marker", markers.key))
                query.append(QueryItem("upload-id-marker", markers.uploadID))
            }
            let request = S3Request(operation: "ListMultipartUploads", method: "GET", bucket: bucket, query: query)
            let xml = try await execute(request) { _, body in try XMLParser.parse(try await body.collect()) }
            guard xml.name == "ListMultipartUploadsResult" else {
                throw S3ClientError.invalidResponse(operation: "ListMultipartUploads", reason: "root element \(xml.name)")
            }
            for u in xml.children("Upload") {
                guard let key = u.string("Key"), let id = u.string("UploadId") else {
                    throw S3ClientError.invalidResponse(operation: "ListMultipartUploads", reason: "Upload without Key/UploadId")
                }
                uploads.append(MultipartUploadSummary(key: key, uploadID: id, initiated: u.string("Initiated")))
            }
            guard xml.string("IsTruncated") == "true" else { return uploads }
            let next = (key: xml.string("NextKeyMarker") ?? "", uploadID: xml.string("NextUploadIdMarker") ?? "")
            guard !next.key.isEmpty, next.key != markers?.key || next.uploadID != markers?.uploadID else {
                throw S3ClientError.invalidResponse(operation: "ListMultipartUploads", reason: "truncated without new markers")
            }
            markers = next
        }
    }

    // MARK: Whole uploads

    /// Multipart upload of a file: part size from the file size, parts streamed from the file
    /// (never buffered whole), at most `maxConcurrentFileParts` in flight; aborted on failure.
    func uploadMultipart(bucket: String, key: String, file: FileHandle, size: Int64, attributes: ObjectAttributes) async throws -> PutObjectResult {
        let partSize = try PartSizing.partSize(objectSize: size, preferred: configuration.partSize)
        let count = PartSizing.partCount(objectSize: size, partSize: partSize)
        let uploadID = try await createMultipartUpload(bucket: bucket, key: key, attributes: attributes)
        return try await completingOrAborting(bucket: bucket, key: key, uploadID: uploadID, size: size) {
            try await withThrowingTaskGroup(of: CompletedPart.self) { group in
                var done: [CompletedPart] = []
                for n in 1...count {
                    if n > configuration.maxConcurrentFileParts, let finished = try await group.next() { done.append(finished) }
                    let offset = Int64(n - 1) * Int64(partSize)
                    let length = min(Int64(partSize), size - offset)
                    group.addTask(executorPreference: EventLoop.shared) {
                        try await self.uploadPart(bucket: bucket, key: key, uploadID: uploadID, partNumber: n,
                                                  file: file, offset: offset, length: length)
                    }
                }
                for try await p in group { done.append(p) }
                return done
            }
        }
    }

    /// Uploads a stream of unknown length: chunks are gathered into parts of `partSize` (up to
    /// 10 000 parts), uploaded in parallel with at most `maxConcurrentParts` in flight, so memory
    /// stays near partSize × (maxConcurrentParts + 1). A stream shorter than one part is sent
    /// with a single PutObject. Parts are kept in memory until sent, so they can be retried.
    @discardableResult
    public func putObject<S: AsyncSequence>(bucket: String, key: String, from stream: S,
                                            attributes: ObjectAttributes = .init()) async throws -> PutObjectResult
    where S.Element == [UInt8] {
        // Checked here too, before the caller's stream is read (every request checks again).
        try S3Request(operation: "PutObject", method: "PUT", bucket: bucket, key: key).validate()
        let partSize = max(configuration.partSize, PartSizing.minimumPartSize)
        var iterator = stream.makeAsyncIterator()
        var buffer = [UInt8]()
        buffer.reserveCapacity(partSize)
        var leftover: ArraySlice<UInt8> = []

        /// Fills `buffer` to `partSize`; false when the stream ended (buffer holds the rest).
        func fill() async throws -> Bool {
            while buffer.count < partSize {
                if leftover.isEmpty {
                    guard let next = try await iterator.next() else { return false }
                    leftover = next[...]
                }
                let take = min(partSize - buffer.count, leftover.count)
                buffer += leftover.prefix(take)
                leftover = leftover.dropFirst(take)
            }
            return true
        }

        var more = try await fill()
        if !more {
            return try await putObject(bucket: bucket, key: key, bytes: buffer, attributes: attributes)
        }
        let uploadID = try await createMultipartUpload(bucket: bucket, key: key, attributes: attributes)
        var total: Int64 = 0
        return try await completingOrAborting(bucket: bucket, key: key, uploadID: uploadID, size: nil) {
            // Part buffers come back from finished uploads and are refilled, so exactly
            // maxConcurrentParts + 1 buffers are ever allocated (fresh 8 MiB allocations per part
            // let glibc's arenas keep far more resident than is in use).
            try await withThrowingTaskGroup(of: (CompletedPart, [UInt8]).self) { group in
                var done: [CompletedPart] = []
                var spare: [[UInt8]] = []
                var inFlight = 0
                var partNumber = 0
                while true {
                    partNumber += 1
                    guard partNumber <= PartSizing.maximumPartCount else {
                        throw S3ClientError.invalidArgument("stream longer than \(PartSizing.maximumPartCount) parts of \(partSize) bytes; raise partSize")
                    }
                    let part = buffer
                    let n = partNumber
                    total += Int64(part.count)
                    group.addTask(executorPreference: EventLoop.shared) {
                        let completed = try await self.uploadPart(bucket: bucket, key: key, uploadID: uploadID, partNumber: n, bytes: part)
                        return (completed, part)
                    }
                    inFlight += 1
                    if !more { break }
                    if inFlight >= configuration.maxConcurrentParts, let (finished, returned) = try await group.next() {
                        done.append(finished)
                        spare.append(returned)
                        inFlight -= 1
                    }
                    buffer = spare.popLast() ?? []
                    buffer.removeAll(keepingCapacity: true)
                    buffer.reserveCapacity(partSize)
                    more = try await fill()
                    if buffer.isEmpty { break }
                }
                for try await (p, _) in group { done.append(p) }
                return done
            }
        }.withSize(total)
    }

    /// Runs the part uploads, then completes; on any failure aborts the upload (so no parts are
    /// left behind) and throws `S3ClientError.multipartUploadFailed`.
    private func completingOrAborting(bucket: String, key: String, uploadID: String, size: Int64?,
                                      _ uploadParts: () async throws -> [CompletedPart]) async throws -> PutObjectResult {
        do {
            let parts = try await uploadParts()
            let etag = try await completeMultipartUpload(bucket: bucket, key: key, uploadID: uploadID, parts: parts)
            return PutObjectResult(etag: etag, versionID: nil, size: size ?? 0)
        } catch {
            // Abort even if this task was cancelled: leaving parts behind costs storage.
            let aborted = await Task.detached(executorPreference: EventLoop.shared) {
                do {
                    try await self.abortMultipartUpload(bucket: bucket, key: key, uploadID: uploadID)
                    return true
                } catch {
                    return false
                }
            }.value
            throw S3ClientError.multipartUploadFailed(bucket: bucket, key: key, uploadID: uploadID, underlying: error, aborted: aborted)
        }
    }
}

extension PutObjectResult {
    func withSize(_ size: Int64) -> PutObjectResult {
        var r = self
        r.size = size
        return r
    }
}
