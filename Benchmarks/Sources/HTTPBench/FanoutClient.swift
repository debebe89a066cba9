#if canImport(Glibc)
import Glibc
#endif
import Reactor
import Synchronization

/// The client side of the SSE fan-out benchmark: N connections to GET /fanout, each reading the
/// event stream; every event carries its send time, so delivery latency is measured per event.
/// Run in a separate process from the server (`HTTPBench --fanout-client N --port P --seconds S`).
enum FanoutClient {
    static func run(connections: Int, port: Int, seconds: Int) async throws {
        let stats = Stats()
        await withTaskGroup(of: Void.self) { group in
            for i in 0..<connections {
                group.addTask(executorPreference: EventLoop.shared) {
                    do {
                        let c = try await Connection.connect(host: "127.0.0.1", port: port, timeout: .seconds(30))
                        defer { c.close() }
                        try await c.write(Array("GET /fanout HTTP/1.1\r\nHost: bench\r\n\r\n".utf8))
                        stats.connected.add(1, ordering: .relaxed)
                        var buffer = ByteBuffer(capacity: 16 * 1024)
                        var local: [Int] = []
                        var seen = 0
                        var lastID = 0
                        let end = ContinuousClock.now + .seconds(seconds)
                        while ContinuousClock.now < end {
                            try await c.read(into: &buffer, timeout: .seconds(5))
                            let now = realtimeNanoseconds()
                            // Find "data: <ns>\n" lines in what arrived (chunk framing lines are ignored).
                            let bytes = buffer.readableBytesView
                            var lineStart = bytes.startIndex
                            var consumed = bytes.startIndex
                            for i in bytes.indices where bytes[i] == 10 {
                                let line = bytes[lineStart..<i]
                                if line.starts(with: "id: ".utf8), let id = Int(String(decoding: line.dropFirst(4), as: UTF8.self)) {
                                    // ids are consecutive: a jump is events this client never got
                                    if lastID > 0, id > lastID + 1, stats.measuring.load(ordering: .relaxed) {
                                        stats.missed.add(id - lastID - 1, ordering: .relaxed)
                                    }
                                    lastID = id
                                } else if line.starts(with: "data: ".utf8), stats.measuring.load(ordering: .relaxed),
                                    let sent = Int(String(decoding: line.dropFirst(6), as: UTF8.self))
                                {
                                    stats.received.add(1, ordering: .relaxed)
                                    seen += 1
                                    // a sample of every client's events keeps memory bounded
                                    if connections <= 100 || seen % 16 == 0 { local.append(now - sent) }
                                }
                                lineStart = i + 1
                                consumed = i + 1
                            }
                            buffer.moveReaderIndex(forwardBy: consumed - bytes.startIndex)
                            buffer.discardReadBytes()
                        }
                        stats.latencies.withLock { $0.append(contentsOf: local) }
                    } catch {
                        stats.failed.add(1, ordering: .relaxed)
                    }
                    _ = i
                }
            }
            group.addTask {
                // Measure once every client had the chance to connect.
                try? await Task.sleep(for: .seconds(max(1, seconds / 4)))
                stats.measuring.store(true, ordering: .relaxed)
            }
        }
        var all = stats.latencies.withLock { $0 }
        all.sort()
        func pct(_ p: Double) -> Double { all.isEmpty ? -1 : Double(all[min(all.count - 1, Int(Double(all.count) * p))]) / 1e6 }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let cpu = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
        print("client CPU: \((cpu * 100).rounded() / 100) s")
        print("fanout clients: \(connections), connected \(stats.connected.load(ordering: .relaxed)), failed \(stats.failed.load(ordering: .relaxed))")
        print("events received while measuring: \(stats.received.load(ordering: .relaxed)), missed (id gaps) \(stats.missed.load(ordering: .relaxed)); latency samples \(all.count): p50 \(pct(0.5)) ms, p99 \(pct(0.99)) ms, max \(pct(1.0)) ms")
    }

    final class Stats: Sendable {
        let latencies = Mutex<[Int]>([])
        let received = Atomic<Int>(0)
        let connected = Atomic<Int>(0)
        let failed = Atomic<Int>(0)
        let missed = Atomic<Int>(0)
        let measuring = Atomic<Bool>(false)
    }

    static func realtimeNanoseconds() -> Int {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int(ts.tv_sec) * 1_000_000_000 + Int(ts.tv_nsec)
    }
}
