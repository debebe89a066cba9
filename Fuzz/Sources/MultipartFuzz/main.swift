// libFuzzer entry point for HTTPServer's MultipartParser (multipart/form-data request bodies).
// Build and run: scripts/fuzz.sh MultipartFuzz SECONDS (docs/reliability.md, "Fuzzing").
//
// Input: one control byte, then the body. Bits 6–7 of the control byte pick the boundary, bits 0–5
// the size of the pieces (1–64 bytes) the body is fed in. Besides "does not crash", on every input:
// - the result does not depend on how the body is split: fed whole and fed in pieces, the same
//   parts (headers and content), the same end, the same verdict (refused or not; which refusal may
//   differ);
// - the events follow the grammar (partBegin bodyChunk* partEnd)* end?: no empty chunk, nothing
//   after end, at most maximumParts parts, and finish() succeeds exactly when end was seen;
// - content streams: fed in pieces, no chunk is longer than a piece plus the delimiter (a byte is
//   handed out once it cannot start a delimiter);
// - parts never reach outside the body: a part's content never contains the delimiter, and the
//   contents are disjoint slices of the body in order (each found after the previous one ended).
import HTTPServer

/// Chosen by the control byte: a one-letter boundary, one that is all dashes (its delimiter
/// overlaps the closing "--"), a self-overlapping one, and a browser-like one.
private let boundaries = ["b", "-", "ab-ab", "----vidd7MA4YWxkTrZu0gW"]
private let maximumParts = 8
private let maximumHeaderBytes = 128

private struct Part: Equatable {
    var headers: MultipartParser.PartHeaders
    var content: [UInt8]
}

/// What must not depend on how the body was split.
private struct Outcome: Equatable {
    var parts: [Part] = []
    var ended = false
    var refused = false
}

private func run(_ body: UnsafeBufferPointer<UInt8>, boundary: String, pieceSize: Int) -> Outcome {
    var parser = MultipartParser(boundary: boundary)
    parser.maximumParts = maximumParts
    parser.maximumHeaderBytes = maximumHeaderBytes
    let delimiterLength = boundary.utf8.count + 4
    var outcome = Outcome()
    var current: Part?
    var position = 0
    repeat {
        let end = min(position + pieceSize, body.count)
        parser.feed(body[position..<end])
        position = end
        do {
            while let event = try parser.next() {
                precondition(!outcome.ended, "an event after end: \(event)")
                switch event {
                case .partBegin(let headers):
                    precondition(current == nil, "partBegin inside a part")
                    current = Part(headers: headers, content: [])
                case .bodyChunk(let chunk):
                    precondition(current != nil, "bodyChunk outside a part")
                    precondition(!chunk.isEmpty, "empty bodyChunk")
                    precondition(chunk.count <= pieceSize + delimiterLength - 1, "a chunk of \(chunk.count) bytes from pieces of \(pieceSize): content was held back")
                    current!.content += chunk
                case .partEnd:
                    precondition(current != nil, "partEnd outside a part")
                    outcome.parts.append(current!)
                    current = nil
                case .end:
                    precondition(current == nil, "end inside a part")
                    outcome.ended = true
                }
            }
        } catch {
            _ = error.description
            outcome.refused = true
            return outcome
        }
    } while position < body.count
    precondition(outcome.parts.count <= maximumParts, "more than maximumParts parts")
    do {
        try parser.finish()
        precondition(outcome.ended, "finish() accepted a body without its closing boundary")
    } catch {
        precondition(!outcome.ended, "finish() refused a body whose closing boundary was seen")
    }
    return outcome
}

/// Whether `needle` occurs in `haystack` at or after `from`; where it ends.
private func find<C: RandomAccessCollection<UInt8>>(_ needle: [UInt8], in haystack: C, from: Int) -> Int? where C.Index == Int {
    guard !needle.isEmpty else { return from }
    var i = from
    while i + needle.count <= haystack.count {
        if haystack[i] == needle[0] && needle.indices.allSatisfy({ haystack[i + $0] == needle[$0] }) { return i + needle.count }
        i += 1
    }
    return nil
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let control = data[0]
    let boundary = boundaries[Int(control >> 6)]
    let body = UnsafeBufferPointer(start: data + 1, count: size - 1)
    let whole = run(body, boundary: boundary, pieceSize: max(body.count, 1))
    let split = run(body, boundary: boundary, pieceSize: Int(control & 0x3F) + 1)
    precondition(whole == split, "split-dependent result: \(whole) vs \(split)")

    let delimiter = Array("\r\n--\(boundary)".utf8)
    var cursor = 0
    for part in whole.parts {
        precondition(find(delimiter, in: part.content, from: 0) == nil, "a part's content contains the delimiter")
        guard let end = find(part.content, in: body, from: cursor) else {
            preconditionFailure("a part's content is not a slice of the body after the previous part")
        }
        cursor = end
    }
    return 0
}
