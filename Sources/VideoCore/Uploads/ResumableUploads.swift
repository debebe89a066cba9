import PGWire
import Reactor
import S3Lite

/// Resumable (tus) uploads below HTTP: creating one, carrying a request's bytes through
/// `AppendPlan` into storage and PostgreSQL, assembling the object, terminating, sweeping.
///
/// What "durable" means here. A byte counts (the offset moves past it) only in the same statement
/// that records where it is: a part already written to S3 (its number and ETag), a tail segment
/// (bytea, for bytes short of a 5 MiB part: another instance or a restart must be able to
/// continue, so memory will not do, and a row commits atomically with the offset where a small
/// temporary object could not), or a range of the partial file already fsync'd. A request that
/// carries `Upload-Checksum` is verified before anything of it is counted: its full parts are still
/// written as they arrive (memory stays at one part), but recorded only once the digest matched;
/// on a mismatch they are never named, and S3 drops unnamed parts when the upload completes or
/// is aborted (a file's bytes past the offset are overwritten or cut off at the end).
public struct ResumableUploads: Sendable {
    public struct Settings: Sendable, Equatable {
        /// `Tus-Max-Size`.
        public var maxSize: Int64
        /// An unfinished upload not written to for this long is swept; a finished one's record is
        /// forgotten this long after it finished.
        public var expiry: Duration
        /// Preferred S3 part size (raised for large uploads so the parts fit S3's 10 000); also
        /// how many bytes the file backend gathers per write.
        public var partSize: Int

        public init(maxSize: Int64, expiry: Duration, partSize: Int) {
            self.maxSize = maxSize
            self.expiry = expiry
            self.partSize = partSize
        }
    }

    public let storage: any Storage
    public let store: ResumableUploadStore
    public let settings: Settings
    let logger: Logger

    public init(storage: any Storage, store: ResumableUploadStore, settings: Settings, logger: Logger) {
        self.storage = storage
        self.store = store
        self.settings = settings
        self.logger = logger
    }

    // MARK: Creating

    /// Starts the storage side (a multipart upload, or an empty partial file) and records the upload.
    public func create(id: String, length: Int64?, metadata: String, filename: String, title: String?,
                       contentType: String?) async throws -> ResumableUpload {
        let key = ObjectKeys.source(videoID: id, originalName: filename)
        let handle = try await storage.beginResumable(key: key, contentType: contentType)
        do {
            return try await store.insert(ResumableUpload(
                id: id, status: .uploading, length: length, offset: 0, metadata: metadata, filename: filename, title: title,
                contentType: contentType, objectKey: key, storageHandle: handle, partSize: partSize(for: length), partsBytes: 0,
                expiresAt: 0, released: false), expiry: settings.expiry)
        } catch {
            // Nothing refers to it: do not leave it behind. In a task of its own, because the
            // error may be the request's cancellation (a client gone), which would cancel the
            // abort too and leave a multipart upload no sweep knows of.
            let storage = self.storage
            await Task.detached(executorPreference: EventLoop.shared) {
                try? await storage.abortResumable(key: key, handle: handle)
            }.value
            throw error
        }
    }

    /// S3 parts are sized so the upload fits S3's 10 000 parts with a quarter to spare (part
    /// numbers burnt by refused or lost appends are not reused).
    func partSize(for length: Int64?) -> Int {
        guard case .parts(let minimum) = storage.resumableLayout else { return max(settings.partSize, 64 * 1024) }
        let planned = min(length ?? settings.maxSize, PartSizing.maximumObjectSize / 5 * 4)
        let size = (try? PartSizing.partSize(objectSize: planned + planned / 4, preferred: settings.partSize)) ?? PartSizing.maximumPartSize
        return max(size, minimum)
    }

    func layout(of upload: ResumableUpload) -> AppendPlan.Layout {
        switch storage.resumableLayout {
        case .parts: .parts(size: upload.partSize)
        case .inPlace: .inPlace(flushSize: upload.partSize)
        }
    }

    // MARK: Appending

