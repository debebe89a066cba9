import Testing
@testable import RESP

private func b(_ s: String) -> RESPValue { .bulkString(Array(s.utf8)) }

/// Reply shapes as Redis 7 sends them, decoded without a server (the round trips against a real
/// server are in the integration suite).
@Suite struct StreamReplyDecodingTests {
    @Test func xreadgroupRESP3MapAndRESP2Array() throws {
        let entry = RESPValue.array([b("1-0"), .array([b("job"), b("42"), b("kind"), b("video")])])
        let deleted = RESPValue.array([b("2-0"), .null])
        let resp3 = RESPValue.map([RESPPair(b("jobs"), .array([entry, deleted]))])
        let resp2 = RESPValue.array([.array([b("jobs"), .array([entry, deleted])])])
        for reply in [resp3, resp2] {
            let reads = try StreamDecodingProbe.decodeStreamReads(reply, command: "XREADGROUP")
            #expect(reads.count == 1)
            #expect(reads[0].stream == "jobs")
            #expect(reads[0].entries[0].id == "1-0")
            #expect(reads[0].entries[0].string("job") == "42")
            #expect(reads[0].entries[0]["kind"] == Array("video".utf8))
            #expect(!reads[0].entries[0].isDeleted)
            #expect(reads[0].entries[1].isDeleted)
        }
        #expect(try StreamDecodingProbe.decodeStreamReads(.null, command: "XREADGROUP").isEmpty)
    }

    @Test func malformedEntryIsUnexpectedReply() {
        #expect(throws: RESPClientError.self) {
            try StreamDecodingProbe.decodeStreamReads(.map([RESPPair(b("s"), .array([.array([b("1-0"), .array([b("odd")])])]))]),
                                                      command: "XREADGROUP")
        }
    }

    @Test func trimOptionsEncode() {
        var cmd = RESPCommand("XADD", "s")
        RESPStreamTrim.maxLength(1000).append(to: &cmd, limit: 100)
        RESPStreamTrim.minID("5-0", approximate: false).append(to: &cmd, limit: 100)
        #expect(cmd.bytes == RESPCommand("XADD", "s", "MAXLEN", "~", "1000", "LIMIT", "100", "MINID", "5-0").bytes)
    }

    @Test func serverErrorCodes() {
        #expect(RESPServerError(line: "NOPERM User u has no permissions to run the 'set' command")
            == RESPServerError(code: "NOPERM", message: "User u has no permissions to run the 'set' command"))
        #expect(RESPServerError(line: "BUSYGROUP Consumer Group name already exists").code == "BUSYGROUP")
        #expect(RESPServerError(line: "ERR").code == "ERR")
        #expect(RESPServerError(line: "Error 42").code == "")
    }
}

/// The stream-reply decoder is a static on the protocol extension; reach it through a conforming type.
struct StreamDecodingProbe: RESPCommandExecutor {
    func execute(_ command: RESPCommand, timeout: RESPTimeout) async throws -> RESPValue { .null }
    func pipeline(_ commands: [RESPCommand], timeout: RESPTimeout) async throws -> [RESPValue] { [] }
}
