import Foundation
import Reactor
import S3Lite
import Testing
import TestSupport
@testable import VideoCore

/// Uploads that stall or are too large, against the real `vidd serve` over real sockets: each is
/// answered and closed, and nothing is left in storage (no temp file, no object, no pending S3
/// multipart upload, no row).
@Suite struct UploadEdgeTests {
    /// What the server answered to a request written by hand, and when.
    struct Exchange {
        var bytes: [UInt8]
        var elapsed: Duration
        /// The server closed the connection (read returned end of stream or a reset).
        var closed: Bool
        var text: String { String(decoding: bytes, as: UTF8.self) }
        var statusLine: String { text.components(separatedBy: "\r\n").first ?? "" }
    }

    enum Form: CaseIterable { case raw, multipart }

    static let boundary = "vidd-edge-boundary"

    static func head(_ form: Form, extra: [String] = []) -> String {
        var lines = ["Host: 127.0.0.1"] + extra
        switch form {
        case .raw:
            lines.insert("POST /jobs?name=stalled.mp4 HTTP/1.1", at: 0)
            lines.append("Content-Type: video/mp4")
        case .multipart:
            lines.insert("POST /jobs HTTP/1.1", at: 0)
            lines.append("Content-Type: multipart/form-data; boundary=\(boundary)")
        }
        return lines.joined(separator: "\r\n") + "\r\n\r\n"
    }

