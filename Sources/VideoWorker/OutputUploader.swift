import VideoCore
#if canImport(Glibc)
import Glibc
#endif
import Reactor
import Synchronization
import Transcode

/// The transcoder's `OutputSink` for a job: each finished output file is uploaded to its key in
/// the bucket (`OutputLayout`) while encoding goes on.
///
/// `fileCompleted` runs on the transcoder's threads: it only reads playlists (small, and rewritten
/// in place as segments are added, so this version is copied now) and hands the upload to a task.
/// Uploads of one key run in order, each behind the previous; a playlist version already
/// superseded by a newer queued one is skipped. `finish()` waits for every upload.
///
/// Nothing is published before what it names, since players fetch what a playlist lists at once
/// (the transcoder reports files in that order, `OutputFile`): a media playlist version is
/// uploaded after its rendition's init and every segment reported before it; a master after the
/// newest version of every media playlist, and only once each of them is stored (`untilStored`);
/// the DASH manifest after everything. A redelivered
/// job of a video that was already playable starts with `playlistFloor`, the segment count of
/// each media playlist in the bucket: a version with fewer segments is not uploaded, so a player
/// watching the longer playlist never sees it shrink (the segments it names are overwritten with
/// the same media by the new attempt, each object replaced whole).
final class OutputUploader: OutputSink {
    struct Failed: Error, CustomStringConvertible {
        var description: String
    }

    private enum Payload: Sendable {
        case file(String)
        case bytes([UInt8])
    }

    private struct State {
        var last: [String: Task<Void, Never>] = [:]
        var versions: [String: Int] = [:]
        var tasks: [Task<Void, Never>] = []
        /// Init and segment uploads of each rendition since its last playlist version was queued.
        var pendingSegments: [String: [Task<Void, Never>]] = [:]
        /// The newest queued version of each media playlist (behind all it names and every older version).
        var playlists: [String: Task<Void, Never>] = [:]
        var stored: [String: ObjectInfo] = [:]
        var firstError: String?
        var cancelled = false
    }

    let storage: any Storage
    let videoID: String
    /// Segments listed by each media playlist already in the bucket, by key (see above).
    let playlistFloor: [String: Int]
    /// A file was handed over for upload / is stored (progress: a rung's MP4 uploading, done).
    private let onQueued: @Sendable (OutputFile) -> Void
    private let onStored: @Sendable (OutputFile, ObjectInfo) -> Void
    private let state = Mutex(State())

    init(storage: any Storage, videoID: String, playlistFloor: [String: Int] = [:],
         onQueued: @escaping @Sendable (OutputFile) -> Void = { _ in },
         onStored: @escaping @Sendable (OutputFile, ObjectInfo) -> Void = { _, _ in }) {
        self.storage = storage
        self.videoID = videoID
        self.playlistFloor = playlistFloor
        self.onQueued = onQueued
        self.onStored = onStored
    }

    func fileCompleted(_ file: OutputFile) {
        guard let key = OutputLayout.key(forRelativePath: file.relativePath, videoID: videoID) else {
            fail("the transcoder wrote \(file.relativePath), which has no place in the bucket")
            return
        }
        let payload: Payload
        switch file.kind {
        case .mediaPlaylist, .masterPlaylist, .dashManifest:
            guard let bytes = Self.readFile(file.localPath) else {
                fail("cannot read \(file.relativePath): \(String(cString: strerror(errno)))")
                return
            }
            payload = file.kind == .masterPlaylist
                ? .bytes(Array(OutputLayout.masterPlaylistForBucket(String(decoding: bytes, as: UTF8.self)).utf8)) : .bytes(bytes)
        default:
            payload = .file(file.localPath)
        }
        let queued = state.withLock { s -> Bool in
            guard !s.cancelled else { return false }
            let version = (s.versions[key] ?? 0) + 1
            s.versions[key] = version
            let previous = s.last[key]
            let named: [Task<Void, Never>] = switch file.kind {
            case .mediaPlaylist: s.pendingSegments.removeValue(forKey: file.rendition ?? "") ?? []
            case .masterPlaylist: Array(s.playlists.values)
            case .dashManifest: s.tasks
            default: []
            }
            let playlistKeys = file.kind == .masterPlaylist ? Array(s.playlists.keys) : []
            let task = Task(executorPreference: EventLoop.shared) { [self] in
                await previous?.value
                for upload in named { await upload.value }
                await self.untilStored(playlistKeys)
                await self.upload(file, key: key, payload: payload, version: version)
            }
            s.last[key] = task
            s.tasks.append(task)
            switch file.kind {
            case .hlsInit, .hlsSegment: s.pendingSegments[file.rendition ?? "", default: []].append(task)
            case .mediaPlaylist: s.playlists[key] = task
            default: break
            }
            return true
        }
        if queued { onQueued(file) }
    }

