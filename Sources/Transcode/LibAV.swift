import CFFmpeg

/// Small helpers around libav's C conventions (negative return codes, macros Swift cannot import).
enum LibAV {
    static let eagain = vidd_AVERROR_EAGAIN()
    static let eof = vidd_AVERROR_EOF()
    static let invalidData = vidd_AVERROR_INVALIDDATA()
    static let noPTS = vidd_AV_NOPTS_VALUE()

    static func message(_ code: Int32) -> String {
        var buf = [CChar](repeating: 0, count: 256)
        vidd_strerror(code, &buf, buf.count)
        return string(buffer: buf)
    }

    /// Throws `TranscodeError.libav` when `code` is negative; returns it otherwise.
    @discardableResult
    static func check(_ code: Int32, _ operation: @autoclosure () -> String) throws(TranscodeError) -> Int32 {
        if code < 0 { throw .libav(operation: operation(), code: code, message: message(code)) }
        return code
    }

    /// A NUL-terminated C buffer as a String.
    static func string(buffer: [CChar]) -> String {
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func string(_ p: UnsafePointer<CChar>?) -> String? { p.map { String(cString: $0) } }

    static func double(_ r: AVRational) -> Double { r.den == 0 ? 0 : Double(r.num) / Double(r.den) }

    /// libav logs to stderr by default; a library must stay quiet (errors reach callers as values).
    static func quietLogs() { av_log_set_level(AV_LOG_QUIET) }
}
