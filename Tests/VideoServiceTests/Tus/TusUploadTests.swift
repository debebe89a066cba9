import Foundation
import HTTPServer
import PGWire
import Reactor
import S3Lite
import Testing
import TestSupport
@testable import VideoAPI
@testable import VideoCore

/// tus at `/uploads` in-process, over real sockets, on the real PostgreSQL and Redis and both
/// storage backends (a directory; moto S3 verifying SigV4). Parts are the 5 MiB minimum so a few
/// MiB exercise parts, the tail and the boundaries between them.
@Suite struct TusUploadTests {
    static let mib = 1 << 20

    static func with(_ kind: StorageBackendKind, _ name: String, tokens: [String] = [], options: APIService.Options = .init(),
                     configure: @escaping (inout Configuration) -> Void = { _ in },
                     _ body: (APITestEnvironment, TusTestClient) async throws -> Void) async throws {
        try await APITestEnvironment.with("tus-\(name)-\(kind)", tokens: tokens, options: options, storage: kind, configure: {
            $0.tusPartSize = 5 << 20
            configure(&$0)
        }) { env in
            defer {
                // The service's complaints, printed so a failure in CI can be read from its log.
                let bad = env.logs.lines.filter { $0.contains("level=error") || $0.contains("level=warning") }
                if !bad.isEmpty { print("tus-\(name)-\(kind) service log:\n" + bad.joined(separator: "\n")) }
            }
            try await body(env, TusTestClient(port: env.port, token: tokens.first))
        }
    }

    /// What is left of an upload in storage besides the object: pending S3 multipart uploads, or
    /// partial files.
    static func leftovers(_ env: APITestEnvironment) async throws -> [String] {
        if let s3 = env.s3 { return try await S3TestServer.pendingUploads(s3.client, s3.bucket).map(\.key) }
        return (try? FileManager.default.contentsOfDirectory(atPath: env.storageRoot + "/.uploads")) ?? []
    }

    static func rows(_ env: APITestEnvironment, _ sql: String, _ id: String) async throws -> Int {
        let rows = try await env.database.pool.collect(sql, [id])
        return Int(try rows[0].decode(Int64.self, at: 0))
    }

    @Test(arguments: StorageBackendKind.allCases)
    func chunksOfEverySizeBecomeTheObjectAndAVideo(_ kind: StorageBackendKind) async throws {
        try await Self.with(kind, "chunks") { env, tus in
            let length = 12 * Self.mib + 123
            let data = randomBytes(length)
            let (created, location) = try await tus.create(length: Int64(length), metadata: [("filename", "clip.mp4"), ("title", "Holiday 🏖")])
            #expect(created.status == 201 && created.header("Tus-Resumable") == "1.0.0")
            let path = try #require(location)
            #expect(path.hasPrefix("/uploads/") && VideoID.normalize(uploadID(path)) != nil)
            #expect(created.header("Upload-Expires").flatMap(HTTPDate.parse) != nil, "Upload-Expires is an RFC 9110 date")
            // 1 MiB (tail), 3 MiB (tail), 2 MiB (the tail completes a part), 6 MiB chunked (across
            // the next boundary), then the rest.
            var offset = 0
            for (size, chunked) in [(Self.mib, false), (3 * Self.mib, false), (2 * Self.mib, false), (6 * Self.mib, true), (123, false)] {
                let r = try await tus.patch(path, offset: Int64(offset), Array(data[offset..<(offset + size)]), chunked: chunked)
                offset += size
                #expect(r.status == 204, "\(r.status) \(r.text)")
                #expect(r.header("Upload-Offset") == String(offset) && r.header("Tus-Resumable") == "1.0.0")
                #expect((r.header("Upload-Expires") != nil) == (offset < length), "Upload-Expires while unfinished")
                #expect(try await tus.offset(path) == Int64(offset))
            }
            let head = try await tus.head(path)
            #expect(head.status == 200 && head.header("Upload-Length") == String(length) && head.header("Upload-Offset") == String(length))
            #expect(head.header("Cache-Control") == "no-store" && head.header("Upload-Expires") == nil)
            #expect(head.header("Upload-Metadata") == UploadMetadata.encode([("filename", "clip.mp4"), ("title", "Holiday 🏖")]))

            let id = uploadID(path)
            let key = ObjectKeys.source(videoID: id, originalName: "clip.mp4")
            #expect(Crypto.sha256(try await env.storage.get(key: key)) == Crypto.sha256(data), "the object is exactly the bytes sent")
            let video = try await env.client.get("/videos/\(id)").json()
            #expect(video["status"] as? String == "queued" && video["title"] as? String == "Holiday 🏖")
            #expect(video["original_name"] as? String == "clip.mp4" && video["source_key"] as? String == key)
            let entries = try await env.streamEntries()
            #expect(entries.count == 1 && entries[0]["video_id"] == id && entries[0]["source_key"] == key)
            #expect(try await Self.leftovers(env).isEmpty, "no pending multipart upload / partial file")
            // Finishing again (a retry, the sweeper) changes nothing: still one video, one job.
            let upload = try #require(try await env.service.handlers.uploads.store.upload(id: id))
            #expect(upload.status == .completed)
            _ = try await env.service.handlers.finishUpload(upload)
            #expect(try await env.streamEntries().count == 1)
            // An empty PATCH at the end is still answered; more bytes are refused.
            #expect(try await tus.patch(path, offset: Int64(length), []).status == 204)
            #expect(try await tus.patch(path, offset: Int64(length), [1]).status == 413)
        }
    }

