extension RESPCommandExecutor {
    /// MULTI, the commands, EXEC — pipelined in one write on one connection. Returns EXEC's replies
    /// (error replies of individual commands as `.error` values: Redis does not roll back), or nil
    /// when a WATCHed key changed. A command rejected while queueing makes Redis abort the whole
    /// transaction: that EXECABORT error is thrown.
    public func transaction(_ commands: [RESPCommand], timeout: RESPTimeout = .default) async throws -> [RESPValue]? {
        var all: [RESPCommand] = [RESPCommand("MULTI")]
        all.append(contentsOf: commands)
        all.append(RESPCommand("EXEC"))
        let replies = try await pipeline(all, timeout: timeout)
        guard let exec = replies.last else { throw RESPClientError.unexpectedReply(command: "EXEC", reply: .null) }
        if case .error(let e) = replies[0] { throw e }
        if case .error(let e) = exec.withoutAttributes {
            // Surface the first queueing error (the actual cause) rather than the generic EXECABORT.
            for case .error(let queued) in replies.dropFirst().dropLast() { throw queued }
            throw e
        }
        if exec.isNull { return nil }
        return try exec.expectArray("EXEC")
    }
}
