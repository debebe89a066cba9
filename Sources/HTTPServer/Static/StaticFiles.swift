#if canImport(Glibc)
import Glibc
#endif

/// Serves the files under a directory: MIME types by extension, strong ETag and Last-Modified,
/// conditional GET (304/412), single byte ranges (206/416, with If-Range), HEAD. A request can
/// never name a file outside the root: `..`, encoded separators and NULs are refused, and the real
/// path (symlinks resolved) must still lie under the root.
///
///     router.get("/static/*path") { req in try await files.respond(to: req, path: req.parameters["path"] ?? "") }
///
/// Files are read with pread in 64 KiB pieces on the calling thread: cheap for files in the page
/// cache (the case for a web UI and for recently written video segments).
public struct StaticFiles: Sendable {
    public let root: String
    public var indexFile: String? = "index.html"

    /// `root` must exist; it is resolved to its real path once.
    public init(root: String) throws {
        guard let resolved = realpath(root, nil) else {
            throw HTTPError(.internalServerError, "static root \(root) does not exist")
        }
        self.root = String(cString: resolved)
        free(resolved)
    }

    public func respond(to request: HTTPRequest, path: String) async throws -> HTTPResponse {
        guard request.method == .get || request.method == .head else {
            throw HTTPError(.methodNotAllowed, headers: ["Allow": "GET, HEAD"])
        }
        guard let relative = SafePath.relativePath(forRequestPath: Substring(path)) else {
            throw HTTPError(.notFound)
        }
        guard var file = resolve(relative) else { throw HTTPError(.notFound) }
        if file.isDirectory {
            guard let indexFile, let index = resolve(relative.isEmpty ? indexFile : relative + "/" + indexFile), !index.isDirectory else {
                throw HTTPError(.notFound)
            }
            file = index
        }
        let etag = "\"\(String(file.size, radix: 16))-\(String(file.mtimeNanoseconds, radix: 16))\""
        let modified = file.mtimeSeconds
        var headers: HTTPFields = [
            "ETag": etag,
            "Last-Modified": HTTPDate.format(epochSeconds: modified),
            "Accept-Ranges": "bytes",
        ]
        switch ConditionalRequest.evaluate(method: request.method, headers: request.headers, etag: etag, lastModified: modified) {
        case .notModified: return HTTPResponse(status: .notModified, headers: headers)
        case .preconditionFailed: return HTTPResponse(status: .preconditionFailed, headers: headers)
        case .proceed: break
        }
        let ext = file.path.split(separator: "/").last.flatMap { $0.contains(".") ? $0.split(separator: ".").last : nil }
        headers["Content-Type"] = MIMEType.forExtension(ext.map(String.init) ?? "")
        headers["X-Content-Type-Options"] = "nosniff"

        var range = 0...(file.size - 1)
        var status = HTTPStatus.ok
        if request.method == .get, ConditionalRequest.rangeApplies(headers: request.headers, etag: etag, lastModified: modified) {
            switch ByteRangeRequest.resolve(request.headers["Range"], length: file.size) {
            case .whole: break
            case .partial(let r):
                range = r
                status = .partialContent
                headers["Content-Range"] = "bytes \(r.lowerBound)-\(r.upperBound)/\(file.size)"
            case .unsatisfiable:
                headers["Content-Range"] = "bytes */\(file.size)"
                return HTTPResponse(status: .rangeNotSatisfiable, headers: headers)
            }
        }
        if file.size == 0 { return HTTPResponse(status: .ok, headers: headers, body: .empty) }
        let path = file.path
        let start = range.lowerBound, count = range.count
        return HTTPResponse(status: status, headers: headers, body: .stream(length: count) { writer in
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw HTTPError(.notFound) }
            defer { close(fd) }
            var offset = start
            var remaining = count
            var chunk = [UInt8](repeating: 0, count: min(64 * 1024, count))
            while remaining > 0 {
                let want = min(chunk.count, remaining)
                let n = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, want, off_t(offset)) }
                guard n > 0 else { throw HTTPError(.internalServerError, "short read of \(path)") }
                try await writer.write(Array(chunk[0..<n]))
                offset += n
                remaining -= n
            }
        })
    }

    struct FileInfo {
        var path: String
        var isDirectory: Bool
        var size: Int
        var mtimeSeconds: Int
        var mtimeNanoseconds: Int
    }

    /// Real path and stat of `relative`, or nil when missing, not a regular file or directory, or
    /// outside the root once symlinks are resolved.
    func resolve(_ relative: String) -> FileInfo? {
        let joined = relative.isEmpty ? root : root + "/" + relative
        guard let real = realpath(joined, nil) else { return nil }
        let path = String(cString: real)
        free(real)
        guard path == root || path.hasPrefix(root == "/" ? "/" : root + "/") else { return nil }
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        let mode = st.st_mode & S_IFMT
        guard mode == S_IFREG || mode == S_IFDIR else { return nil }
        return FileInfo(
            path: path, isDirectory: mode == S_IFDIR, size: Int(st.st_size), mtimeSeconds: Int(st.st_mtim.tv_sec),
            mtimeNanoseconds: Int(st.st_mtim.tv_sec) * 1_000_000_000 + Int(st.st_mtim.tv_nsec))
    }
}
