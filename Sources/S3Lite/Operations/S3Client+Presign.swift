extension S3Client {
    /// A presigned URL for `method` (GET, PUT, HEAD, DELETE) on an object, valid for
    /// `expiresIn` seconds (at most 7 days) from `date`. Whoever holds it needs no credentials;
    /// a PUT through it must send any `headers` given here verbatim.
    public func presignedURL(method: String, bucket: String, key: String, expiresIn seconds: Int,
                             date: SigningDate = .now(), query: [QueryItem] = [],
                             headers: [(name: String, value: String)] = []) throws -> String {
        try S3Request(operation: "Presign\(method)", method: method, bucket: bucket, key: key).validate()
        let (host, path) = configuration.address(bucket: bucket, key: key)
        let hostHeader = SignableRequest.hostHeader(host: host, port: configuration.port, secure: configuration.secure)
        let request = SignableRequest(method: method, host: hostHeader, path: path, query: query, headers: headers)
        let target = try signer.presign(request, expiresInSeconds: seconds, date: date)
        return "\(configuration.secure ? "https" : "http")://\(hostHeader)\(target)"
    }
}
