// S3Bench: S3Lite beside `aws s3 cp` (awscli) and botocore, against the same S3 server.
//
//   S3Bench sign [N]                 signing ops/s: S3Lite's SigV4Signer vs botocore's S3SigV4Auth
//   S3Bench rss-file SIZE_MIB        multipart upload from a file; SHA-256 verified; peak RSS above baseline
//   S3Bench rss-stream SIZE_MIB      upload from a stream of unknown length; same checks
//   S3Bench transfer SIZE_MIB RUNS   upload + download of SIZE_MIB: S3Lite vs aws s3 cp, medians and ratios
//   S3Bench upload SIZE_MIB RUNS     the same, uploads only
//
// Server and keys from VIDD_TEST_S3_ENDPOINT / _ACCESS_KEY / _SECRET_KEY / _REGION (as the tests).
import Foundation
import Reactor
import S3Lite



func env(_ name: String) -> String {
    guard let v = ProcessInfo.processInfo.environment[name], !v.isEmpty else {
        FileHandle.standardError.write("S3Bench: set \(name) (see scripts/services.sh)\n".data(using: .utf8)!)
        exit(2)
    }
    return v
}

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// Current and peak resident set size of this process, in MiB (from /proc/self/status).
func rss() -> (current: Double, peak: Double) {
    let text = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    func field(_ name: String) -> Double {
        for line in text.split(separator: "\n") where line.hasPrefix(name) {
            return Double(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? 0
        }
        return 0
    }
    return (field("VmRSS:") / 1024, field("VmHWM:") / 1024)
}

/// Resets the peak RSS counter so the next peak is the operation's own.
func resetPeakRSS() {
    let fd = open("/proc/self/clear_refs", O_WRONLY)
    if fd >= 0 { _ = write(fd, "5", 1); close(fd) }
}

func makeClient() throws -> S3Client {
    let config = try S3Configuration(
        endpoint: env("VIDD_TEST_S3_ENDPOINT"), region: ProcessInfo.processInfo.environment["VIDD_TEST_S3_REGION"] ?? "us-east-1",
        credentials: S3Credentials(accessKeyID: env("VIDD_TEST_S3_ACCESS_KEY"), secretAccessKey: env("VIDD_TEST_S3_SECRET_KEY")))
    var tuned = config
    // S3BENCH_UNSIGNED=1: UNSIGNED-PAYLOAD; S3BENCH_STREAMING=1: aws-chunked file bodies (the
    // default signs each body's SHA-256, a file read once to hash and once to send).
    if ProcessInfo.processInfo.environment["S3BENCH_UNSIGNED"] == "1" { tuned.payloadSigning = .unsigned }
    if ProcessInfo.processInfo.environment["S3BENCH_STREAMING"] == "1" { tuned.payloadSigning = .streaming }
    // S3BENCH_FILE_PARTS=N: file parts in flight (default maxConcurrentFileParts).
    if let n = ProcessInfo.processInfo.environment["S3BENCH_FILE_PARTS"].flatMap({ Int($0) }) { tuned.maxConcurrentFileParts = n }
    // S3BENCH_PART_MIB=N: preferred part size.
    if let n = ProcessInfo.processInfo.environment["S3BENCH_PART_MIB"].flatMap({ Int($0) }) { tuned.partSize = n << 20 }
    return S3Client(configuration: tuned)
}

/// Pseudo-random bytes, generated chunk by chunk (xorshift: cheap, incompressible enough).
struct Generator: AsyncSequence, Sendable {
    typealias Element = [UInt8]
    let total: Int
    let chunk: Int
    struct AsyncIterator: AsyncIteratorProtocol {
        let total: Int
        let chunk: Int
        var sent = 0
        var x: UInt64 = 0x9E37_79B9_7F4A_7C15
        mutating func next() async throws -> [UInt8]? {
            guard sent < total else { return nil }
            let n = Swift.min(chunk, total - sent)
            var out = [UInt8](repeating: 0, count: n)
            out.withUnsafeMutableBytes { raw in
                for i in stride(from: 0, to: n - 7, by: 8) {
                    x ^= x << 13; x ^= x >> 7; x ^= x << 17
                    raw.storeBytes(of: x, toByteOffset: i, as: UInt64.self)
                }
            }
            sent += n
            return out
        }
    }
    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(total: total, chunk: chunk) }
}