    @Test(arguments: StorageBackendKind.allCases)
    func aChecksumMismatchIs460AndAppendsNothing(_ kind: StorageBackendKind) async throws {
        try await Self.with(kind, "checksum") { env, tus in
            let length = 7 * Self.mib
            let data = randomBytes(length)
            let path = try await tus.newUpload(length: length)
            let first = Array(data[..<Self.mib])
            let ok = try await tus.patch(path, offset: 0, first, checksum: ("sha1", sha1(first)))
            #expect(ok.status == 204 && ok.header("Upload-Offset") == String(Self.mib))
            // 6 MiB of other bytes: a whole part is written to storage before the digest is known,
            // and must never become part of the upload.
            let rest = Array(data[Self.mib...])
            let wrong = [UInt8](repeating: 0xAB, count: rest.count)
            let refused = try await tus.patch(path, offset: Int64(Self.mib), wrong, checksum: ("sha256", Crypto.sha256(rest)))
            #expect(refused.status == 460 && refused.header("Tus-Resumable") == "1.0.0")
            #expect(try refused.apiError().code == "checksum_mismatch")
            #expect(try await tus.offset(path) == Int64(Self.mib), "nothing appended")
            let good = try await tus.patch(path, offset: Int64(Self.mib), rest, checksum: ("sha256", Crypto.sha256(rest)))
            #expect(good.status == 204 && good.header("Upload-Offset") == String(length))
            let key = ObjectKeys.source(videoID: uploadID(path), originalName: "clip.mp4")
            #expect(Crypto.sha256(try await env.storage.get(key: key)) == Crypto.sha256(data), "the refused bytes left no trace in the object")
            #expect(try await Self.leftovers(env).isEmpty)
        }
    }

    @Test func offsetMismatchIs409AndChangesNothing() async throws {
        try await Self.with(.file, "offset") { env, tus in
            let (_, location) = try await tus.create(length: 10)
            let path = try #require(location)
            let ahead = try await tus.patch(path, offset: 5, [1, 2, 3])
            #expect(ahead.status == 409 && ahead.header("Tus-Resumable") == "1.0.0")
            #expect(try ahead.apiError().message.contains("does not match the upload's offset 0"))
            #expect(try await tus.patch(path, offset: 0, [1, 2, 3]).status == 204)
            #expect(try await tus.patch(path, offset: 0, [1, 2, 3]).status == 409, "a repeated PATCH does not append twice")
            #expect(try await tus.offset(path) == 3)
        }
    }

