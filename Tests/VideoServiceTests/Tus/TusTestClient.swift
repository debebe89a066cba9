import Foundation
import Reactor
@testable import VideoAPI
@testable import VideoCore

/// tus requests by hand over real sockets (the protocol tests need to send what a conforming
/// client never would; the tuspy tests drive a real client).
struct TusTestClient: Sendable {
    let http: TestHTTPClient
    var token: String?

    init(port: Int, token: String? = nil) {
        http = TestHTTPClient(port: port)
        self.token = token
    }

    var base: [(String, String)] {
        var h = [("Tus-Resumable", "1.0.0")]
        if let token { h.append(("Authorization", "Bearer \(token)")) }
        return h
    }

    /// POST /uploads; returns the response and the upload's path (from Location).
    func create(length: Int64?, metadata: [(String, String?)] = [("filename", "clip.mp4")], headers: [(String, String)] = [],
                body: RequestBody = .none) async throws -> (TestHTTPResponse, String?) {
        var h = base + headers
        if let length { h.append(("Upload-Length", String(length))) } else { h.append(("Upload-Defer-Length", "1")) }
        if !metadata.isEmpty { h.append(("Upload-Metadata", UploadMetadata.encode(metadata))) }
        if case .none = body {} else { h.append(("Content-Type", TusProtocol.offsetContentType)) }
        let r = try await http.request("POST", "/uploads", headers: h, body: body)
        return (r, r.header("Location"))
    }

    /// A new upload of `length` bytes named clip.mp4; its path.
    func newUpload(length: Int) async throws -> String {
        let (response, location) = try await create(length: Int64(length))
        guard response.status == 201, let location else { throw TestHTTPError("creation: \(response.status) \(response.text)") }
        return location
    }

    func head(_ path: String) async throws -> TestHTTPResponse {
        try await http.request("HEAD", path, headers: base)
    }

    func offset(_ path: String) async throws -> Int64? {
        try await head(path).header("Upload-Offset").flatMap { Int64($0) }
    }

    func patch(_ path: String, offset: Int64, _ bytes: [UInt8], checksum: (String, [UInt8])? = nil,
               headers: [(String, String)] = [], chunked: Bool = false) async throws -> TestHTTPResponse {
        var h = base + [("Content-Type", TusProtocol.offsetContentType), ("Upload-Offset", String(offset))] + headers
        if let (algorithm, digest) = checksum { h.append(("Upload-Checksum", "\(algorithm) \(Base64.encode(digest))")) }
        let body: RequestBody = chunked ? .chunked(stride(from: 0, to: bytes.count, by: 256 * 1024).map {
            Array(bytes[$0..<min($0 + 256 * 1024, bytes.count)])
        }) : .bytes(bytes)
        return try await http.request("PATCH", path, headers: h, body: body)
    }

    func delete(_ path: String) async throws -> TestHTTPResponse {
        try await http.request("DELETE", path, headers: base)
    }

    /// A PATCH whose body comes in two writes with `between` run in the middle; its answer.
    func patch(_ path: String, offset: Int64, _ first: [UInt8], then second: [UInt8],
               between: () async throws -> Void) async throws -> TestHTTPResponse {
        let connection = try await Connection.connect(host: "127.0.0.1", port: http.port)
        defer { connection.close() }
        var head = "PATCH \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: \(first.count + second.count)\r\n"
        for (n, v) in base + [("Content-Type", TusProtocol.offsetContentType), ("Upload-Offset", String(offset))] { head += "\(n): \(v)\r\n" }
        try await connection.write(Array((head + "\r\n").utf8) + first)
        try await between()
        try? await connection.write(second)  // the server may answer (and close) before taking it all
        var raw = ByteBuffer()
        while true {
            do { try await connection.read(into: &raw, timeout: TestHTTPClient.readBound) } catch NetworkError.endOfStream { break } catch NetworkError.connectionReset where raw.readableBytes > 0 { break }
        }
        return try TestHTTPClient.parse(Array(raw.readableBytesView), method: "PATCH")
    }

    /// Sends a PATCH head announcing `announced` bytes, then only `bytes`, then closes the
    /// connection: a client that died mid-body.
    func patchAndVanish(_ path: String, offset: Int64, announced: Int, _ bytes: [UInt8], headers: [(String, String)] = []) async throws {
        let connection = try await Connection.connect(host: "127.0.0.1", port: http.port)
        var head = "PATCH \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: \(announced)\r\n"
        for (n, v) in base + [("Content-Type", TusProtocol.offsetContentType), ("Upload-Offset", String(offset))] + headers {
            head += "\(n): \(v)\r\n"
        }
        try await connection.write(Array((head + "\r\n").utf8) + bytes)
        connection.close()
    }
}

/// Upload ids are the last segment of their URL.
func uploadID(_ path: String) -> String { String(path.split(separator: "/").last ?? "") }
