#if canImport(Glibc)
import Glibc
#endif

/// Temporary directory trees on plain Glibc: a job's work directory, a test's scratch space.
package enum FileTree {
    /// A fresh directory `base/prefixXXXXXX`; nil with errno set when mkdtemp fails.
    package static func makeTemporaryDirectory(in base: String, prefix: String) -> String? {
        var template = Array((base + "/" + prefix + "XXXXXX").utf8CString)
        guard let p = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else { return nil }
        return String(cString: p)
    }

    /// Deletes `path` and everything below it (symbolic links are removed, never followed).
    package static func remove(_ path: String) {
        guard let dir = opendir(path) else { unlink(path); return }
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name == "." || name == ".." { continue }
            let child = path + "/" + name
            var st = stat()
            if lstat(child, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR { remove(child) } else { unlink(child) }
        }
        closedir(dir)
        rmdir(path)
    }
}
