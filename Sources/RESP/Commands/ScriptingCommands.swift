extension RESPCommandExecutor {
    /// EVAL script numkeys key… arg…
    @discardableResult
    public func eval(_ script: String, keys: [String] = [], arguments: [any RESPArgument] = []) async throws -> RESPValue {
        var cmd = RESPCommand("EVAL", script, keys.count)
        for k in keys { cmd.append(k) }
        for a in arguments { a.appendRESPArgument(to: &cmd) }
        return try await execute(cmd, timeout: .default)
    }

    /// EVALSHA sha1 numkeys key… arg… — throws `RESPServerError` with code `NOSCRIPT` when the server
    /// does not have the script cached.
    @discardableResult
    public func evalsha(_ sha1: String, keys: [String] = [], arguments: [any RESPArgument] = []) async throws -> RESPValue {
        var cmd = RESPCommand("EVALSHA", sha1, keys.count)
        for k in keys { cmd.append(k) }
        for a in arguments { a.appendRESPArgument(to: &cmd) }
        return try await execute(cmd, timeout: .default)
    }

    /// SCRIPT LOAD: the script's SHA1, for EVALSHA.
    public func scriptLoad(_ script: String) async throws -> String {
        try await execute(RESPCommand("SCRIPT", "LOAD", script), timeout: .default).expectString("SCRIPT LOAD")
    }

    /// EVALSHA with the script's SHA1, falling back to EVAL (which also caches it) on NOSCRIPT.
    @discardableResult
    public func evalCached(_ script: String, sha1: String, keys: [String] = [], arguments: [any RESPArgument] = []) async throws -> RESPValue {
        do {
            return try await evalsha(sha1, keys: keys, arguments: arguments)
        } catch let error as RESPServerError where error.code == "NOSCRIPT" {
            return try await eval(script, keys: keys, arguments: arguments)
        }
    }
}
