import Reactor
import Synchronization

/// A loopback HTTP/1.1 origin for tests of outgoing requests: accepts connections on `host`
/// (any 127.x.y.z or ::1), reads one request per connection (head and Content-Length body) and
/// lets the test's handler write whatever bytes it likes — well-formed or not. It counts the
/// connections it accepts, so a test can prove that a refused URL never reached it.
public final class HTTPOrigin: Sendable {
    public struct Request: Sendable {
        public var method: String
        public var target: String
        public var headers: [(name: String, value: String)]
        public var body: [UInt8]

        public func header(_ name: String) -> String? {
            headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }
    }

    public typealias Handler = @Sendable (Request, Connection) async throws -> Void

    public let listener: Listener
    public let host: String
    private let state = Mutex<(accepted: Int, requests: [Request])>((0, []))

    public var port: Int { listener.port }
    /// `http://host:port` (brackets around IPv6), or https when started with TLS.
    public let baseURL: String
    public var acceptedConnections: Int { state.withLock { $0.accepted } }
    public var requests: [Request] { state.withLock { $0.requests } }

    private init(listener: Listener, host: String, secure: Bool) {
        self.listener = listener
        self.host = host
        let shown = host.contains(":") ? "[\(host)]" : host
        self.baseURL = "\(secure ? "https" : "http")://\(shown):\(listener.port)"
    }

    public static func start(host: String = "127.0.0.1", tls: TLSConfiguration? = nil, handler: @escaping Handler) async throws -> HTTPOrigin {
        let listener = try await Listener.bind(host: host, port: 0, tls: tls)
        let origin = HTTPOrigin(listener: listener, host: host, secure: tls != nil)
        Task(executorPreference: EventLoop.shared) {
            while let connection = try? await listener.accept() {
                origin.state.withLock { $0.accepted += 1 }
                Task(executorPreference: EventLoop.shared) {
                    defer { connection.close() }
                    guard let request = try? await Self.readRequest(connection) else { return }
                    origin.state.withLock { $0.requests.append(request) }
                    try? await handler(request, connection)
                }
            }
        }
        return origin
    }

    public func close() { listener.close() }

    static func readRequest(_ c: Connection) async throws -> Request? {
        var buffer = ByteBuffer()
        while true {
            try await c.read(into: &buffer, timeout: .seconds(60))
            let bytes = Array(buffer.readableBytesView)
            guard let end = bytes.indices.dropLast(3).first(where: {
                bytes[$0] == 13 && bytes[$0 + 1] == 10 && bytes[$0 + 2] == 13 && bytes[$0 + 3] == 10
            }) else { continue }
            let lines = String(decoding: bytes[..<end], as: UTF8.self).split(separator: "\r\n", omittingEmptySubsequences: false)
            let start = lines.first?.split(separator: " ") ?? []
            guard start.count == 3 else { return nil }
            var headers: [(name: String, value: String)] = []
            for line in lines.dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers.append((String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingCharacters(in: " ")))
            }
            var body = Array(bytes[(end + 4)...])
            let length = Int(headers.first { $0.name.lowercased() == "content-length" }?.value ?? "0") ?? 0
            while body.count < length {
                var more = ByteBuffer()
                try await c.read(into: &more, timeout: .seconds(60))
                body += more.readableBytesView
            }
            return Request(method: String(start[0]), target: String(start[1]), headers: headers, body: body)
        }
    }

    // MARK: answers

    /// A complete response with a Content-Length body.
    public static func respond(_ c: Connection, status: Int = 200, headers: [(String, String)] = [], body: [UInt8] = []) async throws {
        var head = "HTTP/1.1 \(status) \(reason(status))\r\nContent-Length: \(body.count)\r\nConnection: close\r\n"
        for (n, v) in headers { head += "\(n): \(v)\r\n" }
        try await c.write(Array((head + "\r\n").utf8) + body)
    }

    public static func redirect(_ c: Connection, status: Int = 302, to location: String) async throws {
        try await respond(c, status: status, headers: [("Location", location)])
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 301: "Moved Permanently"
        case 302: "Found"
        case 303: "See Other"
        case 307: "Temporary Redirect"
        case 308: "Permanent Redirect"
        case 404: "Not Found"
        default: "Status"
        }
    }
}

extension StringProtocol {
    func trimmingCharacters(in set: Character) -> String {
        var s = Substring(self)
        while s.first == set { s = s.dropFirst() }
        while s.last == set { s = s.dropLast() }
        return String(s)
    }
}
