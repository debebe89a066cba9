import Reactor

/// Collects COPY FROM STDIN data into CopyData messages of ~64 KiB and writes them out.
public struct PGCopyWriter: ~Copyable {
    let connection: PGConnection
    var encoder = FrontendMessageEncoder(capacity: 1 << 16 + 64)
    var pending = 0

    /// Queues `bytes` (rows in the COPY format the statement chose), writing when ~64 KiB are queued.
    nonisolated(nonsending) public mutating func write<C: Collection<UInt8>>(_ bytes: C) async throws {
        encoder.copyData(bytes)
        pending += bytes.count
        if pending >= 1 << 16 { try await flush() }
    }

    /// Convenience: a text row, tab-separated, newline-terminated (values must be COPY-escaped).
    nonisolated(nonsending) public mutating func writeRow(_ fields: [String]) async throws {
        var line = fields.joined(separator: "\t")
        line.append("\n")
        try await write(line.utf8)
    }

    nonisolated(nonsending) mutating func flush() async throws {
        guard !encoder.bytes.isEmpty else { return }
        try await connection.send(encoder)
        encoder.bytes.removeAll(keepingCapacity: true)
        pending = 0
    }
}

extension PGConnection {
    /// Runs `COPY … FROM STDIN` and feeds it from `body`. If `body` throws, CopyFail aborts the
    /// COPY on the server (nothing is inserted) and the error is rethrown. Returns the row count.
    @discardableResult
    nonisolated(nonsending) public func copyFrom(_ sql: String, _ body: (inout PGCopyWriter) async throws -> Void) async throws -> Int {
        let id = try await begin(timeout: nil)
        var e = FrontendMessageEncoder()
        e.query(sql)
        active!.machine = QueryStateMachine(.simple)
        try await send(e)
        // Wait for CopyInResponse (or an error, e.g. no such table).
        while true {
            switch active!.machine.received(try await nextMessage(id)) {
            case .copyIn: break
            case .done(let status):
                readyForQuery(status)
                let error = active!.machine.error
                end()
                throw error.map { PGError.server($0) } ?? PGError.misuse("\(sql) is not a COPY FROM STDIN")
            case .close(let e): throw fail(e)
            case .copyOut:
                continue
            default: continue
            }
            break
        }
        var writer = PGCopyWriter(connection: self)
        var bodyError: (any Error)?
        do {
            try await body(&writer)
            try await writer.flush()
        } catch {
            bodyError = error
        }
        var end = FrontendMessageEncoder()
        if let bodyError { end.copyFail("client error: \(bodyError)") } else { end.copyDone() }
        try await send(end)
        let finished: Batch
        do {
            finished = try await pump(id, collectRows: false, limit: .max)
        } catch {
            // After CopyFail the server answers 57014 "COPY from stdin failed": report the cause.
            throw bodyError ?? error
        }
        if let bodyError { throw bodyError }
        return PGCommandResult(tag: finished.tag ?? "").rowCount ?? 0
    }

    /// Runs `COPY … TO STDOUT`, handing each CopyData payload (one row in text/CSV formats) to
    /// `body` as it arrives. Returns the row count.
    @discardableResult
    nonisolated(nonsending) public func copyTo(_ sql: String, _ body: (ArraySlice<UInt8>) throws -> Void) async throws -> Int {
        let id = try await begin(timeout: nil)
        var e = FrontendMessageEncoder()
        e.query(sql)
        active!.machine = QueryStateMachine(.simple)
        try await send(e)
        var bodyError: (any Error)?
        while true {
            let message: BackendMessage
            do {
                guard let m = try nextBufferedCopyData(body: body, bodyError: &bodyError) else { try await fill(); continue }
                message = m
            } catch {
                throw readFailed(id, error)
            }
            switch active!.machine.received(message) {
            case .done(let status):
                readyForQuery(status)
                let error = active!.machine.error
                let finished = end()
                if let bodyError { throw bodyError }
                if let error { throw PGError.server(error) }
                return PGCommandResult(tag: finished.tag ?? "").rowCount ?? 0
            case .commandComplete(let tag): active!.tag = tag
            case .close(let e): throw fail(e)
            default: break
            }
        }
    }

    /// Like `nextBuffered`, but hands CopyData payloads to `body` straight from the receive
    /// buffer (no per-row array) once the COPY has started.
    func nextBufferedCopyData(body: (ArraySlice<UInt8>) throws -> Void, bodyError: inout (any Error)?) throws -> BackendMessage? {
        while active!.machine.state == .copyOut {
            let view = buffer.readableBytesView
            guard view.count >= 5, view[view.startIndex] == UInt8(ascii: "d") else { break }
            let s = view.startIndex
            let len = Int(UInt32(view[s + 1]) << 24 | UInt32(view[s + 2]) << 16 | UInt32(view[s + 3]) << 8 | UInt32(view[s + 4]))
            guard len >= 4, len <= decoder.maxMessageLength else { break }  // let the decoder report it
            guard view.count >= len + 1 else { return nil }
            if bodyError == nil {
                do { try body(view[(s + 5)..<(s + 1 + len)]) } catch { bodyError = error }
            }
            buffer.moveReaderIndex(forwardBy: len + 1)
        }
        return try nextBuffered()
    }
}
