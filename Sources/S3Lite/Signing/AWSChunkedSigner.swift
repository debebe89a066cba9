import Reactor

/// Signs the chunks of an aws-chunked (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD`) upload.
///
/// Each chunk's signature covers its bytes and the previous signature (starting from the seed
/// signature of the request headers), so a body of known length streams without being buffered
/// or hashed in advance. The body is `hex(size);chunk-signature=SIG\r\n<data>\r\n` per chunk,
/// ending with a zero-length chunk.
public struct AWSChunkedSigner: Sendable {
    let signingKey: [UInt8]
    let timestamp: String
    let scope: String
    public private(set) var previousSignature: String

    static let emptyHash = Hex.encode(Crypto.sha256([UInt8]()))

    init(signingKey: [UInt8], timestamp: String, scope: String, seedSignature: String) {
        self.signingKey = signingKey
        self.timestamp = timestamp
        self.scope = scope
        self.previousSignature = seedSignature
    }

    /// Signs the next chunk (empty for the final one) and returns its signature.
    public mutating func signChunk(_ data: some Collection<UInt8>) -> String {
        signChunk(sha256: Crypto.sha256(data))
    }

    /// Same, when the chunk's SHA-256 was computed elsewhere (e.g. while it was read).
    public mutating func signChunk(sha256 digest: [UInt8]) -> String {
        let sts = "AWS4-HMAC-SHA256-PAYLOAD\n\(timestamp)\n\(scope)\n\(previousSignature)\n\(Self.emptyHash)\n\(Hex.encode(digest))"
        let sig = Hex.encode(Crypto.hmacSHA256(key: signingKey, data: Array(sts.utf8)))
        previousSignature = sig
        return sig
    }

    /// The framing before a chunk's data: `hex(size);chunk-signature=SIG\r\n`.
    public mutating func chunkHeader(for data: some Collection<UInt8>) -> [UInt8] {
        let sig = signChunk(data)
        return Array("\(String(data.count, radix: 16));chunk-signature=\(sig)\r\n".utf8)
    }

    /// Length of the framed body for `payloadLength` bytes sent in chunks of `chunkSize`
    /// (the last one shorter), including the final empty chunk: the request's Content-Length.
    public static func encodedLength(payloadLength: Int, chunkSize: Int) -> Int {
        precondition(chunkSize > 0)
        func framed(_ n: Int) -> Int {
            String(n, radix: 16).utf8.count + ";chunk-signature=".utf8.count + 64 + 2 + n + 2
        }
        let full = payloadLength / chunkSize
        let rest = payloadLength % chunkSize
        return full * framed(chunkSize) + (rest > 0 ? framed(rest) : 0) + framed(0)
    }
}
