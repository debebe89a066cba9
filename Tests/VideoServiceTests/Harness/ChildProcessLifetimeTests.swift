import Foundation
import Testing
import TestSupport

/// A test process that crashes or is killed takes the daemons it started with it
/// (`ChildProcess` starts them with a parent-death signal): a helper test process starts a child,
/// is SIGKILLed, and the child is gone.
@Suite struct ChildProcessLifetimeTests {
    /// Set only in the helper process, which this suite starts.
    static let helperPIDFile = ProcessInfo.processInfo.environment["VIDD_TEST_CHILD_PID_FILE"]

    /// The helper: starts a long child, says its pid, and waits to be killed.
    @Test(.enabled(if: helperPIDFile != nil, "runs only as the helper of childrenDieWithTheTestProcess"))
    func helperStartsAChildAndWaits() async throws {
        let child = try ChildProcess(["/bin/sleep", "600"], environment: [:], logPath: "/dev/null")
        try String(child.pid).write(toFile: try #require(Self.helperPIDFile), atomically: true, encoding: .utf8)
        try await Task.sleep(for: .seconds(600))
    }

    @Test func childrenDieWithTheTestProcess() async throws {
        let directory = NSTemporaryDirectory() + TestServices.uniqueName("child-lifetime")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pidFile = directory + "/child.pid"
        // This very test binary, running only the helper test.
        let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
        let helper = try ChildProcess([testBinary, "--testing-library", "swift-testing", "--filter", "ChildProcessLifetimeTests/helperStartsAChildAndWaits"],
                                      environment: ["VIDD_TEST_CHILD_PID_FILE": pidFile], logPath: directory + "/helper.log")
        var childPID: pid_t?
        defer {
            helper.signal(SIGKILL)
            if let childPID, Self.isRunning(childPID) { kill(childPID, SIGKILL) }
        }
        try await waitUntil("the helper to start its child", timeout: .seconds(60), context: { helper.log }) {
            childPID = (try? String(contentsOfFile: pidFile, encoding: .utf8)).flatMap { pid_t($0) }
            return childPID != nil
        }
        let child = try #require(childPID)
        #expect(Self.isRunning(child), "the helper's child runs while the helper does")

        helper.signal(SIGKILL)
        #expect(await helper.waitForExit(timeout: .seconds(10)) == 128 + SIGKILL)
        try await waitUntil("the helper's child to be gone once the helper was killed", timeout: .seconds(10)) { !Self.isRunning(child) }
    }

    /// A child starts with nothing blocked, whichever thread the test ran on (the pool's block
    /// SIGTERM): SIGTERM ends a program that does not handle it.
    @Test func sigtermReachesTheChild() async throws {
        let child = try ChildProcess(["/bin/sleep", "600"], environment: [:], logPath: "/dev/null")
        defer { child.signal(SIGKILL); _ = child.poll() }
        let status = try String(contentsOfFile: "/proc/\(child.pid)/status", encoding: .utf8)
        #expect(status.split(separator: "\n").contains("SigBlk:\t0000000000000000"), "\(status)")
        child.signal(SIGTERM)
        #expect(await child.waitForExit(timeout: .seconds(10)) == 128 + SIGTERM)
    }

    /// A child inherits only stdin, stdout and stderr, even when this process holds a descriptor
    /// without close-on-exec (a bound socket, say): a daemonized redis-server once kept another
    /// test's port-checking socket open and so its port, and that test's servers could not bind.
    @Test func childrenInheritNoOtherDescriptor() async throws {
        let leaked = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)  // deliberately not close-on-exec
        try #require(leaked >= 0)
        defer { close(leaked) }
        // `; :` keeps the shell from exec-ing ls in its place: the listing is the shell's table.
        let listing = try await TestProcess.run(["/bin/sh", "-c", "ls /proc/$$/fd; :"])
        #expect(Set(listing.text.split(separator: "\n")) == ["0", "1", "2"], "TestProcess: \(listing.text)")

        let child = try ChildProcess(["/bin/sleep", "600"], environment: [:], logPath: "/dev/null")
        defer { child.signal(SIGKILL); _ = child.poll() }
        // setpriv execs sleep in the same process: wait for that, then read its table.
        try await waitUntil("setpriv to exec sleep", timeout: .seconds(20)) {
            (try? String(contentsOfFile: "/proc/\(child.pid)/comm", encoding: .utf8)) == "sleep\n"
        }
        let fds = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(child.pid)/fd")
        #expect(Set(fds) == ["0", "1", "2"], "ChildProcess: \(fds)")
    }

    /// Ports for test servers come from below the ephemeral range (an outgoing connection cannot
    /// take one as its local port) and are never handed out twice.
    @Test func freePortsAreBelowTheEphemeralRangeAndDistinct() throws {
        let text = try String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)
        let low = try #require(text.split(whereSeparator: { $0.isWhitespace }).first.flatMap { Int($0) })
        let ports = try FreePorts.take(200) + (0..<50).map { _ in try FreePorts.one() }
        #expect(Set(ports).count == ports.count)
        #expect(ports.allSatisfy { $0 >= 10_000 && $0 < low }, "\(ports.filter { $0 >= low })")
    }

    /// Whether `pid` is a live process (not gone, not a zombie waiting to be reaped by init).
    static func isRunning(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let afterName = stat.split(separator: ")").last else { return false }
        let state = afterName.split(separator: " ").first
        return state != "Z" && state != "X"
    }
}
