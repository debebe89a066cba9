import Foundation
import PGWire
import RESP
import S3Lite
import TestSupport
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService
@testable import VideoWorker

/// The real `vidd` binary against the real services, for end-to-end tests: one fresh database,
/// Redis names of its own (stream, group, progress keys and channels), and its own storage
/// (a temporary directory, or a fresh bucket on the S3 test server). Processes it starts are
/// killed and reaped by `cleanup()`.
final class ServiceUnderTest: @unchecked Sendable {
    enum Backend { case file, s3 }

    let name: String
    /// The server's superuser URL: the test database is created and dropped through it.
    let adminURL: String
    let databaseURL: String
    let redisURL: String
    let storageDirectory: String
    let bucket: String?
    let environment: [String: String]
    let keys: Configuration.KeyNames
    private let lock = NSLock()
    private var processes: [ChildProcess] = []

    /// nil when the services are missing (locally: a loud skip; in CI `require` fails the test).
    /// `redisURL`/`postgresURL` replace the shared servers (a Sentinel cluster, a primary with a
    /// standby, a server of the test's own); `databaseURL` turns the new database's name into
    /// vidd's URL (default: the admin URL with the database replaced); `s3Endpoint` replaces the
    /// shared S3 server's (a fault proxy in front of it).
    static func make(_ prefix: String, backend: Backend = .file, settings: [String: String] = [:],
                     redisURL redisOverride: String? = nil, postgresURL postgresOverride: String? = nil,
                     databaseURL makeDatabaseURL: (@Sendable (String) -> String)? = nil,
                     s3Endpoint: String? = nil) async throws -> ServiceUnderTest? {
        guard let pgURL = try postgresOverride ?? TestServices.require(TestServices.postgresURL, "VIDD_TEST_PG_URL"),
              let redisURL = try redisOverride ?? TestServices.require(TestServices.redisURL, "VIDD_TEST_REDIS_URL") else { return nil }
        var s3: (endpoint: String, access: String, secret: String, region: String)?
        if backend == .s3 {
            guard let endpoint = try s3Endpoint ?? TestServices.require(TestServices.s3Endpoint, "VIDD_TEST_S3_ENDPOINT") else { return nil }
            s3 = (endpoint, TestServices.s3AccessKey ?? "", TestServices.s3SecretKey ?? "", TestServices.s3Region)
        }
        let name = TestServices.uniqueName(prefix).lowercased().replacing("-", with: "_")
        let admin = try await PGConnection.connect(url: pgURL)
        _ = try await admin.simpleQuery("CREATE DATABASE \(name)") as [[String?]]
        await admin.close()
        guard let slash = pgURL.lastIndex(of: "/") else { throw Failure("no database in \(pgURL)") }
        let databaseURL = makeDatabaseURL?(name) ?? String(pgURL[..<slash] + "/" + name)

        let storage = NSTemporaryDirectory() + "vidd-e2e-" + name
        try FileManager.default.createDirectory(atPath: storage, withIntermediateDirectories: true)
        var keys = Configuration.KeyNames()
        keys.jobStream = "\(name):jobs"
        keys.consumerGroup = "\(name):workers"
        keys.deadLetterStream = "\(name):jobs:dead"
        keys.progressKeyPrefix = "\(name):progress:"
        keys.progressChannelPrefix = "\(name):progress:"
        keys.progressAllChannel = "\(name):progress:all"
        var env: [String: String] = [
            "VIDD_LISTEN": "127.0.0.1:0",
            "VIDD_DATABASE_URL": String(databaseURL),
            "VIDD_REDIS_URL": redisURL,
            "VIDD_STORAGE": "file://" + storage,
            // Workers sweep their work root of dead workers' directories: never the shared /tmp.
            "VIDD_WORK_DIR": storage + "/work",
            "VIDD_JOB_STREAM": keys.jobStream,
            "VIDD_JOB_GROUP": keys.consumerGroup,
            "VIDD_DEAD_LETTER_STREAM": keys.deadLetterStream,
            "VIDD_PROGRESS_KEY_PREFIX": keys.progressKeyPrefix,
            "VIDD_PROGRESS_CHANNEL_PREFIX": keys.progressChannelPrefix,
            "VIDD_PROGRESS_ALL_CHANNEL": keys.progressAllChannel,
            "VIDD_X264_PRESET": "ultrafast",
            "VIDD_LEASE_SECONDS": "5",
            "VIDD_MAX_ATTEMPTS": "2",
            "VIDD_SHUTDOWN_GRACE_SECONDS": "10",
            "VIDD_LOG_LEVEL": "debug",
        ]
        var bucket: String?
        if let s3 {
            let b = "e2e-" + name.replacing("_", with: "-").suffix(40).trimmingCharacters(in: CharacterSet(charactersIn: "-"))
            bucket = b
            env["VIDD_STORAGE"] = "s3"
            env["VIDD_S3_ENDPOINT"] = s3.endpoint
            env["VIDD_S3_ACCESS_KEY"] = s3.access
            env["VIDD_S3_SECRET_KEY"] = s3.secret
            env["VIDD_S3_REGION"] = s3.region
            env["VIDD_S3_BUCKET"] = b
        }
        env.merge(settings) { _, new in new }
        let sut = ServiceUnderTest(name: name, adminURL: pgURL, databaseURL: String(databaseURL), redisURL: redisURL,
                                   storageDirectory: storage, bucket: bucket, environment: env, keys: keys)
        if bucket != nil { try await sut.createBucket() }
        return sut
    }

