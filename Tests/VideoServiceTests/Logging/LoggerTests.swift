import FoundationEssentials
import Testing
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService
@testable import VideoWorker

@Suite struct LoggerTests {
    func logger(_ format: LogFormat, level: LogLevel = .info, secrets: [String] = []) -> (Logger, LogSink) {
        let sink = LogSink.memory()
        return (Logger(level: level, format: format, redactor: Redactor(secrets: secrets), sink: sink, clock: { "2026-11-29T06:00:00.000Z" }), sink)
    }

    @Test func logfmtLineCarriesTheVideoID() {
        let (log, sink) = logger(.logfmt)
        let job = log.with("video_id", "0f8e3c9a-1111-4222-8333-444455556666")
        job.info("job started", ["attempt": "1", "source_key": "source/x/my clip.mp4"])
        job.warning("quote \" and = sign")
        #expect(sink.lines == [
            "time=2026-11-29T06:00:00.000Z level=info msg=\"job started\" video_id=0f8e3c9a-1111-4222-8333-444455556666 attempt=1 source_key=\"source/x/my clip.mp4\"",
            "time=2026-11-29T06:00:00.000Z level=warning msg=\"quote \\\" and = sign\" video_id=0f8e3c9a-1111-4222-8333-444455556666",
        ])
    }

    @Test func jsonLineIsValidJSON() throws {
        let (log, sink) = logger(.json)
        log.with("video_id", "v1").error("failed\nbadly", ["error": "tab\there"])
        let line = try #require(sink.lines.first)
        let object = try JSONDecoder().decode([String: String].self, from: Data(line.utf8))
        #expect(object == ["time": "2026-11-29T06:00:00.000Z", "level": "error", "msg": "failed\nbadly", "video_id": "v1", "error": "tab\there"])
    }

    @Test func levelsBelowTheThresholdAreDropped() {
        let (log, sink) = logger(.logfmt, level: .warning)
        log.debug("d"); log.info("i"); log.warning("w"); log.error("e")
        #expect(sink.lines.map { $0.contains("msg=w") || $0.contains("msg=e") } == [true, true])
    }

    @Test func secretsNeverReachALine() {
        let (log, sink) = logger(.logfmt, secrets: ["tok-0123456789abcdef"])
        log.error("connect redis://:hunter2@r:6379 failed", ["token": "tok-0123456789abcdef"])
        let line = sink.lines.joined()
        #expect(!line.contains("hunter2") && !line.contains("tok-0123456789abcdef"))
        #expect(line.contains("redis://:***@r:6379") && line.contains("token=***"))
    }

    @Test func withReplacesAField() {
        let (log, sink) = logger(.logfmt)
        log.with("video_id", "a").with("video_id", "b").info("x")
        #expect(sink.lines == ["time=2026-11-29T06:00:00.000Z level=info msg=x video_id=b"])
    }
}

@Suite struct TimestampTests {
    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00.000Z"),
        (Int64(951_782_400_000), "2000-02-29T00:00:00.000Z"),
        (Int64(1_795_933_544_123), "2026-11-29T06:25:44.123Z"),
        (Int64(-1), "1969-12-31T23:59:59.999Z"),
        (Int64(4_102_444_799_999), "2099-12-31T23:59:59.999Z"),
    ])
    func rfc3339(ms: Int64, text: String) {
        #expect(Timestamp.rfc3339(milliseconds: ms) == text)
        #expect(Timestamp.milliseconds(rfc3339: text) == ms, "and back")
    }
}
