import Foundation
import Reactor
import Testing
import TestSupport
@testable import VideoCore

/// `scripts/run.sh` as a user runs it from a terminal, with this test's services (so it starts no
/// Redis or PostgreSQL of its own) and the debug binary instead of a release build.
@Suite(.serialized) struct RunScriptTests {
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
