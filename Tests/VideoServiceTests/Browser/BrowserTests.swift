import Foundation
import Testing
import TestSupport

/// The web app's browser tests (`Tests/Browser`, Python + Playwright driving Debian's chromium)
/// as part of `swift test`: they start the `vidd` binary built beside this test bundle against the
/// services of scripts/services.sh. The pytest run's output is this test's failure message.
///
/// Alone: `scripts/test.sh --filter BrowserTests`, or `.venv/bin/python -m pytest Tests/Browser`
/// with the services' variables exported (README.md, "Browser tests").
@Suite struct BrowserTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    @Test func theWebAppPassesItsBrowserTests() async throws {
        guard try TestServices.require(TestServices.postgresURL, "VIDD_TEST_PG_URL") != nil,
              try TestServices.require(TestServices.redisURL, "VIDD_TEST_REDIS_URL") != nil else { return }
        let venv = TestServices.env("VIDD_VENV") ?? Self.root.appendingPathComponent(".venv").path
        let python = venv + "/bin/python"
        let chromium = TestServices.env("VIDD_CHROMIUM") ?? "/usr/bin/chromium"
        for (path, what) in [(python, "the project's Python virtualenv (scripts/install-deps.sh)"), (chromium, "Debian's chromium (scripts/install-deps.sh)")] {
            guard FileManager.default.isExecutableFile(atPath: path) else {
                if TestServices.isCI { Issue.record("\(what) is missing: \(path)") }
                else { print("\n*** SKIPPED: \(what) is missing: \(path) ***\n") }
                return
            }
        }
        let binary = ProcessInfo.processInfo.environment["VIDD_BINARY"]
            ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("vidd").path
        // pytest inherits the services' variables from this process; env(1) adds the binary's path
        // (setenv here could race other tests' reads of the environment).
        let result = try await TestProcess.run(["env", "VIDD_BINARY=\(binary)", python, "-m", "pytest",
                                                Self.root.appendingPathComponent("Tests/Browser").path, "-q", "-p", "no:cacheprovider", "--durations=5"])
        let output = result.text + String(decoding: result.errorOutput, as: UTF8.self)
        // The summary line ("11 passed in 70.1s") in this run's log, whatever the outcome.
        print(output.split(separator: "\n").suffix(12).joined(separator: "\n"))
        #expect(result.status == 0, "pytest Tests/Browser failed (status \(result.status)):\n\(output)")
        #expect(output.contains(" passed") || !TestServices.isCI, "no browser test ran:\n\(output)")
    }
}
