import Foundation
import Reactor
import S3Lite
import Synchronization
import Testing
import TestSupport
@testable import VideoAPI
@testable import VideoCore

/// tus end to end: the real `vidd` binary, a real tus client (tuspy, pinned in
/// scripts/tus-test-client/requirements.txt, driven by tus_upload.py), real PostgreSQL, Redis
/// and S3. Runs in the service pass of scripts/test.sh (it starts daemons and moves 200 MiB).
@Suite struct TusEndToEndTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// The project's virtualenv python with tuspy, or nil (a loud skip; in CI a failure).
    static func python() throws -> String? {
        let venv = ProcessInfo.processInfo.environment["VIDD_VENV"] ?? root.appendingPathComponent(".venv").path
        let python = venv + "/bin/python"
        let ok = FileManager.default.isExecutableFile(atPath: python)
            && ((try? TestProcess.runSync([python, "-c", "import tusclient"]))?.status == 0)
        return try TestServices.require(ok ? python : nil, "a virtualenv with tuspy (scripts/install-deps.sh)")
    }

    static var script: String { root.appendingPathComponent("scripts/tus-test-client/tus_upload.py").path }

    /// Starts tus_upload.py against `daemon`; its output goes to a log of its own.
    static func client(_ python: String, _ sut: ServiceUnderTest, _ daemon: ServiceUnderTest.Daemon, file: String, urlFile: String,
                       arguments: [String] = []) throws -> ChildProcess {
        let log = sut.storageDirectory + "/tus-client-\(UUID().uuidString).log"  // removed with the test's directory
        return try ChildProcess([python, script, daemon.base + "/uploads", file, urlFile] + arguments,
                                environment: [:], logPath: log)
    }

    /// A file of `size` random bytes, written a few MiB at a time, and its SHA-256.
    static func randomFile(_ path: String, size: Int) throws -> [UInt8] {
        guard FileManager.default.createFile(atPath: path, contents: nil) else { throw ServiceUnderTest.Failure("cannot create \(path)") }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        var digest = Crypto.SHA256()
        var left = size
        while left > 0 {
            let piece = Crypto.randomBytes(min(left, 8 << 20))
            digest.update(piece)
            try handle.write(contentsOf: piece)
            left -= piece.count
        }
        return digest.finalize()
    }

    /// SHA-256 of a stored object, read in 8 MiB ranges (never whole in memory).
    static func storedDigest(_ storage: any Storage, key: String) async throws -> (size: Int64, digest: [UInt8]) {
        guard let info = try await storage.head(key: key) else { throw ServiceUnderTest.Failure("no object \(key)") }
        var digest = Crypto.SHA256()
        var offset: Int64 = 0
        while offset < info.size {
            let end = min(offset + (8 << 20), info.size) - 1
            digest.update(try await storage.get(key: key, range: offset...end))
            offset = end + 1
        }
        return (info.size, digest.finalize())
    }

    /// Resident memory of a process, from /proc.
    static func rss(_ pid: pid_t) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kib = Int(line.split(separator: " ").dropFirst().first ?? "") else { return nil }
        return kib * 1024
    }

    static func offset(_ sut: ServiceUnderTest, _ daemon: ServiceUnderTest.Daemon, _ path: String) async throws -> Int64? {
        let r = try await sut.request(daemon, "HEAD", path, ["-I", "-H", "Tus-Resumable: 1.0.0"])
        return r.headers["upload-offset"].flatMap { Int64($0) }
    }

    static let mib = 1 << 20

    /// vidd's memory while it receives: flat (within 64 MiB of where it started), printed for the record.
    static func report(phase: String, peak: Int, baseline: Int) {
        print("tus e2e RSS \(phase): baseline \(baseline / mib) MiB, peak \(peak / mib) MiB, +\((peak - baseline) / mib) MiB")
        #expect(peak - baseline <= 64 * mib, "\(phase): RSS grew by \((peak - baseline) / mib) MiB while receiving")
    }

    /// 200 MiB through tuspy: the client killed mid-PATCH twice, vidd restarted between the first
    /// two parts, the last part through a second vidd instance; the stored object's SHA-256 is the
    /// file's, nothing is left pending in S3, and each vidd's memory stays flat meanwhile.
    @Test func twoHundredMiBSurviveKilledClientsARestartAndASecondInstance() async throws {
        guard let python = try Self.python(),
              let sut = try await ServiceUnderTest.make("tus-e2e", backend: .s3) else { return }
        let directory = sut.storageDirectory
        let file = directory + "/upload.bin", urlFile = directory + "/upload.url"
        var failure: (any Error)?
        do {
            let size = 200 * Self.mib
            let expected = try Self.randomFile(file, size: size)
            var first = try await sut.start("serve")
            let meta = ["--meta", "filename=big.bin", "--meta", "title=Two hundred MiB"]

            // Part 1: killed mid-PATCH once 40 MiB are stored.
            var baseline = try #require(Self.rss(first.process.pid))
            var watch = RSSWatch(first.process.pid)
            let client1 = try Self.client(python, sut, first, file: file, urlFile: urlFile, arguments: meta)
            try await waitUntil("the first client has a URL", timeout: .seconds(120)) { FileManager.default.fileExists(atPath: urlFile) }
            let path = try #require(URL(string: try String(contentsOfFile: urlFile, encoding: .utf8))?.path)
            try await waitUntil("40 MiB are stored", timeout: .seconds(120), retryingErrors: false) { (try await Self.offset(sut, first, path) ?? 0) >= Int64(40 * Self.mib) }
            await client1.kill9()
            try await waitUntil("vidd kept what arrived", timeout: .seconds(30)) { first.process.log.contains("append cut off") }
            var peak = await watch.stop()
            let offset1 = try #require(try await Self.offset(sut, first, path))
            #expect(offset1 >= Int64(40 * Self.mib) && offset1 < Int64(size))
            Self.report(phase: "first client", peak: peak, baseline: baseline)

            // vidd restarts: the upload continues from PostgreSQL.
            first.process.signal(SIGTERM)
            #expect(await first.process.waitForExit(timeout: .seconds(30)) == 0)
            first = try await sut.start("serve")
            #expect(try await Self.offset(sut, first, path) == offset1, "the offset survived the restart")
            baseline = try #require(Self.rss(first.process.pid))
            watch = RSSWatch(first.process.pid)
            let client2 = try Self.client(python, sut, first, file: file, urlFile: urlFile, arguments: meta)
            try await waitUntil("60 MiB more are stored", timeout: .seconds(120), retryingErrors: false) {
                (try await Self.offset(sut, first, path) ?? 0) >= offset1 + Int64(60 * Self.mib)
            }
            await client2.kill9()
            try await waitUntil("vidd kept what arrived", timeout: .seconds(30)) { first.process.log.contains("append cut off") }
            peak = await watch.stop()
            let offset2 = try #require(try await Self.offset(sut, first, path))
            #expect(offset2 > offset1 && offset2 < Int64(size))
            Self.report(phase: "after the restart", peak: peak, baseline: baseline)

            // The rest through a second instance, the first still running.
            let second = try await sut.start("serve")
            #expect(try await Self.offset(sut, second, path) == offset2)
            baseline = try #require(Self.rss(second.process.pid))
            watch = RSSWatch(second.process.pid)
            let client3 = try Self.client(python, sut, second, file: file, urlFile: urlFile, arguments: meta)
            let exit = await client3.waitForExit(timeout: .seconds(300))
            peak = await watch.stop()
            #expect(exit == 0, "tuspy: \(client3.log)")
            #expect(client3.log.contains("resuming at \(offset2)") && client3.log.contains("done \(size)"), "\(client3.log)")
            Self.report(phase: "second instance", peak: peak, baseline: baseline)

            let id = uploadID(path)
            let key = ObjectKeys.source(videoID: id, originalName: "big.bin")
            let stored = try await Self.storedDigest(try sut.storage(), key: key)
            #expect(stored.size == Int64(size) && stored.digest == expected, "the stored object is the file, byte for byte")
            let video = try await sut.request(first, "GET", "/videos/\(id)").json
            #expect(video["title"] as? String == "Two hundred MiB" && video["source_key"] as? String == key)
            let client = try #require(try S3TestServer.client())
            #expect(try await S3TestServer.pendingUploads(client, sut.bucket!).isEmpty, "no multipart upload left pending")
            client.shutdown()
        } catch {
            failure = error
        }
        try? FileManager.default.removeItem(atPath: file)
        if failure != nil { print(sut.logs) }
        await sut.cleanup()
        if let failure { throw failure }
    }

    /// A real clip sent by tuspy in 64 KiB PATCHes, each with a SHA-1 checksum, to `vidd all` on
    /// file storage: it becomes a video that is transcoded like any other.
    @Test func aClipUploadedWithTusBecomesAPlayableVideo() async throws {
        guard let python = try Self.python(), let sut = try await ServiceUnderTest.make("tus-clip") else { return }
        do {
            let daemon = try await sut.start("all")
            let urlFile = sut.storageDirectory + "/clip.url"
            let client = try Self.client(python, sut, daemon, file: ServiceUnderTest.fixture("landscape_720p.mp4"), urlFile: urlFile,
                                         arguments: ["--chunk-size", "65536", "--checksum", "--meta", "filename=landscape.mp4",
                                                     "--meta", "title=Landscape"])
            #expect(await client.waitForExit(timeout: .seconds(120)) == 0, "tuspy: \(client.log)")
            let path = try #require(URL(string: try String(contentsOfFile: urlFile, encoding: .utf8))?.path)
            let id = uploadID(path)
            let video = try await sut.waitForStatus(daemon, id, ["completed", "failed"])
            #expect(video["status"] as? String == "completed" && video["title"] as? String == "Landscape", "\(video)")
            #expect(((video["renditions"] as? [[String: Any]]) ?? []).count >= 2)
            let source = try Data(contentsOf: URL(fileURLWithPath: ServiceUnderTest.fixture("landscape_720p.mp4")))
            let stored = try Data(contentsOf: URL(fileURLWithPath: sut.storageDirectory + "/source/\(id)/landscape.mp4"))
            #expect(stored == source)
            #expect(((try? FileManager.default.contentsOfDirectory(atPath: sut.storageDirectory + "/.uploads")) ?? []).isEmpty)
        } catch {
            print(sut.logs)
            await sut.cleanup()
            throw error
        }
        await sut.cleanup()
    }
}

/// Samples a process's RSS every 50 ms until stopped; the highest value seen.
final class RSSWatch: Sendable {
    final class Peak: Sendable { let value = Mutex(0) }
    let peak = Peak()
    let task: Task<Void, Never>

    init(_ pid: pid_t) {
        let peak = self.peak
        task = Task.detached {
            while !Task.isCancelled {
                if let now = TusEndToEndTests.rss(pid) { peak.value.withLock { $0 = max($0, now) } }
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    func stop() async -> Int {
        task.cancel()
        await task.value
        return peak.value.withLock { $0 }
    }
}
