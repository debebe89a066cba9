/// Multipart part sizes (S3 limits: parts of 5 MiB to 5 GiB except the last, at most 10 000
/// parts, objects up to 5 TiB). Like minio-go's `OptimalPartInfo`, the part size grows with the
/// object so the part count stays under the limit, in whole MiB.
public enum PartSizing {
    public static let minimumPartSize = 5 * 1024 * 1024
    public static let maximumPartSize = 5 * 1024 * 1024 * 1024
    public static let maximumPartCount = 10_000
    public static let maximumObjectSize: Int64 = 5 * 1024 * 1024 * 1024 * 1024

    /// The part size for an object of `objectSize` bytes, at least `preferred` (clamped to S3's
    /// minimum), rounded up to a MiB multiple so that at most 10 000 parts are needed.
    public static func partSize(objectSize: Int64, preferred: Int) throws(S3ClientError) -> Int {
        guard objectSize >= 0, objectSize <= maximumObjectSize else {
            throw .invalidArgument("object size \(objectSize) exceeds S3's 5 TiB limit")
        }
        let mib: Int64 = 1024 * 1024
        let needed = (objectSize + Int64(maximumPartCount) - 1) / Int64(maximumPartCount)
        let neededRounded = (needed + mib - 1) / mib * mib
        return Int(max(Int64(max(preferred, minimumPartSize)), neededRounded))
    }

    /// Number of parts for `objectSize` bytes in parts of `partSize` (at least one, for empty objects).
    public static func partCount(objectSize: Int64, partSize: Int) -> Int {
        max(1, Int((objectSize + Int64(partSize) - 1) / Int64(partSize)))
    }
}
