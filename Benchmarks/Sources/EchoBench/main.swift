// TCP echo through vidd's Reactor vs swift-nio, same client, same machine, run side by side.
//
//   EchoBench server reactor|nio1|nio2 PORT      run one echo server until killed
//   EchoBench client PORT CONNS SIZE SECONDS     ping-pong load; prints round trips/s, MB/s, p50/p99
//   EchoBench compare [CONNS] [SECONDS]          starts each server as a child process in turn and
//                                                runs the client against it, small and 64 KiB messages
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import NIOCore
import NIOPosix
import Reactor

// MARK: Servers

func runReactorServer(port: Int) async throws {
    let listener = try await Listener.bind(host: "127.0.0.1", port: port)
    await Task(executorPreference: EventLoop.shared) {
        await withDiscardingTaskGroup { group in
            while true {
                guard let conn = try? await listener.accept() else { return }
                group.addTask(executorPreference: EventLoop.shared) {
                    var buf = ByteBuffer(capacity: 64 * 1024)
                    do {
                        while true {
                            try await conn.read(into: &buf)
                            try await conn.write(buf)
                            buf.clear()
                        }
                    } catch {}
                    conn.close()
                }
            }
        }
    }.value
}

final class NIOEchoHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = NIOCore.ByteBuffer
    typealias OutboundOut = NIOCore.ByteBuffer
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.write(data, promise: nil)
    }
    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }
    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

func runNIOServer(port: Int, threads: Int) throws {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
    let channel = try ServerBootstrap(group: group)
        .serverChannelOption(.backlog, value: 1024)
        .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
        .childChannelInitializer { $0.pipeline.addHandler(NIOEchoHandler()) }
        .bind(host: "127.0.0.1", port: port).wait()
    try channel.closeFuture.wait()
}

// MARK: Client (the same for every server)

struct ClientResult {
    var roundTrips = 0
    var bytes = 0
    var latenciesNs: [UInt64] = []
}

func runClient(port: Int, connections: Int, size: Int, seconds: Double) async throws -> ClientResult {
    let payload = [UInt8](repeating: 0x61, count: size)
    let end = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    let results = try await withThrowingTaskGroup(of: ClientResult.self) { group in
        for _ in 0..<connections {
            group.addTask(executorPreference: EventLoop.shared) {
                let conn = try await Connection.connect(host: "127.0.0.1", port: port)
                defer { conn.close() }
                var r = ClientResult()
                r.latenciesNs.reserveCapacity(100_000)
                var buf = Reactor.ByteBuffer(capacity: max(size, 16 * 1024) * 2)
                while ContinuousClock.now < end {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    try await conn.write(payload)
                    var got = 0
                    while got < size {
                        try await conn.read(into: &buf)
                        got += buf.readableBytes
                        buf.clear()
                    }
                    r.latenciesNs.append(DispatchTime.now().uptimeNanoseconds - t0)
                    r.roundTrips += 1
                    r.bytes += size
                }
                return r
            }
        }
        var all = ClientResult()
        for try await r in group {
            all.roundTrips += r.roundTrips
            all.bytes += r.bytes
            all.latenciesNs.append(contentsOf: r.latenciesNs)
        }
        return all
    }
    return results
}

func percentile(_ sorted: [UInt64], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    let i = min(sorted.count - 1, Int(Double(sorted.count) * p))
    return Double(sorted[i]) / 1000.0
}

func summarize(_ r: ClientResult, seconds: Double) -> (rps: Double, mbps: Double, p50us: Double, p99us: Double) {
    let sorted = r.latenciesNs.sorted()
    return (Double(r.roundTrips) / seconds, Double(r.bytes) / seconds / 1_048_576, percentile(sorted, 0.5), percentile(sorted, 0.99))
}

// MARK: Compare

func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
    close(fd)
    return Int(UInt16(bigEndian: addr.sin_port))
}

