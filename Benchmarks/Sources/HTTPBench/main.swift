// HTTPBench: vidd's HTTPServer for wrk and for the scripted checks.
//   .build/release/HTTPBench [--port N] [--header-timeout SECONDS] [--root DIR]
// Routes:
//   GET  /json           {"message":"Hello, World!"} — the benchmark route; HummingbirdPeer has the same
//   PUT  /upload         streams the body, answers "<bytes> <sha256>" (scripts/http-upload-1g.sh)
//   GET  /stats          the server's resident memory in bytes
//   GET  /events         SSE: numbered events continuing after Last-Event-ID, 3 per connection
//   GET  /static/*path   files under --root (Range, ETag…)
//   GET  /fanout         SSE: every event of the 100/s broadcast (scripts/http-sse-fanout.sh)
// Fan-out client mode: HTTPBench --fanout-client N --port P --seconds S
#if canImport(Glibc)
import Glibc
#endif
import FoundationEssentials
import HTTPServer
import Reactor
import Synchronization

struct Message: Codable, Sendable {
    let message: String
}

var port = 8081
var headerTimeout = 10
var root = "."
var fanoutClients = 0
var seconds = 20
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--port": port = Int(arguments.popFirst() ?? "") ?? port
    case "--header-timeout": headerTimeout = Int(arguments.popFirst() ?? "") ?? headerTimeout
    case "--root": root = arguments.popFirst() ?? root
    case "--fanout-client": fanoutClients = Int(arguments.popFirst() ?? "") ?? 0
    case "--seconds": seconds = Int(arguments.popFirst() ?? "") ?? seconds
    default: port = Int(argument) ?? port
    }
}

// 10 000 SSE clients need more descriptors than the usual soft limit.
var limit = rlimit()
getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
limit.rlim_cur = limit.rlim_max
setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)

/// Unbuffered, so that lines reach a log file before the benchmark scripts kill the process.
func log(_ line: String) {
    var line = line + "\n"
    line.withUTF8 { _ = write(1, $0.baseAddress, $0.count) }
}

func residentBytes() -> Int {
    let fd = open("/proc/self/statm", O_RDONLY)
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: 128)
    let n = read(fd, &buffer, buffer.count)
    let fields = String(decoding: buffer[0..<max(n, 0)], as: UTF8.self).split(separator: " ")
    return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
}

if fanoutClients > 0 {
    try await FanoutClient.run(connections: fanoutClients, port: port, seconds: seconds)
    exit(0)
}

let fanout = Broadcast()
let files = try StaticFiles(root: root)
var router = Router()
router.get("/json") { _ in
    try HTTPResponse.json(Message(message: "Hello, World!"))
}
router.put("/upload", body: .streamed) { request in
    var hasher = Crypto.SHA256()
    var total = 0
    for try await chunk in request.body {
        total += chunk.count
        hasher.update(chunk)
    }
    return .text("\(total) \(Hex.encode(hasher.finalize()))\n")
}
router.get("/stats") { _ in .text("\(residentBytes())\n") }
router.get("/events") { request in
    .eventStream(for: request, heartbeat: .seconds(5)) { lastEventID, events in
        let after = Int(lastEventID ?? "") ?? 0
        log("events: connection with Last-Event-ID \(lastEventID ?? "(none)")")
        for id in (after + 1)...(after + 3) {
            try await events.send(ServerSentEvent(event: "tick", data: "event \(id)", id: "\(id)", retry: 300))
            try await EventLoop.shared.sleep(for: .milliseconds(200))
        }
    }
}
router.get("/static/*path") { request in try await files.respond(to: request, path: request.parameters["path"] ?? "") }
router.get("/fanout") { request in
    .eventStream(for: request, heartbeat: .seconds(30)) { _, events in
        let (stream, id) = fanout.subscribe()
        defer { fanout.unsubscribe(id) }
        for await event in stream { try await events.send(encoded: event) }
    }
}

var configuration = HTTPServer.Configuration(host: "127.0.0.1", port: port, maxConnections: 20_000, backlog: 4096)
configuration.timeouts.header = .seconds(headerTimeout)
let server = try await HTTPServer.start(configuration, responder: router)
log("HTTPBench listening on 127.0.0.1:\(server.port)")

// 100 events per second to every /fanout subscriber; each carries its send time (CLOCK_REALTIME ns)
// so the client can measure delivery latency.
Task(executorPreference: EventLoop.shared) {
    var n = 0
    while true {
        try await EventLoop.shared.sleep(for: .milliseconds(10))
        n += 1
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        // encoded once for every subscriber
        fanout.publish(ServerSentEvent(data: "\(Int(ts.tv_sec) * 1_000_000_000 + Int(ts.tv_nsec))", id: "\(n)").encoded)
    }
}
while true {
    try await Task.sleep(for: .seconds(3600))
}

/// Fan-out of events to every subscriber (each has its own small buffer: a slow client drops
/// its oldest events rather than growing memory).
final class Broadcast: Sendable {
    private let subscribers = Mutex<[Int: AsyncStream<[UInt8]>.Continuation]>([:])
    private let nextID = Atomic<Int>(0)

    func subscribe() -> (AsyncStream<[UInt8]>, Int) {
        let (stream, continuation) = AsyncStream<[UInt8]>.makeStream(bufferingPolicy: .bufferingNewest(64))
        let id = nextID.add(1, ordering: .relaxed).newValue
        subscribers.withLock { $0[id] = continuation }
        return (stream, id)
    }

    func unsubscribe(_ id: Int) {
        subscribers.withLock { $0.removeValue(forKey: id) }?.finish()
    }

    func publish(_ event: [UInt8]) {
        for c in subscribers.withLock({ Array($0.values) }) { c.yield(event) }
    }
}
