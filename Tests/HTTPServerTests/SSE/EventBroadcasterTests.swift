import HTTPServer
import Reactor
import Synchronization
import Testing

/// The broadcast path over loopback: every subscriber gets exactly the published bytes, a client
/// that stops reading is dropped without holding up the others, a client that leaves is removed.
@Suite struct EventBroadcasterTests {
    static func router(_ broadcaster: EventBroadcaster,
                       replay: (@Sendable (String?, EventStreamWriter) async throws -> Void)? = nil) -> Router {
        var router = Router()
        router.get("/events") { request in .eventStream(for: request, from: broadcaster, replay: replay) }
        return router
    }

    /// Waits (polling, with a bound against hanging — not a timing assertion) until `condition` holds.
    static func eventually(upTo limit: Duration = .seconds(20), _ condition: () -> Bool) async -> Bool {
        let end = ContinuousClock.now + limit
        while !condition() {
            if ContinuousClock.now > end { return false }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return true
    }

    @Test func everySubscriberGetsExactlyThePublishedEvents() async throws {
        // allocates tens of MB: not while another test measures the process's memory
        try await ExclusiveSection.memory.run { try await Self.everySubscriberGetsExactlyThePublishedEventsBody() }
    }

    static func everySubscriberGetsExactlyThePublishedEventsBody() async throws {
        let broadcaster = EventBroadcaster(.init(heartbeat: .seconds(600)))
        try await withServer(Self.router(broadcaster)) { server, _ in
            // more subscribers than one turn of the rotation serves
            var clients: [StreamClient] = []
            for _ in 0..<300 { clients.append(try await StreamClient.open(port: server.port)) }
            var old = try await StreamClient.open(port: server.port, version: "HTTP/1.0")
            #expect(await Self.eventually { broadcaster.subscriberCount == 301 })

            var expected: [UInt8] = []
            for i in 1...200 {
                // multi-line data and sizes that make chunk boundaries fall anywhere
                let event = ServerSentEvent(event: "tick", data: "line \(i)\n" + String(repeating: "x", count: i * 7), id: "\(i)")
                expected += event.encoded
                broadcaster.publish(event)
                // publish while a round is under way, too
                if i % 50 == 0 { try await EventLoop.shared.sleep(for: .milliseconds(1)) }
            }
            for i in clients.indices {
                try await clients[i].read(untilBodyCount: expected.count)
                #expect(clients[i].head.hasPrefix("HTTP/1.1 200 OK\r\n"))
                #expect(clients[i].head.contains("transfer-encoding: chunked"))
                // compared and let go: 300 copies would weigh on another test that measures the
                // process's memory
                let same = clients[i].verifyAndDiscard(expected)
                #expect(same)
            }
            try await old.read(untilBodyCount: expected.count)
            #expect(old.head.hasPrefix("HTTP/1.0 200 OK\r\n"))
            #expect(old.body == expected)

            broadcaster.finish()
            for i in clients.indices {
                try await clients[i].readToEnd()
                #expect(clients[i].ended, "the stream ends with the last chunk")
                #expect(clients[i].received == expected.count)
            }
            try await old.readToEnd()
            #expect(old.body == expected)
            #expect(await Self.eventually { broadcaster.subscriberCount == 0 })
            #expect(broadcaster.droppedCount == 0)
        }
    }

    @Test func aStalledSubscriberIsDroppedWithoutHoldingUpTheOthers() async throws {
        // allocates tens of MB: not while another test measures the process's memory
        try await ExclusiveSection.memory.run { try await Self.aStalledSubscriberIsDroppedWithoutHoldingUpTheOthersBody() }
    }

    static func aStalledSubscriberIsDroppedWithoutHoldingUpTheOthersBody() async throws {
        let drops = Mutex<[EventBroadcaster.SubscriberDropped]>([])
        let broadcaster = EventBroadcaster(.init(heartbeat: .seconds(600), maxQueuedBytes: 256 * 1024)) { dropped in
            drops.withLock { $0.append(dropped) }
        }
        let addresses = Mutex<[String]>([])
        var router = Router()
        router.get("/events") { request in
            addresses.withLock { $0.append(request.remoteAddress ?? "?") }
            return .eventStream(for: request, from: broadcaster)
        }
        try await withServer(router) { server, _ in
            var stalled = try await StreamClient.open(port: server.port)  // never reads until the end
            #expect(await Self.eventually { broadcaster.subscriberCount == 1 })
            let stalledAddress = addresses.withLock { $0.first }
            var readers: [StreamClient] = []
            for _ in 0..<3 { readers.append(try await StreamClient.open(port: server.port)) }
            #expect(await Self.eventually { broadcaster.subscriberCount == 4 })

            // Publish 64 KiB events until the stalled client's socket buffers and its queue are
            // full; the readers read everything meanwhile. The bound (256 MiB) only guards against
            // a broadcaster that never drops.
            var expected: [UInt8] = []
            var n = 0
            while broadcaster.droppedCount == 0 && expected.count < 256 << 20 {
                for _ in 0..<16 {
                    n += 1
                    let event = ServerSentEvent(data: "\(n) " + String(repeating: "y", count: 64 * 1024), id: "\(n)")
                    expected += event.encoded
                    broadcaster.publish(event)
                }
                for i in readers.indices {
                    try await readers[i].read(untilBodyCount: expected.count)
                    // compared and let go as they come: this test must not hold tens of MB
                    // (another test measures the process's memory)
                    let same = readers[i].verifyAndDiscard(expected)
                    #expect(same, "a reader missed events")
                }
            }
            #expect(broadcaster.droppedCount == 1)
            for i in readers.indices { #expect(readers[i].received == expected.count) }

            let reported = drops.withLock { $0 }
            #expect(reported.count == 1)
            #expect(reported.first?.remoteAddress == stalledAddress)
            #expect((reported.first?.queuedBytes ?? 0) > 256 * 1024)
            #expect(reported.first?.description.contains("dropped") == true)

            // The stalled client finds a prefix of the stream, then its connection reset.
            await #expect(throws: NetworkError.self) { try await stalled.readToEnd(verifying: expected) }
            let prefix = stalled.verifyAndDiscard(expected)
            #expect(prefix, "the stalled client got something other than a prefix of the stream")
            #expect(stalled.received < expected.count)
            #expect(await Self.eventually { broadcaster.subscriberCount == 3 })

            // The others go on.
            let last = ServerSentEvent(data: "after the drop")
            expected += last.encoded
            broadcaster.publish(last)
            for i in readers.indices {
                try await readers[i].read(untilBodyCount: expected.count)
                let same = readers[i].verifyAndDiscard(expected)
                #expect(same)
                #expect(readers[i].received == expected.count)
            }
        }
    }

    @Test func aSubscriberThatLeavesIsRemoved() async throws {
        let broadcaster = EventBroadcaster(.init(heartbeat: .seconds(600)))
        try await withServer(Self.router(broadcaster)) { server, _ in
            var staying = try await StreamClient.open(port: server.port)
            let leaving = try await StreamClient.open(port: server.port)
            #expect(await Self.eventually { broadcaster.subscriberCount == 2 })
            leaving.connection.close()
            #expect(await Self.eventually { broadcaster.subscriberCount == 1 }, "the subscriber of a closed connection stays")
            #expect(await Self.eventually { server.connectionCount == 1 })
            let event = ServerSentEvent(data: "still here", id: "1")
            broadcaster.publish(event)
            try await staying.read(untilBodyCount: event.encoded.count)
            #expect(staying.body == event.encoded)
            #expect(broadcaster.droppedCount == 0)
        }
    }

    @Test func eventsPublishedDuringTheReplayFollowIt() async throws {
        let broadcaster = EventBroadcaster(.init(heartbeat: .seconds(600)))
        let live = ServerSentEvent(data: "live", id: "3")
        let router = Self.router(broadcaster) { lastEventID, events in
            try await events.send(ServerSentEvent(data: "missed after \(lastEventID ?? "-")", id: "1"))
            broadcaster.publish(live)  // while the replay is still writing
            try await events.send(ServerSentEvent(data: "snapshot", id: "2"))
        }
        try await withServer(router) { server, _ in
            var client = try await StreamClient.open(port: server.port, headers: "Last-Event-ID: 0\r\n")
            let expected = ServerSentEvent(data: "missed after 0", id: "1").encoded
                + ServerSentEvent(data: "snapshot", id: "2").encoded + live.encoded
            try await client.read(untilBodyCount: expected.count)
            #expect(client.body == expected)
        }
    }

    @Test func idleSubscribersGetHeartbeats() async throws {
        let broadcaster = EventBroadcaster(.init(heartbeat: .milliseconds(100)))
        try await withServer(Self.router(broadcaster)) { server, _ in
            var a = try await StreamClient.open(port: server.port)
            var b = try await StreamClient.open(port: server.port, version: "HTTP/1.0")
            try await a.read(untilBodyCount: 6)
            try await b.read(untilBodyCount: 6)
            #expect(a.body.prefix(6).elementsEqual(":\n\n:\n\n".utf8))
            #expect(b.body.prefix(6).elementsEqual(":\n\n:\n\n".utf8))
        }
    }
}

/// A raw loopback client of an event stream: sends the request, keeps the response head and the
/// body with its chunk framing removed (HTTP/1.1) or as it came (HTTP/1.0, delimited by the close).
struct StreamClient {
    let connection: Connection
    let chunked: Bool
    var head = ""
    /// Body bytes not yet let go by `verifyAndDiscard`.
    var body: [UInt8] = []
    /// Body bytes already compared and let go.
    var discarded = 0
    var received: Int { discarded + body.count }
    var ended = false
    private var buffer: [UInt8] = []

    static func open(port: Int, version: String = "HTTP/1.1", headers: String = "") async throws -> StreamClient {
        let connection = try await Connection.connect(host: "127.0.0.1", port: port)
        try await connection.write(Array("GET /events \(version)\r\nHost: t\r\n\(headers)\r\n".utf8))
        return StreamClient(connection: connection, chunked: version == "HTTP/1.1")
    }

    private init(connection: Connection, chunked: Bool) {
        self.connection = connection
        self.chunked = chunked
    }

    /// Reads until the body has at least `count` bytes (a 20 s read timeout guards against hanging).
    mutating func read(untilBodyCount count: Int) async throws {
        while received < count && !ended {
            try await receive()
        }
    }

    /// True when the body so far continues `expected` from what was let go before; lets it go.
    mutating func verifyAndDiscard(_ expected: [UInt8]) -> Bool {
        guard discarded + body.count <= expected.count,
            expected[discarded..<discarded + body.count].elementsEqual(body)
        else { return false }
        discarded += body.count
        body.removeAll()
        return true
    }

    /// Reads until the server ends the stream: the last chunk, or the close. With `expected`, the
    /// body is compared and let go as it comes (a mismatch keeps it, for the caller to see).
    mutating func readToEnd(verifying expected: [UInt8]? = nil) async throws {
        while !ended {
            if let expected, !body.isEmpty { _ = verifyAndDiscard(expected) }
            do {
                try await receive()
            } catch NetworkError.endOfStream where !chunked {
                ended = true
            }
        }
    }

    private mutating func receive() async throws {
        var incoming = ByteBuffer()
        try await connection.read(into: &incoming, timeout: .seconds(20))
        buffer += incoming.readableBytesView
        decode()
    }

    private mutating func decode() {
        if head.isEmpty {
            guard let end = buffer.firstRange(of: [13, 10, 13, 10]) else { return }
            head = String(decoding: buffer[..<end.upperBound], as: UTF8.self)
            buffer.removeSubrange(..<end.upperBound)
        }
        guard chunked else {
            body += buffer
            buffer.removeAll()
            return
        }
        while let lineEnd = buffer.firstRange(of: [13, 10]) {
            let size = Int(String(decoding: buffer[..<lineEnd.lowerBound], as: UTF8.self), radix: 16)!
            guard buffer.count >= lineEnd.upperBound + size + 2 else { return }
            body += buffer[lineEnd.upperBound..<lineEnd.upperBound + size]
            buffer.removeSubrange(..<(lineEnd.upperBound + size + 2))
            if size == 0 {
                ended = true
                return
            }
        }
    }
}
