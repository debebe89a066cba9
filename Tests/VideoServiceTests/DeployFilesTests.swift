#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService
@testable import VideoWorker

/// deploy/: the systemd units and the sample EnvironmentFile say what docs/service.md promises.
@Suite struct DeployFilesTests {
    static let root: String = {
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/")
    }()

    static func read(_ relative: String) throws -> String {
        guard let f = fopen(root + "/" + relative, "rb") else { throw FileFixture.Failure(description: "cannot open \(relative)") }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 8192)
        while true {
            let n = fread(&chunk, 1, chunk.count, f)
            if n == 0 { break }
            bytes += chunk[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `Key=Value` lines of a unit's [Service] section (keys may repeat).
    static func serviceSection(_ unit: String) -> [(String, String)] {
        var inService = false
        var out: [(String, String)] = []
        for line in unit.split(separator: "\n") {
            if line.hasPrefix("[") { inService = line == "[Service]"; continue }
            guard inService, !line.hasPrefix("#"), let eq = line.firstIndex(of: "=") else { continue }
            out.append((String(line[..<eq]), String(line[line.index(after: eq)...])))
        }
        return out
    }

    @Test(arguments: [("deploy/vidd.service", "serve"), ("deploy/vidd-worker@.service", "worker")])
    func unitsAreHardenedNotifyServices(path: String, command: String) throws {
        let s = Self.serviceSection(try Self.read(path))
        func value(_ key: String) -> String? { s.first { $0.0 == key }?.1 }
        #expect(value("Type") == "notify")
        #expect(value("ExecStart") == "/usr/local/bin/vidd \(command)")
        #expect(value("EnvironmentFile") == "/etc/vidd/vidd.env")
        #expect(value("WatchdogSec") != nil)
        for (key, expected) in [("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"), ("ProtectHome", "yes"), ("PrivateTmp", "yes"),
                                ("ReadWritePaths", "/var/lib/vidd"), ("User", "vidd")] {
            #expect(value(key) == expected, "\(path): \(key)")
        }
        // The worker's stop timeout must exceed the default shutdown grace (30 s).
        let stop = try #require(value("TimeoutStopSec"))
        #expect((Int(stop.dropLast()) ?? 0) > 30)
        // Every DaemonCommand the unit runs parses.
        let args = try #require(value("ExecStart")).split(separator: " ").dropFirst().map(String.init)
        #expect(throws: Never.self) { try DaemonCommand.parse(args) }
    }

    @Test func sampleEnvironmentFileIsValid() throws {
        let env = try EnvironmentFile.parse(try Self.read("deploy/vidd.env"))
        #expect(env["VIDD_LISTEN"] == "127.0.0.1:8080")
        let c = try Configuration.load(from: env)
        #expect(c.storage == .file(directory: "/var/lib/vidd/storage"))
        #expect(!c.redactedSummary.map(\.1).joined().contains("change-me"), "passwords are redacted")
    }

    /// The sample names every setting vidd reads (set, or commented out with its default), so an
    /// operator finds private playback, tus, webhooks… there; and each commented line loads.
    @Test func sampleEnvironmentFileNamesEverySetting() throws {
        let text = try Self.read("deploy/vidd.env")
        let named = Set(text.matches(of: try Regex(#"^#?(VIDD_[A-Z0-9_]+)="#).anchorsMatchLineEndings()).compactMap {
            $0.output[1].substring.map(String.init)
        })
        let known = try KubernetesManifestTests.knownSettings()
        #expect(known.subtracting(named).isEmpty, "settings vidd reads that deploy/vidd.env does not name: \(known.subtracting(named).sorted())")
        #expect(named.subtracting(known).isEmpty, "settings deploy/vidd.env names that vidd does not read: \(named.subtracting(known).sorted())")
        // Every commented example loads (uncommented, over the file's own values).
        var env = try EnvironmentFile.parse(text)
        for line in text.split(separator: "\n") where line.hasPrefix("#VIDD_") {
            let pair = line.dropFirst().split(separator: "=", maxSplits: 1)
            env[String(pair[0])] = pair.count > 1 ? String(pair[1]) : ""
        }
        #expect(throws: Never.self) { try Configuration.load(from: env) }
    }
}
