import Foundation
import HTTPServer
import Reactor
import Testing

/// The server against Python's http.client and raw sockets: pipelining, refusals on the wire,
/// timeouts, connection limits, graceful shutdown.
@Suite struct HTTPServerWireTests {
    static func echoRouter() -> Router {
        var router = Router()
        router.get("/n/:n") { req in .text("response \(req.parameters["n"] ?? "")") }
        router.post("/echo") { req in HTTPResponse(body: .bytes(try await req.body.collect(upTo: 1 << 20))) }
        return router
    }

    /// After a `Connection: close` response the server sends its FIN and reads until the client
    /// closes (so that request bytes still in flight cannot turn the close into a reset). A client
    /// that never closes is let go after `timeouts.linger`, not kept for ever.
    @Test func aClientThatNeverClosesAfterTheLastResponseIsLetGo() async throws {
        try await withServer(Self.echoRouter(), configure: { $0.timeouts.linger = .milliseconds(300) }) { server, _ in
            let client = try await Connection.connect(host: "127.0.0.1", port: server.port)
            defer { client.close() }
            try await client.write(Array("GET /n/1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".utf8))
            var received: [UInt8] = []
            var buffer = ByteBuffer()
            do {
                while true {
                    try await client.read(into: &buffer, timeout: .seconds(20))
                    received += buffer.readableBytesView
                    buffer.clear()
                }
            } catch NetworkError.endOfStream {}
            #expect(String(decoding: received, as: UTF8.self).hasSuffix("response 1"))
            // The client holds its end open: the server lets go of it anyway.
            let end = ContinuousClock.now + .seconds(20)
            while server.connectionCount > 0, ContinuousClock.now < end { try await Task.sleep(for: .milliseconds(20)) }
            #expect(server.connectionCount == 0, "a connection that answered its last request lingers until the client closes")
        }
    }

    /// The idle deadline (keep-alive) and the linger deadline (`Connection: close`) begin when a
    /// response ends, while the reader is blocked with the serving one: the handler's end wakes
    /// it, so they are kept — not noticed at its next re-check, 5 s later.
    @Test(arguments: [false, true])
    func theDeadlineThatBeginsWhenAResponseEndsIsKept(close: Bool) async throws {
        try await withServer(Self.echoRouter(), configure: {
            $0.timeouts.idle = .milliseconds(200)
            $0.timeouts.linger = .milliseconds(200)
        }) { server, _ in
            let client = try await Connection.connect(host: "127.0.0.1", port: server.port)
            defer { client.close() }
            try await client.write(Array("GET /n/1 HTTP/1.1\r\nHost: t\r\n\(close ? "Connection: close\r\n" : "")\r\n".utf8))
            var received: [UInt8] = []
            var buffer = ByteBuffer()
            while !String(decoding: received, as: UTF8.self).hasSuffix("response 1") {
                try await client.read(into: &buffer, timeout: .seconds(20))
                received += buffer.readableBytesView
                buffer.clear()
            }
            let answered = ContinuousClock.now
            // Keep-alive: the server closes the idle connection. Close: it sent its FIN with the
            // response and waits for ours, which never comes.
            let end = answered + .seconds(20)
            while server.connectionCount > 0, ContinuousClock.now < end { try await Task.sleep(for: .milliseconds(10)) }
            let held = ContinuousClock.now - answered
            #expect(server.connectionCount == 0)
            #expect(held < .milliseconds(2500), "let go \(held) after the response; the deadline was 200 ms")
        }
    }

    /// Pipelined requests sent in one write, answered in order; responses parsed by http.client.
    static let pipelineScript = #"""
import socket, sys, http.client
port = int(sys.argv[1])
s = socket.create_connection(("127.0.0.1", port))
reqs = b""
for i in range(5):
    reqs += b"GET /n/%d HTTP/1.1\r\nHost: t\r\n\r\n" % i
reqs += b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
reqs += b"GET /n/last HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
s.sendall(reqs)
f = s.makefile("rb")
class Shared:  # every HTTPResponse reads the same buffered file (pipelining) and must not close it
    def __getattr__(self, name): return getattr(f, name)
    def close(self): pass
class Sock:
    def makefile(self, *a, **k): return Shared()
out = []
for i in range(7):
    r = http.client.HTTPResponse(Sock())
    r.begin()
    out.append("%d %s" % (r.status, r.read().decode()))
print("|".join(out))
print("eof" if f.read() == b"" else "more")
"""#

    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        try await withServer(Self.echoRouter()) { server, _ in
            let r = try await python(Self.pipelineScript, ["\(server.port)"])
            #expect(r.stderr == "")
            #expect(r.stdout == "200 response 0|200 response 1|200 response 2|200 response 3|200 response 4|200 abc|200 response last\neof\n")
        }
    }

    /// Sends raw bytes, returns everything the server answers until it closes.
    static let rawScript = #"""
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(10)
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode("latin-1"))
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk: break
    data += chunk
