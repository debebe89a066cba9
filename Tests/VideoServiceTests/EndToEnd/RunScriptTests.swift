import Foundation
import Reactor
import Testing
import TestSupport
@testable import VideoCore

/// `scripts/run.sh` as a user runs it from a terminal, with this test's services (so it starts no
/// Redis or PostgreSQL of its own) and the debug binary instead of a release build.
@Suite(.serialized) struct RunScriptTests {
    /// The URL appears once vidd answers on it. Ctrl-C reaches vidd from the terminal and again
    /// from the script's trap in the same moment: vidd takes them as one request to stop, so the
    /// running job finishes within the grace period instead of being cancelled. The S3 test
    /// server's virtualenv is not built (only the test command needs it).
    @Test func ctrlCLetsTheRunningJobFinishAndTheURLComesOnceServing() async throws {
        guard let sut = try await ServiceUnderTest.make("run-ctrlc", settings: ["VIDD_SHUTDOWN_GRACE_SECONDS": "120"]) else { return }
        do {
            let port = try FreePorts.one()
            let venv = sut.storageDirectory + "/venv-not-wanted"
            let script = try sut.startRunScript(settings: [
                "VIDD_LISTEN": "127.0.0.1:\(port)", "VIDD_VENV": venv, "VIDD_DATA_DIR": sut.storageDirectory + "/data",
            ])
            let line = try #require(await script.waitForLog("[run] vidd: http://", timeout: .seconds(120)), "no URL printed\n\(script.log)")
            #expect(line.contains("http://127.0.0.1:\(port)/"))
            let health = try await TestHTTPClient(port: port).get("/healthz")
            #expect(health.status == 200, "the URL is printed once vidd answers on it")

            let daemon = ServiceUnderTest.Daemon(process: script, port: port)
            let id = try await sut.upload(daemon, fixture: "landscape_720p.mp4")
            try await sut.waitUntilTranscoding(id)
            script.signalGroup(SIGINT)
            #expect(await script.waitForExit(timeout: .seconds(120)) == 0, "\(script.log)")
            let log = script.log
            #expect(!log.contains("second signal"), "one Ctrl-C is one signal\n\(log)")
            #expect(log.contains("msg=\"job done\""), "the job finished within the grace period\n\(log)")
            #expect(try await sut.query("SELECT status FROM videos WHERE id = $1::uuid", [id]) == [["completed"]])
            #expect(!FileManager.default.fileExists(atPath: venv), "run.sh built the test server's virtualenv")
        } catch {
            Issue.record("\(error)\n\(sut.logs)")
        }
        await sut.cleanup()
    }

    /// Port taken: no URL is printed, and the error names the setting to change.
    @Test func aTakenPortIsReportedWithTheSettingToChange() async throws {
        guard let sut = try await ServiceUnderTest.make("run-taken") else { return }
        do {
            let taken = try await Listener.bind(host: "127.0.0.1", port: 0)
            defer { taken.close() }
            let script = try sut.startRunScript(settings: [
                "VIDD_LISTEN": "127.0.0.1:\(taken.port)", "VIDD_VENV": sut.storageDirectory + "/venv",
                "VIDD_DATA_DIR": sut.storageDirectory + "/data",
            ])
            let status = await script.waitForExit(timeout: .seconds(120))
            let log = script.log
            #expect(status != nil && status != 0, "\(log)")
            #expect(!log.contains("vidd: http://"), "no URL for a server that is not there\n\(log)")
            #expect(log.contains("VIDD_LISTEN=127.0.0.1:\(taken.port)"), "the error names the setting\n\(log)")
            #expect(log.lowercased().contains("already in use"), "\(log)")
        } catch {
            Issue.record("\(error)\n\(sut.logs)")
        }
        await sut.cleanup()
    }
}
