import VideoCore

#if canImport(Glibc)
import Glibc
#endif

/// Start-up: the process environment, an optional EnvironmentFile, validated into a `Configuration`.
public enum ConfigurationLoader {
    public struct FileError: Error, Sendable, CustomStringConvertible {
        public var path: String
        public var reason: String
        public var description: String { "cannot read environment file \(path): \(reason)" }
    }

    /// `environ` as a dictionary.
    public static func processEnvironment() -> [String: String] {
        var out: [String: String] = [:]
        var p = environ
        while let entry = p.pointee {
            let text = String(cString: entry)
            if let eq = text.firstIndex(of: "=") { out[String(text[..<eq])] = String(text[text.index(after: eq)...]) }
            p += 1
        }
        return out
    }

    /// Reads and parses an EnvironmentFile (at most 1 MiB).
    public static func readEnvironmentFile(_ path: String) throws -> [String: String] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileError(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; throw FileError(path: path, reason: String(cString: strerror(errno))) }
            if n == 0 { break }
            bytes += chunk[..<n]
            guard bytes.count <= 1 << 20 else { throw FileError(path: path, reason: "larger than 1 MiB") }
        }
        do {
            return try EnvironmentFile.parse(String(decoding: bytes, as: UTF8.self))
        } catch {
            throw FileError(path: path, reason: error.description)
        }
    }

    /// The configuration for a service command: file values, then the environment, then flags.
    public static func load(options: DaemonCommand.ServiceOptions,
                            environment: [String: String] = processEnvironment()) throws -> Configuration {
        let file = try options.environmentFile.map(readEnvironmentFile) ?? [:]
        var configuration = try Configuration.load(from: Configuration.merged(file: file, process: environment))
        if let n = options.concurrency { configuration.workerConcurrency = n }
        return configuration
    }
}
