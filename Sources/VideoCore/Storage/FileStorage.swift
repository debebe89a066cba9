#if canImport(Glibc)
import Glibc
#endif

/// The local-directory backend: the bucket is a directory, a key is a relative path below it.
///
/// Writes go to a temporary file in `{root}/.tmp` (same filesystem), are fsync'd, then renamed
/// into place: a reader never sees half an object and a crash leaves at most a stray temp file.
/// Keys are validated (no `..`, no dot-leading component, no absolute path), so no key can reach
/// outside `root` or touch the temp directory. File I/O is blocking, so every operation runs on
/// a Dispatch worker (`OffThread.io`), never on the event loop's thread nor on the cooperative pool.
public struct FileStorage: Storage {
    public let root: String
    private var tempDirectory: String { root + "/.tmp" }

    /// Creates `root` (and parents) when missing.
    public init(root: String) throws {
        var r = root
        while r.count > 1 && r.hasSuffix("/") { r.removeLast() }
        precondition(r.hasPrefix("/"), "FileStorage root must be an absolute path")
        self.root = r
        try Self.makeDirectories(r)
        try Self.makeDirectories(r + "/.tmp")
    }

    public func path(for key: String) throws(StorageError) -> String {
        do { try ObjectKeys.validate(key) } catch { throw .invalidKey(error) }
        return root + "/" + key
    }

    public func put(key: String, fromFile source: String, contentType: String?) async throws -> ObjectInfo {
        let destination = try path(for: key)
        return try await OffThread.io {
            let input = open(source, O_RDONLY | O_CLOEXEC)
            guard input >= 0 else { throw Self.ioError("open", source) }
            defer { close(input) }
            return try writeAtomically(key: key, destination: destination) { (out: Int32) throws(StorageError) in
                var buffer = [UInt8](repeating: 0, count: 1 << 20)
                while true {
                    let n = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
                    if n < 0 { if errno == EINTR { continue }; throw Self.ioError("read", source) }
                    if n == 0 { break }
                    try Self.writeAll(out, buffer[..<n], path: destination)
                }
            }
        }
    }

    public func put<Chunks: AsyncSequence & Sendable>(key: String, chunks: Chunks, contentType: String?) async throws -> ObjectInfo
        where Chunks.Element == [UInt8] {
        let destination = try path(for: key)
        let (temp, fd) = try makeTempFile()
        var committed = false
        defer {
            if !committed { close(fd); unlink(temp) }
        }
        for try await chunk in chunks {
            try await OffThread.io { try Self.writeAll(fd, chunk[...], path: temp) }
        }
        committed = true  // commit consumes the descriptor and cleans up on failure
        return try await OffThread.io { () throws(StorageError) -> ObjectInfo in
            try commit(fd: fd, temp: temp, destination: destination, key: key)
        }
    }

