/// One object in a listing.
public struct ObjectSummary: Sendable, Hashable {
    public var key: String
    public var size: Int64
    public var etag: String?
    public var lastModified: String?
    public var storageClass: String?
}

/// One page of ListObjectsV2.
public struct ListObjectsPage: Sendable, Hashable {
    public var objects: [ObjectSummary]
    /// Prefixes rolled up by the delimiter ("directories").
    public var commonPrefixes: [String]
    public var isTruncated: Bool
    public var nextContinuationToken: String?

    static func decode(_ xml: XMLElement, bucket: String) throws(S3ClientError) -> ListObjectsPage {
        guard xml.name == "ListBucketResult" else {
            throw .invalidResponse(operation: "ListObjectsV2", reason: "root element \(xml.name)")
        }
        var objects: [ObjectSummary] = []
        for c in xml.children("Contents") {
            guard let key = c.string("Key") else { throw .invalidResponse(operation: "ListObjectsV2", reason: "Contents without Key") }
            objects.append(ObjectSummary(key: key, size: c.string("Size").flatMap { Int64($0) } ?? 0, etag: c.string("ETag"),
                                         lastModified: c.string("LastModified"), storageClass: c.string("StorageClass")))
        }
        let token = xml.string("NextContinuationToken").flatMap { $0.isEmpty ? nil : $0 }
        return ListObjectsPage(objects: objects, commonPrefixes: xml.children("CommonPrefixes").compactMap { $0.string("Prefix") },
                               isTruncated: xml.string("IsTruncated") == "true", nextContinuationToken: token)
    }
}

/// ListObjectsV2 as an asynchronous sequence of pages. It stops with
/// `S3ClientError.truncatedListingWithoutToken` rather than loop when a server reports a
/// truncated page without a (new) continuation token.
public struct ListObjectsV2Sequence: AsyncSequence, Sendable {
    public typealias Element = ListObjectsPage
    let client: S3Client
    let bucket: String
    let prefix: String?
    let delimiter: String?
    let maxKeys: Int?
    let startAfter: String?

    public struct AsyncIterator: AsyncIteratorProtocol {
        let sequence: ListObjectsV2Sequence
        var token: String?
        var finished = false
        /// Thrown on the call after the page that revealed it, so that page is not lost.
        var pendingError: S3ClientError?

        public mutating func next() async throws -> ListObjectsPage? {
            if let pendingError {
                self.pendingError = nil
                throw pendingError
            }
            if finished { return nil }
            let s = sequence
            var query = [QueryItem("list-type", "2")]
            if let p = s.prefix { query.append(QueryItem("prefix", p)) }
            if let d = s.delimiter { query.append(QueryItem("delimiter", d)) }
            if let m = s.maxKeys { query.append(QueryItem("max-keys", String(m))) }
            if let a = s.startAfter, token == nil { query.append(QueryItem("start-after", a)) }
            if let t = token { query.append(QueryItem("continuation-token", t)) }
            let request = S3Request(operation: "ListObjectsV2", method: "GET", bucket: s.bucket, query: query)
            let xml = try await s.client.execute(request) { _, body in try XMLParser.parse(try await body.collect()) }
            let page = try ListObjectsPage.decode(xml, bucket: s.bucket)
            if page.isTruncated {
                guard let next = page.nextContinuationToken, next != token else {
                    finished = true
                    pendingError = .truncatedListingWithoutToken(bucket: s.bucket)
                    return page
                }
                token = next
            } else {
                finished = true
            }
            return page
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(sequence: self) }
}

extension S3Client {
    /// Lists objects page by page: `for try await page in s3.listObjectsV2(bucket: b, prefix: "x/")`.
    public func listObjectsV2(bucket: String, prefix: String? = nil, delimiter: String? = nil,
                              maxKeys: Int? = nil, startAfter: String? = nil) -> ListObjectsV2Sequence {
        ListObjectsV2Sequence(client: self, bucket: bucket, prefix: prefix, delimiter: delimiter, maxKeys: maxKeys, startAfter: startAfter)
    }

    /// Every object under `prefix` (all pages).
    public func listAllObjects(bucket: String, prefix: String? = nil) async throws -> [ObjectSummary] {
        var all: [ObjectSummary] = []
        for try await page in listObjectsV2(bucket: bucket, prefix: prefix) { all += page.objects }
        return all
    }
}
