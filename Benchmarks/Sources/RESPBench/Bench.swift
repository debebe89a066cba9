// RESPBench: vidd's RESP client vs redis-benchmark on the same server, run side by side.
//
//   swift run -c release RESPBench [--url redis://:pw@127.0.0.1:6379] [--requests 100000] [--runs 5]
//
// Each round runs, back to back: our SET and GET on one connection unpipelined, then 16 deep, and
// `redis-benchmark -c 1 -n N -d 3 -t set,get [-P 16]` against the same server. Prints each round and
// the medians with the ratio ours / redis-benchmark. The client runs on the event loop's thread
// (Task(executorPreference: EventLoop.shared)), as vidd does.
#if canImport(Glibc)
import Glibc
#endif
import Reactor
import RESP

struct Options {
    var url = "redis://127.0.0.1:6379"
    var requests = 100_000
    var runs = 5
    var depth = 16
    /// `--no-peer`: run only our client (for profiling).
    var peer = true
    /// `--only SET|GET`: one command (with --no-peer, for profiling one reply type).
    var only: String?

    init() {
        var args = CommandLine.arguments.dropFirst()
        while let a = args.popFirst() {
            switch a {
            case "--url": url = args.popFirst() ?? url
            case "--requests": requests = Int(args.popFirst() ?? "") ?? requests
            case "--runs": runs = Int(args.popFirst() ?? "") ?? runs
            case "--depth": depth = Int(args.popFirst() ?? "") ?? depth
            case "--no-peer": peer = false
            case "--only": only = args.popFirst()
            default: fatalError("unknown argument \(a)")
            }
        }
    }
}

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Ops/s of `requests` SETs (or GETs) through one connection, `depth` per pipeline (1 = unpipelined).
func ours(_ conn: RESPConnection, command: String, requests: Int, depth: Int) async throws -> Double {
    let value: [UInt8] = Array("xxx".utf8)   // redis-benchmark's default -d 3
    let start = now()
    if depth == 1 {
        for _ in 0..<requests {
            if command == "SET" {
                _ = try await conn.execute(RESPCommand("SET", "key:__rand_int__", value), timeout: .default)
            } else {
                _ = try await conn.execute(RESPCommand("GET", "key:__rand_int__"), timeout: .default)
            }
        }
    } else {
        let batch = (0..<depth).map { _ in
            command == "SET" ? RESPCommand("SET", "key:__rand_int__", value) : RESPCommand("GET", "key:__rand_int__")
        }
        for _ in 0..<(requests / depth) {
            _ = try await conn.pipeline(batch, timeout: .default)
        }
    }
    return Double(requests) / (now() - start)
}

/// redis-benchmark's requests per second for SET and GET (CSV output).
func peer(_ config: RESPConfiguration, requests: Int, depth: Int) -> [String: Double] {
    guard case .tcp(let host, let port) = config.endpoint else { fatalError("redis-benchmark needs TCP") }
    var cmd = "redis-benchmark -h \(host) -p \(port) -c 1 -n \(requests) -d 3 -t set,get --csv"
    if depth > 1 { cmd += " -P \(depth)" }
    if let pw = config.password { cmd += " -a '\(pw)'" }
    if let user = config.username { cmd += " --user '\(user)'" }
    cmd += " 2>/dev/null"
    guard let pipe = popen(cmd, "r") else { fatalError("cannot run redis-benchmark") }
    var output = ""
    var buf = [CChar](repeating: 0, count: 4096)
    while fgets(&buf, Int32(buf.count), pipe) != nil {
        output += String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
    pclose(pipe)
    var result: [String: Double] = [:]
    for line in output.split(separator: "\n") {
        let fields = line.split(separator: ",").map { $0.trimmingCharacters(in: "\"") }
        if fields.count >= 2, let rps = Double(fields[1]) { result[fields[0]] = rps }
    }
    return result
}

extension StringProtocol {
    func trimmingCharacters(in c: Character) -> String {
        var s = Substring(self)
        while s.first == c { s = s.dropFirst() }
        while s.last == c { s = s.dropLast() }
        return String(s)
    }
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// Everything runs here, not in main.swift's top level: a closure written there is inferred
/// @MainActor, and every `await` on the connection would then hop between the main thread and the
/// loop thread (measured: ~13 loop iterations per command instead of ~3).
func runBenchmark(_ options: Options) async throws {
    let config = try RESPConfiguration(url: options.url)
    let conn = try await RESPConnection.connect(config)
    var results: [String: [Double]] = [:]
    // Warm up (connection, server, code paths).
    _ = try await ours(conn, command: "SET", requests: 2000, depth: 1)
    for round in 1...options.runs {
        for depth in [1, options.depth] {
            let label = depth == 1 ? "" : " P\(depth)"
            for command in ["SET", "GET"] where options.only == nil || options.only == command {
                let ops = try await ours(conn, command: command, requests: options.requests, depth: depth)
                results["ours \(command)\(label)", default: []].append(ops)
            }
            guard options.peer else { continue }
            let p = peer(config, requests: options.requests, depth: depth)
            for command in ["SET", "GET"] {
                results["redis-benchmark \(command)\(label)", default: []].append(p[command] ?? .nan)
            }
        }
        print("round \(round):", results.keys.sorted().map { "\($0)=\(Int(results[$0]!.last!))" }.joined(separator: " "))
    }
    conn.close()
    guard options.peer else {
        for (k, v) in results.sorted(by: { $0.key < $1.key }) where k.hasPrefix("ours") { print(k, Int(median(v))) }
        return
    }
    print("\nmedians of \(options.runs) rounds, \(options.requests) requests each, one connection:")
    // The machine is shared and noisy: besides the ratio of medians, the median of per-round ratios
    // (each round runs ours and redis-benchmark back to back, so they share the same load).
    print("| test | vidd RESP ops/s | redis-benchmark ops/s | ratio of medians | median of per-round ratios |")
    print("|---|---:|---:|---:|---:|")
    for depth in [1, options.depth] {
        let label = depth == 1 ? "" : " P\(depth)"
        for command in ["SET", "GET"] {
            let os = results["ours \(command)\(label)"]!
            let ps = results["redis-benchmark \(command)\(label)"]!
            let o = median(os)
            let p = median(ps)
            let perRound = median(zip(os, ps).map { $0 / $1 })
            print("| \(command)\(depth == 1 ? " unpipelined" : " pipelined \(depth)") | \(Int(o)) | \(Int(p)) | \(format2(o / p))× | \(format2(perRound))× |")
        }
    }
}

func format2(_ x: Double) -> String {
    let r = (x * 100).rounded() / 100
    return String(r)
}

