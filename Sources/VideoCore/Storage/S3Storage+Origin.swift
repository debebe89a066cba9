extension S3Storage {
    /// Where the presigned URLs of `playableLocation` point (`https://bucket.s3.region.amazonaws.com`,
    /// `http://minio:9000`), for the web page's Content-Security-Policy: `/media` redirects there.
    package var playbackOrigin: String? {
        guard let url = try? client.presignedURL(method: "GET", bucket: bucket, key: "origin", expiresIn: 60) else { return nil }
        // scheme://authority: everything before the third slash.
        let parts = url.split(separator: "/", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count >= 3, parts[0].hasSuffix(":"), parts[1].isEmpty, !parts[2].isEmpty else { return nil }
        return "\(parts[0])//\(parts[2])"
    }
}
