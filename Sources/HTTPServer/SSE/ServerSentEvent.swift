/// One event of a `text/event-stream` (WHATWG HTML §9.2 "Server-sent events").
public struct ServerSentEvent: Sendable, Equatable {
    public var event: String?
    public var data: String
    public var id: String?
    /// Reconnection time the browser should use, in milliseconds.
    public var retry: Int?

    public init(event: String? = nil, data: String, id: String? = nil, retry: Int? = nil) {
        self.event = event
        self.data = data
        self.id = id
        self.retry = retry
    }

    /// The wire form. Data is split on every line break the parser recognizes (CRLF, CR, LF) into
    /// `data:` lines, so a payload cannot inject fields; `event` and `id` lose their line breaks
    /// (and `id` its NULs, which make browsers ignore the id), for the same reason.
    public var encoded: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(data.utf8.count + 32)
        if let event {
            out.append(contentsOf: "event: ".utf8)
            out.append(contentsOf: event.utf8.filter { $0 != CR && $0 != LF })
            out.append(LF)
        }
        if let id {
            out.append(contentsOf: "id: ".utf8)
            out.append(contentsOf: id.utf8.filter { $0 != CR && $0 != LF && $0 != 0 })
            out.append(LF)
        }
        if let retry, retry >= 0 {
            out.append(contentsOf: "retry: \(retry)\n".utf8)
        }
        let bytes = Array(data.utf8)
        var start = 0
        var i = 0
        while true {
            if i == bytes.count || bytes[i] == CR || bytes[i] == LF {
                out.append(contentsOf: "data: ".utf8)
                out.append(contentsOf: bytes[start..<i])
                out.append(LF)
                if i == bytes.count { break }
                if bytes[i] == CR, i + 1 < bytes.count, bytes[i + 1] == LF { i += 1 }
                start = i + 1
            }
            i += 1
        }
        out.append(LF)
        return out
    }

    /// A comment line: ignored by EventSource, keeps proxies and NATs from timing the stream out, and
    /// makes a write fail soon after the client went away.
    public static func comment(_ text: String = "") -> [UInt8] {
        var out: [UInt8] = [0x3A]
        if !text.isEmpty {
            out.append(SP)
            out.append(contentsOf: text.utf8.filter { $0 != CR && $0 != LF })
        }
        out.append(contentsOf: [LF, LF])
        return out
    }
}
