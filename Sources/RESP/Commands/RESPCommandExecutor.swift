/// Anything that can run commands: a single `RESPConnection` or a pooled `RESPClient`. The typed
/// commands are extensions on this protocol, so they work the same on both.
public protocol RESPCommandExecutor: Sendable {
    /// Sends one command and returns its reply. An error reply is thrown as `RESPServerError`.
    func execute(_ command: RESPCommand, timeout: RESPTimeout) async throws -> RESPValue

    /// Sends the commands back to back on one connection (one write) and returns their replies in
    /// order; error replies are returned as `.error` values, not thrown, so one failure does not hide
    /// the others.
    func pipeline(_ commands: [RESPCommand], timeout: RESPTimeout) async throws -> [RESPValue]
}

/// How long a command may take, from sending it to the last byte of its reply.
public enum RESPTimeout: Sendable, Hashable {
    /// The configuration's `commandTimeout`.
    case `default`
    /// Wait as long as it takes.
    case none
    case after(Duration)
    /// A blocking command with its own server-side timeout (nil = blocks forever, e.g. `BLOCK 0`):
    /// the client waits that long plus the configuration's `blockingTimeoutMargin`.
    case blocking(server: Duration?)
}

extension RESPCommandExecutor {
    /// Any command, with arguments written straight into the request: `send("CLIENT", "ID")`.
    @discardableResult
    public func send(_ arguments: any RESPArgument..., timeout: RESPTimeout = .default) async throws -> RESPValue {
        try await execute(RESPCommand(arguments), timeout: timeout)
    }

    @discardableResult
    public func send(_ command: RESPCommand, timeout: RESPTimeout = .default) async throws -> RESPValue {
        try await execute(command, timeout: timeout)
    }

    public func pipeline(_ commands: [RESPCommand]) async throws -> [RESPValue] {
        try await pipeline(commands, timeout: .default)
    }
}
