/// Encodes PostgreSQL protocol 3.0 frontend messages into a byte array.
///
/// Messages are appended to `bytes` so that several (Parse, Bind, Describe, Execute, Sync) go out
/// in one write: one syscall per pipeline, not one per message.
public struct FrontendMessageEncoder: Sendable {
    public var bytes: [UInt8]
    /// Type byte of the last message appended (nil for start-up packets, which have none).
    private var lastTag: UInt8?

    /// Whether the last message is a Sync or a Query: the server answers these, in every case
    /// short of a broken connection, with ReadyForQuery (after an error too).
    public var endsWithSyncOrQuery: Bool { lastTag == UInt8(ascii: "S") || lastTag == UInt8(ascii: "Q") }

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Protocol 3.0 (major 3, minor 0).
    public static let protocolVersion: Int32 = 196_608
    static let sslRequestCode: Int32 = 80_877_103
    static let cancelRequestCode: Int32 = 80_877_102

    // MARK: Untagged start-up packets

    /// StartupMessage: user, database and other run-time parameters.
    public mutating func startup(user: String, database: String?, parameters: [(String, String)]) {
        let start = beginUntagged()
        appendInt32(Self.protocolVersion)
        appendCString("user"); appendCString(user)
        if let database { appendCString("database"); appendCString(database) }
        for (k, v) in parameters { appendCString(k); appendCString(v) }
        bytes.append(0)
        finish(start)
    }

    public mutating func sslRequest() {
        lastTag = nil
        appendInt32(8); appendInt32(Self.sslRequestCode)
    }

    public mutating func cancelRequest(processID: Int32, secretKey: Int32) {
        lastTag = nil
        appendInt32(16); appendInt32(Self.cancelRequestCode); appendInt32(processID); appendInt32(secretKey)
    }

    // MARK: Authentication ('p')

    public mutating func password(_ password: String) {
        let start = begin(UInt8(ascii: "p"))
        appendCString(password)
        finish(start)
    }

    public mutating func saslInitialResponse(mechanism: String, data: [UInt8]) {
        let start = begin(UInt8(ascii: "p"))
        appendCString(mechanism)
        appendInt32(Int32(data.count))
        bytes.append(contentsOf: data)
        finish(start)
    }

    public mutating func saslResponse(_ data: [UInt8]) {
        let start = begin(UInt8(ascii: "p"))
        bytes.append(contentsOf: data)
        finish(start)
    }

    // MARK: Queries

    public mutating func query(_ sql: String) {
        let start = begin(UInt8(ascii: "Q"))
        appendCString(sql)
        finish(start)
    }

    public mutating func parse(statement: String, query: String, parameterTypes: [PGOID]) {
        let start = begin(UInt8(ascii: "P"))
        appendCString(statement)
        appendCString(query)
        appendInt16(Int16(truncatingIfNeeded: parameterTypes.count))
        for t in parameterTypes { appendInt32(Int32(bitPattern: t.rawValue)) }
        finish(start)
    }

    /// Bind with parameters already encoded by `PGBindings` (binary format, one length-prefixed
    /// value per parameter) and one result format per column (or a single one for all).
    public mutating func bind(portal: String, statement: String, bindings: PGBindings, resultFormats: [PGFormat]) {
        let start = begin(UInt8(ascii: "B"))
        appendCString(portal)
        appendCString(statement)
        // Parameter formats: each encoder chose its own (binary for known types, text for strings
        // sent as `unknown`), so send one code per parameter.
        appendInt16(Int16(truncatingIfNeeded: bindings.count))
        for f in bindings.formats { appendInt16(f.rawValue) }
        appendInt16(Int16(truncatingIfNeeded: bindings.count))
        bytes.append(contentsOf: bindings.values)
        appendInt16(Int16(truncatingIfNeeded: resultFormats.count))
        for f in resultFormats { appendInt16(f.rawValue) }
        finish(start)
    }

    public enum DescribeTarget: UInt8, Sendable { case statement = 0x53, portal = 0x50 }

    public mutating func describe(_ target: DescribeTarget, name: String) {
        let start = begin(UInt8(ascii: "D"))
        bytes.append(target.rawValue)
        appendCString(name)
        finish(start)
    }

    public mutating func execute(portal: String, maxRows: Int32 = 0) {
        let start = begin(UInt8(ascii: "E"))
        appendCString(portal)
        appendInt32(maxRows)
        finish(start)
    }

    public mutating func close(_ target: DescribeTarget, name: String) {
        let start = begin(UInt8(ascii: "C"))
        bytes.append(target.rawValue)
        appendCString(name)
        finish(start)
    }

    public mutating func sync() { empty(UInt8(ascii: "S")) }
    public mutating func flush() { empty(UInt8(ascii: "H")) }
    public mutating func terminate() { empty(UInt8(ascii: "X")) }

    // MARK: COPY

    public mutating func copyData<C: Collection<UInt8>>(_ data: C) {
        bytes.append(UInt8(ascii: "d"))
        lastTag = UInt8(ascii: "d")
        appendInt32(Int32(truncatingIfNeeded: data.count + 4))
        bytes.append(contentsOf: data)
    }

    public mutating func copyDone() { empty(UInt8(ascii: "c")) }

    public mutating func copyFail(_ message: String) {
        let start = begin(UInt8(ascii: "f"))
        appendCString(message)
        finish(start)
    }

    // MARK: Primitives

    private mutating func begin(_ tag: UInt8) -> Int {
        bytes.append(tag)
        let at = beginUntagged()
        lastTag = tag
        return at
    }

    /// A message with no body.
    private mutating func empty(_ tag: UInt8) {
        bytes.append(tag)
        appendInt32(4)
        lastTag = tag
    }

    private mutating func beginUntagged() -> Int {
        lastTag = nil
        let at = bytes.count
        appendInt32(0)  // length, patched by finish
        return at
    }

    private mutating func finish(_ lengthAt: Int) {
        let length = UInt32(truncatingIfNeeded: bytes.count - lengthAt)
        bytes[lengthAt] = UInt8(truncatingIfNeeded: length >> 24)
        bytes[lengthAt + 1] = UInt8(truncatingIfNeeded: length >> 16)
        bytes[lengthAt + 2] = UInt8(truncatingIfNeeded: length >> 8)
        bytes[lengthAt + 3] = UInt8(truncatingIfNeeded: length)
    }

    mutating func appendInt32(_ v: Int32) {
        let u = UInt32(bitPattern: v)
        bytes.append(UInt8(truncatingIfNeeded: u >> 24)); bytes.append(UInt8(truncatingIfNeeded: u >> 16))
        bytes.append(UInt8(truncatingIfNeeded: u >> 8)); bytes.append(UInt8(truncatingIfNeeded: u))
    }

    mutating func appendInt16(_ v: Int16) {
        let u = UInt16(bitPattern: v)
        bytes.append(UInt8(truncatingIfNeeded: u >> 8)); bytes.append(UInt8(truncatingIfNeeded: u))
    }

    /// A NUL-terminated string. PostgreSQL cannot carry NUL inside identifiers or SQL text; a NUL
    /// in the input would silently truncate it on the server, so it is dropped here instead of
    /// letting it end the field early and desynchronise the message.
    mutating func appendCString(_ s: String) {
        for b in s.utf8 where b != 0 { bytes.append(b) }
        bytes.append(0)
    }
}
