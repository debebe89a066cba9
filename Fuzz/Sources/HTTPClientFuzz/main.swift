// libFuzzer entry point for the client side of HTTP/1.1 (HTTPClientCodec): what a hostile server
// or a hostile user sends. Checks, besides "does not crash":
// - HTTPResponseParser: the parts do not depend on how the input is split (whole vs. pieces whose
//   size comes from the first byte), and body bytes never exceed what was fed;
// - HTTPURL: a URL that parses serializes to text that parses to the same URL (without userinfo),
//   so what the SSRF guard checks and what the client connects to cannot drift apart.
import HTTPClientCodec

private struct Outcome: Equatable {
    var parts: [String] = []
    var body: [UInt8] = []
    var refused = false
}

private func parse(_ input: UnsafeRawBufferPointer, pieceSize: Int, method: String, close: Bool) -> Outcome {
    var limits = HTTPResponseParser.Limits()
    limits.maxHeadBytes = 4096
    limits.maxHeaderCount = 16
    var parser = HTTPResponseParser(limits: limits)
    parser.expectResponse(toMethod: method)
    var outcome = Outcome()
    var position = 0
    func record(_ part: HTTPResponsePart) -> Bool {
        switch part {
        case .head(let h): outcome.parts.append("head \(h.status) \(h.headers.count) \(h.keepAlive)")
        case .body(let b): outcome.body += b
        case .end: outcome.parts.append("end"); return true
        }
        return false
    }
    do {
        while position < input.count {
            let end = min(position + pieceSize, input.count)
            parser.feed(input[position..<end])
            position = end
            while let part = try parser.next() {
                if record(part) { return outcome }
            }
        }
        if close {
            while let part = try parser.endOfInput() {
                if record(part) { return outcome }
            }
        }
    } catch {
        outcome.refused = true
    }
    precondition(outcome.body.count <= input.count, "more body bytes than input")
    return outcome
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 1 else { return 0 }
    let control = data[0]
    let input = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    let method = control & 0x40 != 0 ? "HEAD" : "GET"
    let close = control & 0x80 != 0
    let whole = parse(input, pieceSize: input.count, method: method, close: close)
    let split = parse(input, pieceSize: Int(control & 0x3F) + 1, method: method, close: close)
    // A refusal may come earlier in pieces (a head over the limit before its end arrives).
    if !whole.refused && !split.refused { precondition(whole == split, "split-dependent result: \(whole) vs \(split)") }

    let text = String(decoding: input, as: UTF8.self)
    if let url = try? HTTPURL(text) {
        guard let again = try? HTTPURL(url.description) else { preconditionFailure("\(url) does not parse again") }
        var bare = url
        bare.userinfo = nil
        precondition(again == bare, "\(text) → \(url) → \(again)")
        precondition(url.host.address == nil || IPAddress(numeric: url.host.nameForLookup) == url.host.address)
    }
    return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

@_cdecl("HTTPClientFuzz_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        guard let data else { return 0 }
        return fuzz(data, size)
    }
}
