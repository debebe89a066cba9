extension S3Client {
    /// Creates `bucket` (with a LocationConstraint outside us-east-1).
    public func createBucket(_ bucket: String) async throws {
        var request = S3Request(operation: "CreateBucket", method: "PUT", bucket: bucket)
        if configuration.region != "us-east-1" {
            let body = XMLElement(name: "CreateBucketConfiguration",
                                  attributes: ["xmlns": "http://s3.amazonaws.com/doc/2006-03-01/"],
                                  children: [XMLElement(name: "LocationConstraint", text: configuration.region)])
            request.payload = .bytes(Array(body.serialized().utf8), sha256: nil)
            request.headers.set("Content-Type", "application/xml")
        }
        try await execute(request) { _, _ in }
    }

    /// Succeeds when the bucket exists and is accessible; throws `S3Error` (`NotFound`,
    /// `Forbidden`) otherwise.
    public func headBucket(_ bucket: String) async throws {
        try await execute(S3Request(operation: "HeadBucket", method: "HEAD", bucket: bucket)) { _, _ in }
    }

    /// Whether `bucket` exists (false on 404, other errors thrown).
    public func bucketExists(_ bucket: String) async throws -> Bool {
        do {
            try await headBucket(bucket)
            return true
        } catch let e as S3Error where e.status == 404 {
            return false
        }
    }

    /// Deletes an empty bucket.
    public func deleteBucket(_ bucket: String) async throws {
        try await execute(S3Request(operation: "DeleteBucket", method: "DELETE", bucket: bucket)) { _, _ in }
    }
}
