#if canImport(Glibc)
import Glibc
#endif

/// A file opened for positional reads or sequential writes (uploads from and downloads to files).
/// Reads of a few hundred KiB from the page cache are short enough to run on the event loop.
final class FileHandle: Sendable {
    let fd: Int32
    let path: String

    private init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    static func openForReading(_ path: String) throws(S3ClientError) -> FileHandle {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .fileIO(path: path, operation: "open", errno: errno) }
        return FileHandle(fd: fd, path: path)
    }

    static func openForWriting(_ path: String) throws(S3ClientError) -> FileHandle {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .fileIO(path: path, operation: "open", errno: errno) }
        return FileHandle(fd: fd, path: path)
    }

    deinit { close(fd) }

    func size() throws(S3ClientError) -> Int64 {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .fileIO(path: path, operation: "fstat", errno: errno) }
        return Int64(st.st_size)
    }

    /// Appends exactly `count` bytes read at `offset` to `out`.
    func read(at offset: Int64, count: Int, into out: inout [UInt8]) throws(S3ClientError) {
        let start = out.count
        out.reserveCapacity(start + count)
        var done = 0
        var failure: Int32 = 0
        out.append(contentsOf: repeatElement(0, count: count))
        out.withUnsafeMutableBytes { raw in
            while done < count {
                let n = pread(fd, raw.baseAddress! + start + done, count - done, off_t(offset) + off_t(done))
                if n > 0 { done += n; continue }
                if n < 0 && errno == EINTR { continue }
                failure = n == 0 ? EIO : errno
                return
            }
        }
        if failure != 0 { throw .fileIO(path: path, operation: "read (file shorter than expected?)", errno: failure) }
    }

    func write(_ bytes: [UInt8]) throws(S3ClientError) {
        var done = 0
        var failure: Int32 = 0
        bytes.withUnsafeBytes { raw in
            while done < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                if n > 0 { done += n; continue }
                if n < 0 && errno == EINTR { continue }
                failure = errno
                return
            }
        }
        if failure != 0 { throw .fileIO(path: path, operation: "write", errno: failure) }
    }

    func truncate(to length: Int64) throws(S3ClientError) {
        guard ftruncate(fd, off_t(length)) == 0 else { throw .fileIO(path: path, operation: "ftruncate", errno: errno) }
        _ = lseek(fd, 0, SEEK_SET)
    }
}
