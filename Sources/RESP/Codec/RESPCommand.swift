/// A command encoded as a RESP array of bulk strings, built argument by argument straight into its
/// byte buffer (no intermediate `String`s for numbers, no array of arguments).
///
/// The array header `*<n>` needs the final count, so the bulk strings are accumulated here and the
/// header is written in front when the command goes out (`write(into:)`). A command is a value: it
/// can be kept and resent after a reconnect.
public struct RESPCommand: Sendable, Hashable {
    public private(set) var argumentCount = 0
    /// The encoded bulk strings (`$<len>\r\n<bytes>\r\n` each) without the array header.
    public private(set) var encodedArguments: [UInt8] = []

    public init() {}

    /// `RESPCommand("SET", key, value)`.
    public init(_ arguments: any RESPArgument...) {
        encodedArguments.reserveCapacity(16 * arguments.count)
        for a in arguments { a.appendRESPArgument(to: &self) }
    }

    public init(_ arguments: [any RESPArgument]) {
        encodedArguments.reserveCapacity(16 * arguments.count)
        for a in arguments { a.appendRESPArgument(to: &self) }
    }

    /// The command name (first argument) for logs and errors; never includes other arguments, which
    /// may be secrets (AUTH).
    public var name: String {
        guard argumentCount > 0, encodedArguments.first == UInt8(ascii: "$"),
            let cr = encodedArguments.firstIndex(of: UInt8(ascii: "\r")),
            let len = Int(String(decoding: encodedArguments[1..<cr], as: UTF8.self))
        else { return "" }
        return String(decoding: encodedArguments[(cr + 2)..<(cr + 2 + len)], as: UTF8.self).uppercased()
    }

    /// `QUIT`, after whose reply the server closes the connection (checked on the encoded bytes,
    /// without building the name).
    public var isQuit: Bool {
        guard argumentCount == 1, encodedArguments.count == Self.quitBytes.count else { return false }
        return zip(encodedArguments, Self.quitBytes).allSatisfy { a, b in (a >= 97 && a <= 122 ? a - 32 : a) == b }
    }

    /// Checked on every command sent: built once.
    private static let quitBytes: [UInt8] = Array("$4\r\nQUIT\r\n".utf8)

    public mutating func append(_ value: String) {
        var value = value
        value.withUTF8 { append(bytes: UnsafeRawBufferPointer($0)) }
    }

    public mutating func append(_ value: Substring) {
        var value = value
        value.withUTF8 { append(bytes: UnsafeRawBufferPointer($0)) }
    }

    public mutating func append(_ value: [UInt8]) {
        value.withUnsafeBytes { append(bytes: $0) }
    }

    public mutating func append(_ value: ArraySlice<UInt8>) {
        value.withUnsafeBytes { append(bytes: $0) }
    }

    public mutating func append<C: Collection<UInt8>>(_ value: C) {
        argumentCount += 1
        encodedArguments.append(UInt8(ascii: "$"))
        Self.appendDecimal(Int64(value.count), to: &encodedArguments)
        encodedArguments.append(contentsOf: Self.crlf)
        encodedArguments.append(contentsOf: value)
        encodedArguments.append(contentsOf: Self.crlf)
    }

    public mutating func append(bytes: UnsafeRawBufferPointer) {
        argumentCount += 1
        encodedArguments.append(UInt8(ascii: "$"))
        Self.appendDecimal(Int64(bytes.count), to: &encodedArguments)
        encodedArguments.append(contentsOf: Self.crlf)
        encodedArguments.append(contentsOf: bytes)
        encodedArguments.append(contentsOf: Self.crlf)
    }

    /// Appends an integer argument, formatted in place.
    public mutating func append(_ value: some BinaryInteger) {
        argumentCount += 1
        let digits = Self.decimalDigits(value)
        encodedArguments.append(UInt8(ascii: "$"))
        Self.appendDecimal(Int64(digits.count), to: &encodedArguments)
        encodedArguments.append(contentsOf: Self.crlf)
        encodedArguments.append(contentsOf: digits)
        encodedArguments.append(contentsOf: Self.crlf)
    }