sys.stdout.write(data.decode("latin-1"))
"""#

    @Test(arguments: [
        ("GET / HTTP/1.1\\nHost: a\\n\\n", "HTTP/1.1 400"),
        ("POST /echo HTTP/1.1\\r\\nHost: a\\r\\nContent-Length: 3\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n", "HTTP/1.1 400"),
        ("GET /n/1 HTTP/1.1\\r\\nHost: a\\r\\n\\r\\nGET / HTTP/1.1\\r\\nHost : a\\r\\n\\r\\n", "HTTP/1.1 200 OK"),
        ("GET /\(String(repeating: "a", count: 9000)) HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n", "HTTP/1.1 414"),
        ("GET / HTTP/2.0\\r\\n\\r\\n", "HTTP/1.1 505"),
        ("GET / HTTP/1.1\\r\\nHost: a\\r\\nTransfer-Encoding: gzip, chunked\\r\\n\\r\\n", "HTTP/1.1 501"),
    ])
    func malformedRequestsAreRefusedAndClosed(request: String, expectedStart: String) async throws {
        try await withServer(Self.echoRouter()) { server, _ in
            let r = try await python(Self.rawScript, ["\(server.port)", request])
            #expect(r.stdout.hasPrefix(expectedStart), "\(r.stdout.prefix(200))")
            #expect(r.stdout.contains("connection: close"))
            if expectedStart.hasSuffix("200 OK") {
                // the good request first, then the refusal of the bad one
                #expect(r.stdout.contains("response 1HTTP/1.1 400"))
            }
        }
    }

    @Test func tooManyHeadersGet431() async throws {
        let fields = (0..<120).map { "X-\($0): v\\r\\n" }.joined()
        try await withServer(Self.echoRouter()) { server, _ in
            let r = try await python(Self.rawScript, ["\(server.port)", "GET /n/1 HTTP/1.1\\r\\nHost: a\\r\\n\(fields)\\r\\n"])
            #expect(r.stdout.hasPrefix("HTTP/1.1 431"))
        }
    }

    @Test func http10GetsAnHTTP10AnswerAndAClose() async throws {
        try await withServer(Self.echoRouter()) { server, _ in
            let r = try await python(Self.rawScript, ["\(server.port)", "GET /n/old HTTP/1.0\\r\\n\\r\\n"])
            #expect(r.stdout.hasPrefix("HTTP/1.0 200 OK"))
            #expect(r.stdout.contains("connection: close"))
            #expect(r.stdout.hasSuffix("response old"))
        }
    }

    /// 150 slowloris connections (one header byte every 300 ms) are answered 408 and closed by the 3 s
    /// header timeout, while a normal client is served throughout. (1 000 connections: see
    /// scripts/http-slowloris.py and docs/httpserver.md.)
    static let slowlorisScript = #"""
import socket, sys, time, threading, urllib.request
port, count = int(sys.argv[1]), int(sys.argv[2])
socks = []
for i in range(count):
    s = socket.create_connection(("127.0.0.1", port)); s.setblocking(False); socks.append(s)
payload = b"GET / HTTP/1.1\r\nHost: slow\r\nX-Slow: " + b"a" * 1000
closed, answers, served = set(), {}, []
failed = []
def normal():
    for i in range(5):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/n/%d" % (port, i), timeout=10) as r:
                served.append(r.read().decode())
        except Exception as e:
            failed.append(repr(e))
        time.sleep(0.3)
t = threading.Thread(target=normal); t.start()
start = time.time()
pos = 0
while len(closed) < count and time.time() - start < 20:
    for i, s in enumerate(socks):
        if i in closed: continue
        try:
            data = s.recv(4096)
            if data == b"": closed.add(i)
            else: answers[i] = answers.get(i, b"") + data
        except BlockingIOError:
            try: s.send(payload[pos:pos + 1])
            except OSError: closed.add(i)
        except OSError:
            closed.add(i)
    pos += 1
    time.sleep(0.3)
t.join()
got408 = sum(1 for a in answers.values() if a.startswith(b"HTTP/1.1 408"))
print("closed=%d of %d, 408=%d, served=%d, elapsed=%.1f %s" % (len(closed), count, got408, len(served), time.time() - start, failed))
"""#

    @Test func slowlorisIsClosedByTheHeaderTimeoutWhileOthersAreServed() async throws {
        try await withServer(Self.echoRouter(), configure: { $0.timeouts.header = .seconds(3) }) { server, _ in
            let r = try await python(Self.slowlorisScript, ["\(server.port)", "150"])
            #expect(r.stderr == "")
            #expect(r.stdout.hasPrefix("closed=150 of 150, 408=150, served=5"), "\(r.stdout)")
        }
    }

    /// A connection that never sends anything is closed by the header timeout (counted from accept)
    /// with a FIN, no response; one that goes idle after a response, by the idle timeout.
    @Test func silentAndIdleConnectionsAreClosedByTheirTimeouts() async throws {
        let script = #"""