/// Writes `mib` MiB of generated data to `path` 1 MiB at a time; returns its SHA-256.
func writeFile(_ path: String, mib: Int) async throws -> String {
    _ = FileManager.default.createFile(atPath: path, contents: nil)
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    var hasher = Crypto.SHA256()
    for try await chunk in Generator(total: mib << 20, chunk: 1 << 20) {
        hasher.update(chunk)
        try handle.write(contentsOf: chunk)
    }
    try handle.close()
    return Hex.encode(hasher.finalize())
}

func remoteSHA256(_ s3: S3Client, _ bucket: String, _ key: String) async throws -> String {
    var hasher = Crypto.SHA256()
    try await s3.getObject(bucket: bucket, key: key) { _, chunk in hasher.update(chunk) }
    return Hex.encode(hasher.finalize())
}

/// Runs a command, returning wall seconds and the child's peak RSS in MiB (wait4's rusage).
func runMeasured(_ args: [String], env extra: [String: String]) throws -> (seconds: Double, rssMiB: Double) {
    var environment = ProcessInfo.processInfo.environment
    for (k, v) in extra { environment[k] = v }
    let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    let argv = args.map { strdup($0) } + [nil]
    defer { (envp + argv).forEach { free($0) } }
    var pid: pid_t = 0
    let start = now()
    guard posix_spawnp(&pid, args[0], nil, nil, argv, envp) == 0 else { throw CocoaError(.executableNotLoadable) }
    var status: Int32 = 0
    var usage = rusage()
    _ = wait4(pid, &status, 0, &usage)
    let seconds = now() - start
    guard status == 0 else {
        print("command failed (status \(status)): \(args.joined(separator: " "))")
        exit(1)
    }
    return (seconds, Double(usage.ru_maxrss) / 1024)
}

// MARK: Modes

