#if canImport(Glibc)
import Glibc
#endif
import Reactor

/// A worker's consumer name in the group: unique per process (host, pid, random), so a restarted
/// worker never inherits (and never skips) entries pending under its predecessor's name — those
/// are handed over by XAUTOCLAIM after the lease.
public enum ConsumerName {
    public static func make(host: String = hostName(), pid: Int32 = getpid(), random: [UInt8] = Crypto.randomBytes(4)) -> String {
        let safeHost = host.isEmpty ? "host" : String(host.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." ? $0 : "_" }.prefix(64))
        return "\(safeHost)-\(pid)-\(Hex.encode(random))"
    }

    public static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "host" }
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
