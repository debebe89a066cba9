import S3Lite

/// Resumable uploads on S3: one multipart upload per tus upload, created with it and completed
/// (or aborted) at its end. Parts are written as the bytes arrive; their numbers and ETags are
/// recorded in PostgreSQL, so completing needs no ListParts and parts written by an append that
/// lost a race are simply left out (S3 drops parts a completion does not name).
extension S3Storage {
    public var resumableLayout: ResumableLayout { .parts(minimumPartSize: PartSizing.minimumPartSize) }

    public func beginResumable(key: String, contentType: String?) async throws -> String {
        let s3Key = try objectKey(key)
        do {
            return try await client.createMultipartUpload(bucket: bucket, key: s3Key, attributes: ObjectAttributes(contentType: contentType))
        } catch {
            throw mapError(error, operation: "CreateMultipartUpload", key: key)
        }
    }

    public func writeResumable(key: String, handle: String, partNumber: Int, offset: Int64, bytes: [UInt8]) async throws -> String {
        let s3Key = try objectKey(key)
        do {
            return try await client.uploadPart(bucket: bucket, key: s3Key, uploadID: handle, partNumber: partNumber, bytes: bytes).etag
        } catch let e as S3Error where e.code == "NoSuchUpload" {
            throw StorageError.notFound(key: key + " (multipart upload \(handle))")
        } catch {
            throw mapError(error, operation: "UploadPart", key: key)
        }
    }

    public func completeResumable(key: String, handle: String, parts: [ResumablePart], size: Int64) async throws -> ObjectInfo {
        let s3Key = try objectKey(key)
        do {
            try await client.completeMultipartUpload(bucket: bucket, key: s3Key, uploadID: handle,
                                                     parts: parts.map { CompletedPart(partNumber: $0.number, etag: $0.etag) })
        } catch let e as S3Error where e.code == "NoSuchUpload" {
            // An earlier attempt completed it (its answer was lost, or it crashed before recording
            // that): the object is there with the right size, or something else went wrong.
            if let existing = try await head(key: key), existing.size == size { return existing }
            throw StorageError.backend("S3 multipart upload \(handle) of \(bucket)/\(s3Key) no longer exists and the object is not there (\(e.code))")
        } catch {
            throw mapError(error, operation: "CompleteMultipartUpload", key: key)
        }
        guard let info = try await head(key: key) else { throw StorageError.notFound(key: key) }
        guard info.size == size else {
            throw StorageError.backend("S3 completed \(bucket)/\(s3Key) with \(info.size) bytes, expected \(size)")
        }
        return info
    }

    public func abortResumable(key: String, handle: String) async throws {
        let s3Key = try objectKey(key)
        do {
            try await client.abortMultipartUpload(bucket: bucket, key: s3Key, uploadID: handle)
        } catch let e as S3Error where e.code == "NoSuchUpload" {
            return  // already aborted (or completed): nothing left to free
        } catch {
            throw mapError(error, operation: "AbortMultipartUpload", key: key)
        }
    }
}
