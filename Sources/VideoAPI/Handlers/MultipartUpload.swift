import VideoCore
import HTTPServer
import Synchronization

/// Streams the `file` part of a `multipart/form-data` body into storage without holding it:
/// `readUntilFile` parses up to the file part's headers (small text fields before it are kept),
/// then `FileContent` — the sequence handed to `Storage.put` — yields the part's bytes as they
/// arrive and parses what follows (text fields after the file, the closing boundary). It ends
/// only at the closing boundary, so a truncated body fails the put and nothing is stored.
///
/// Both read the same request body one after the other: the body is a channel the connection
/// fills on demand, so the second iterator continues where the first stopped.
enum MultipartUpload {
    /// Text fields (e.g. `title`) are small; anything larger is not a form field we use.
    static let maximumFieldBytes = 8 * 1024

    struct Head: Sendable {
        var file: MultipartParser.PartHeaders
        var fields: [String: String]
    }

    /// Text fields that came after the file part, filled while storage consumes `FileContent`.
    final class Trailer: Sendable {
        private let state = Mutex<[String: String]>([:])
        var fields: [String: String] { state.withLock { $0 } }
        func set(_ name: String, _ value: String) { state.withLock { if $0[name] == nil { $0[name] = value } } }
    }

    static func readUntilFile(body: HTTPRequestBody, parser: inout MultipartParser) async throws -> Head {
        var fields: [String: String] = [:]
        var field: (name: String, bytes: [UInt8])?
        var chunks = body.makeAsyncIterator()
        while true {
            guard let event = try parser.next() else {
                guard let chunk = try await chunks.next() else {
                    throw APIError(.validationFailed, "the multipart body has no file part (a field named \"file\")")
                }
                parser.feed(chunk)
                continue
            }
            switch event {
            case .partBegin(let headers):
                if headers.name == "file" { return Head(file: headers, fields: fields) }
                field = (headers.name, [])
            case .bodyChunk(let bytes):
                guard field != nil else { continue }
                field!.bytes += bytes
                guard field!.bytes.count <= maximumFieldBytes else {
                    throw APIError(.payloadTooLarge, "form field \(RequestText.shown(field!.name)) is longer than \(maximumFieldBytes) bytes")
                }
            case .partEnd:
                if let f = field, fields[f.name] == nil { fields[f.name] = String(decoding: f.bytes, as: UTF8.self) }
                field = nil
            case .end:
                throw APIError(.validationFailed, "the multipart body has no file part (a field named \"file\")")
            }
        }
    }

    struct FileContent: AsyncSequence, Sendable {
        typealias Element = [UInt8]
        let body: HTTPRequestBody
        let parser: MultipartParser
        let trailer: Trailer

        func makeAsyncIterator() -> Iterator {
            Iterator(chunks: body.makeAsyncIterator(), parser: parser, trailer: trailer)
        }

        struct Iterator: AsyncIteratorProtocol {
            var chunks: HTTPRequestBody.AsyncIterator
            var parser: MultipartParser
            let trailer: Trailer
            var inFile = true
            var field: (name: String, bytes: [UInt8])?

            mutating func next() async throws -> [UInt8]? {
                while true {
                    guard let event = try parser.next() else {
                        guard let chunk = try await chunks.next() else {
                            try parser.finish()  // throws: the body ended before the closing boundary
                            return nil
                        }
                        parser.feed(chunk)
                        continue
                    }
                    switch event {
                    case .bodyChunk(let bytes):
                        if inFile { return bytes }
                        guard field != nil else { continue }
                        field!.bytes += bytes
                        guard field!.bytes.count <= MultipartUpload.maximumFieldBytes else {
                            throw APIError(.payloadTooLarge, "form field \(RequestText.shown(field!.name)) is longer than \(MultipartUpload.maximumFieldBytes) bytes")
                        }
                    case .partEnd:
                        if inFile {
                            inFile = false
                        } else if let f = field {
                            trailer.set(f.name, String(decoding: f.bytes, as: UTF8.self))
                            field = nil
                        }
                    case .partBegin(let headers):
                        if headers.name == "file" { throw APIError(.badRequest, "only one file part is accepted") }
                        field = (headers.name, [])
                    case .end:
                        return nil
                    }
                }
            }
        }
    }
}
