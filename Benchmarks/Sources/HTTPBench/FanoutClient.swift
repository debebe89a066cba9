#if canImport(Glibc)
import Glibc
#endif
import CLinuxSys  // epoll (through Reactor)

/// The client side of the SSE fan-out benchmark: N connections to GET /fanout, each reading the
/// event stream; every event carries the time it was due, so delivery latency is measured per
/// event, and consecutive ids show any event a client never got.
/// Run in a separate process from the server (`HTTPBench --fanout-client N --port P --seconds S`).
///
/// It is a measuring tool, so it should cost as little CPU as it can on a machine it shares with
/// the server: one thread, level-triggered epoll, one `recv` per ready socket into a shared
/// buffer, lines parsed in place (no task per connection, no timers).
enum FanoutClient {
    struct Client {
        var fd: Int32
        /// An incomplete line carried to the next read.
        var partial: [UInt8] = []
        var lastID = 0
        var seen = 0
        /// The first id received while measuring.
        var firstID = 0
    }

    /// `serverPID`: the server process, whose CPU (utime+stime from /proc) is read when measuring
    /// starts and when it ends, so that its cost per delivered event covers exactly the events counted.
    static func run(connections: Int, port: Int, seconds: Int, serverPID: Int32? = nil) {
        let epfd = epoll_create1(0)
        precondition(epfd >= 0)
        var clients: [Client] = []
        clients.reserveCapacity(connections)
        var failed = 0
        let request = Array("GET /fanout HTTP/1.1\r\nHost: bench\r\n\r\n".utf8)
        var received = 0
        var missed = 0
        var latencies: [Int] = []
        var closed = 0
        var maxID = 0
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 16)
        let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: 1024)

        /// One `recv` for each of the `n` ready sockets in `events`; events counted only while measuring.
        func readReady(_ n: Int, measuring: Bool) {
            for e in 0..<n {
                let index = Int(events[e].data.u64)
                let got = recv(clients[index].fd, scratch.baseAddress, scratch.count, 0)
                if got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR) {
                    _ = epoll_ctl(epfd, EPOLL_CTL_DEL, clients[index].fd, nil)
                    closed += 1
                    continue
                }
                if got < 0 { continue }
                let now = realtimeNanoseconds()
                let bytes = UnsafeRawBufferPointer(rebasing: scratch[0..<got])
                var lineStart = 0
                for i in 0..<got where bytes[i] == 10 {
                    if clients[index].partial.isEmpty {
                        handle(UnsafeRawBufferPointer(rebasing: bytes[lineStart..<i]), &clients[index])
                    } else {
                        clients[index].partial.append(contentsOf: bytes[lineStart..<i])
                        let line = clients[index].partial
                        clients[index].partial.removeAll(keepingCapacity: true)
                        line.withUnsafeBytes { handle($0, &clients[index]) }
                    }
                    lineStart = i + 1
                }
                if lineStart < got { clients[index].partial.append(contentsOf: bytes[lineStart..<got]) }

                func handle(_ line: UnsafeRawBufferPointer, _ client: inout Client) {
                    if line.starts(with: "id: ".utf8) {
                        let id = decimal(line, from: 4)
                        // ids are consecutive: a jump is events this client never got
                        if measuring, client.lastID > 0, id > client.lastID + 1 { missed += id - client.lastID - 1 }
                        if measuring, client.firstID == 0 { client.firstID = id }
                        client.lastID = id
                        maxID = max(maxID, id)
                    } else if line.starts(with: "data: ".utf8), measuring {
                        received += 1
                        client.seen += 1
                        // a sample of every client's events keeps memory bounded
                        if connections <= 100 || client.seen % 16 == 0 { latencies.append(now - decimal(line, from: 6)) }
                    }
                }
            }
        }

        let start = monotonicNanoseconds()
        for i in 0..<connections {
            // Read what the connected clients were sent while the others connect: unread, it would
            // pile up in the kernel (thousands of small segments per socket) until TCP memory
            // pressure stalls the remaining connects — a generator artefact, worst for a server
            // that accepts more slowly.
            if i % 32 == 31 {
                let n = epoll_wait(epfd, events, 1024, 0)
                if n > 0 { readReady(Int(n), measuring: false) }
            }
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            // Blocking connect and request, then non-blocking reads.
            let rc = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard fd >= 0, rc == 0, send(fd, request, request.count, Int32(MSG_NOSIGNAL)) == request.count else {
                failed += 1
                if fd >= 0 { close(fd) }
                continue
            }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            var event = epoll_event()
            event.events = EPOLLIN.rawValue
            event.data.u64 = UInt64(clients.count)
            _ = epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &event)
            clients.append(Client(fd: fd))
        }
        let connected = clients.count
        // Measure once every client had the chance to connect and the first events arrived.
        let measureFrom = max(monotonicNanoseconds(), start + Int(max(1, seconds / 4)) * 1_000_000_000)
        let end = start + seconds * 1_000_000_000
        var serverTicksAtStart: Int? = nil
        while monotonicNanoseconds() < end {
            let n = epoll_wait(epfd, events, 1024, 100)
            if n <= 0 { continue }
            // A trickle of ready sockets: let more gather for a millisecond rather than paying an
            // epoll_wait per socket (CPU the server needs on a shared machine). It can only add to
            // the latency measured, by at most that millisecond.
            if n < 256 {
                var pause = timespec(tv_sec: 0, tv_nsec: 1_000_000)
                nanosleep(&pause, nil)
            }
            let measuring = monotonicNanoseconds() >= measureFrom
            if measuring, serverTicksAtStart == nil, let serverPID { serverTicksAtStart = cpuTicks(serverPID) }
            readReady(Int(n), measuring: measuring)
        }
        let serverTicksAtEnd = serverPID.flatMap(cpuTicks)
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let cpu = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
        latencies.sort()
        func pct(_ p: Double) -> Double {
            latencies.isEmpty ? -1 : Double(latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]) / 1e6
        }
        let measured = Double(end - measureFrom) / 1e9
        // Behind: what each client had not received of the events published by the end (the
        // newest id any client saw), counted from its first id while measuring; a client that
        // received nothing while measuring is counted apart.
        var starved = 0
        var behind = 0
        for c in clients {
            if c.firstID == 0 { starved += 1 } else { behind += maxID - c.lastID }
        }
        print("client CPU: \((cpu * 100).rounded() / 100) s")
        print("fanout clients: \(connections), connected \(connected), failed \(failed), closed by the server \(closed)")
        print("events received in \((measured * 10).rounded() / 10) s of measuring: \(received) (\(Int(Double(received) / measured)) /s), "
            + "missed (id gaps) \(missed), not yet received at the end \(behind), clients that received nothing \(starved); latency samples \(latencies.count): p50 \(pct(0.5)) ms, p99 \(pct(0.99)) ms, max \(pct(1.0)) ms")
        if let a = serverTicksAtStart, let b = serverTicksAtEnd, received > 0 {
            let serverCPU = Double(b - a) / Double(sysconf(Int32(_SC_CLK_TCK)))
            // One line for the scripts: server CPU s, µs per delivered event, µs per client-second.
            print("server cost: cpu \(serverCPU) s, us/event \(serverCPU * 1e6 / Double(received)), "
                + "us/client-second \(serverCPU * 1e6 / (Double(connected) * measured)), events \(received), seconds \(measured)")
        }
    }

    /// utime + stime of a process, in clock ticks (/proc/PID/stat fields 14 and 15).
    static func cpuTicks(_ pid: Int32) -> Int? {
        let fd = open("/proc/\(pid)/stat", O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 1024)
        let n = read(fd, &buffer, buffer.count)
        guard n > 0, let paren = buffer[0..<n].lastIndex(of: UInt8(ascii: ")")) else { return nil }
        // Fields after the command name: state is field 3, so utime (14) and stime (15) are the 12th and 13th.
        let fields = buffer[(paren + 2)..<n].split(separator: UInt8(ascii: " "))
        guard fields.count > 12, let u = Int(String(decoding: fields[11], as: UTF8.self)),
            let s = Int(String(decoding: fields[12], as: UTF8.self))
        else { return nil }
        return u + s
    }

    static func decimal(_ line: UnsafeRawBufferPointer, from start: Int) -> Int {
        var value = 0
        for i in start..<line.count {
            let d = Int(line[i]) - 48
            guard d >= 0 && d <= 9 else { break }
            value = value * 10 + d
        }
        return value
    }

    static func realtimeNanoseconds() -> Int {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int(ts.tv_sec) * 1_000_000_000 + Int(ts.tv_nsec)
    }

    static func monotonicNanoseconds() -> Int {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int(ts.tv_sec) * 1_000_000_000 + Int(ts.tv_nsec)
    }
}
