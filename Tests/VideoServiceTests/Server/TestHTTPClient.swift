import Foundation
import Reactor

/// A minimal HTTP/1.1 client over real loopback sockets, for the API tests: one request per
/// connection (`Connection: close`), Content-Length or chunked request bodies, chunked or
/// length-delimited responses, and an incremental reader for `text/event-stream`. Every read has a
/// bound so a silent server fails the test instead of hanging it (a guard, not a timing assertion).
struct TestHTTPResponse: Sendable {
    var status: Int
    var headers: [(String, String)]
    var body: [UInt8]

    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    var text: String { String(decoding: body, as: UTF8.self) }

    /// The body as a JSON object.
    func json() throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            throw TestHTTPError("body is not a JSON object: \(text.prefix(300))")
        }
        return object
    }

    /// `(code, message)` of an `{"error":{"code","message"}}` body.
    func apiError() throws -> (code: String, message: String) {
        guard let error = try json()["error"] as? [String: Any], let code = error["code"] as? String,
              let message = error["message"] as? String, error.count == 2 else {
            throw TestHTTPError("not an API error body: \(text.prefix(300))")
        }
        return (code, message)
    }
}

struct TestHTTPError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

enum RequestBody: Sendable {
    case none
    case bytes([UInt8])
    /// Sent with `Transfer-Encoding: chunked`, one HTTP chunk per element.
    case chunked([[UInt8]])
}

struct TestHTTPClient: Sendable {
    let port: Int
    static let readBound = Duration.seconds(30)

    func request(_ method: String, _ target: String, headers: [(String, String)] = [], body: RequestBody = .none) async throws -> TestHTTPResponse {
        let connection = try await Connection.connect(host: "127.0.0.1", port: port)
        defer { connection.close() }
        try await send(method, target, headers: headers, body: body, on: connection)
        return try Self.parse(try await Self.readToEnd(connection), method: method)
    }

    /// Bytes sent as they are (a malformed or oversized request), the answer read until the server closes.
    func exchange(raw bytes: [UInt8]) async throws -> TestHTTPResponse {
        let connection = try await Connection.connect(host: "127.0.0.1", port: port)
        defer { connection.close() }
        try await connection.write(bytes, timeout: .seconds(5))
        return try Self.parse(try await Self.readToEnd(connection), method: "GET")
    }

    static func readToEnd(_ connection: Connection) async throws -> [UInt8] {
        var raw = ByteBuffer(capacity: 64 * 1024)
        while true {
            do {
                try await connection.read(into: &raw, timeout: Self.readBound)
            } catch NetworkError.endOfStream {
                break
            } catch NetworkError.connectionReset where raw.readableBytes > 0 {
                break
            }
        }
        return Array(raw.readableBytesView)
    }

    func get(_ target: String, headers: [(String, String)] = []) async throws -> TestHTTPResponse {
        try await request("GET", target, headers: headers)
    }

    func postJSON(_ target: String, _ json: String, headers: [(String, String)] = []) async throws -> TestHTTPResponse {
        try await request("POST", target, headers: [("Content-Type", "application/json")] + headers, body: .bytes(Array(json.utf8)))
    }

    func send(_ method: String, _ target: String, headers: [(String, String)], body: RequestBody, on connection: Connection) async throws {
        var head = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        switch body {
        case .none:
            if method == "POST" || method == "PUT" { head += "Content-Length: 0\r\n" }
            try await connection.write(Array((head + "\r\n").utf8))
        case .bytes(let bytes):
            head += "Content-Length: \(bytes.count)\r\n\r\n"
            try await connection.write(Array(head.utf8) + bytes)
        case .chunked(let chunks):
            head += "Transfer-Encoding: chunked\r\n\r\n"
            try await connection.write(Array(head.utf8))
            for chunk in chunks where !chunk.isEmpty {
                try await connection.write(Array((String(chunk.count, radix: 16) + "\r\n").utf8) + chunk + [13, 10])
            }
            try await connection.write(Array("0\r\n\r\n".utf8))
        }
    }

    static func parseHead(_ bytes: ArraySlice<UInt8>) throws -> (status: Int, headers: [(String, String)], bodyStart: Int)? {
        guard let end = bytes.firstRange(of: [13, 10, 13, 10]) else { return nil }
        let text = String(decoding: bytes[bytes.startIndex..<end.lowerBound], as: UTF8.self)
        var lines = text.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { throw TestHTTPError("bad status line in \(text)") }
        let headers = lines.compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        return (status, headers, end.upperBound)
    }

