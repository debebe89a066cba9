import Testing
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService
@testable import VideoWorker

@Suite struct DaemonCommandTests {
    @Test func commands() throws {
        #expect(try DaemonCommand.parse(["serve"]) == .serve(.init()))
        #expect(try DaemonCommand.parse(["serve", "--env-file", "/etc/vidd/vidd.env"]) == .serve(.init(environmentFile: "/etc/vidd/vidd.env")))
        #expect(try DaemonCommand.parse(["worker", "--concurrency=2", "--env-file=/e"]) == .worker(.init(environmentFile: "/e", concurrency: 2)))
        #expect(try DaemonCommand.parse(["all", "--concurrency", "3"]) == .all(.init(concurrency: 3)))
        #expect(try DaemonCommand.parse(["migrate"]) == .migrate(.init()))
        #expect(try DaemonCommand.parse(["probe", "clip.mp4", "--json"]) == .probe(arguments: ["clip.mp4", "--json"]))
        #expect(try DaemonCommand.parse(["transcode", "in.mp4", "out/", "--preset", "fast"]) == .transcode(arguments: ["in.mp4", "out/", "--preset", "fast"]))
        #expect(try DaemonCommand.parse(["version"]) == .version)
        #expect(try DaemonCommand.parse(["--version"]) == .version)
    }

    @Test(arguments: DaemonCommand.commands)
    func everyCommandHasHelp(command: String) throws {
        let text = try #require(DaemonCommand.help(for: command))
        #expect(text.hasPrefix("usage: vidd \(command)"))
        #expect(try DaemonCommand.parse([command, "--help"]) == .help(text))
        #expect(try DaemonCommand.parse([command, "-h"]) == .help(text))
        #expect(try DaemonCommand.parse(["help", command]) == .help(text))
        #expect(DaemonCommand.usage.contains("  \(command) "))
    }

    @Test func generalHelp() throws {
        #expect(try DaemonCommand.parse([]) == .help(DaemonCommand.usage))
        #expect(try DaemonCommand.parse(["--help"]) == .help(DaemonCommand.usage))
        #expect(DaemonCommand.help(for: "serve")!.contains("VIDD_REDIS_URL"))
    }

    @Test(arguments: [
        (["bogus"], "unknown command bogus"),
        (["serve", "--concurrency", "2"], "serve: unexpected argument --concurrency"),
        (["worker", "--concurrency", "0"], "--concurrency must be a whole number from 1 to 64, not 0"),
        (["worker", "--env-file"], "--env-file needs a value"),
        (["migrate", "extra"], "migrate: unexpected argument extra"),
        (["probe"], "probe needs a FILE"),
        (["transcode", "in.mp4"], "transcode needs INPUT and OUTPUT_DIR"),
        (["version", "x"], "version takes no arguments"),
        (["help", "nope"], "no command nope"),
    ])
    func usageErrors(arguments: [String], message: String) {
        do {
            let parsed = try DaemonCommand.parse(arguments)
            Issue.record("\(arguments) parsed as \(parsed)")
        } catch {
            #expect(error.message == message)
            #expect(error.description.contains("usage: vidd"))
        }
    }
}