    public func get(key: String, range: ClosedRange<Int64>?) async throws -> [UInt8] {
        let file = try path(for: key)
        return try await OffThread.io { () throws(StorageError) -> [UInt8] in
            let fd = open(file, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw errno == ENOENT || errno == ENOTDIR ? .notFound(key: key) : Self.ioError("open", file) }
            defer { close(fd) }
            var st = stat()
            guard fstat(fd, &st) == 0 else { throw Self.ioError("fstat", file) }
            guard (st.st_mode & S_IFMT) == S_IFREG else { throw .notFound(key: key) }
            let size = Int64(st.st_size)
            let wanted: ClosedRange<Int64>
            if let range {
                guard range.lowerBound >= 0, range.upperBound < size else { throw .invalidRange(key: key, size: size, requested: range) }
                wanted = range
            } else {
                if size == 0 { return [] }
                wanted = 0...(size - 1)
            }
            let count = Int(wanted.upperBound - wanted.lowerBound + 1)
            var out = [UInt8](repeating: 0, count: count)
            var done = 0
            while done < count {
                let n = out.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(wanted.lowerBound) + off_t(done)) }
                if n < 0 { if errno == EINTR { continue }; throw Self.ioError("pread", file) }
                if n == 0 { break }
                done += n
            }
            return done == count ? out : Array(out[..<done])
        }
    }

    public func head(key: String) async throws -> ObjectInfo? {
        let file = try path(for: key)
        return try await OffThread.io { () throws(StorageError) -> ObjectInfo? in
            var st = stat()
            guard stat(file, &st) == 0 else {
                if errno == ENOENT || errno == ENOTDIR { return nil }
                throw Self.ioError("stat", file)
            }
            guard (st.st_mode & S_IFMT) == S_IFREG else { return nil }
            return ObjectInfo(key: key, size: Int64(st.st_size), modified: Int64(st.st_mtim.tv_sec))
        }
    }

    public func delete(prefix: String) async throws -> Int {
        let objects = try await list(prefix: prefix)
        return try await OffThread.io { () throws(StorageError) -> Int in
            var directories = Set<String>()
            for object in objects {
                let file = root + "/" + object.key
                if unlink(file) != 0 && errno != ENOENT { throw Self.ioError("unlink", file) }
                var parts = object.key.split(separator: "/").dropLast()
                while !parts.isEmpty {
                    directories.insert(parts.joined(separator: "/"))
                    parts = parts.dropLast()
                }
            }
            // Remove directories left empty, deepest first; a non-empty one stays (rmdir refuses).
            for dir in directories.sorted(by: { $0.count > $1.count }) { rmdir(root + "/" + dir) }
            return objects.count
        }
    }

    /// None here: an unfinished write is a temporary file in `.tmp`, under no prefix.
    public func abortUnfinishedUploads(prefix: String) async throws -> Int { 0 }

    public func delete(key: String) async throws {
        let file = try path(for: key)
        // (A `Bool` result, not Void: Swift 6.3's SIL verifier crashes on a Void typed-throws closure here.)
        _ = try await OffThread.io { () throws(StorageError) -> Bool in
            if unlink(file) != 0 && errno != ENOENT && errno != ENOTDIR { throw Self.ioError("unlink", file) }
            // Parent directories left empty go too (rmdir refuses a non-empty one).
            var parts = key.split(separator: "/").dropLast()
            while !parts.isEmpty, rmdir(root + "/" + parts.joined(separator: "/")) == 0 { parts = parts.dropLast() }
            return true
        }
    }

    public func list(prefix: String) async throws -> [ObjectInfo] {
        // The deepest directory the prefix names fully: walking starts there, not at the root.
        let directoryPart = prefix.contains("/") ? String(prefix[..<prefix.lastIndex(of: "/")!]) : ""
        if !directoryPart.isEmpty {
            do { try ObjectKeys.validate(directoryPart) } catch { throw StorageError.invalidKey(error) }
        }
        return try await OffThread.io { () throws(StorageError) -> [ObjectInfo] in
            var out: [ObjectInfo] = []
            try walk(directoryPart, prefix: prefix, into: &out)
            return out.sorted { $0.key < $1.key }
        }
    }

    public func playableLocation(key: String, expiresIn: Duration) async throws -> PlayableLocation {
        guard let info = try await head(key: key) else { throw StorageError.notFound(key: key) }
        return .localFile(path: try path(for: key), size: info.size)
    }

    public func checkReachable() async throws {
        try await OffThread.io {
            // Proves the directory exists and is writable.
            let (path, fd) = try makeTempFile(prefix: "probe-")
            close(fd)
            unlink(path)
        }
    }

    // MARK: internals

    private func walk(_ relative: String, prefix: String, into out: inout [ObjectInfo]) throws(StorageError) {
        let directory = relative.isEmpty ? root : root + "/" + relative
        guard let dir = opendir(directory) else {
            if errno == ENOENT || errno == ENOTDIR { return }
            throw Self.ioError("opendir", directory)
        }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name.hasPrefix(".") { continue }  // ".", "..", and the temp directory
            let key = relative.isEmpty ? name : relative + "/" + name
            var st = stat()
            guard lstat(root + "/" + key, &st) == 0 else { continue }
            if (st.st_mode & S_IFMT) == S_IFDIR {
                // Descend only where keys can still match the prefix.
                if prefix.hasPrefix(key + "/") || (key + "/").hasPrefix(prefix) {
                    try walk(key, prefix: prefix, into: &out)
                }
            } else if (st.st_mode & S_IFMT) == S_IFREG, key.hasPrefix(prefix) {
                out.append(ObjectInfo(key: key, size: Int64(st.st_size), modified: Int64(st.st_mtim.tv_sec)))
            }
        }
    }

    private func makeTempFile(prefix: String = "put-") throws(StorageError) -> (String, Int32) {
        var template = Array("\(tempDirectory)/\(prefix)XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw Self.ioError("mkstemp", tempDirectory) }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        let path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return (path, fd)
    }

    private func writeAtomically(key: String, destination: String, _ body: (Int32) throws(StorageError) -> Void) throws(StorageError) -> ObjectInfo {
        let (temp, fd) = try makeTempFile()
        do {
            try body(fd)
        } catch {
            close(fd)
            unlink(temp)
            throw error
        }
        return try commit(fd: fd, temp: temp, destination: destination, key: key)
    }

    /// fsync, close, create the parent directories, rename over the destination. Always consumes
    /// `fd`; on failure the temp file is removed too.
    private func commit(fd: Int32, temp: String, destination: String, key: String) throws(StorageError) -> ObjectInfo {
        var st = stat()
        guard fsync(fd) == 0, fstat(fd, &st) == 0 else {
            let e = Self.ioError("fsync", temp)
            close(fd)
            unlink(temp)
            throw e
        }
        fchmod(fd, 0o644)
        guard close(fd) == 0 else { unlink(temp); throw Self.ioError("close", temp) }
        let parent = String(destination[..<destination.lastIndex(of: "/")!])
        do { try Self.makeDirectories(parent) } catch { unlink(temp); throw error }
        guard rename(temp, destination) == 0 else {
            let e = Self.ioError("rename", destination)
            unlink(temp)
            throw e
        }
        return ObjectInfo(key: key, size: Int64(st.st_size), modified: Int64(st.st_mtim.tv_sec))
    }

    package static func makeDirectories(_ path: String) throws(StorageError) {
        var current = ""
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o755) != 0 && errno != EEXIST { throw ioError("mkdir", current) }
        }
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
            throw .io(operation: "mkdir", path: path, errno: ENOTDIR, message: "exists and is not a directory")
        }
    }

    package static func writeAll(_ fd: Int32, _ bytes: ArraySlice<UInt8>, path: String) throws(StorageError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 { if errno == EINTR { continue }; throw ioError("write", path) }
            offset += n
        }
    }

    package static func ioError(_ operation: String, _ path: String) -> StorageError {
        let e = errno
        return .io(operation: operation, path: path, errno: e, message: String(cString: strerror(e)))
    }
}