    @Test func protocolRulesOnEveryAnswer() async throws {
        try await Self.with(.file, "rules", tokens: ["tus-test-token-0123456789"]) { env, tus in
            let options = try await env.client.request("OPTIONS", "/uploads")
            #expect(options.status == 204 && options.header("Tus-Version") == "1.0.0" && options.header("Tus-Resumable") == "1.0.0")
            #expect(options.header("Tus-Extension") == "creation,creation-with-upload,creation-defer-length,expiration,termination,checksum")
            #expect(options.header("Tus-Max-Size") == String(64 << 30) && options.header("Tus-Checksum-Algorithm") == "sha1,sha256")

            let noVersion = try await env.client.request("POST", "/uploads", headers: [("Upload-Length", "5"), ("Authorization", "Bearer tus-test-token-0123456789")])
            #expect(noVersion.status == 412 && noVersion.header("Tus-Version") == "1.0.0" && noVersion.header("Tus-Resumable") == "1.0.0")
            let anonymous = try await TusTestClient(port: env.port).create(length: 5)
            #expect(anonymous.0.status == 401 && anonymous.0.header("Tus-Resumable") == "1.0.0", "bearer tokens apply to creation")
            let tooBig = try await tus.create(length: (64 << 30) + 1)
            #expect(tooBig.0.status == 413)

            let (_, location) = try await tus.create(length: 4)
            let path = try #require(location)
            #expect(try await TusTestClient(port: env.port).head(path).status == 200, "HEAD is a read: no token needed")
            #expect(try await TusTestClient(port: env.port).patch(path, offset: 0, [1]).status == 401)
            let wrongType = try await tus.http.request("PATCH", path, headers: tus.base + [("Upload-Offset", "0"), ("Content-Type", "application/octet-stream")],
                                                      body: .bytes([1]))
            #expect(wrongType.status == 415 && wrongType.header("Tus-Resumable") == "1.0.0")
            #expect(try await tus.patch(path, offset: 0, [1, 2, 3, 4, 5]).status == 413, "past Upload-Length")
            // X-HTTP-Method-Override: a POST that means PATCH.
            let overridden = try await tus.http.request("POST", path, headers: tus.base + [
                ("X-HTTP-Method-Override", "PATCH"), ("Upload-Offset", "0"), ("Content-Type", TusProtocol.offsetContentType),
            ], body: .bytes([1, 2]))
            #expect(overridden.status == 204 && overridden.header("Upload-Offset") == "2")

            let unknown = try await tus.head("/uploads/\(VideoID.generate())")
            #expect(unknown.status == 404 && unknown.header("Tus-Resumable") == "1.0.0" && unknown.header("Upload-Offset") == nil)
            #expect(try await tus.head("/uploads/not-a-uuid").status == 404)
            #expect(try await env.client.request("GET", path).status == 405)

            #expect(try await tus.delete(path).status == 204)
            let after = try await tus.head(path)
            #expect(after.status == 410 && after.header("Upload-Offset") == nil)
            #expect(try await tus.patch(path, offset: 2, [3]).status == 410)
            #expect(try await tus.delete(path).status == 410)
            #expect(try await Self.leftovers(env).isEmpty, "termination removed the partial file")
        }
    }

