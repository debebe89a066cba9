/// The rows of one query, read from the connection as they are iterated: at most one batch
/// (what one read brought, ≤ 4096 rows) is held at a time, so a million-row result streams in
/// constant memory. Iterate it once. While it is being read the connection serves nothing else;
/// dropping it early drains the remaining rows in the background.
public struct PGRowSequence: AsyncSequence, Sendable {
    public typealias Element = PGRow

    let connection: PGConnection
    let requestID: UInt64
    /// Columns of the result (nil for statements without rows).
    public let columns: RowDescription?
    let first: [DataRow]
    let finished: Bool
    /// Drains the request if the sequence is dropped unfinished; nil when the first batch already
    /// held the whole result (the common single-row query: no allocation for it).
    let guardToken: StreamGuard?

    init(connection: PGConnection, requestID: UInt64, columns: RowDescription?, first: [DataRow], finished: Bool) {
        self.connection = connection
        self.requestID = requestID
        self.columns = columns
        self.first = first
        self.finished = finished
        guardToken = finished ? nil : StreamGuard(connection: connection, requestID: requestID)
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(sequence: self, batch: first, done: finished)
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        @usableFromInline let sequence: PGRowSequence
        @usableFromInline var batch: [DataRow]
        @usableFromInline var index = 0
        @usableFromInline var done: Bool

        init(sequence: PGRowSequence, batch: [DataRow], done: Bool) {
            self.sequence = sequence
            self.batch = batch
            self.done = done
        }

        public mutating func next() async throws -> PGRow? {
            try await next(isolation: nil)
        }

        /// Runs on the caller's executor (no hop when the caller is on the loop). Inlinable so
        /// that a row already received is handed over inside the caller's own code, without an
        /// executor check of its own (two per single-row query otherwise).
        @inlinable
        public mutating func next(isolation actor: isolated (any Actor)?) async throws -> PGRow? {
            if index < batch.count {
                defer { index += 1 }
                return PGRow(columns: sequence.columns!, data: batch[index])
            }
            if done { return nil }
            return try await nextBatch()
        }

        /// Reads the next batch from the connection and returns its first row.
        @usableFromInline
        nonisolated(nonsending) mutating func nextBatch() async throws -> PGRow? {
            while true {
                if index < batch.count {
                    defer { index += 1 }
                    return PGRow(columns: sequence.columns!, data: batch[index])
                }
                if done { return nil }
                let (rows, finished) = try await sequence.connection.nextRows(sequence.requestID)
                batch = rows
                index = 0
                done = finished
            }
        }
    }
}

/// Drains the request when the last copy of its sequence goes away unfinished.
final class StreamGuard: Sendable {
    let connection: PGConnection
    let requestID: UInt64

    init(connection: PGConnection, requestID: UInt64) {
        self.connection = connection
        self.requestID = requestID
    }

    deinit {
        // A no-op when the request ended meanwhile (the connection checks the id).
        connection.abandon(requestID)
    }
}