    public enum AppendOutcome: Sendable {
        /// Every byte of the body is stored and counted.
        case appended(ResumableUpload)
        /// Another append moved the offset first (or took the tail): nothing of this one counted
        /// past `current`.
        case conflict(current: ResumableUpload?)
        /// The upload stopped accepting bytes meanwhile (expired, terminated, or finished).
        case gone(ResumableUpload?)
        /// The body's digest differs from `Upload-Checksum`: nothing of it counted.
        case checksumMismatch(ResumableUpload)
        /// The body went past `Upload-Length`; what came before the last stored part is kept.
        case overflow(length: Int64, current: ResumableUpload)
        /// The body was cut off (client gone, stalled): `kept` says what is stored now.
        case interrupted(any Error, kept: ResumableUpload)
        /// Storage or PostgreSQL failed; `current` is what is counted (the offset tells the truth).
        case failed(any Error, current: ResumableUpload)
    }

    /// Appends a request body at `upload.offset` (the caller checked the client's Upload-Offset
    /// against it). `length`: an Upload-Length this request sets on a deferred upload.
    ///
    /// Runs in a task of its own that the request's cancellation does not reach: a client that
    /// disconnects cancels its handler, but a part half-recorded is worse than a part finished,
    /// so the bytes that arrived are stored and counted before this returns.
    public func append<Body: AsyncSequence & Sendable>(to upload: ResumableUpload, length: Int64?, checksum: UploadChecksum?,
                                                       body: Body) async -> AppendOutcome where Body.Element == [UInt8] {
        await Task.detached(executorPreference: EventLoop.shared) {
            var run = AppendRun(uploads: self, upload: upload, length: length, checksum: checksum)
            return await run.run(body)
        }.value
    }

    // MARK: Finishing, terminating, sweeping

    /// Makes the object from every stored byte (idempotent). The upload must be full.
    public func assemble(_ upload: ResumableUpload) async throws -> ObjectInfo {
        guard let length = upload.length, upload.offset == length else {
            throw StorageError.backend("upload \(upload.id) is not complete (\(upload.offset) of \(upload.length.map(String.init) ?? "?") bytes)")
        }
        var parts: [ResumablePart] = []
        if case .parts = storage.resumableLayout {
            parts = try await store.parts(id: upload.id)
            var next: Int64 = 0
            for p in parts {
                guard p.offset == next else {
                    throw StorageError.backend("upload \(upload.id): recorded parts are not contiguous at byte \(next)")
                }
                next += p.size
            }
            guard next == length else { throw StorageError.backend("upload \(upload.id): recorded parts hold \(next) of \(length) bytes") }
        }
        return try await storage.completeResumable(key: upload.objectKey, handle: upload.storageHandle, parts: parts, size: length)
    }

    public enum Termination: Sendable, Equatable {
        case terminated
        case notFound
        case alreadyGone
    }

    /// tus termination: no later append can land (the row leaves `uploading` first), then the
    /// storage is released. A finished upload only loses its record: the video keeps its source.
    public func terminate(id: String) async throws -> Termination {
        guard let retired = try await store.terminate(id: id) else {
            return try await store.upload(id: id) == nil ? .notFound : .alreadyGone
        }
        if !retired.released {
            do { try await release(retired) } catch {
                // The sweeper tries again: the tombstone says the storage is still held.
                logger.with("upload_id", id).warning("terminated upload's storage not released yet", ["error": "\(error)"])
            }
        }
        return .terminated
    }

    /// Frees an expired or terminated upload's storage (abort / remove; idempotent), then its
    /// parts and tail rows. A full upload may have been assembled before finishing it failed:
    /// with no video to own it, the object goes too.
    public func release(_ upload: ResumableUpload) async throws {
        try await storage.abortResumable(key: upload.objectKey, handle: upload.storageHandle)
        if upload.isFull, try await !store.hasVideo(id: upload.id) {
            try await storage.delete(key: upload.objectKey)
        }
        try await store.markReleased(id: upload.id)
    }

    /// How long an expired or terminated upload still answers 410 (then 404): the expiry, and at
    /// least an hour, so a client that was offline a while learns its upload expired.
    public var tombstoneRetention: Duration { max(settings.expiry, .seconds(3600)) }

