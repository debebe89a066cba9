#if canImport(Glibc)
import Glibc
#endif
import Reactor

/// Resumable uploads on local storage: one partial file per upload in `{root}/.uploads/`, each
/// append written in place at its offset and fsync'd before PostgreSQL counts it; at the end the
/// file is cut to the upload's length and renamed to its key (same filesystem: atomic). Keys
/// cannot reach `.uploads` (no key component may start with a dot), and listings skip it.
extension FileStorage {
    public var resumableLayout: ResumableLayout { .inPlace }

    var uploadsDirectory: String { root + "/.uploads" }

    public func beginResumable(key: String, contentType: String?) async throws -> String {
        _ = try path(for: key)
        let handle = "tus-" + Hex.encode(Crypto.randomBytes(16))
        let file = try partialPath(handle)
        let directory = uploadsDirectory
        try await OffThread.io {
            try Self.makeDirectories(directory)
            let fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw Self.ioError("create", file) }
            let synced = fsync(fd) == 0
            close(fd)
            guard synced else { throw Self.ioError("fsync", file) }
            try Self.syncDirectory(directory)
        }
        return handle
    }

    public func writeResumable(key: String, handle: String, partNumber: Int, offset: Int64, bytes: [UInt8]) async throws -> String {
        let file = try partialPath(handle)
        try await OffThread.io {
            let fd = open(file, O_WRONLY | O_CLOEXEC)
            guard fd >= 0 else {
                throw errno == ENOENT ? .notFound(key: key + " (partial upload \(handle))") : Self.ioError("open", file)
            }
            defer { close(fd) }
            var done = 0
            while done < bytes.count {
                let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done)) }
                if n < 0 { if errno == EINTR { continue }; throw Self.ioError("pwrite", file) }
                done += n
            }
            guard fsync(fd) == 0 else { throw Self.ioError("fsync", file) }
        }
        return ""
    }

    public func completeResumable(key: String, handle: String, parts: [ResumablePart], size: Int64) async throws -> ObjectInfo {
        let destination = try path(for: key)
        let file = try partialPath(handle)
        let done: ObjectInfo? = try await OffThread.io { () throws(StorageError) -> ObjectInfo? in
            let fd = open(file, O_RDWR | O_CLOEXEC)
            guard fd >= 0 else {
                guard errno == ENOENT else { throw Self.ioError("open", file) }
                return nil  // renamed by an earlier call, or never there: the object decides
            }
            var st = stat()
            guard fstat(fd, &st) == 0 else { let e = Self.ioError("fstat", file); close(fd); throw e }
            // Bytes past the length were written by appends that were refused (a checksum that did
            // not match, a lost race): they are not part of the upload.
            guard Int64(st.st_size) >= size else {
                close(fd)
                throw .io(operation: "complete", path: file, errno: EIO, message: "holds \(st.st_size) bytes, fewer than the upload's \(size)")
            }
            guard ftruncate(fd, off_t(size)) == 0, fsync(fd) == 0 else { let e = Self.ioError("truncate", file); close(fd); throw e }
            fchmod(fd, 0o644)
            close(fd)
            let parent = String(destination[..<destination.lastIndex(of: "/")!])
            try Self.makeDirectories(parent)
            guard rename(file, destination) == 0 else { throw Self.ioError("rename", destination) }
            return ObjectInfo(key: key, size: size, modified: Int64(st.st_mtim.tv_sec))
        }
        if let done { return done }
        if let existing = try await head(key: key), existing.size == size { return existing }
        throw StorageError.notFound(key: key + " (partial upload \(handle))")
    }

    public func abortResumable(key: String, handle: String) async throws {
        let file = try partialPath(handle)
        try await OffThread.io {
            if unlink(file) != 0 && errno != ENOENT { throw Self.ioError("unlink", file) }
        }
    }

    /// The partial file of `handle`, which comes from the database: only names vidd makes.
    func partialPath(_ handle: String) throws(StorageError) -> String {
        guard handle.hasPrefix("tus-"), handle.utf8.count <= 64,
              handle.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 122) || $0 == 45 }) else {
            throw .invalidKey(.init(key: handle, reason: "not a partial upload name vidd made"))
        }
        return uploadsDirectory + "/" + handle
    }

    /// A new file's name survives a crash only once its directory is synced.
    static func syncDirectory(_ path: String) throws(StorageError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw ioError("open", path) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw ioError("fsync", path) }
    }
}
