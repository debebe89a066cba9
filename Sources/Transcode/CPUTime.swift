import Foundation
import Glibc

/// Where the CPU time of a transcode went: the encoders versus everything around them
/// (demux, decode, rotation, audio, thumbnails, scaling, muxing).
public struct CPUBreakdown: Sendable, Codable, Equatable {
    /// Process CPU (user + system) during the transcode, seconds.
    public var total: Double
    /// Coordinator thread and the decoder's threads: demux, video decode, rotation, audio, thumbnails.
    public var decodeAndAudio: Double
    /// swscale in the rung threads.
    public var scaling: Double
    /// Muxing (MP4 + HLS) in the rung threads.
    public var muxing: Double
    /// x264: its own threads plus the rung threads' time outside scaling and muxing.
    public var encoding: Double

    public var outsideEncoders: Double { total - encoding }
    public var outsideEncodersShare: Double { total > 0 ? outsideEncoders / total : 0 }
}

enum CPUTime {
    /// CPU seconds of the calling thread.
    static func thread() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// CPU seconds of the whole process (user + system).
    static func process() -> Double {
        var ru = rusage()
        getrusage(RUSAGE_SELF.rawValue, &ru)
        return Double(ru.ru_utime.tv_sec) + Double(ru.ru_utime.tv_usec) / 1e6 + Double(ru.ru_stime.tv_sec) + Double(ru.ru_stime.tv_usec) / 1e6
    }

    /// CPU seconds of the live threads named like the calling thread (threads inherit their
    /// creator's name, so this is the caller plus the decoder threads it started).
    static func threadsNamedLikeCaller() -> Double {
        let own = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? ""
        return threads { $0 == own }
    }

    /// CPU seconds of this process's live threads whose name satisfies `match` (names end in a newline).
    static func threads(_ match: (String) -> Bool) -> Double {
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        var sum = 0.0
        for tid in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? [] {
            guard let comm = try? String(contentsOfFile: "/proc/self/task/\(tid)/comm", encoding: .utf8), match(comm),
                  let stat = try? String(contentsOfFile: "/proc/self/task/\(tid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            // Fields after "(comm)": state is field 3; utime and stime are fields 14 and 15.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 12, let u = Double(fields[11]), let s = Double(fields[12]) else { continue }
            sum += (u + s) / ticks
        }
        return sum
    }
}