    public struct SweepReport: Sendable, Equatable {
        public var expired: [String] = []
        public var released: [String] = []
        public var forgotten = 0
        public var failures: [String] = []
    }

    /// Expires unfinished uploads past their time, releases the storage of every expired or
    /// terminated one not yet released, and forgets old tombstones and finished records. Safe with
    /// several instances at once: expiring is one UPDATE, releasing is idempotent.
    public func sweep() async -> SweepReport {
        var report = SweepReport()
        do {
            report.expired = try await store.expireDue().map(\.id)
            for upload in try await store.unreleased() {
                do {
                    try await release(upload)
                    report.released.append(upload.id)
                } catch {
                    report.failures.append("\(upload.id): \(error)")
                    logger.with("upload_id", upload.id).warning("could not release an expired upload's storage; will retry", ["error": "\(error)"])
                }
            }
            report.forgotten = try await store.forget(tombstonesOlderThan: tombstoneRetention)
        } catch {
            report.failures.append("\(error)")
            logger.warning("upload sweep failed; will retry", ["error": "\(error)"])
        }
        return report
    }
}

/// One append in progress: the plan, what is counted so far, and (with a checksum) what waits for
/// the digest before it may be counted.
struct AppendRun {
    let uploads: ResumableUploads
    let length: Int64?
    let checksum: UploadChecksum?
    var plan: AppendPlan
    /// The upload as last committed.
    var committed: ResumableUpload
    /// With a checksum: everything stored so far, committed at once after the digest matched.
    var batch: ResumableUploadStore.Commit?

    /// Refusals found while storing; mapped to an outcome.
    enum Stop: Error {
        case conflict(ResumableUpload?)
        case gone(ResumableUpload?)
        case exhausted
    }

    init(uploads: ResumableUploads, upload: ResumableUpload, length: Int64?, checksum: UploadChecksum?) {
        self.uploads = uploads
        self.length = upload.length == nil ? length : nil
        self.checksum = checksum
        self.committed = upload
        self.plan = AppendPlan(layout: uploads.layout(of: upload), offset: upload.offset,
                               tailBytes: uploads.storage.resumableLayout == .inPlace ? 0 : upload.tailLength,
                               length: upload.length ?? length, maximum: uploads.settings.maxSize)
        if checksum != nil {
            var b = ResumableUploadStore.Commit(expectedOffset: upload.offset, newOffset: upload.offset)
            b.length = self.length
            batch = b
        }
    }

    var store: ResumableUploadStore { uploads.store }
    var id: String { committed.id }
    /// The offset every compare-and-set checks: the last commit's, or (checksum) the start's.
    var base: Int64 { batch?.expectedOffset ?? committed.offset }

    mutating func run<Body: AsyncSequence>(_ body: Body) async -> ResumableUploads.AppendOutcome where Body.Element == [UInt8] {
        var digest = checksum.map { Crypto.Digest($0.algorithm) }
        var iterator = body.makeAsyncIterator()
        var cutOff: (any Error)?
        do {
            while true {
                let chunk: [UInt8]?
                do { chunk = try await iterator.next() } catch {
                    cutOff = error
                    break
                }
                guard let chunk else { break }
                digest?.update(chunk)
                for step in try plan.receive(chunk) { try await perform(step) }
            }
            if let cutOff {
                // With a checksum nothing of this body may count; without, what arrived is kept.
                if checksum == nil {
                    for step in plan.finish() { try await perform(step) }
                }
                return .interrupted(cutOff, kept: committed)
            }
            if let checksum, let actual = digest?.finalize(), !Crypto.constantTimeEqual(actual, checksum.digest) {
                return .checksumMismatch(committed)
            }
            for step in plan.finish() { try await perform(step) }
            if var batch {
                batch.newOffset = plan.nextOffset
                try await commit(batch)
            } else if let length, committed.length == nil {
                // A PATCH that only declares the length (no bytes to count with it).
                var c = ResumableUploadStore.Commit(expectedOffset: committed.offset, newOffset: committed.offset)
                c.length = length
                try await commit(c)
            }
            return .appended(committed)
        } catch let overflow as AppendPlan.Overflow {
            return .overflow(length: overflow.length, current: committed)
        } catch let stop as Stop {
            switch stop {
            case .conflict(let current): return .conflict(current: current)
            case .gone(let current): return .gone(current)
            case .exhausted:
                return .failed(StorageError.backend("upload \(id) used all \(ResumableUploadStore.maximumPartNumber) part numbers; start a new upload"),
                               current: committed)
            }
        } catch {
            // Terminated or expired meanwhile: storage then refuses the part (its multipart upload
            // or partial file is gone), which is the upload's end, not a failure.
            if let current = try? await store.upload(id: id), current.status != .uploading { return .gone(current) }
            return .failed(error, current: committed)
        }
    }

