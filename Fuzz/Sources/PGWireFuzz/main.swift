// libFuzzer entry point for PGWire's backend message decoder.
// Build and run: see docs/pgwire.md ("Fuzzing").
import PGWire

/// Feeds the input as a server byte stream, split at a point chosen by the first byte so that
/// incremental framing is exercised too; every decoded message is also pushed through the
/// query state machine and, for DataRows, the lazy value walk and a few codecs.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard !bytes.isEmpty else { return 0 }
    let split = Int(bytes[0]) % bytes.count
    var stream = BackendMessageStream(decoder: BackendMessageDecoder(maxMessageLength: 1 << 16))
    var simple = QueryStateMachine(.simple)
    var startup = StartupStateMachine(.init(user: "u", database: nil, password: "p", channelBinding: .prefer,
                                            tlsServerEndPointHash: [1, 2, 3]))
    _ = startup.start()
    for chunk in [bytes[1..<max(1, split)], bytes[max(1, split)...]] {
        stream.feed(chunk)
        do {
            while let message = try stream.next() {
                if !simple.isDone { _ = simple.received(message) }
                _ = startup.received(message)
                if case .dataRow(let row) = message { exercise(row) }
                if case .errorResponse(let e) = message { _ = e.description }
            }
        } catch {
            _ = error.description
            return 0
        }
    }
    return 0
}

func exercise(_ row: DataRow) {
    let types: [PGOID] = [.int4, .numeric, .textArray, .int8Array, .timestamptz, .interval, .jsonb, .bytea,
                          .float8, .float4Array, .intervalArray]
    row.storage.withUnsafeBytes { raw in
        row.forEachValue { i, range in
            let value = PGValue(bytes: range.map { UnsafeRawBufferPointer(rebasing: raw[$0]) }, type: types[i % types.count],
                                format: i % 2 == 0 ? .binary : .text)
            _ = try? String.decode(from: value)
            _ = try? PGNumeric.decode(from: value)
            _ = try? [String?].decode(from: value)
            _ = try? [Int?].decode(from: value)
            _ = try? PGInterval.decode(from: value)
            _ = try? PGTimestampTZ.decode(from: value)
            _ = try? PGBytea.decode(from: value)
        }
    }
}

// SwiftPM links an executable target's entry point as `<Target>_main` and aliases `main` to it,
// which hides libFuzzer's own main. So the entry point is defined here and hands control to
// libFuzzer's driver, which parses the usual -max_total_time/-runs/corpus arguments.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

@_cdecl("PGWireFuzz_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, { data, size in fuzz(data, size) })
}