    @Test(arguments: StorageBackendKind.allCases)
    func deferredLengthAndCreationWithUpload(_ kind: StorageBackendKind) async throws {
        try await Self.with(kind, "defer") { env, tus in
            let data = randomBytes(2 * Self.mib + 5)
            let first = Array(data[..<Self.mib])
            let (created, location) = try await tus.create(length: nil, body: .bytes(first))
            #expect(created.status == 201 && created.header("Upload-Offset") == String(Self.mib))
            let path = try #require(location)
            let head = try await tus.head(path)
            #expect(head.header("Upload-Defer-Length") == "1" && head.header("Upload-Length") == nil)
            #expect(try await tus.patch(path, offset: Int64(Self.mib), Array(data[Self.mib...])).status == 204)
            // The length arrives with an empty PATCH: the tail alone becomes the last part.
            let last = try await tus.patch(path, offset: Int64(data.count), [], headers: [("Upload-Length", String(data.count))])
            #expect(last.status == 204 && last.header("Upload-Offset") == String(data.count))
            let done = try await tus.head(path)
            #expect(done.header("Upload-Length") == String(data.count) && done.header("Upload-Defer-Length") == nil)
            #expect(try await tus.patch(path, offset: Int64(data.count), [], headers: [("Upload-Length", "99")]).status == 400,
                    "a length once set cannot change")
            let key = ObjectKeys.source(videoID: uploadID(path), originalName: "clip.mp4")
            #expect(Crypto.sha256(try await env.storage.get(key: key)) == Crypto.sha256(data))
        }
    }

    @Test func aDeferredLengthIsStillBoundedByTusMaxSize() async throws {
        try await Self.with(.file, "defer-max", configure: { $0.tusMaxSize = 1000 }) { env, tus in
            let (_, location) = try await tus.create(length: nil)
            let path = try #require(location)
            #expect(try await tus.patch(path, offset: 0, randomBytes(1001)).status == 413, "refused from Content-Length")
            #expect(try await tus.patch(path, offset: 0, randomBytes(1001), chunked: true).status == 413, "refused as the bytes arrive")
            #expect(try await tus.offset(path) == 0)
            let data = randomBytes(1000)
            #expect(try await tus.patch(path, offset: 0, data, headers: [("Upload-Length", "1000")]).status == 204)
            #expect(try await tus.head(path).header("Upload-Length") == "1000")
        }
    }

    @Test(arguments: StorageBackendKind.allCases)
    func twoAppendsAtTheSameOffsetNeverBothLand(_ kind: StorageBackendKind) async throws {
        try await Self.with(kind, "race") { env, tus in
            let length = 11 * Self.mib
            let path = try await tus.newUpload(length: length)
            let a = randomBytes(length), b = randomBytes(length)
            async let first = tus.patch(path, offset: 0, a, chunked: true)
            async let second = tus.patch(path, offset: 0, b, chunked: true)
            let answers = try await [first, second]
            #expect(answers.map(\.status).sorted() == [204, 409], "\(answers.map { "\($0.status) \($0.text)" })")
            let winner = answers[0].status == 204 ? a : b
            #expect(try await tus.offset(path) == Int64(length))
            let key = ObjectKeys.source(videoID: uploadID(path), originalName: "clip.mp4")
            #expect(Crypto.sha256(try await env.storage.get(key: key)) == Crypto.sha256(winner), "exactly one request's bytes, none of the other's")
            #expect(try await Self.leftovers(env).isEmpty)
        }
    }

    @Test(arguments: StorageBackendKind.allCases)
    func aClientThatVanishesMidBodyKeepsWhatArrived(_ kind: StorageBackendKind) async throws {
        try await Self.with(kind, "vanish") { env, tus in
            let length = 8 * Self.mib
            let data = randomBytes(length)
            let path = try await tus.newUpload(length: length)
            let sent = 6 * Self.mib + 1234  // a whole part and a tail
            try await tus.patchAndVanish(path, offset: 0, announced: length, Array(data[..<sent]))
            try await waitUntil("the interrupted append is saved", timeout: .seconds(30), retryingErrors: false) { try await tus.offset(path) == Int64(sent) }
            // With a checksum nothing of a cut-off body may count.
            try await tus.patchAndVanish(path, offset: Int64(sent), announced: length - sent, Array(data[sent..<(sent + 1000)]),
                                         headers: [("Upload-Checksum", "sha256 \(Base64.encode(Crypto.sha256(data[sent...])))")])
            try await waitUntil("the cut-off checksum append is logged", timeout: .seconds(30)) {
                env.logs.lines.filter { $0.contains("append cut off") }.count == 2
            }
            #expect(try await tus.offset(path) == Int64(sent))
            #expect(try await tus.patch(path, offset: Int64(sent), Array(data[sent...])).status == 204)
            let key = ObjectKeys.source(videoID: uploadID(path), originalName: "clip.mp4")
            #expect(Crypto.sha256(try await env.storage.get(key: key)) == Crypto.sha256(data))
        }
    }

    /// DELETE while a PATCH is still sending: nothing lands after the termination, the PATCH is
    /// answered 410, and no storage is left.
    @Test(arguments: StorageBackendKind.allCases)
    func terminationWinsOverAnAppendInFlight(_ kind: StorageBackendKind) async throws {
        try await Self.with(kind, "terminate-race") { env, tus in
            let length = 12 * Self.mib
            let path = try await tus.newUpload(length: length)
            let data = randomBytes(length)
            let answer = try await tus.patch(path, offset: 0, Array(data[..<(6 * Self.mib)]), then: Array(data[(6 * Self.mib)...])) {
                try await waitUntil("the first part is counted", timeout: .seconds(30), retryingErrors: false) { (try await tus.offset(path) ?? 0) >= Int64(5 * Self.mib) }
                #expect(try await tus.delete(path).status == 204)
            }
            #expect(answer.status == 410, "\(answer.status) \(answer.text)")
            #expect(try await tus.head(path).status == 410)
            #expect(try await Self.leftovers(env).isEmpty, "aborted, and the late append created nothing")
        }
    }

    @Test func aSecondInstanceContinuesTheUpload() async throws {
        try await Self.with(.s3, "instances") { env, tus in
            let length = 7 * Self.mib
            let data = randomBytes(length)
            let path = try await tus.newUpload(length: length)
            #expect(try await tus.patch(path, offset: 0, Array(data[..<(3 * Self.mib)])).status == 204)
            let other = try await env.secondInstance()
            let second = TusTestClient(port: other.port)
            #expect(try await second.offset(path) == Int64(3 * Self.mib), "the other instance sees the tail held in PostgreSQL")
            #expect(try await second.patch(path, offset: Int64(3 * Self.mib), Array(data[(3 * Self.mib)...])).status == 204)
            await other.shutdown(grace: .seconds(2))
            let key = ObjectKeys.source(videoID: uploadID(path), originalName: "clip.mp4")
            #expect(Crypto.sha256(try await env.storage.get(key: key)) == Crypto.sha256(data))
        }
    }

    @Test(arguments: StorageBackendKind.allCases)
    func expiredUploadsAreAbortedAndSwept(_ kind: StorageBackendKind) async throws {
        var options = APIService.Options()
        options.uploadSweepInterval = .seconds(3600)  // the test sweeps by hand
        try await Self.with(kind, "expiry", options: options, configure: { $0.tusExpiry = .seconds(1) }) { env, tus in
            let (_, location) = try await tus.create(length: Int64(20 * Self.mib))
            let path = try #require(location)
            #expect(try await tus.patch(path, offset: 0, randomBytes(6 * Self.mib)).status == 204)  // a part and a tail
            let id = uploadID(path)
            #expect(try await Self.leftovers(env).count == 1, "a pending multipart upload / partial file")
            let handlers = env.service.handlers
            try await waitUntil("the upload expires and is swept", timeout: .seconds(30)) { await handlers.sweepUploads().expired.contains(id) }
            #expect(try await Self.leftovers(env).isEmpty, "aborted: ListMultipartUploads shows nothing / no partial file")
            #expect(try await Self.rows(env, "SELECT count(*) FROM tus_upload_tail WHERE upload_id = $1::uuid", id) == 0)
            #expect(try await Self.rows(env, "SELECT count(*) FROM tus_upload_parts WHERE upload_id = $1::uuid", id) == 0)
            let tomb = try await tus.head(path)
            #expect(tomb.status == 410, "a tombstone answers 410 for a while: \(tomb.status) \(tomb.headers)")
            #expect(try await tus.patch(path, offset: Int64(6 * Self.mib), [1]).status == 410)
            // An hour later (the retention), the tombstone is forgotten.
            _ = try await env.database.pool.execute("UPDATE tus_uploads SET updated_at = now() - interval '61 minutes' WHERE id = $1::uuid", [id])
            #expect(await handlers.sweepUploads().forgotten == 1)
            #expect(try await tus.head(path).status == 404)
            #expect(try await Self.rows(env, "SELECT count(*) FROM tus_uploads WHERE id = $1::uuid", id) == 0)
        }
    }

    @Test func theSweepFinishesAFullUploadLeftUnfinished() async throws {
        var options = APIService.Options()
        options.uploadFinishRetryAfter = .zero
        options.uploadSweepInterval = .seconds(3600)
        try await Self.with(.s3, "unfinished", options: options) { env, tus in
            let data = randomBytes(Self.mib)
            let (_, location) = try await tus.create(length: Int64(data.count), metadata: [("filename", "late.mp4")])
            let id = uploadID(try #require(location))
            // Every byte stored and counted, but nothing finished (as after a crash right then).
            let uploads = env.service.handlers.uploads
            let upload = try #require(try await uploads.store.upload(id: id))
            guard case .appended(let full) = await uploads.append(to: upload, length: nil, checksum: nil, body: OneChunk(bytes: data)) else {
                Issue.record("append failed"); return
            }
            #expect(full.isFull && full.status == .uploading)
            #expect(try await env.client.get("/videos/\(id)").status == 404)
            _ = await env.service.handlers.sweepUploads()
            #expect(try await env.client.get("/videos/\(id)").json()["status"] as? String == "queued")
            #expect(Crypto.sha256(try await env.storage.get(key: ObjectKeys.source(videoID: id, originalName: "late.mp4"))) == Crypto.sha256(data))
        }
    }
}

/// Test data: random (so a misplaced byte shows), made by OpenSSL (a byte loop in a debug build
/// costs seconds per 10 MiB).
func randomBytes(_ count: Int) -> [UInt8] { Crypto.randomBytes(count) }

func sha1(_ bytes: some Collection<UInt8>) -> [UInt8] {
    var d = Crypto.Digest(.sha1)
    d.update(bytes)
    return d.finalize()
}