func signBench(iterations: Int) throws {
    let signer = SigV4Signer(credentials: S3Credentials(accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"), region: "us-east-1")
    let request = SignableRequest(method: "PUT", host: "127.0.0.1:9000", path: "/bucket/videos/source file@1.mp4",
                                  query: [QueryItem("partNumber", "3"), QueryItem("uploadId", "abc/def+ghi")],
                                  headers: [("Content-Type", "video/mp4"), ("Content-Length", "8388608")])
    let payload = PayloadHash.sha256(Crypto.sha256(Array("x".utf8)))
    var oursRuns: [Double] = []
    var sink = 0
    for _ in 0..<5 {
        let t0 = now()
        for i in 0..<iterations {
            let signed = try signer.sign(request, payload: payload, date: SigningDate(secondsSince1970: 1_700_000_000 + Int64(i)))
            sink &+= signed.signature.utf8.count
        }
        oursRuns.append(Double(iterations) / (now() - t0))
    }
    let script = """
    import time, datetime, hashlib
    import botocore.auth as auth
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    creds = Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    signer = S3SigV4Auth(creds, "s3", "us-east-1")
    payload = hashlib.sha256(b"x").hexdigest()
    signer.payload = lambda request: payload
    n = \(iterations / 10)
    rates = []
    for run in range(5):
        t0 = time.perf_counter()
        for i in range(n):
            auth.get_current_datetime = lambda: datetime.datetime(2023, 11, 14, 22, 13, i % 60)
            r = AWSRequest(method="PUT", url="http://127.0.0.1:9000/bucket/videos/source%20file%401.mp4",
                           params=[("partNumber", "3"), ("uploadId", "abc/def+ghi")],
                           headers={"Content-Type": "video/mp4", "Content-Length": "8388608"})
            signer.add_auth(r)
        rates.append(n / (time.perf_counter() - t0))
    rates.sort()
    print(rates[2])
    """
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "-c", script]
    let out = Pipe()
    p.standardOutput = out
    try p.run()
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    let boto = Double(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    let ours = median(oursRuns)
    print(String(format: "sign: S3Lite %.0f ops/s (median of 5 x %d), botocore %.0f ops/s (median of 5 x %d), ratio %.1fx  [sink %d]",
                 ours, iterations, boto, iterations / 10, ours / boto, sink % 10))
}

func rssBench(mib: Int, fromStream: Bool) async throws {
    let s3 = try makeClient()
    let bucket = "s3bench-rss-\(getpid())"
    try await s3.createBucket(bucket)
    let path = NSTemporaryDirectory() + "s3bench-\(getpid()).bin"
    var expected = ""
    if !fromStream { expected = try await writeFile(path, mib: mib) } else {
        var h = Crypto.SHA256()
        for try await c in Generator(total: mib << 20, chunk: 256 * 1024) { h.update(c) }
        expected = Hex.encode(h.finalize())
    }
    let baseline = rss().current
    resetPeakRSS()
    let t0 = now()
    if fromStream {
        try await s3.putObject(bucket: bucket, key: "big", from: Generator(total: mib << 20, chunk: 256 * 1024))
    } else {
        try await s3.putObject(bucket: bucket, key: "big", file: path)
    }
    let seconds = now() - t0
    let peak = rss().peak
    let actual = try await remoteSHA256(s3, bucket, "big")
    try await s3.deleteObject(bucket: bucket, key: "big")
    try await s3.deleteBucket(bucket)
    try? FileManager.default.removeItem(atPath: path)
    let ok = actual == expected
    print(String(format: "rss-%@ %d MiB: %.1f s (%.1f MiB/s), sha256 %@, baseline RSS %.1f MiB, peak %.1f MiB, peak above baseline %.1f MiB (limit 64) %@",
                 fromStream ? "stream" : "file", mib, seconds, Double(mib) / seconds, ok ? "match" : "MISMATCH",
                 baseline, peak, peak - baseline, ok && peak - baseline < 64 ? "PASS" : "FAIL"))
    if !ok || peak - baseline >= 64 { exit(1) }
}

func transferBench(mib: Int, runs: Int, downloads: Bool = true) async throws {
    let s3 = try makeClient()
    let endpoint = env("VIDD_TEST_S3_ENDPOINT")
    let bucket = "s3bench-xfer-\(getpid())"
    try await s3.createBucket(bucket)
    let src = NSTemporaryDirectory() + "s3bench-src-\(getpid()).bin"
    let dst = NSTemporaryDirectory() + "s3bench-dst-\(getpid()).bin"
    let expected = try await writeFile(src, mib: mib)
    let awsEnv = ["AWS_ACCESS_KEY_ID": env("VIDD_TEST_S3_ACCESS_KEY"), "AWS_SECRET_ACCESS_KEY": env("VIDD_TEST_S3_SECRET_KEY"),
                  "AWS_DEFAULT_REGION": ProcessInfo.processInfo.environment["VIDD_TEST_S3_REGION"] ?? "us-east-1"]
    var ours: (up: [Double], down: [Double], upRSS: [Double], downRSS: [Double]) = ([], [], [], [])
    var aws: (up: [Double], down: [Double], upRSS: [Double], downRSS: [Double]) = ([], [], [], [])
    for run in 1...runs {
        // S3Lite
        var base = rss().current
        resetPeakRSS()
        var t0 = now()
        try await s3.putObject(bucket: bucket, key: "ours", file: src)
        ours.up.append(now() - t0)
        ours.upRSS.append(rss().peak - base)
        guard try await remoteSHA256(s3, bucket, "ours") == expected else { print("S3Lite upload mismatch"); exit(1) }
        if downloads {
            base = rss().current
            resetPeakRSS()
            t0 = now()
            try await s3.getObject(bucket: bucket, key: "ours", toFile: dst)
            ours.down.append(now() - t0)
            ours.downRSS.append(rss().peak - base)
            guard try await writeCheck(dst, expected) else { print("S3Lite download mismatch"); exit(1) }
        }
        try await s3.deleteObject(bucket: bucket, key: "ours")
        // aws s3 cp (whole process RSS: Python's own baseline is part of its cost)
        let up = try runMeasured(["aws", "s3", "cp", "--only-show-errors", "--endpoint-url", endpoint, src, "s3://\(bucket)/aws"], env: awsEnv)
        aws.up.append(up.seconds)
        aws.upRSS.append(up.rssMiB)
        guard try await remoteSHA256(s3, bucket, "aws") == expected else { print("aws upload mismatch"); exit(1) }
        if downloads {
            let down = try runMeasured(["aws", "s3", "cp", "--only-show-errors", "--endpoint-url", endpoint, "s3://\(bucket)/aws", dst], env: awsEnv)
            aws.down.append(down.seconds)
            aws.downRSS.append(down.rssMiB)
            guard try await writeCheck(dst, expected) else { print("aws download mismatch"); exit(1) }
        }
        try await s3.deleteObject(bucket: bucket, key: "aws")
        print(String(format: "run %d: S3Lite up %.1f s down %.1f s | aws up %.1f s down %.1f s", run,
                     ours.up.last!, ours.down.last ?? 0, aws.up.last!, aws.down.last ?? 0))
    }
    try await s3.deleteBucket(bucket)
    try? FileManager.default.removeItem(atPath: src)
    try? FileManager.default.removeItem(atPath: dst)
    let mb = Double(mib)
    print(String(format: "upload %d MiB:   S3Lite median %.1f s (%.1f MiB/s, peak RSS +%.1f MiB) | aws s3 cp %.1f s (%.1f MiB/s, process RSS %.0f MiB) | throughput ratio %.2fx",
                 mib, median(ours.up), mb / median(ours.up), ours.upRSS.max()!, median(aws.up), mb / median(aws.up), aws.upRSS.max()!,
                 median(aws.up) / median(ours.up)))
    guard downloads else { return }
    print(String(format: "download %d MiB: S3Lite median %.1f s (%.1f MiB/s, peak RSS +%.1f MiB) | aws s3 cp %.1f s (%.1f MiB/s, process RSS %.0f MiB) | throughput ratio %.2fx",
                 mib, median(ours.down), mb / median(ours.down), ours.downRSS.max()!, median(aws.down), mb / median(aws.down), aws.downRSS.max()!,
                 median(aws.down) / median(ours.down)))
}

func writeCheck(_ path: String, _ expected: String) async throws -> Bool {
    let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
    var hasher = Crypto.SHA256()
    while let data = try handle.read(upToCount: 1 << 20), !data.isEmpty { hasher.update(Array(data)) }
    try handle.close()
    return Hex.encode(hasher.finalize()) == expected
}

let args = CommandLine.arguments
switch args.count > 1 ? args[1] : "" {
case "sign": try signBench(iterations: args.count > 2 ? Int(args[2])! : 100_000)
case "rss-file": try await rssBench(mib: Int(args[2])!, fromStream: false)
case "rss-stream": try await rssBench(mib: Int(args[2])!, fromStream: true)
case "transfer": try await transferBench(mib: Int(args[2])!, runs: args.count > 3 ? Int(args[3])! : 3)
case "upload": try await transferBench(mib: Int(args[2])!, runs: args.count > 3 ? Int(args[3])! : 3, downloads: false)
default:
    print("usage: S3Bench sign [N] | rss-file MiB | rss-stream MiB | transfer MiB [runs] | upload MiB [runs]")
    exit(2)
}