    private init(name: String, adminURL: String, databaseURL: String, redisURL: String, storageDirectory: String, bucket: String?,
                 environment: [String: String], keys: Configuration.KeyNames) {
        self.name = name
        self.adminURL = adminURL
        self.databaseURL = databaseURL
        self.redisURL = redisURL
        self.storageDirectory = storageDirectory
        self.bucket = bucket
        self.environment = environment
        self.keys = keys
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    /// `.build/debug/vidd`, beside the test bundle.
    static var binary: String {
        if let override = ProcessInfo.processInfo.environment["VIDD_BINARY"] { return override }
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        return bundle.appendingPathComponent("vidd").path
    }

    /// A daemon running `command`; for the API, its port once it listens.
    struct Daemon {
        let process: ChildProcess
        let port: Int?
        var base: String { "http://127.0.0.1:\(port ?? 0)" }
    }

    func start(_ command: String = "all", settings: [String: String] = [:]) async throws -> Daemon {
        let index = lock.withLock { processes.count }
        let log = NSTemporaryDirectory() + "vidd-e2e-\(name)-\(index)-\(command).log"
        let env = environment.merging(settings) { _, new in new }
        let process = try ChildProcess([Self.binary, command], environment: env, logPath: log)
        lock.withLock { processes.append(process) }
        var port: Int?
        if command == "all" || command == "serve" {
            guard let line = await process.waitForLog("msg=listening", timeout: .seconds(60)),
                  let p = line.split(separator: " ").first(where: { $0.hasPrefix("port=") }).flatMap({ Int($0.dropFirst(5)) })
            else { throw Failure("vidd \(command) did not start listening; log:\n\(process.log)") }
            port = p
        } else {
            guard await process.waitForLog("msg=started", timeout: .seconds(60)) != nil else {
                throw Failure("vidd \(command) did not start; log:\n\(process.log)")
            }
        }
        return Daemon(process: process, port: port)
    }

    /// Every daemon started so far.
    var daemons: [ChildProcess] { lock.withLock { processes } }

    var logs: String { lock.withLock { processes }.map { "--- \($0.arguments.joined(separator: " ")) (\($0.logPath))\n" + $0.log }.joined(separator: "\n") }

    func cleanup() async {
        for p in lock.withLock({ processes }) { await p.kill9() }
        if let admin = try? await PGConnection.connect(url: adminURL) {
            _ = try? await admin.simpleQuery("DROP DATABASE IF EXISTS \(name) WITH (FORCE)") as [[String?]]
            await admin.close()
        }
        if let redis = try? RESPClient(url: redisURL) {
            _ = try? await redis.send("DEL", keys.jobStream, keys.deadLetterStream)
            await redis.shutdown()
        }
        try? FileManager.default.removeItem(atPath: storageDirectory)
    }

    // MARK: Talking to it

    struct Response {
        var status: Int
        var body: Data
        var headers: [String: String]
        var json: [String: Any] { ((try? JSONSerialization.jsonObject(with: body)) as? [String: Any]) ?? [:] }
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// One request with curl; `arguments` are curl's (e.g. `--data-binary @file`, `-F file=@…`).
    func request(_ daemon: Daemon, _ method: String, _ path: String, _ arguments: [String] = []) async throws -> Response {
        let headerFile = NSTemporaryDirectory() + "vidd-e2e-h-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: headerFile) }
        let r = try await TestProcess.run(["curl", "-sS", "--max-time", "120", "-X", method, "-D", headerFile,
                                           "-H", "Expect:"] + arguments + [daemon.base + path])
        guard r.status == 0 else { throw Failure("curl \(method) \(path) failed: \(String(decoding: r.errorOutput, as: UTF8.self))") }
        let head = (try? String(contentsOfFile: headerFile, encoding: .utf8)) ?? ""
        // The last response's head (curl writes interim 100 heads first).
        let block = head.components(separatedBy: "\r\n\r\n").last(where: { $0.hasPrefix("HTTP/") }) ?? ""
        let lines = block.components(separatedBy: "\r\n")
        let status = lines.first.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            if let colon = line.firstIndex(of: ":") {
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return Response(status: status, body: r.output, headers: headers)
    }

    /// Uploads `file` as a raw body; returns the new video's id.
    func upload(_ daemon: Daemon, fixture: String, name: String? = nil) async throws -> String {
        let r = try await request(daemon, "POST", "/jobs?name=\(name ?? fixture)",
                                  ["-H", "Content-Type: video/mp4", "--data-binary", "@" + Self.fixture(fixture)])
        guard r.status == 202, let id = Self.videoID(r.json) else { throw Failure("upload of \(fixture): \(r.status) \(r.text)") }
        return id
    }

    static func videoID(_ json: [String: Any]) -> String? {
        (json["id"] as? String) ?? ((json["video"] as? [String: Any])?["id"] as? String)
    }

    static func fixture(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)").path
    }

    /// GET /videos/{id} until its status is one of `statuses`.
    func waitForStatus(_ daemon: Daemon, _ id: String, _ statuses: Set<String>, timeout: Duration = .seconds(180)) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + timeout
        var last: [String: Any] = [:]
        while ContinuousClock.now < deadline {
            let r = try await request(daemon, "GET", "/videos/\(id)")
            last = r.json
            if let s = (last["status"] as? String) ?? ((last["video"] as? [String: Any])?["status"] as? String), statuses.contains(s) {
                return last
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw Failure("video \(id) never reached \(statuses); last: \(last)\n\(logs)")
    }

    /// Waits until a worker is transcoding `id` (its progress key says so).
    func waitUntilTranscoding(_ id: String) async throws {
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            let json = try await redis { try await $0.send("GET", keys.progressKey(id)).string }
            if let json, json.contains("\"stage\":\"transcoding\""), !json.contains("\"percent\":0,") { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw Failure("\(id) never started transcoding\n\(logs)")
    }

    /// `scripts/run.sh ARGS` as a user starts it in a terminal: a process group of its own (so
    /// `signalGroup(SIGINT)` is a Ctrl-C), this test's services and settings, and the debug binary
    /// (`VIDD_BINARY`) instead of a release build.
    func startRunScript(_ arguments: [String] = [], settings: [String: String] = [:]) throws -> ChildProcess {
        let index = lock.withLock { processes.count }
        let log = NSTemporaryDirectory() + "vidd-e2e-\(name)-\(index)-run.sh.log"
        var env = environment.merging(settings) { _, new in new }
        env["VIDD_BINARY"] = Self.binary
        let script = URL(fileURLWithPath: Self.fixture("x")).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/run.sh").path
        let process = try ChildProcess([script] + arguments, environment: env, logPath: log, newProcessGroup: true)
        lock.withLock { processes.append(process) }
        return process
    }

    /// Rows of a query on this test's database.
    func query(_ sql: String, _ parameters: [String?] = []) async throws -> [[String?]] {
        let c = try await PGConnection.connect(url: databaseURL)
        defer { Task { await c.close() } }
        return try await c.query(sql, parameters)
    }

    func redis<R: Sendable>(_ body: (RESPClient) async throws -> R) async throws -> R {
        let client = try RESPClient(url: redisURL)
        do {
            let r = try await body(client)
            await client.shutdown()
            return r
        } catch {
            await client.shutdown()
            throw error
        }
    }

    /// The storage vidd uses, as the tests see it (same configuration).
    func storage() throws -> any Storage {
        try ServiceContext.makeStorage(try Configuration.load(from: environment))
    }

    /// A local file with the object's bytes (the object itself for the file backend).
    func localCopy(_ key: String) async throws -> String {
        if bucket == nil { return storageDirectory + "/" + key }
        let path = storageDirectory + "/copies/" + key
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(try await storage().get(key: key)).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// A fresh bucket on the S3 test server.
    private func createBucket() async throws {
        let configuration = try Configuration.load(from: environment)
        let client = try S3Client(configuration: S3Storage.clientConfiguration(configuration.s3!))
        try await client.createBucket(bucket!)
    }
}