    private mutating func perform(_ step: AppendPlan.Step) async throws {
        switch step {
        case .part(let offset, let tailBytes, let bytes, _):
            var data = bytes
            if tailBytes > 0 {
                guard var whole = try await store.tail(id: id, from: offset, count: tailBytes) else { throw try await refusal() }
                whole.append(contentsOf: bytes)
                data = whole
            }
            guard let number = try await store.reservePart(id: id, expectedOffset: base) else { throw try await refusal() }
            let etag = try await uploads.storage.writeResumable(key: committed.objectKey, handle: committed.storageHandle,
                                                                partNumber: number, offset: offset, bytes: data)
            let part = ResumablePart(number: number, etag: etag, size: Int64(data.count), offset: offset)
            try await record(fresh: bytes.count) { c in
                c.parts.append(part)
                if tailBytes > 0 { c.dropTail = true }
            }
            plan.recycle(data)
        case .keepTail(let offset, let bytes):
            try await record(fresh: bytes.count) { c in c.tailSegment = (offset, bytes) }
        case .write(let offset, let bytes):
            let verifying = batch != nil
            let expected = base
            let declared = committed.length == nil ? length : nil
            let key = committed.objectKey, handle = committed.storageHandle, storage = uploads.storage
            let store = self.store, expiry = uploads.settings.expiry, uploadID = id
            // Under the row lock: no other append can commit between the check and the write, so
            // nothing is ever written over a range already counted.
            let result: Result<ResumableUpload?, Stop> = try await store.withLockedUpload(id: uploadID) { row, tx in
                guard let row, row.status == .uploading else { return .failure(.gone(row)) }
                guard row.offset == expected else { return .failure(.conflict(row)) }
                _ = try await storage.writeResumable(key: key, handle: handle, partNumber: 0, offset: offset, bytes: bytes)
                if verifying { return .success(nil) }
                var c = ResumableUploadStore.Commit(expectedOffset: expected, newOffset: expected + Int64(bytes.count))
                c.length = declared
                return .success(try await store.commit(id: uploadID, c, expiry: expiry, on: tx))
            }
            switch result {
            case .failure(let stop): throw stop
            case .success(let updated?): committed = updated
            case .success(nil):
                if verifying { batch?.newOffset += Int64(bytes.count) } else { throw try await refusal() }
            }
            plan.recycle(bytes)
        }
    }

    /// Counts `fresh` body bytes with what `change` adds: now (no checksum) or in the batch.
    private mutating func record(fresh: Int, _ change: (inout ResumableUploadStore.Commit) -> Void) async throws {
        if batch != nil {
            change(&batch!)
            return
        }
        var c = ResumableUploadStore.Commit(expectedOffset: committed.offset, newOffset: committed.offset + Int64(fresh))
        if committed.length == nil { c.length = length }
        change(&c)
        try await commit(c)
    }

    private mutating func commit(_ c: ResumableUploadStore.Commit) async throws {
        guard let updated = try await store.commit(id: id, c, expiry: uploads.settings.expiry) else { throw try await refusal() }
        committed = updated
    }

    /// Why a compare-and-set found nothing: the upload moved on, left `uploading`, or ran out of part numbers.
    private func refusal() async throws -> Stop {
        let current = try await store.upload(id: id)
        guard let current, current.status == .uploading else { return .gone(current) }
        if current.offset == base, let length, let known = current.length, known != length { return .conflict(current) }
        if current.offset == base { return .exhausted }
        return .conflict(current)
    }
}
