@testable import Reactor
@testable import RESP
import Synchronization

/// A loopback server for replies a real Redis cannot be made to send, or not at a chosen moment.
/// Not a Redis mock: it exercises only the wire codec and the reply routing of a real connection.
/// It answers HELLO, counts the commands it receives, answers each with the next of `replies`
/// (canned raw bytes: the RESP3 types Redis 7 never sends) while any are left, and otherwise sends
/// what the test says when the test says it, so a test can hold replies back and decide who is
/// waiting when they arrive.
final class ScriptedServer: Sendable {
    let listener: Listener
    private let state = Mutex<(connection: Connection?, commands: Int, ended: Bool, replies: [String])>((nil, 0, false, []))

    init(replies: [String] = []) async throws {
        state.withLock { $0.replies = replies }
        listener = try await Listener.bind(host: "127.0.0.1", port: 0)
        let listener = self.listener
        Task(executorPreference: EventLoop.shared) { [self] in
            guard let conn = try? await listener.accept() else { return }
            state.withLock { $0.connection = conn }
            await Self.answerHello(on: conn) { _ in
                let canned = state.withLock { s -> String? in
                    s.commands += 1
                    return s.replies.isEmpty ? nil : s.replies.removeFirst()
                }
                if let canned { try await conn.write(Array(canned.utf8)) }
                return true
            }
            state.withLock { $0.ended = true }
        }
    }

    /// Reads commands from `conn`: answers the first (the client's HELLO) with a RESP3 map, then
    /// hands each further command to `handle` until it returns false, the peer closes or a read
    /// or write fails.
    static func answerHello(on conn: Connection, then handle: (RESPValue) async throws -> Bool) async {
        var reader = RESPReader()
        var buffer = ByteBuffer()
        var helloAnswered = false
        do {
            while true {
                try await conn.read(into: &buffer)
                reader.feed(buffer.readableBytesView)
                buffer.clear()
                while let command = try reader.next() {
                    if helloAnswered {
                        guard try await handle(command) else { return }
                    } else {
                        helloAnswered = true
                        try await conn.write(Array("%1\r\n+proto\r\n:3\r\n".utf8))
                    }
                }
            }
        } catch {}
    }

    var port: Int { listener.port }
    var configuration: RESPConfiguration {
        var c = RESPConfiguration(endpoint: .tcp(host: "127.0.0.1", port: port))
        c.commandTimeout = .seconds(10)
        return c
    }
    /// Commands received after HELLO.
    var commands: Int { state.withLock { $0.commands } }
    /// The client's end of stream was read.
    var ended: Bool { state.withLock { $0.ended } }

    func send(_ raw: String) async throws {
        try await state.withLock { $0.connection }!.write(Array(raw.utf8))
    }

    /// Sends a FIN but goes on reading, so a command written after it would still be counted.
    func halfClose() async throws {
        try await state.withLock { $0.connection }!.shutdownWrite()
    }

    func stop() {
        listener.close()
        state.withLock { $0.connection }?.close()
    }
}
