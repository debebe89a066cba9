// NIOPeer: a raw swift-nio HTTP/1.1 server (NIOHTTP1 pipeline, no framework) with HTTPBench's two
// benchmark routes, written the way NIO's own NIOHTTP1Server example is.
//   .build/release/NIOPeer [--port N] [--threads N]     (threads: System.coreCount by default)
// Routes:
//   GET /json     {"message":"Hello, World!"}, encoded per request with JSONEncoder (as HTTPBench)
//   GET /fanout   SSE: every event of a 100/s broadcast, each stamped with the time it was due
//                 (CLOCK_REALTIME ns), as HTTPBench's /fanout (scripts/bench-sse-cost.sh)
#if canImport(Glibc)
import Glibc
#endif
import FoundationEssentials
import NIOCore
import NIOHTTP1
import NIOPosix

struct Message: Codable {
    let message: String
}

var port = 8083
var threads = System.coreCount
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--port": port = Int(arguments.popFirst() ?? "") ?? port
    case "--threads": threads = Int(arguments.popFirst() ?? "") ?? threads
    default: port = Int(argument) ?? port
    }
}

// 10 000 SSE clients need more descriptors than the usual soft limit.
var limit = rlimit()
getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
limit.rlim_cur = limit.rlim_max
setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)

/// One event every 10 ms; every loop derives the same ids and stamps from the same start, so a
/// client sees one sequence whichever loop its connection landed on.
enum Schedule {
    static let period: Int64 = 10_000_000
    /// Taken together, so that a stamp is the realtime its event was due.
    static let origin: (start: NIODeadline, realtime: Int64) = {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return (NIODeadline.now(), Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec))
    }()
    static var start: NIODeadline { origin.start }
    static var startRealtime: Int64 { origin.realtime }
}

/// What one event loop owns: its SSE subscribers, its publishing timer and its Date header.
/// Touched only on that loop (reached through NIOLoopBound).
final class LoopState {
    let loop: EventLoop
    var subscribers: [ObjectIdentifier: ChannelHandlerContext] = [:]
    var published: Int64 = 0
    var date = LoopState.httpDate()

    init(loop: EventLoop) {
        self.loop = loop
    }