    static func parse(_ bytes: [UInt8], method: String) throws -> TestHTTPResponse {
        guard let (status, headers, start) = try parseHead(bytes[...]) else {
            throw TestHTTPError("incomplete response: \(String(decoding: bytes.prefix(300), as: UTF8.self))")
        }
        var response = TestHTTPResponse(status: status, headers: headers, body: [])
        if method == "HEAD" || status == 204 || status == 304 { return response }
        let rest = Array(bytes[start...])
        if response.header("Transfer-Encoding")?.lowercased() == "chunked" {
            var decoder = ChunkedDecoder()
            response.body = try decoder.feed(rest)
            guard decoder.finished else { throw TestHTTPError("chunked body did not end with the last chunk") }
        } else if let length = response.header("Content-Length").flatMap(Int.init) {
            guard rest.count >= length else { throw TestHTTPError("body shorter (\(rest.count)) than Content-Length \(length)") }
            response.body = Array(rest.prefix(length))
        } else {
            response.body = rest
        }
        return response
    }
}

/// Decodes a chunked body incrementally: feed raw bytes, get body bytes.
struct ChunkedDecoder {
    private var pending: [UInt8] = []
    private(set) var finished = false

    mutating func feed(_ bytes: [UInt8]) throws -> [UInt8] {
        pending += bytes
        var out: [UInt8] = []
        while !finished {
            guard let lineEnd = pending.firstRange(of: [13, 10]) else { break }
            let sizeText = String(decoding: pending[..<lineEnd.lowerBound], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else {
                throw TestHTTPError("bad chunk size line \(sizeText)")
            }
            if size == 0 {
                finished = true
                pending = []
                break
            }
            let dataStart = lineEnd.upperBound
            guard pending.count >= dataStart + size + 2 else { break }
            out += pending[dataStart..<(dataStart + size)]
            pending.removeFirst(dataStart + size + 2)
        }
        return out
    }
}

/// One frame of a `text/event-stream`: an event (with `id`, `event`, `data`), a `retry`, or a comment.
struct SSEFrame: Sendable, Equatable {
    var id: String?
    var event: String?
    var data: String?
    var retry: Int?
    var comment: String?

    var isComment: Bool { comment != nil && data == nil && retry == nil }

    init(_ text: String) {
        var dataLines: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix(":") { comment = String(line.dropFirst()).trimmingCharacters(in: .whitespaces); continue }
            let parts = line.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            let field = String(parts[0])
            var value = parts.count > 1 ? String(parts[1]) : ""
            if value.hasPrefix(" ") { value.removeFirst() }
            switch field {
            case "id": id = value
            case "event": event = value
            case "data": dataLines.append(value)
            case "retry": retry = Int(value)
            default: break
            }
        }
        if !dataLines.isEmpty { data = dataLines.joined(separator: "\n") }
    }

    func progress() throws -> [String: Any] {
        guard let data, let object = try JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any] else {
            throw TestHTTPError("frame has no JSON data: \(self)")
        }
        return object
    }
}

/// A `GET` of an event stream, read frame by frame.
final class TestEventStream {
    let connection: Connection
    let status: Int
    let headers: [(String, String)]
    private var decoder = ChunkedDecoder()
    private var text: [UInt8] = []
    private var ended = false

    private init(connection: Connection, status: Int, headers: [(String, String)], initial: [UInt8]) throws {
        self.connection = connection
        self.status = status
        self.headers = headers
        text = try decoder.feed(initial)
    }

    static func open(port: Int, _ target: String, headers: [(String, String)] = []) async throws -> TestEventStream {
        let client = TestHTTPClient(port: port)
        let connection = try await Connection.connect(host: "127.0.0.1", port: port)
        try await client.send("GET", target, headers: [("Accept", "text/event-stream")] + headers, body: .none, on: connection)
        var raw = ByteBuffer(capacity: 16 * 1024)
        while true {
            if let (status, headers, start) = try TestHTTPClient.parseHead(raw.readableBytesView) {
                let bytes = Array(raw.readableBytesView)
                let offset = start - raw.readableBytesView.startIndex
                guard status == 200 else {
                    connection.close()
                    throw TestHTTPError("event stream answered \(status): \(String(decoding: bytes[offset...], as: UTF8.self))")
                }
                return try TestEventStream(connection: connection, status: status, headers: headers, initial: Array(bytes[offset...]))
            }
            try await connection.read(into: &raw, timeout: TestHTTPClient.readBound)
        }
    }

    /// The next frame, or nil when the server ended the stream (last chunk or close).
    func next() async throws -> SSEFrame? {
        while true {
            if let end = text.firstRange(of: [10, 10]) {
                let frame = String(decoding: text[..<end.lowerBound], as: UTF8.self)
                text.removeFirst(end.upperBound)
                return SSEFrame(frame)
            }
            if ended || decoder.finished { return nil }
            var raw = ByteBuffer(capacity: 16 * 1024)
            do {
                try await connection.read(into: &raw, timeout: TestHTTPClient.readBound)
            } catch NetworkError.endOfStream {
                ended = true
                continue
            }
            text += try decoder.feed(Array(raw.readableBytesView))
        }
    }

    /// The next frame that is an event (skips `retry:` and comments).
    func nextEvent() async throws -> SSEFrame? {
        while let frame = try await next() {
            if frame.data != nil { return frame }
        }
        return nil
    }

    /// The server ended the response with the last chunk (not a reset or a bare close).
    var endedCleanly: Bool { decoder.finished }

    func close() { connection.close() }
}