    private func upload(_ file: OutputFile, key: String, payload: Payload, version: Int) async {
        let contentType = OutputLayout.contentType(forKey: key)
        var attempt = 0
        while true {
            let skip = state.withLock { $0.cancelled || $0.firstError != nil || $0.versions[key] != version }
            if skip { return }
            if file.kind == .mediaPlaylist, case .bytes(let bytes) = payload, let floor = playlistFloor[key] {
                let text = String(decoding: bytes, as: UTF8.self)
                // Shorter than what players may be watching: the bucket keeps the longer one.
                if MediaPlaylistText.segmentCount(text) < floor && !MediaPlaylistText.isComplete(text) { return }
            }
            do {
                let info: ObjectInfo = switch payload {
                case .file(let path): try await storage.put(key: key, fromFile: path, contentType: contentType)
                case .bytes(let bytes): try await storage.put(key: key, chunks: SingleChunk(bytes: bytes), contentType: contentType)
                }
                state.withLock { $0.stored[key] = info }
                onStored(file, info)
                return
            } catch {
                attempt += 1
                if attempt >= Self.uploadAttempts || Task.isCancelled {
                    fail("upload of \(key) failed after \(attempt) attempt\(attempt == 1 ? "" : "s"): \(error)")
                    return
                }
                // A passing storage hiccup should not cost a whole transcode: back off (with jitter), retry.
                let cap = Self.uploadBackoff * (1 << (attempt - 1))
                try? await EventLoop.shared.sleep(for: cap * Double.random(in: 0.5...1))
            }
        }
    }

    /// Waits until each key has a version stored: the playlist version a master waited for may
    /// have been skipped for a newer one queued after the master, and the master must not reach
    /// the bucket before any version of a playlist it names. Follows each key's newest upload
    /// until one stores it, or until the newest one ended without storing (a redelivery's
    /// shorter version: the bucket already has a longer one), a failure or a cancel.
    private func untilStored(_ keys: [String]) async {
        for key in keys {
            var awaited: Task<Void, Never>?
            while true {
                let next = state.withLock { s -> Task<Void, Never>? in
                    s.stored[key] != nil || s.cancelled || s.firstError != nil ? nil : s.last[key]
                }
                guard let next, next != awaited else { break }
                awaited = next
                await next.value
            }
        }
    }

    /// Tries per object, and the first back-off (doubled after each failure).
    static let uploadAttempts = 3
    static let uploadBackoff = Duration.milliseconds(250)

    private func fail(_ message: String) {
        state.withLock { if $0.firstError == nil { $0.firstError = message } }
    }

    /// Waits for every upload queued so far (call after the transcoder returned: nothing is queued
    /// after that). Returns what is stored, by key; throws the first failure.
    func finish() async throws(Failed) -> [String: ObjectInfo] {
        await waitForAll()
        let (stored, error) = state.withLock { ($0.stored, $0.firstError) }
        if let error { throw Failed(description: error) }
        return stored
    }

    /// No new uploads; those not started are skipped, running ones are asked to stop.
    func cancel() {
        let tasks = state.withLock { s -> [Task<Void, Never>] in
            s.cancelled = true
            return s.tasks
        }
        for t in tasks { t.cancel() }
    }

    /// Returns when no upload task is left running (so the job's files may be deleted).
    func waitForAll() async {
        var waited = 0
        while true {
            let tasks = state.withLock { $0.tasks }
            if tasks.count == waited { return }
            for t in tasks[waited...] { await t.value }
            waited = tasks.count
        }
    }

    /// A playlist, whole (they are a few kilobytes); nil with errno set on failure.
    static func readFile(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; return nil }
            if n == 0 { return out }
            out += buffer[..<n]
        }
    }
}

/// One buffer as the chunk sequence `Storage.put(key:chunks:)` takes.
struct SingleChunk: AsyncSequence, Sendable {
    typealias Element = [UInt8]
    let bytes: [UInt8]

    struct AsyncIterator: AsyncIteratorProtocol {
        var bytes: [UInt8]?
        mutating func next() async -> [UInt8]? {
            defer { bytes = nil }
            return bytes
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(bytes: bytes) }
}