func compare(connections: Int, seconds: Double, rounds: Int) async throws {
    let exe = CommandLine.arguments[0]
    let servers = ProcessInfo.processInfo.environment["ECHO_SERVERS"].map { $0.split(separator: ",").map(String.init) } ?? ["reactor", "nio1", "nio2"]
    print("TCP echo, \(connections) connections, \(seconds) s per run, \(rounds) rounds (median shown), client = vidd Reactor")
    for size in [64, 65536] {
        var table: [String: [(Double, Double, Double, Double)]] = [:]
        for _ in 0..<rounds {
            for s in servers {
                let port = freePort()
                var pid: pid_t = 0
                let argv: [String] = [exe, "server", s, String(port)]
                var cargs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
                guard posix_spawn(&pid, exe, nil, nil, &cargs, environ) == 0 else { fatalError("posix_spawn failed") }
                cargs.forEach { free($0) }
                var ready = false
                for _ in 0..<200 where !ready {
                    if let c = try? await Connection.connect(host: "127.0.0.1", port: port, timeout: .milliseconds(100)) {
                        c.close(); ready = true
                    } else { try await Task.sleep(for: .milliseconds(20)) }
                }
                let r = try await runClient(port: port, connections: connections, size: size, seconds: seconds)
                                kill(pid, SIGKILL)  // NIO's server blocks SIGTERM in every thread
                var status: Int32 = 0
                _ = waitpid(pid, &status, 0)
                let s4 = summarize(r, seconds: seconds)
                table[s, default: []].append((s4.rps, s4.mbps, s4.p50us, s4.p99us))
            }
        }
        func median(_ xs: [Double]) -> Double { let s = xs.sorted(); return s[s.count / 2] }
        print("\nmessage size \(size) B")
        print("server    round trips/s      MB/s    p50 µs    p99 µs")
        var rpsBy: [String: Double] = [:]
        var p99By: [String: Double] = [:]
        for s in servers {
            let rows = table[s]!
            let rps = median(rows.map { $0.0 }), mbps = median(rows.map { $0.1 })
            let p50 = median(rows.map { $0.2 }), p99 = median(rows.map { $0.3 })
            rpsBy[s] = rps; p99By[s] = p99
            print(String(format: "%-8@ %14.0f %9.1f %9.0f %9.0f", s as NSString, rps, mbps, p50, p99))
        }
        for peer in ["nio1", "nio2"] {
            print(String(format: "reactor / %@: throughput %.2fx, p99 %.2fx (lower is better)", peer as NSString,
                         rpsBy["reactor"]! / rpsBy[peer]!, p99By["reactor"]! / p99By[peer]!))
        }
    }
}

// MARK: main

let args = CommandLine.arguments
switch args.count > 1 ? args[1] : "" {
case "server":
    let port = Int(args[3])!
    switch args[2] {
    case "reactor": try await runReactorServer(port: port)
    case "nio1": try runNIOServer(port: port, threads: 1)
    case "nio2": try runNIOServer(port: port, threads: 2)
    default: fatalError("unknown server \(args[2])")
    }
case "client":
    let secs = Double(args[5])!
    let r = try await runClient(port: Int(args[2])!, connections: Int(args[3])!, size: Int(args[4])!, seconds: secs)
    let s = summarize(r, seconds: secs)
    print(String(format: "%.0f round trips/s, %.1f MB/s, p50 %.0f µs, p99 %.0f µs", s.rps, s.mbps, s.p50us, s.p99us))
case "compare":
    try await compare(connections: args.count > 2 ? Int(args[2])! : 64, seconds: args.count > 3 ? Double(args[3])! : 5,
                      rounds: args.count > 4 ? Int(args[4])! : 3)
default:
    print("usage: EchoBench compare [CONNS] [SECONDS] [ROUNDS] | server reactor|nio1|nio2 PORT | client PORT CONNS SIZE SECONDS")
}
