// HTTPBench: vidd's HTTPServer for wrk and for the scripted checks.
//   .build/release/HTTPBench [--port N] [--loops N] [--header-timeout SECONDS] [--root DIR]
//   (--loops: event loops the server spreads connections over; 1 by default, as vidd serve)
// Routes:
//   GET  /json           {"message":"Hello, World!"} — the benchmark route; HummingbirdPeer has the same
//   PUT  /upload         streams the body, answers "<bytes> <sha256>" (scripts/http-upload-1g.sh)
//   GET  /stats          the server's resident memory in bytes
//   GET  /events         SSE: numbered events continuing after Last-Event-ID, 3 per connection
//   GET  /static/*path   files under --root (Range, ETag…)
//   GET  /fanout         SSE: every event of the 100/s broadcast (scripts/http-sse-fanout.sh)
// Fan-out client mode: HTTPBench --fanout-client N --port P --seconds S [--server-pid PID]
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
var serverPID: Int32? = nil
var loops = 1
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--port": port = Int(arguments.popFirst() ?? "") ?? port
    case "--loops": loops = Int(arguments.popFirst() ?? "") ?? loops
    case "--header-timeout": headerTimeout = Int(arguments.popFirst() ?? "") ?? headerTimeout
    case "--root": root = arguments.popFirst() ?? root
    case "--fanout-client": fanoutClients = Int(arguments.popFirst() ?? "") ?? 0
    case "--seconds": seconds = Int(arguments.popFirst() ?? "") ?? seconds
    case "--server-pid": serverPID = Int32(arguments.popFirst() ?? "")
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
    FanoutClient.run(connections: fanoutClients, port: port, seconds: seconds, serverPID: serverPID)
    exit(0)
}

// One pass per batch of events over every subscriber (EventBroadcaster), heartbeats every 30 s.
let fanout = EventBroadcaster(.init(heartbeat: .seconds(30))) { dropped in log("fanout: \(dropped)") }
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
router.get("/fanout") { request in .eventStream(for: request, from: fanout) }

var configuration = HTTPServer.Configuration(host: "127.0.0.1", port: port, maxConnections: 20_000, backlog: 4096, eventLoops: loops)
configuration.timeouts.header = .seconds(headerTimeout)
let server = try await HTTPServer.start(configuration, responder: router)
log("HTTPBench listening on 127.0.0.1:\(server.port)")

// 100 events per second to every /fanout subscriber. Each carries the time it was due
// (CLOCK_REALTIME ns): when the loop is late, the events it owes go out at once and their latency
// counts the lateness, as events arriving from elsewhere (Redis) would.
Task(executorPreference: EventLoop.shared) {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    let startRealtime = Int(ts.tv_sec) * 1_000_000_000 + Int(ts.tv_nsec)
    let start = ContinuousClock.now
    let period = 10_000_000  // ns
    var n = 0
    while true {
        // until the next event is due (not 10 ms after this wake-up, which would add the wake-up's lateness)
        let elapsed = start.duration(to: .now).components
        let now = Int(elapsed.seconds) * 1_000_000_000 + Int(elapsed.attoseconds / 1_000_000_000)
        try await EventLoop.shared.sleep(for: .nanoseconds(max(0, (n + 1) * period - now)))
        let after = start.duration(to: .now).components
        let due = Int(after.seconds) * 1_000_000_000 + Int(after.attoseconds / 1_000_000_000)
        while (n + 1) * period <= due {
            n += 1
            // encoded once for every subscriber
            fanout.publish(ServerSentEvent(data: "\(startRealtime + n * period)", id: "\(n)"))
        }
    }
}
while true {
    try await Task.sleep(for: .seconds(3600))
}