    /// Appends a double in the shortest form that round-trips (`inf`/`-inf` as Redis spells them).
    public mutating func append(_ value: Double) {
        if value == .infinity { append("+inf") } else if value == -.infinity { append("-inf") } else {
            append(value == value.rounded(.towardZero) && abs(value) < 1e15 ? String(Int64(value)) : "\(value)")
        }
    }

    /// Appends every argument of another command (for building on a prefix).
    public mutating func append(contentsOf other: RESPCommand) {
        argumentCount += other.argumentCount
        encodedArguments.append(contentsOf: other.encodedArguments)
    }

    /// Bytes on the wire: `*<n>\r\n` then the arguments.
    public var encodedLength: Int { 3 + Self.decimalDigits(argumentCount).count + encodedArguments.count }

    /// Writes the complete command (header and arguments).
    public func write(into output: inout [UInt8]) {
        output.append(UInt8(ascii: "*"))
        Self.appendDecimal(Int64(argumentCount), to: &output)
        output.append(contentsOf: Self.crlf)
        output.append(contentsOf: encodedArguments)
    }

    /// The complete command as bytes.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(encodedLength)
        write(into: &out)
        return out
    }

    static let crlf: [UInt8] = [UInt8(ascii: "\r"), UInt8(ascii: "\n")]

    static func appendDecimal(_ value: Int64, to out: inout [UInt8]) {
        if value >= 0, value < 10 {
            out.append(UInt8(ascii: "0") + UInt8(value))
            return
        }
        out.append(contentsOf: decimalDigits(value))
    }

    /// ASCII decimal digits of any integer (up to 128-bit) without going through `String`.
    static func decimalDigits(_ value: some BinaryInteger) -> [UInt8] {
        if value == 0 { return [UInt8(ascii: "0")] }
        var digits: [UInt8] = []
        digits.reserveCapacity(20)
        var v = value.magnitude
        while v > 0 {
            let (q, r) = v.quotientAndRemainder(dividingBy: 10)
            digits.append(UInt8(ascii: "0") + UInt8(r))
            v = q
        }
        if value < 0 { digits.append(UInt8(ascii: "-")) }
        digits.reverse()
        return digits
    }
}

/// Anything that can be a command argument; written straight into the command's buffer.
public protocol RESPArgument: Sendable {
    func appendRESPArgument(to command: inout RESPCommand)
}

extension String: RESPArgument {
    public func appendRESPArgument(to command: inout RESPCommand) { command.append(self) }
}
extension Substring: RESPArgument {
    public func appendRESPArgument(to command: inout RESPCommand) { command.append(self) }
}
extension Array: RESPArgument where Element == UInt8 {
    public func appendRESPArgument(to command: inout RESPCommand) { command.append(self) }
}
extension ArraySlice: RESPArgument where Element == UInt8 {
    public func appendRESPArgument(to command: inout RESPCommand) { command.append(self) }
}
extension Int: RESPArgument {
    public func appendRESPArgument(to command: inout RESPCommand) { command.append(self) }
}
extension Int64: RESPArgument {
    public func appendRESPArgument(to command: inout RESPCommand) { command.append(self) }
}
extension Int32: RESPArgument {
    public func appendRESPArgument(to command: inout RESPCommand) { command.append(self) }
}
extension UInt64: RESPArgument {
    public func appendRESPArgument(to command: inout RESPCommand) { command.append(self) }
}
extension UInt32: RESPArgument {
    public func appendRESPArgument(to command: inout RESPCommand) { command.append(self) }
}
extension UInt: RESPArgument {
    public func appendRESPArgument(to command: inout RESPCommand) { command.append(self) }
}
extension Double: RESPArgument {
    public func appendRESPArgument(to command: inout RESPCommand) { command.append(self) }
}
