import Foundation
import HTTPServer
import Reactor
import Synchronization
import Testing

/// A server on more than one loop: connections are spread over them, each served on its own loop
/// from start to end, and shutdown and event streams work whatever loop a connection is on.
@Suite struct HTTPServerLoopsTests {
    static func threadName() -> String {
        ((try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? "")
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Sends `GET path` on `connection` and returns the body of the (Content-Length) answer.
    static func get(_ path: String, on connection: Connection) async throws -> String {
        try await connection.write(Array("GET \(path) HTTP/1.1\r\nHost: t\r\n\r\n".utf8))
        var received: [UInt8] = []
        while true {
            var incoming = ByteBuffer()
            try await connection.read(into: &incoming, timeout: .seconds(20))
            received += incoming.readableBytesView
            let text = String(decoding: received, as: UTF8.self)
            guard let headEnd = text.range(of: "\r\n\r\n"),
                let lengthLine = text[..<headEnd.lowerBound].split(separator: "\r\n").first(where: { $0.lowercased().hasPrefix("content-length:") }),
                let length = Int(lengthLine.split(separator: ":")[1].trimmingCharacters(in: .whitespaces))
            else { continue }
            let body = received[text.utf8.distance(from: text.startIndex, to: headEnd.upperBound)...]
            if body.count >= length { return String(decoding: body.prefix(length), as: UTF8.self) }
        }
    }

    @Test func connectionsAreSpreadOverTheLoopsAndStayOnTheirs() async throws {
        var router = Router()
        router.get("/where") { _ in .text(Self.threadName()) }
        try await withServer(router, configure: { $0.eventLoops = 2 }) { server, _ in
            var connections: [Connection] = []
            for _ in 0..<4 { connections.append(try await Connection.connect(host: "127.0.0.1", port: server.port)) }
            defer { for c in connections { c.close() } }
            var names: [String] = []
            for c in connections {
                let first = try await Self.get("/where", on: c)
                // keep-alive: the next request on the same connection is served on the same loop
                for _ in 0..<3 { #expect(try await Self.get("/where", on: c) == first) }
                names.append(first)
            }
            #expect(names.sorted() == ["reactor", "reactor", "reactor-1", "reactor-1"], "round-robin over both loops")
        }
    }

    @Test func shutdownEndsConnectionsOnEveryLoop() async throws {
        var router = Router()
        router.get("/where") { _ in .text(Self.threadName()) }
        var configuration = HTTPServer.Configuration(port: 0)
        configuration.eventLoops = 3
        let server = try await HTTPServer.start(configuration, responder: router)
        var connections: [Connection] = []
        for _ in 0..<6 { connections.append(try await Connection.connect(host: "127.0.0.1", port: server.port)) }
        var names = Set<String>()
        for c in connections { names.insert(try await Self.get("/where", on: c)) }
        #expect(names == ["reactor", "reactor-1", "reactor-2"])
        #expect(server.connectionCount == 6)

        // A connection whose response the client already read may still be "serving" on its loop
        // (the write returned to the client first): it closes after that response with a FIN and
        // waits for the client's close. So the clients read and close while shutdown runs.
        let shutdown = Task { await server.shutdown(gracePeriod: .seconds(20)) }
        for c in connections {
            var sink = ByteBuffer()
            await #expect(throws: NetworkError.endOfStream) { try await c.read(into: &sink, timeout: .seconds(20)) }
            c.close()
        }
        await shutdown.value
        #expect(server.connectionCount == 0)
    }

    /// Edges on the second loop: a 16 MiB answer to a client that reads slowly (the writer waits
    /// for EPOLLOUT in that loop's epoll set), and requests sent one byte per segment, the last with
    /// the client's FIN right behind it.
    @Test func aHugeSlowlyReadAnswerAndARequestInOneByteSegmentsOnTheSecondLoop() async throws {
        let huge = [UInt8](repeating: 0x61, count: 16 << 20)
        var router = Router()
        router.get("/where") { _ in .text(Self.threadName()) }
        router.get("/huge") { _ in HTTPResponse(body: .bytes(huge)) }
        try await withServer(router, configure: { $0.eventLoops = 2 }) { server, _ in
            let first = try await Connection.connect(host: "127.0.0.1", port: server.port)  // on `shared`
            defer { first.close() }
            let second = try await Connection.connect(host: "127.0.0.1", port: server.port)  // on loop 1
            defer { second.close() }
            #expect(try await Self.get("/where", on: second) == "reactor-1")

            try await second.write(Array("GET /huge HTTP/1.1\r\nHost: t\r\n\r\n".utf8))
            var received = 0
            var headSeen = false
            var buffer = ByteBuffer()
            // Not reading for a while: the socket buffers fill and the server's writer waits for
            // writability (the answer is larger than both buffers, so it waits in any case).
            try await Task.sleep(for: .milliseconds(200))
            while received < huge.count {
                try await second.read(into: &buffer, timeout: .seconds(20))
                var bytes = Array(buffer.readableBytesView)
                buffer.clear()
                if !headSeen, let end = bytes.firstRange(of: Array("\r\n\r\n".utf8)) {
                    #expect(String(decoding: bytes[..<end.lowerBound], as: UTF8.self).contains("content-length: \(huge.count)"))
                    bytes.removeSubrange(..<end.upperBound)
                    headSeen = true
                }
                #expect(bytes.allSatisfy { $0 == 0x61 })
                received += bytes.count
            }
            #expect(received == huge.count)

            // One byte per write (TCP_NODELAY: a segment each), FIN right after the last.
            let request = Array("GET /where HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".utf8)
            for byte in request { try await second.write([byte]) }
            try await second.shutdownWrite()
            var answer: [UInt8] = []
            do {
                while true {
                    try await second.read(into: &buffer, timeout: .seconds(20))
                    answer += buffer.readableBytesView
                    buffer.clear()
                }
            } catch NetworkError.endOfStream {}
            #expect(String(decoding: answer, as: UTF8.self).hasSuffix("\r\n\r\nreactor-1"))
        }
    }

    /// The broadcaster's rotation runs on `shared` and writes to subscribers on every loop.
    @Test func everySubscriberOnEveryLoopGetsEveryEvent() async throws {
        let broadcaster = EventBroadcaster(.init(heartbeat: .seconds(600)))
        var router = Router()
        router.get("/events") { request in .eventStream(for: request, from: broadcaster) }
        try await withServer(router, configure: { $0.eventLoops = 2 }) { server, _ in
            var clients: [StreamClient] = []
            for _ in 0..<8 { clients.append(try await StreamClient.open(port: server.port)) }
            #expect(await EventBroadcasterTests.eventually { broadcaster.subscriberCount == 8 })
            var expected: [UInt8] = []
            for i in 1...100 {
                let event = ServerSentEvent(event: "tick", data: String(repeating: "y", count: i * 3), id: "\(i)")
                expected += event.encoded
                broadcaster.publish(event)
            }
            broadcaster.finish()
            for i in clients.indices {
                try await clients[i].readToEnd()
                #expect(clients[i].body == expected)
                #expect(clients[i].ended)
            }
            #expect(await EventBroadcasterTests.eventually { broadcaster.subscriberCount == 0 })
        }
    }
}