    func start() {
        let bound = NIOLoopBound(self, eventLoop: loop)
        loop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in bound.value.date = LoopState.httpDate() }
        scheduleNext()
    }

    /// The next event is due at start + (n + 1) × period (not 10 ms after this wake-up, which would
    /// add the wake-up's lateness); events a late wake-up owes go out together. But at least 1 ms
    /// from now: NIO runs every task that is ready before it polls again, so a publisher that is
    /// always due (a pass over the subscribers longer than the period) would starve the loop's I/O
    /// — no accepts, no reads — for as long as it lasts.
    private func scheduleNext() {
        let bound = NIOLoopBound(self, eventLoop: loop)
        let due = Schedule.start + .nanoseconds((published + 1) * Schedule.period)
        loop.scheduleTask(deadline: max(due, .now() + .milliseconds(1))) {
            bound.value.publishDue()
        }
    }

    private func publishDue() {
        let due = (NIODeadline.now() - Schedule.start).nanoseconds / Schedule.period
        if !subscribers.isEmpty, due > published {
            // The events due, encoded once into one buffer for every subscriber on this loop: one
            // write (one HTTP chunk) and one flush per subscriber per wake-up.
            var events = ByteBuffer()
            for n in (published + 1)...due {
                events.writeString("id: \(n)\ndata: \(Schedule.startRealtime + n * Schedule.period)\n\n")
            }
            let part = NIOAny(HTTPServerResponsePart.body(.byteBuffer(events)))
            for context in subscribers.values {
                context.writeAndFlush(part, promise: nil)
            }
        }
        published = max(published, due)
        scheduleNext()
    }

    static func httpDate() -> String {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        var buffer = [CChar](repeating: 0, count: 64)
        let n = strftime(&buffer, buffer.count, "%a, %d %b %Y %H:%M:%S GMT", &parts)
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

final class PeerHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    enum Route { case json, fanout, notFound }

    private let state: LoopState
    private var route = Route.notFound
    private var keepAlive = true
    private var subscribed = false
    private let encoder = JSONEncoder()

    init(state: LoopState) {
        self.state = state
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data) {
        case .head(let request):
            keepAlive = request.isKeepAlive
            switch (request.method, request.uri) {
            case (.GET, "/json"): route = .json
            case (.GET, "/fanout"): route = .fanout
            default: route = .notFound
            }
        case .body:
            break
        case .end:
            switch route {
            case .json: respondJSON(context)
            case .fanout: subscribe(context)
            case .notFound: respond(context, status: .notFound, contentType: "text/plain", body: ByteBuffer(string: "not found\n"))
            }
        }
    }

    private func respondJSON(_ context: ChannelHandlerContext) {
        do {
            let bytes = try encoder.encode(Message(message: "Hello, World!"))
            respond(context, status: .ok, contentType: "application/json", body: ByteBuffer(bytes: bytes))
        } catch {
            respond(context, status: .internalServerError, contentType: "text/plain", body: ByteBuffer(string: "\(error)\n"))
        }
    }

    private func respond(_ context: ChannelHandlerContext, status: HTTPResponseStatus, contentType: String, body: ByteBuffer) {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: contentType)
        headers.add(name: "content-length", value: "\(body.readableBytes)")
        headers.add(name: "date", value: state.date)
        if !keepAlive { headers.add(name: "connection", value: "close") }
        context.write(Self.wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(Self.wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        if keepAlive {
            context.writeAndFlush(Self.wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            let bound = context.loopBound
            context.writeAndFlush(Self.wrapOutboundOut(.end(nil))).whenComplete { _ in bound.value.close(promise: nil) }
        }
    }

    /// The response head now (chunked: NIOHTTP1 frames each event as a chunk); the events come
    /// from the loop's publisher.
    private func subscribe(_ context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "text/event-stream")
        headers.add(name: "cache-control", value: "no-cache")
        headers.add(name: "transfer-encoding", value: "chunked")
        headers.add(name: "date", value: state.date)
        context.writeAndFlush(Self.wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
        state.subscribers[ObjectIdentifier(self)] = context
        subscribed = true
    }

    /// A subscriber whose socket buffer and the channel's queue are full (past the high water mark,
    /// 256 KiB as vidd's limit) reads more slowly than events come: dropped, as vidd drops it.
    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if subscribed, !context.channel.isWritable {
            unsubscribe()
            context.close(promise: nil)
        }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        unsubscribe()
        context.fireChannelInactive()
    }

    private func unsubscribe() {
        if subscribed {
            state.subscribers[ObjectIdentifier(self)] = nil
            subscribed = false
        }
    }
}

let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
var states: [ObjectIdentifier: NIOLoopBound<LoopState>] = [:]
for loop in group.makeIterator() {
    let state = try loop.submit { () -> NIOLoopBound<LoopState> in
        let state = LoopState(loop: loop)
        state.start()
        return NIOLoopBound(state, eventLoop: loop)
    }.wait()
    states[ObjectIdentifier(loop)] = state
}
let loopStates = states

let bootstrap = ServerBootstrap(group: group)
    .serverChannelOption(.backlog, value: 4096)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .serverChannelOption(.maxMessagesPerRead, value: 256)
    .childChannelInitializer { channel in
        channel.pipeline.configureHTTPServerPipeline(withErrorHandling: true).flatMapThrowing {
            let state = loopStates[ObjectIdentifier(channel.eventLoop)]!.value
            try channel.pipeline.syncOperations.addHandler(PeerHandler(state: state))
        }
    }
    .childChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(.maxMessagesPerRead, value: 1)
    .childChannelOption(.writeBufferWaterMark, value: .init(low: 128 * 1024, high: 256 * 1024))

let channel = try bootstrap.bind(host: "127.0.0.1", port: port).wait()
print("NIOPeer listening on 127.0.0.1:\(port) with \(threads) event loop thread(s)")
try channel.closeFuture.wait()