    static func bodyStart(_ form: Form) -> [UInt8] {
        switch form {
        case .raw: return []
        case .multipart:
            return Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"stalled.mp4\"\r\nContent-Type: video/mp4\r\n\r\n".utf8)
        }
    }

    /// Writes `head` and `body` (ignoring a write the server refused by closing), then reads
    /// until the server closes or `bound` passes (a hang guard: the test fails, it does not hang).
    static func exchange(port: Int, _ head: String, _ body: [UInt8], stopAfterFirstReply: Bool = false,
                         bound: Duration = .seconds(20)) async throws -> Exchange {
        let connection = try await Connection.connect(host: "127.0.0.1", port: port)
        defer { connection.close() }
        let start = ContinuousClock.now
        try await connection.write(Array(head.utf8))
        var offset = 0
        while offset < body.count {
            let end = min(body.count, offset + 256 * 1024)
            do { try await connection.write(Array(body[offset..<end]), timeout: .seconds(5)) } catch { break }
            offset = end
        }
        var buffer = ByteBuffer()
        var closed = false
        while ContinuousClock.now - start < bound {
            do {
                try await connection.read(into: &buffer, timeout: bound - (ContinuousClock.now - start))
                if stopAfterFirstReply, buffer.readableBytes > 0 { break }
            } catch NetworkError.endOfStream {
                closed = true
                break
            } catch NetworkError.connectionReset {
                closed = true
                break
            } catch NetworkError.timedOut {
                break
            }
        }
        return Exchange(bytes: Array(buffer.readableBytesView), elapsed: ContinuousClock.now - start, closed: closed)
    }

    /// Nothing stored: no temp file, no object under `source/`, no pending multipart upload, no row.
    static func expectNothingLeft(_ sut: ServiceUnderTest) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        var left: [String] = []
        repeat {
            left = []
            if let bucket = sut.bucket {
                let configuration = try Configuration.load(from: sut.environment)
                let client = try S3Client(configuration: S3Storage.clientConfiguration(configuration.s3!))
                defer { client.shutdown() }
                left += try await S3TestServer.pendingUploads(client, bucket).map { "pending multipart upload of \($0.key)" }
                left += try await client.listAllObjects(bucket: bucket).map { "object \($0.key)" }
            } else {
                let temp = sut.storageDirectory + "/.tmp"
                left += ((try? FileManager.default.contentsOfDirectory(atPath: temp)) ?? []).map { "temp file \($0)" }
                left += try await sut.storage().list(prefix: "source/").map { "object \($0.key)" }
            }
            left += try await sut.query("SELECT id::text FROM videos").map { "row \($0[0] ?? "")" }
            if left.isEmpty { return }
            try await Task.sleep(for: .milliseconds(100))
        } while ContinuousClock.now < deadline
        Issue.record("left behind: \(left)")
    }

    /// 10 MiB of a declared 2 GB body, then silence: answered 408 and closed within the body
    /// timeout (2 s here), raw and multipart alike, and the partial upload is removed — the temp
    /// file, or the S3 multipart upload (aborted).
    @Test(arguments: [ServiceUnderTest.Backend.file, .s3])
    func stalledUploadIsCutOffAndLeavesNothing(_ backend: ServiceUnderTest.Backend) async throws {
        guard let sut = try await ServiceUnderTest.make("edge-stall", backend: backend,
                                                        settings: ["VIDD_BODY_TIMEOUT_SECONDS": "2"]) else { return }
        do {
            let api = try await sut.start("serve")
            let port = try #require(api.port)
            let tenMiB = pseudoRandomBytes(10 << 20)
            try await withThrowingTaskGroup(of: (Form, Exchange).self) { group in
                for form in Form.allCases {
                    group.addTask {
                        let exchange = try await Self.exchange(
                            port: port, Self.head(form, extra: ["Content-Length: 2000000000"]), Self.bodyStart(form) + tenMiB)
                        return (form, exchange)
                    }
                }
                for try await (form, exchange) in group {
                    #expect(exchange.statusLine.hasPrefix("HTTP/1.1 408"), "\(form): \(exchange.text.prefix(300))")
                    #expect(exchange.closed, "\(form): the server closes the connection")
                    #expect(exchange.elapsed < .seconds(15), "\(form): cut off after the 2 s body timeout, not \(exchange.elapsed)")
                }
            }
            try await Self.expectNothingLeft(sut)
        } catch {
            Issue.record("\(error)\n\(sut.logs)")
        }
        await sut.cleanup()
    }

    /// With VIDD_MAX_UPLOAD_BYTES: a declared length over it is refused with 413 before
    /// `100 Continue` (the client never sends the body), one sent anyway is refused as well, a
    /// chunked body is cut off when it passes the limit, and none leaves anything behind.
    @Test func oversizedUploadsAreRefusedAndLeaveNothing() async throws {
        guard let sut = try await ServiceUnderTest.make("edge-size", settings: ["VIDD_MAX_UPLOAD_BYTES": "1048576"]) else { return }
        do {
            let api = try await sut.start("serve")
            let port = try #require(api.port)
            for form in Form.allCases {
                let expecting = try await Self.exchange(
                    port: port, Self.head(form, extra: ["Content-Length: 1000000000000000", "Expect: 100-continue"]), [],
                    stopAfterFirstReply: true)
                #expect(expecting.statusLine.hasPrefix("HTTP/1.1 413"), "\(form) + Expect: \(expecting.text.prefix(300))")
                #expect(!expecting.text.contains("100 Continue"))

                let twoMiB = pseudoRandomBytes(2 << 20)
                let sent = try await Self.exchange(
                    port: port, Self.head(form, extra: ["Content-Length: \(twoMiB.count + Self.bodyStart(form).count)"]),
                    Self.bodyStart(form) + twoMiB)
                #expect(sent.statusLine.hasPrefix("HTTP/1.1 413"), "\(form), 2 MiB sent: \(sent.text.prefix(300))")

                let payload = Self.bodyStart(form) + twoMiB
                var chunked: [UInt8] = []
                for piece in stride(from: 0, to: payload.count, by: 64 * 1024) {
                    let chunk = payload[piece..<min(payload.count, piece + 64 * 1024)]
                    chunked += Array((String(chunk.count, radix: 16) + "\r\n").utf8) + chunk + [13, 10]
                }
                chunked += Array("0\r\n\r\n".utf8)
                let streamed = try await Self.exchange(
                    port: port, Self.head(form, extra: ["Transfer-Encoding: chunked"]), chunked)
                #expect(streamed.statusLine.hasPrefix("HTTP/1.1 413"), "\(form), chunked: \(streamed.text.prefix(300))")
                #expect(streamed.text.contains("payload_too_large"), "\(form), chunked: a JSON error body")
            }
            try await Self.expectNothingLeft(sut)
        } catch {
            Issue.record("\(error)\n\(sut.logs)")
        }
        await sut.cleanup()
    }
}
