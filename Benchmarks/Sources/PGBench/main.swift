// PGWire vs postgres-nio, side by side in one process, against the same server and table.
//
//   scripts: see docs/benchmarks.md ("PGWire vs postgres-nio and pgbench") for the setup
//   (pgbench -i -s 1 creates pgbench_accounts with 100 000 rows) and the pgbench -S run.
//
// Usage: PGBench URL [roundTrips] [runs]
//   URL: postgres://user:password@127.0.0.1:port/db (plaintext; both clients use it alike)
import Logging
import NIOCore
import NIOPosix
import PGWire
import PostgresNIO
import Reactor
#if canImport(Glibc)
import Glibc
#endif

let args = CommandLine.arguments
guard args.count >= 2 else {
    print("usage: PGBench postgres://user:pw@host:port/db [roundTrips=20000] [runs=5]")
    exit(2)
}
let url = args[1]
let roundTrips = args.count > 2 ? Int(args[2])! : 20_000
let runs = args.count > 3 ? Int(args[3])! : 5
let config = try PGConfiguration(url: url)
guard case .tcp(let host, let port) = config.endpoint else { fatalError("TCP URL expected") }

func median(_ xs: [Double]) -> Double { let s = xs.sorted(); return s[s.count / 2] }

func time(_ body: () async throws -> Void) async rethrows -> Double {
    let start = ContinuousClock.now
    try await body()
    let d = ContinuousClock.now - start
    return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

/// Keys pgbench -S would pick: uniformly random accounts.
var generator = SystemRandomNumberGenerator()
let keys = (0..<roundTrips).map { _ in Int32.random(in: 1...100_000, using: &generator) }

// MARK: PGWire

let pgwire = try await withTaskExecutorPreference(Reactor.EventLoop.shared) { try await PGConnection.connect(config) }

func pgwireRoundTrips() async throws -> Double {
    try await withTaskExecutorPreference(Reactor.EventLoop.shared) {
        try await time {
            var sum = 0
            for k in keys {
                for try await row in try await pgwire.query("SELECT abalance FROM pgbench_accounts WHERE aid = $1", [k]) {
                    sum &+= Int(try row.decode(Int32.self, at: 0))
                }
            }
            precondition(sum != Int.min)
        }
    }
}

/// The same round trips through a pool of one connection (PGPool.withConnection per query),
/// as the service makes them.
/// Created only in that mode: its reaper timer would otherwise make the loop read the clock
/// on every turn of the other runs.
nonisolated(unsafe) var poolForBench: PGPool?

func poolRoundTrips() async throws -> Double {
    if poolForBench == nil {
        poolForBench = PGPool(configuration: config, options: { var o = PGPool.Options(); o.maxConnections = 1; return o }())
    }
    let pool = poolForBench!
    return try await withTaskExecutorPreference(Reactor.EventLoop.shared) {
        try await time {
            var sum = 0
            for k in keys {
                sum &+= try await pool.withConnection { c in
                    var s = 0
                    for try await row in try await c.query("SELECT abalance FROM pgbench_accounts WHERE aid = $1", [k]) {
                        s &+= Int(try row.decode(Int32.self, at: 0))
                    }
                    return s
                }
            }
            precondition(sum != Int.min)
        }
    }
}

func pgwireFetch() async throws -> Double {
    try await withTaskExecutorPreference(Reactor.EventLoop.shared) {
        try await time {
            var n = 0
            var total = 0
            for try await row in try await pgwire.query("SELECT aid, bid, abalance, filler FROM pgbench_accounts") {
                let (aid, bid, balance, filler) = try row.decode(Int32.self, Int32.self, Int32.self, String.self)
                total &+= Int(aid) &+ Int(bid) &+ Int(balance) &+ filler.utf8.count
                n += 1
            }
            precondition(n == 100_000, "expected 100000 rows (pgbench -i -s 1), got \(n)")
        }
    }
}

// MARK: postgres-nio

let logger = Logger(label: "pgbench")
let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let nio: PostgresConnection = try await PostgresConnection.connect(
    on: group.next(),
    configuration: .init(host: host, port: port, username: config.user, password: config.password,
                         database: config.database, tls: .disable),
    id: 1, logger: logger)

struct SelectBalance: PostgresPreparedStatement {
    static let sql = "SELECT abalance FROM pgbench_accounts WHERE aid = $1"
    typealias Row = Int32
    var aid: Int32
    func makeBindings() throws -> PostgresBindings {
        var b = PostgresBindings()
        b.append(aid)
        return b
    }
    func decodeRow(_ row: PostgresRow) throws -> Int32 { try row.decode(Int32.self) }
}

func nioRoundTrips() async throws -> Double {
    try await time {
        var sum = 0
        for k in keys {
            for try await balance in try await nio.execute(SelectBalance(aid: k), logger: logger) { sum &+= Int(balance) }
        }
        precondition(sum != Int.min)
    }
}

func nioFetch() async throws -> Double {
    try await time {
        var n = 0
        var total = 0
        let rows = try await nio.query("SELECT aid, bid, abalance, filler FROM pgbench_accounts", logger: logger)
        for try await (aid, bid, balance, filler) in rows.decode((Int32, Int32, Int32, String).self) {
            total &+= Int(aid) &+ Int(bid) &+ Int(balance) &+ filler.utf8.count
            n += 1
        }
        precondition(n == 100_000, "expected 100000 rows, got \(n)")
    }
}

// MARK: Run, interleaved so both see the same machine load

// PGBENCH_PGWIRE_ONLY=1: PGWire's round trips alone (for strace -c / perf of our side only).
if let only = getenv("PGBENCH_PGWIRE_ONLY"), String(cString: only) == "1" {
    func cpuSeconds() -> Double {
        var u = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &u)
        return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6
    }
    // Warm-up (prepare, caches): a short one, so that paired runs against `pgbench -t` (see
    // scripts/pg-bench.sh) measure the same few seconds of the machine.
    try await withTaskExecutorPreference(Reactor.EventLoop.shared) {
        for k in keys.prefix(2_000) {
            for try await row in try await pgwire.query("SELECT abalance FROM pgbench_accounts WHERE aid = $1", [k]) {
                _ = try row.decode(Int32.self, at: 0)
            }
        }
    }
    var t = [Double]()
    // PGBENCH_POOL=1: the round trips through PGPool.withConnection instead.
    let pooled = getenv("PGBENCH_POOL") != nil
    if pooled { _ = try await poolRoundTrips() }
    let cpu0 = cpuSeconds()
    for _ in 0..<runs { t.append(pooled ? try await poolRoundTrips() : try await pgwireRoundTrips()) }
    let cpuPerQuery = (cpuSeconds() - cpu0) / Double(runs * roundTrips) * 1e6
    print("PGWire alone: \(Int(Double(roundTrips) / median(t))) queries/s (median of \(runs)), \(Double(Int(cpuPerQuery * 10)) / 10) µs CPU per query")
    exit(0)
}

