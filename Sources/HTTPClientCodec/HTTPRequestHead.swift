/// The start line and headers of an HTTP/1.1 request, and their wire encoding.
public struct HTTPRequestHead: Sendable {
    public var method: String
    /// Origin-form target, already percent-encoded (`/bucket/key?x=y`).
    public var target: String
    public var headers: HTTPHeaders

    public init(method: String, target: String, headers: HTTPHeaders) {
        self.method = method
        self.target = target
        self.headers = headers
    }

    /// `METHOD target HTTP/1.1\r\n` + fields + `\r\n`. Throws on bytes that would let a value
    /// end the header early (CR, LF, NUL) or a malformed name.
    public func encode() throws(HTTPMessageError) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(256 + headers.count * 48)
        guard Self.isToken(method) else { throw .invalidRequest("method \(method)") }
        guard !target.utf8.contains(where: { $0 <= 0x20 || $0 >= 0x7f }) else { throw .invalidRequest("target \(target)") }
        out.append(contentsOf: method.utf8)
        out.append(0x20)
        out.append(contentsOf: target.utf8)
        out.append(contentsOf: " HTTP/1.1\r\n".utf8)
        for field in headers {
            guard Self.isToken(field.name) else { throw .invalidRequest("header name \(field.name)") }
            guard !field.value.utf8.contains(where: { $0 == 0x0d || $0 == 0x0a || $0 == 0 }) else {
                throw .invalidRequest("header value of \(field.name) contains CR, LF or NUL")
            }
            out.append(contentsOf: field.name.utf8)
            out.append(contentsOf: ": ".utf8)
            out.append(contentsOf: field.value.utf8)
            out.append(contentsOf: "\r\n".utf8)
        }
        out.append(contentsOf: "\r\n".utf8)
        return out
    }

    static func isToken(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.allSatisfy { HTTPResponseParser.isTokenByte($0) }
    }
}
