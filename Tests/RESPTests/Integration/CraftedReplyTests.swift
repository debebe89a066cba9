import Reactor
import RESP
import Testing

@Suite struct CraftedReplyTests {
    @Test func typesRedis7CannotProduce() async throws {
        let replies = [
            "$?\r\n;5\r\nHello\r\n;6\r\n world\r\n;0\r\n",
            "*?\r\n:1\r\n%?\r\n+k\r\n#f\r\n.\r\n.\r\n",
            "|1\r\n+key-popularity\r\n,0.5\r\n:42\r\n",
            "(12345678901234567890123456789\r\n",
            "=8\r\ntxt:abcd\r\n",
            "!14\r\nCUSTOM details\r\n",
            ",-inf\r\n",
            "~2\r\n+a\r\n_\r\n",
        ]
        let server = try await ScriptedServer(replies: replies)
        defer { server.stop() }
        let conn = try await RESPConnection.connect(server.configuration)
        defer { conn.close() }
        #expect(try await conn.send("A") == .bulkString(Array("Hello world".utf8)))
        #expect(try await conn.send("B") == .array([.integer(1), .map([RESPPair(.simpleString("k"), .boolean(false))])]))
        let attributed = try await conn.send("C")
        #expect(attributed == .attributed(attributes: [RESPPair(.simpleString("key-popularity"), .double(0.5))], value: .integer(42)))
        #expect(attributed.int == 42)
        #expect(try await conn.send("D") == .bigNumber("12345678901234567890123456789"))
        #expect(try await conn.send("E") == .verbatimString(format: "txt", text: Array("abcd".utf8)))
        do {
            try await conn.send("F")
            Issue.record("bulk error not thrown")
        } catch let e as RESPServerError {
            #expect(e == RESPServerError(code: "CUSTOM", message: "details", isBulk: true))
        }
        #expect(try await conn.send("G") == .double(-.infinity))
        #expect(try await conn.send("H") == .set([.simpleString("a"), .null]))
    }

    /// An error reply preceded by a RESP3 attribute is thrown, not returned as a value.
    @Test func anErrorAfterAnAttributeIsThrown() async throws {
        let server = try await ScriptedServer(replies: ["|1\r\n+trace\r\n:7\r\n-ERR boom\r\n", "|1\r\n+trace\r\n:7\r\n!4\r\nOOPS\r\n"])
        defer { server.stop() }
        let conn = try await RESPConnection.connect(server.configuration)
        defer { conn.close() }
        await #expect(throws: RESPServerError(code: "ERR", message: "boom")) { try await conn.send("A") }
        await #expect(throws: RESPServerError(code: "OOPS", message: "", isBulk: true)) { try await conn.send("B") }
        #expect(!conn.isClosed)
    }

    @Test func pushBetweenRepliesGoesToHandlerNotToCommand() async throws {
        let server = try await ScriptedServer(replies: [
            ">3\r\n+message\r\n+ch\r\n+payload\r\n+first\r\n",
            ">2\r\n+invalidate\r\n*1\r\n+key\r\n:2\r\n",
        ])
        defer { server.stop() }
        let conn = try await RESPConnection.connect(server.configuration)
        defer { conn.close() }
        let log = PushLog()
        conn.setPushHandler { log.append($0) }
        #expect(try await conn.send("ONE") == .simpleString("first"))
        #expect(try await conn.send("TWO") == .integer(2))
        #expect(log.values.count == 2)
        #expect(log.values.first?.elements?.first?.string == "message")
    }

    @Test func garbageFromServerClosesWithProtocolError() async throws {
        let server = try await ScriptedServer(replies: ["?what\r\n"])
        defer { server.stop() }
        let conn = try await RESPConnection.connect(server.configuration)
        defer { conn.close() }
        do {
            try await conn.send("X")
            Issue.record("garbage accepted")
        } catch let e as RESPClientError {
            guard case .protocolError(let d) = e else { Issue.record("wrong error \(e)"); return }
            #expect(d.kind == .unknownType(UInt8(ascii: "?")))
        }
        #expect(conn.isClosed)
    }
}