var rtPGWire = [Double](), rtNIO = [Double](), fPGWire = [Double](), fNIO = [Double]()
_ = try await pgwireRoundTrips(); _ = try await nioRoundTrips()  // warm-up: prepare, caches
_ = try await pgwireFetch(); _ = try await nioFetch()
for _ in 0..<runs {
    rtPGWire.append(try await pgwireRoundTrips())
    rtNIO.append(try await nioRoundTrips())
    fPGWire.append(try await pgwireFetch())
    fNIO.append(try await nioFetch())
}
let qpsPGWire = Double(roundTrips) / median(rtPGWire), qpsNIO = Double(roundTrips) / median(rtNIO)
func f(_ x: Double, _ d: Int = 0) -> String {
    var m = 1.0
    for _ in 0..<d { m *= 10 }
    let r = (x * m).rounded() / m
    return d == 0 ? String(Int(r)) : String(r)
}
print("prepared single-row SELECT, \(roundTrips) round trips on one connection, median of \(runs):")
print("  PGWire       \(f(qpsPGWire)) queries/s")
print("  postgres-nio \(f(qpsNIO)) queries/s")
print("  ratio PGWire/postgres-nio: \(f(qpsPGWire / qpsNIO, 2))x")
print("100 000-row fetch + decode (int4, int4, int4, text), median of \(runs):")
print("  PGWire       \(f(median(fPGWire) * 1000, 1)) ms")
print("  postgres-nio \(f(median(fNIO) * 1000, 1)) ms")
print("  ratio (postgres-nio time / PGWire time): \(f(median(fNIO) / median(fPGWire), 2))x")

await pgwire.close()
try await nio.closeGracefully()
try await group.shutdownGracefully()
