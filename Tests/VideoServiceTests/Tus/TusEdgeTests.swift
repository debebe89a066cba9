import Reactor
import Testing
import TestSupport
@testable import VideoAPI
@testable import VideoCore

/// tus edges the protocol tests leave out: creation bodies past their length, uploads whose end
/// cannot be reached, metadata that cannot become a header.
@Suite struct TusEdgeTests {
    /// Every byte arrived but finishing fails each time (here: a private upload finished by a vidd
    /// without signing keys, as after a restart with other settings; a bucket lifecycle rule that
    /// aborted the multipart upload does the same). It is retried until its expiry, then expires
    /// like any unfinished upload: its storage released — the object assembled for it included,
    /// since no video refers to it — and the client told 410, not retried for ever.
    @Test(arguments: StorageBackendKind.allCases)
    func aFullUploadThatCannotBeFinishedExpiresAndLeavesNothing(_ kind: StorageBackendKind) async throws {
        var options = APIService.Options()
        options.uploadFinishRetryAfter = .zero
        options.uploadSweepInterval = .seconds(3600)  // the test sweeps by hand
        try await TusUploadTests.with(kind, "unfinishable", options: options) { env, tus in
            let handlers = env.service.handlers
            let uploads = handlers.uploads
            let id = VideoID.generate()
            let upload = try await uploads.create(id: id, length: 1000, metadata: UploadMetadata.encode([("visibility", "private")]),
                                                  filename: "clip.mp4", title: nil, contentType: nil)
            guard case .appended(let full) = await uploads.append(to: upload, length: nil, checksum: nil, body: OneChunk(bytes: randomBytes(1000))) else {
                Issue.record("append failed"); return
            }
            #expect(full.isFull)
            let retried = await handlers.sweepUploads()
            #expect(retried.failures.contains { $0.contains(id) }, "finishing fails: \(retried)")
            #expect(try await tus.head("/uploads/\(id)").status == 200, "before its expiry it is still retried")

            // Its expiry passes with no more bytes (a day by default).
            _ = try await env.database.pool.execute("UPDATE tus_uploads SET expires_at = now() - interval '1 second' WHERE id = $1::uuid", [id])
            let swept = await handlers.sweepUploads()
            #expect(swept.expired == [id] && swept.released.contains(id) && swept.failures.isEmpty, "\(swept)")
            #expect(try await tus.head("/uploads/\(id)").status == 410)
            #expect(try await env.storage.list(prefix: ObjectKeys.sourceDirectory(videoID: id)).isEmpty, "the assembled object is removed")
            #expect(try await TusUploadTests.leftovers(env).isEmpty)
            #expect(try await env.client.get("/videos/\(id)").status == 404)
            #expect(await handlers.sweepUploads().failures.isEmpty, "and it is not retried again")
        }
    }

    /// The same when finishing got as far as the video (only marking the upload completed
    /// failed): the upload is finished, never expired, and the video keeps its source.
    @Test func aFullUploadWithItsVideoIsFinishedNotExpired() async throws {
        var options = APIService.Options()
        options.uploadFinishRetryAfter = .zero
        options.uploadSweepInterval = .seconds(3600)
        try await TusUploadTests.with(.file, "registered", options: options) { env, tus in
            let handlers = env.service.handlers
            let uploads = handlers.uploads
            let id = VideoID.generate()
            let upload = try await uploads.create(id: id, length: 1000, metadata: "", filename: "clip.mp4", title: nil, contentType: nil)
            guard case .appended(let full) = await uploads.append(to: upload, length: nil, checksum: nil, body: OneChunk(bytes: randomBytes(1000))) else {
                Issue.record("append failed"); return
            }
            _ = try await uploads.assemble(full)
            _ = try await handlers.register(id: id, title: nil, sourceKey: full.objectKey, originalName: "clip.mp4", uploaded: false)
            _ = try await env.database.pool.execute("UPDATE tus_uploads SET expires_at = now() - interval '1 second' WHERE id = $1::uuid", [id])
            let swept = await handlers.sweepUploads()
            #expect(swept.expired.isEmpty && swept.failures.isEmpty, "\(swept)")
            #expect(try await uploads.store.upload(id: id)?.status == .completed)
            #expect(try await env.storage.head(key: full.objectKey)?.size == 1000, "the video's source stays")
        }
    }

    /// creation-with-upload whose body is longer than its Upload-Length: refused from the
    /// Content-Length before anything is created (no row, no multipart upload or partial file,
    /// as a PATCH is); a chunked body found too long only as it arrives is refused with the
    /// upload's Location, so the client can resume or terminate what was created.
    @Test(arguments: StorageBackendKind.allCases)
    func aCreationBodyPastItsLengthLeavesNoUnknownUpload(_ kind: StorageBackendKind) async throws {
        try await TusUploadTests.with(kind, "create-overflow") { env, tus in
            let (declared, declaredLocation) = try await tus.create(length: 10, body: .bytes(randomBytes(20)))
            #expect(declared.status == 413 && declaredLocation == nil, "\(declared.status) \(declared.text)")
            #expect(try await Self.uploadCount(env) == 0, "nothing was created")
            #expect(try await TusUploadTests.leftovers(env).isEmpty)
            let (deferred, _) = try await tus.create(length: nil, body: .bytes(randomBytes(20)))
            #expect(deferred.status == 201, "a deferred length is bounded by Tus-Max-Size only")

            let (chunked, chunkedLocation) = try await tus.create(length: 10, body: .chunked([randomBytes(15), randomBytes(5)]))
            #expect(chunked.status == 413, "\(chunked.status) \(chunked.text)")
            let path = try #require(chunkedLocation, "the upload exists: its Location is given")
            #expect(try await tus.offset(path) == 0)
            #expect(try await tus.delete(path).status == 204)
        }
    }

