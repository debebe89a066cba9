import Reactor
import RESP
import Testing

/// A loopback server that answers each command with the next canned reply (raw bytes), for the
/// RESP3 types Redis 7 never sends (streamed strings and aggregates, attributes, big numbers…).
/// Not a Redis mock: it exercises only the wire codec and the reply routing of a real connection.
final class CannedServer: Sendable {
    let listener: Listener
    let task: Task<Void, Never>

    init(replies: [String]) async throws {
        listener = try await Listener.bind(host: "127.0.0.1", port: 0)
        let listener = self.listener
        task = Task(executorPreference: EventLoop.shared) {
            guard let conn = try? await listener.accept() else { return }
            var reader = RESPReader()
            var buffer = ByteBuffer()
            var queue = ["%1\r\n+proto\r\n:3\r\n"] + replies   // HELLO first
            while !queue.isEmpty {
                do {
                    try await conn.read(into: &buffer)
                    reader.feed(buffer.readableBytesView)
                    buffer.clear()
                    var out: [UInt8] = []
                    while try reader.next() != nil, !queue.isEmpty {
                        out.append(contentsOf: Array(queue.removeFirst().utf8))
                    }
                    if !out.isEmpty { try await conn.write(out) }
                } catch {
                    break
                }
            }
            conn.close()
        }
    }

    var port: Int { listener.port }

    func stop() {
        listener.close()
        task.cancel()
    }
}

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
        let server = try await CannedServer(replies: replies)
        defer { server.stop() }
        let conn = try await RESPConnection.connect(RESPConfiguration(endpoint: .tcp(host: "127.0.0.1", port: server.port)))
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

    @Test func pushBetweenRepliesGoesToHandlerNotToCommand() async throws {
        let server = try await CannedServer(replies: [
            ">3\r\n+message\r\n+ch\r\n+payload\r\n+first\r\n",
            ">2\r\n+invalidate\r\n*1\r\n+key\r\n:2\r\n",
        ])
        defer { server.stop() }
        let conn = try await RESPConnection.connect(RESPConfiguration(endpoint: .tcp(host: "127.0.0.1", port: server.port)))
        defer { conn.close() }
        let log = PushLog()
        conn.setPushHandler { log.append($0) }
        #expect(try await conn.send("ONE") == .simpleString("first"))
        #expect(try await conn.send("TWO") == .integer(2))
        #expect(log.values.count == 2)
        #expect(log.values.first?.elements?.first?.string == "message")
    }

    @Test func garbageFromServerClosesWithProtocolError() async throws {
        let server = try await CannedServer(replies: ["?what\r\n"])
        defer { server.stop() }
        let conn = try await RESPConnection.connect(RESPConfiguration(endpoint: .tcp(host: "127.0.0.1", port: server.port)))
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
