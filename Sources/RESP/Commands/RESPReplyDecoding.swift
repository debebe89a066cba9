/// Small conversions from replies to Swift values, throwing `unexpectedReply` with the command name.
extension RESPValue {
    func expectInt(_ command: String) throws(RESPClientError) -> Int64 {
        guard let i = int else { throw .unexpectedReply(command: command, reply: self) }
        return i
    }

    func expectBool(_ command: String) throws(RESPClientError) -> Bool {
        switch withoutAttributes {
        case .boolean(let b): return b
        case .integer(let i): return i != 0
        default: throw .unexpectedReply(command: command, reply: self)
        }
    }

    func expectString(_ command: String) throws(RESPClientError) -> String {
        guard let s = string else { throw .unexpectedReply(command: command, reply: self) }
        return s
    }

    func expectOptionalString(_ command: String) throws(RESPClientError) -> String? {
        if isNull { return nil }
        return try expectString(command)
    }

    func expectOptionalBytes(_ command: String) throws(RESPClientError) -> [UInt8]? {
        if isNull { return nil }
        guard let b = bytes else { throw .unexpectedReply(command: command, reply: self) }
        return b
    }

    func expectArray(_ command: String) throws(RESPClientError) -> [RESPValue] {
        guard let e = elements else { throw .unexpectedReply(command: command, reply: self) }
        return e
    }

    /// `+OK` → true, null → false (SET NX/XX not applied).
    func expectOKOrNull(_ command: String) throws(RESPClientError) -> Bool {
        switch withoutAttributes {
        case .null: return false
        case .simpleString: return true
        default: throw .unexpectedReply(command: command, reply: self)
        }
    }
}
