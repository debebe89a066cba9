// libFuzzer entry point for HTTPRequestParser. Besides "does not crash", it checks two properties
// on every input: the parser never claims more bytes than it was given nor returns a body range
// outside its input, and the events do not depend on how the input is split (whole input vs. the
// same bytes in pieces whose sizes come from the first input byte).
import HTTPServer

/// What must not depend on how the input was split: the events, the body bytes, and whether the
/// input was refused. (Which refusal may differ: a too-long line can be refused before its end
/// arrives, where the whole line would first show, say, a bad character.)
private struct Outcome: Equatable {
    var events: [String] = []
    var body: [UInt8] = []
    var refused = false
}

private func run(_ input: UnsafeRawBufferPointer, pieceSize: Int, streamed: Bool) -> Outcome {
    var limits = HTTPParserLimits()
    limits.maxHeaderBytes = 4096
    limits.maxHeaderCount = 16
    limits.maxRequestTargetLength = 512
    limits.maxCollectedBodyBytes = 1024
    limits.maxStreamedBodyBytes = 8192
    var parser = HTTPRequestParser(limits: limits)
    var outcome = Outcome()
    var pending: [UInt8] = []
    var position = 0
    while position < input.count {
        let end = min(position + pieceSize, input.count)
        pending.append(contentsOf: input[position..<end])
        position = end
        var offset = 0
        do {
            while true {
                let step = try pending.withUnsafeBytes { p in
                    try parser.parse(UnsafeRawBufferPointer(rebasing: p[offset...]))
                }
                precondition(step.consumed >= 0 && offset + step.consumed <= pending.count, "consumed past the input")
                guard let event = step.event else {
                    offset += step.consumed
                    break
                }
                switch event {
                case .head(let head):
                    outcome.events.append("head \(head.method) \(head.target) \(head.version) \(head.headers.count) \(head.framing) \(head.keepAlive)")
                    parser.setBodyLimit(streamed ? .streamed : .collected)
                case .body(let range):
                    precondition(range.lowerBound >= 0 && offset + range.upperBound <= pending.count, "body range outside the input")
                    precondition(range.upperBound == step.consumed, "body must end where consumption ends")
                    outcome.body.append(contentsOf: pending[(offset + range.lowerBound)..<(offset + range.upperBound)])
                case .end(let trailers):
                    outcome.events.append("end \(trailers.count)")
                }
                offset += step.consumed
            }
        } catch let error as HTTPParseError {
            outcome.refused = true
            _ = error.status
            return outcome
        } catch {
            preconditionFailure("untyped error \(error)")
        }
        pending.removeFirst(offset)
    }
    return outcome
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 1 else { return 0 }
    let control = data[0]
    let input = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    let streamed = control & 0x80 != 0
    let whole = run(input, pieceSize: input.count, streamed: streamed)
    let split = run(input, pieceSize: Int(control & 0x3F) + 1, streamed: streamed)
    precondition(whole == split, "split-dependent result: \(whole) vs \(split)")
    return 0
}

// SwiftPM links executable targets with `main` aliased to `<Module>_main` (so tests can link
// them). With -parse-as-library there is no such symbol, and libFuzzer's own main is shadowed; so
// this module provides it and hands control to libFuzzer's driver.
@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

@_cdecl("HTTPParserFuzz_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        guard let data else { return 0 }
        return fuzz(data, size)
    }
}
