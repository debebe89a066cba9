// libFuzzer entry point for the RESP decoder.
//
// Each input is decoded twice with small limits: in one piece, and split into chunks whose sizes
// come from the first byte. Both runs must agree (same replies, or the same error), which checks the
// resumable state as well as the parser; any crash, trap or sanitizer report is a bug.
//
// Build and run (see docs/resp.md):
//   cd Fuzz && swift build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library --product RESPFuzz
//   .build/release/RESPFuzz -max_total_time=600 -rss_limit_mb=512 -max_len=4096
import RESP

let limits = RESPDecoderLimits(maxBulkLength: 1 << 12, maxElementCount: 1 << 10, maxDepth: 16, maxLineLength: 256)

enum Outcome: Equatable {
    case values([RESPValue])
    case failed(RESPDecodingError.Kind)
}

func decode(_ bytes: UnsafeBufferPointer<UInt8>, chunk: Int) -> Outcome {
    var reader = RESPReader(limits: limits)
    var values: [RESPValue] = []
    var i = 0
    do {
        while i < bytes.count {
            let end = min(bytes.count, i + chunk)
            reader.feed(bytes[i..<end])
            i = end
            while let v = try reader.next() { values.append(v) }
        }
    } catch {
        return .failed(error.kind)
    }
    return .values(values)
}

/// NaN never equals itself; compare replies by their printed form instead, which is exact for the
/// rest.
func same(_ a: Outcome, _ b: Outcome) -> Bool {
    switch (a, b) {
    case (.failed(let x), .failed(let y)): return x == y
    case (.values(let x), .values(let y)): return String(describing: x) == String(describing: y)
    default: return false
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let chunk = Int(data[0] % 17) + 1
    let input = UnsafeBufferPointer(start: data + 1, count: size - 1)
    let whole = decode(input, chunk: max(1, input.count))
    let pieces = decode(input, chunk: chunk)
    if !same(whole, pieces) {
        fatalError("decoding depends on how input is split: whole=\(whole) chunks(\(chunk))=\(pieces)")
    }
    return 0
}
