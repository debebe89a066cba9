#if canImport(Glibc)
import Glibc
#endif
import VideoCore

/// A job's private directory (`{work root}/vidd-job-XXXXXX`: the source copy, the transcoder's
/// output), locked while its job runs so that a sweep — by this worker or another one sharing the
/// work root — can tell a live job's directory from one a killed worker left behind.
///
/// The lock is `flock` on the directory itself, held by an open descriptor: the kernel drops it
/// when the process dies, however it dies, so a SIGKILLed worker's directories are unlocked at
/// once and no pid (which may be reused, or belong to another container) is ever trusted.
final class WorkDirectory: Sendable {
    static let prefix = "vidd-job-"

    let path: String
    private let descriptor: Int32

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    /// A fresh locked directory under `root` (created if missing).
    static func create(in root: String) throws(JobRunner.StepError) -> WorkDirectory {
        do { try FileStorage.makeDirectories(root) } catch { throw .transient("cannot create the work root: \(error)") }
        guard let path = FileTree.makeTemporaryDirectory(in: root, prefix: prefix) else {
            throw .transient("cannot create a work directory in \(root): \(String(cString: strerror(errno)))")
        }
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0, flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let reason = String(cString: strerror(errno))
            if fd >= 0 { close(fd) }
            FileTree.remove(path)
            throw .transient("cannot lock the work directory \(path): \(reason)")
        }
        return WorkDirectory(path: path, descriptor: fd)
    }

    /// Deletes the directory and what is in it (the lock goes with the descriptor, at deinit).
    func remove() async {
        let path = self.path
        try? await OffThread.run { FileTree.remove(path) }
    }

    /// Removes the work directories under `root` that no live worker holds and that are older than
    /// `age` (a directory just made may not be locked yet by its owner). Returns what it removed.
    static func sweep(in root: String, olderThan age: Duration) async throws -> [String] {
        try await OffThread.run { sweepNow(in: root, olderThan: age) }
    }

    private static func sweepNow(in root: String, olderThan age: Duration) -> [String] {
        guard let dir = opendir(root) else { return [] }
        var candidates: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name.hasPrefix(prefix) { candidates.append(root + "/" + name) }
        }
        closedir(dir)
        let cutoff = time(nil) - Int(age.components.seconds)
        var removed: [String] = []
        for path in candidates.sorted() {
            var st = stat()
            guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR, st.st_mtim.tv_sec <= cutoff else { continue }
            let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { continue }
            // Held by a live job (ours or another worker's on this machine): not ours to touch.
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { close(fd); continue }
            FileTree.remove(path)
            close(fd)
            removed.append(path)
        }
        return removed
    }
}