    /// `filetype` in Upload-Metadata is base64, so it can hold bytes no header may carry; it
    /// becomes the S3 object's Content-Type. Such a type is ignored (the object is
    /// application/octet-stream), never sent, never a 500.
    @Test func aFileTypeThatCannotBeAHeaderIsIgnored() async throws {
        try await TusUploadTests.with(.s3, "filetype") { env, tus in
            for type in ["video/mp4\r\nx-amz-acl: public-read", "video/mp4\u{0}", "video/mp4\u{7F}"] {
                let data = randomBytes(100)
                let (created, location) = try await tus.create(length: 100, metadata: [("filename", "clip.mp4"), ("filetype", type)],
                                                               body: .bytes(data))
                #expect(created.status == 201 && created.header("Upload-Offset") == "100", "\(type.debugDescription): \(created.status) \(created.text)")
                guard let path = location else { continue }
                let key = ObjectKeys.source(videoID: uploadID(path), originalName: "clip.mp4")
                #expect(try await env.storage.head(key: key)?.contentType == "application/octet-stream")
            }
        }
    }

    /// DELETE of a finished upload: an existing upload, so 204 (tus), then 410. Only the record
    /// goes: the video and its source stay, and the sweep leaves them alone.
    @Test func terminatingAFinishedUploadDropsOnlyItsRecord() async throws {
        try await TusUploadTests.with(.file, "terminate-done") { env, tus in
            let (created, location) = try await tus.create(length: 100, body: .bytes(randomBytes(100)))
            #expect(created.status == 201 && created.header("Upload-Offset") == "100")
            let path = try #require(location)
            let id = uploadID(path)
            let key = ObjectKeys.source(videoID: id, originalName: "clip.mp4")
            #expect(try await env.service.handlers.uploads.store.upload(id: id)?.status == .completed)
            let deleted = try await tus.delete(path)
            #expect(deleted.status == 204, "\(deleted.status) \(deleted.text)")
            #expect(try await tus.head(path).status == 410)
            #expect(try await tus.delete(path).status == 410)
            #expect(await env.service.handlers.sweepUploads().failures.isEmpty)
            #expect(try await env.client.get("/videos/\(id)").status == 200)
            #expect(try await env.storage.head(key: key)?.size == 100, "the video keeps its source")
        }
    }

    /// A client that goes away while its creation waits for PostgreSQL (here: a lock held by the
    /// test) cancels the request after the S3 multipart upload began. The row is then never
    /// written, so nothing the sweep knows of refers to that multipart upload: it must be aborted
    /// there and then, though the request's task is cancelled.
    @Test func aClientGoneDuringCreationLeavesNoMultipartUploadBehind() async throws {
        try await TusUploadTests.with(.s3, "create-cancel") { env, tus in
            let waiting = "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'tus_uploads'::regclass"
            try await env.database.pool.withConnection { locker in
                try await locker.transaction { tx in
                    _ = try await tx.execute("LOCK TABLE tus_uploads IN ACCESS EXCLUSIVE MODE")
                    let client = try await Connection.connect(host: "127.0.0.1", port: env.port)
                    try await client.write(Array("POST /uploads HTTP/1.1\r\nHost: 127.0.0.1\r\nTus-Resumable: 1.0.0\r\nUpload-Length: 10\r\n\r\n".utf8))
                    try await waitUntil("the creation's INSERT waits for the lock", timeout: .seconds(20)) {
                        Int(try await env.database.pool.collect(waiting)[0].decode(Int64.self, at: 0)) == 1
                    }
                    #expect(try await TusUploadTests.leftovers(env).count == 1, "the multipart upload began")
                    client.close()
                    try await waitUntil("the creation is cancelled", timeout: .seconds(20)) {
                        Int(try await env.database.pool.collect(waiting)[0].decode(Int64.self, at: 0)) == 0
                    }
                }
            }
            try await waitUntil("no multipart upload without its row", timeout: .seconds(10), context: { env.logs.lines.suffix(5).joined(separator: "\n") }) {
                try await TusUploadTests.leftovers(env).count == Self.uploadCount(env)
            }
        }
    }

    static func uploadCount(_ env: APITestEnvironment) async throws -> Int {
        Int(try await env.database.pool.collect("SELECT count(*) FROM tus_uploads")[0].decode(Int64.self, at: 0))
    }
}
