#if canImport(Glibc)
import Glibc
#endif
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService
@testable import VideoWorker

/// Small file helpers for tests (temp directories and files), on plain Glibc.
enum FileFixture {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func write(_ path: String, _ text: String) throws { try write(path, Array(text.utf8)) }

    static func write(_ path: String, _ bytes: [UInt8]) throws {
        guard let f = fopen(path, "wb") else { throw Failure(description: "fopen \(path): \(String(cString: strerror(errno)))") }
        defer { fclose(f) }
        guard bytes.withUnsafeBytes({ fwrite($0.baseAddress, 1, $0.count, f) }) == bytes.count else {
            throw Failure(description: "fwrite \(path)")
        }
    }

    static func remove(_ path: String) { unlink(path) }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// A fresh directory under /tmp; remove it with `removeTree`.
    static func makeTemporaryDirectory() throws -> String {
        guard let dir = FileTree.makeTemporaryDirectory(in: "/tmp", prefix: "vidd-test-") else {
            throw Failure(description: "mkdtemp: \(String(cString: strerror(errno)))")
        }
        return dir
    }

    static func removeTree(_ path: String) {
        precondition(path.hasPrefix("/tmp/vidd-test-"))
        FileTree.remove(path)
    }

    /// Every regular file below `path`, relative, sorted.
    static func files(under path: String, relative: String = "") -> [String] {
        guard let dir = opendir(path + (relative.isEmpty ? "" : "/" + relative)) else { return [] }
        defer { closedir(dir) }
        var out: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name == "." || name == ".." { continue }
            let rel = relative.isEmpty ? name : relative + "/" + name
            var st = stat()
            guard lstat(path + "/" + rel, &st) == 0 else { continue }
            if (st.st_mode & S_IFMT) == S_IFDIR { out += files(under: path, relative: rel) } else { out.append(rel) }
        }
        return out.sorted()
    }
}