import socket, sys, time
port = int(sys.argv[1])
silent = socket.create_connection(("127.0.0.1", port)); silent.settimeout(10)
t = time.time(); data = silent.recv(4096)
print("silent: %r after %s" % (data, "timeout" if time.time() - t >= 0.9 else "early"))
idle = socket.create_connection(("127.0.0.1", port)); idle.settimeout(10)
idle.sendall(b"GET /n/1 HTTP/1.1\r\nHost: a\r\n\r\n")
first = idle.recv(4096)
t = time.time(); data = idle.recv(4096)
print("idle: %s then %r after %s" % (first.split(b"\r\n")[0].decode(), data, "timeout" if time.time() - t >= 1.4 else "early"))
"""#
        try await withServer(Self.echoRouter(), configure: {
            $0.timeouts.header = .seconds(1)
            $0.timeouts.idle = .milliseconds(1500)
        }) { server, _ in
            let r = try await python(script, ["\(server.port)"])
            #expect(r.stdout == "silent: b'' after timeout\nidle: HTTP/1.1 200 OK then b'' after timeout\n", "\(r.stderr)")
        }
    }

    @Test func connectionsOverTheLimitGet503() async throws {
        let script = #"""
import socket, sys, time
port = int(sys.argv[1])
held = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
time.sleep(0.3)
s = socket.create_connection(("127.0.0.1", port)); s.settimeout(10)
s.sendall(b"GET /n/x HTTP/1.1\r\nHost: a\r\n\r\n")
data = b""
while True:
    c = s.recv(4096)
    if not c: break
    data += c
print(data.split(b"\r\n")[0].decode())
held[0].sendall(b"GET /n/held HTTP/1.1\r\nHost: a\r\n\r\n")
print(held[0].recv(4096).split(b"\r\n")[0].decode())
"""#
        try await withServer(Self.echoRouter(), configure: { $0.maxConnections = 2 }) { server, _ in
            let r = try await python(script, ["\(server.port)"])
            #expect(r.stdout == "HTTP/1.1 503 Service Unavailable\nHTTP/1.1 200 OK\n", "\(r.stderr)")
            #expect(server.refusedConnections == 1)
        }
    }

    /// 100 requests in flight when shutdown starts: all complete with 200, shutdown returns
    /// within its grace period, and new connections are refused afterwards.
    @Test func gracefulShutdownCompletesInFlightRequests() async throws {
        let inFlight = Counter()
        let shuttingDown = Flag()
        var router = Router()
        router.get("/work") { _ in
            inFlight.add()
            // Still working when shutdown begins, however slowly the 100 clients got going.
            while !shuttingDown.isSet { try await EventLoop.shared.sleep(for: .milliseconds(10)) }
            try await EventLoop.shared.sleep(for: .milliseconds(500))
            return .text("done")
        }
        let server = try await HTTPServer.start(.init(port: 0), responder: router)
        let script = #"""
import sys, threading, http.client
port, n = int(sys.argv[1]), int(sys.argv[2])
results = []
def one():
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("GET", "/work")
        r = c.getresponse()
        results.append("%d %s %s" % (r.status, r.read().decode(), r.getheader("connection")))
    except Exception as e:
        results.append("error " + type(e).__name__)
ts = [threading.Thread(target=one) for _ in range(n)]
[t.start() for t in ts]; [t.join() for t in ts]
ok = sum(1 for r in results if r.startswith("200 done"))
print("ok=%d of %d" % (ok, n)); print(sorted(set(results)))
"""#
        async let clients = python(script, ["\(server.port)", "100"])
        let end = ContinuousClock.now + .seconds(20)
        while inFlight.current < 100, ContinuousClock.now < end { try await Task.sleep(for: .milliseconds(10)) }
        #expect(inFlight.current == 100)
        let started = ContinuousClock.now
        shuttingDown.set()
        await server.shutdown(gracePeriod: .seconds(5))
        let took = ContinuousClock.now - started
        let r = try await clients
        #expect(r.stdout == "ok=100 of 100\n['200 done close']\n", "\(r.stdout) \(r.stderr)")
        #expect(took < .seconds(5), "shutdown waited for the grace period: in-flight requests did not finish")
        #expect(server.connectionCount == 0)
        let refused = try await curl(["-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(server.port)/work"])
        #expect(refused.stdout == "000")
    }

    @Test func shutdownNeverHangsOnAStuckHandler() async throws {
        var router = Router()
        router.get("/stuck") { _ in
            // ignores cancellation on purpose
            while true { try? await EventLoop.shared.sleep(for: .milliseconds(50)); if Task.isCancelled { break } }
            return .text("x")
        }
        let server = try await HTTPServer.start(.init(port: 0), responder: router)
        async let client = curl(["--max-time", "10", "http://127.0.0.1:\(server.port)/stuck"])
        try await Task.sleep(for: .milliseconds(300))
        await server.shutdown(gracePeriod: .milliseconds(300))
        #expect(server.connectionCount == 0)
        _ = try await client
    }
}
