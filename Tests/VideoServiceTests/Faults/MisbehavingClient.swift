import Foundation

/// HTTP clients that misbehave on purpose — a body that stops mid-way, a body far over the
/// limit — on blocking sockets (`BlockingTCPClient`), each on a thread of its own so that no
/// cooperative thread ever blocks on them.
enum MisbehavingClient {
    struct Outcome: Sendable {
        /// What the server sent (possibly nothing).
        var response: String
        /// Seconds from the last byte sent until the server ended the connection; nil when it
        /// was still open when the client gave up.
        var closedAfter: Double?
        var status: Int? {
            guard response.hasPrefix("HTTP/1.1 ") else { return nil }
            return Int(response.dropFirst(9).prefix(3))
        }
    }

    /// Sends `head` and `body`, then nothing more, and waits up to `patience` seconds for the
    /// server to end the connection.
    static func stall(port: Int, head: String, body: [UInt8], patience: Int) async throws -> Outcome {
        try await onThread {
            let client = try BlockingTCPClient(host: "127.0.0.1", port: port, timeoutSeconds: patience)
            try client.send(head)
            try client.send(body)
            let sent = ContinuousClock.now
            do {
                let response = try client.receive { _ in false }  // returns at EOF
                return Outcome(response: String(decoding: response, as: UTF8.self), closedAfter: (ContinuousClock.now - sent).inSeconds)
            } catch let e as HarnessSocketError where e.code == EAGAIN || e.code == EWOULDBLOCK {
                return Outcome(response: "", closedAfter: nil)
            } catch {
                return Outcome(response: "", closedAfter: (ContinuousClock.now - sent).inSeconds)  // reset
            }
        }
    }

    /// Sends `head`, then `bodyBytes` in pieces (chunked-encoded when `chunked`), looking for an
    /// answer after each piece and stopping at the first; then waits up to `patience` seconds
    /// for a complete response head.
    static func push(port: Int, head: String, bodyBytes: Int, chunked: Bool = false, piece: Int = 64 << 10,
                     patience: Int = 10) async throws -> Outcome {
        try await onThread {
            let client = try BlockingTCPClient(host: "127.0.0.1", port: port, timeoutSeconds: patience)
            try client.send(head)
            var answer: [UInt8] = []
            var sent = 0
            let bytes = [UInt8](repeating: 0x61, count: piece)
            sending: while sent < bodyBytes || chunked {
                do {
                    if sent >= bodyBytes {
                        try client.send("0\r\n\r\n")
                        break sending
                    }
                    let n = min(piece, bodyBytes - sent)
                    if chunked { try client.send(String(n, radix: 16) + "\r\n") }
                    try client.send(Array(bytes[..<n]))
                    if chunked { try client.send("\r\n") }
                    sent += n
                    guard let now = try client.receiveAvailable() else { break sending }  // closed
                    answer += now
                    if !answer.isEmpty { break sending }
                } catch {
                    break sending  // the server stopped reading and reset: look for its answer below
                }
            }
            let closed = ContinuousClock.now
            if !answer.contains(subsequence: Array("\r\n\r\n".utf8)) {
                if let more = try? client.receive(until: { $0.contains(subsequence: Array("\r\n\r\n".utf8)) }) { answer += more }
            }
            return Outcome(response: String(decoding: answer, as: UTF8.self), closedAfter: (ContinuousClock.now - closed).inSeconds)
        }
    }

    /// `count` copies of `request` on connections of their own, all but the last byte sent
    /// first, then the last bytes in one quick pass: the server receives them as nearly at once
    /// as one machine can make it. Returns each answer's status (nil: none).
    static func simultaneous(port: Int, request: [UInt8], count: Int, patience: Int = 30) async throws -> [Int?] {
        try await onThread {
            let clients = try (0..<count).map { _ in try BlockingTCPClient(host: "127.0.0.1", port: port, timeoutSeconds: patience) }
            for c in clients { try c.send(Array(request.dropLast())) }
            for c in clients { try c.send([request.last!]) }
            return clients.map { c in
                let head = try? c.receive { $0.contains(subsequence: Array("\r\n\r\n".utf8)) }
                return head.flatMap { Outcome(response: String(decoding: $0, as: UTF8.self), closedAfter: nil).status }
            }
        }
    }

    private static func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
        }
    }
}

extension Array where Element == UInt8 {
    func contains(subsequence: [UInt8]) -> Bool {
        guard !subsequence.isEmpty, count >= subsequence.count else { return subsequence.isEmpty }
        return (0...(count - subsequence.count)).contains { i in self[i..<(i + subsequence.count)].elementsEqual(subsequence) }
    }
}
