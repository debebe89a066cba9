import CFFmpeg
import Foundation
import Glibc

/// Where the CPU time of a transcode went. Every part is measured on the thread that does the work
/// (its own CPU clock, or the kernel's per-thread counters for threads libav and x264 start), so
/// `unattributed` is what no part accounts for rather than a remainder that hides work.
///
/// Meaningful when one transcode runs in the process (the CLI, benchmarks): `total` is the process's
/// CPU, so with several jobs at once it includes the others' (the parts stay this job's own).
public struct CPUBreakdown: Sendable, Codable, Equatable {
    /// Process CPU (user + system) from the job's start to its end, seconds.
    public var total: Double = 0
    /// Video decoding: the decoder's frame threads plus the coordinator's calls into the decoder.
    public var decode: Double = 0
    /// Audio: decode, resample, AAC encode, the audio rendition's muxer (coordinator).
    public var audio: Double = 0
    /// Poster candidates, storyboard tiles and writing both images (coordinator).
    public var thumbnails: Double = 0
    /// The rest of the coordinator: opening the source and the outputs, demuxing, rotation, handing
    /// frames to the rung queues, progress, the master playlist.
    public var coordination: Double = 0
    /// swscale in the rung threads.
    public var scaling: Double = 0
    /// x264: opening the encoders, the rung threads' calls into it, and its own threads (lookahead,
    /// frame threads), counted by thread id including those that end before the job does.
    public var encoding: Double = 0
    /// MP4 + HLS muxing in the rung threads.
    public var muxing: Double = 0
    /// The rung threads' CPU outside scaling, encoding and muxing: queue hand-offs, frame
    /// references, bookkeeping.
    public var handOff: Double = 0

    public init() {}

    /// The sum of the measured parts.
    public var attributed: Double { decode + audio + thumbnails + coordination + scaling + encoding + muxing + handOff }
    /// CPU that no part accounts for (other threads of the process, the last moments of an x264
    /// thread after its final sample).
    public var unattributed: Double { max(0, total - attributed) }
    public var outsideEncoders: Double { total - encoding }
    public var outsideEncodersShare: Double { total > 0 ? outsideEncoders / total : 0 }

    /// One line for people: total, x264, then each other part with its share.
    public var summary: String {
        func part(_ name: String, _ v: Double) -> String { String(format: "%@ %.1f s", name, v) }
        return String(format: "cpu: %.1f s total; x264 %.1f s; outside the encoders %.1f s (%.1f%%): ", total, encoding,
                      outsideEncoders, outsideEncodersShare * 100) +
            [part("decode", decode), part("audio", audio), part("thumbnails", thumbnails), part("scaling", scaling),
             part("muxing", muxing), part("coordination", coordination), part("hand-off", handOff),
             part("unattributed", unattributed)].joined(separator: ", ")
    }
}

enum CPUTime {
    /// CPU seconds of the calling thread.
    static func thread() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// CPU seconds of the calling thread spent in `body`, added to `counter`.
    @inline(__always)
    static func measure<T, E: Error>(into counter: inout Double, _ body: () throws(E) -> T) throws(E) -> T {
        let t0 = thread()
        defer { counter += thread() - t0 }
        return try body()
    }

    /// CPU seconds of the whole process (user + system).
    static func process() -> Double {
        var ru = rusage()
        getrusage(RUSAGE_SELF.rawValue, &ru)
        return Double(ru.ru_utime.tv_sec) + Double(ru.ru_utime.tv_usec) / 1e6 + Double(ru.ru_stime.tv_sec) + Double(ru.ru_stime.tv_usec) / 1e6
    }

    /// Ids of this process's live threads called `name`.
    static func threadIDs(named name: String) -> Set<Int32> {
        var ids = Set<Int32>()
        for tid in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? [] {
            guard let comm = try? String(contentsOfFile: "/proc/self/task/\(tid)/comm", encoding: .utf8),
                  comm.trimmingCharacters(in: .newlines) == name, let id = Int32(tid) else { continue }
            ids.insert(id)
        }
        return ids
    }

    /// CPU seconds (user + system) of each of `ids` still alive; threads that ended are absent.
    static func threads(_ ids: Set<Int32>) -> [Int32: Double] {
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        var out: [Int32: Double] = [:]
        for id in ids {
            guard let stat = try? String(contentsOfFile: "/proc/self/task/\(id)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            // Fields after "(comm)": state is field 3; utime and stime are fields 14 and 15.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 12, let u = Double(fields[11]), let s = Double(fields[12]) else { continue }
            out[id] = (u + s) / ticks
        }
        return out
    }
}

/// The CPU of threads a library starts on our behalf (x264's lookahead and frame threads, the
/// decoder's frame threads), followed by thread id: such a thread may end before the job does
/// (x264's lookahead thread exits when the encoder is flushed), and a dead thread's CPU can no
/// longer be read, so the last sample of each is kept.
struct HelperThreads {
    let ids: Set<Int32>
    private var last: [Int32: Double] = [:]

    init(_ ids: Set<Int32>) { self.ids = ids }

    /// Reads the live ones again (call right before anything that may end them, and at the end).
    mutating func sample() {
        last.merge(CPUTime.threads(ids)) { _, new in new }
    }

    var cpu: Double { last.values.reduce(0, +) }

    /// Runs `open` (which starts the helper threads) with the calling thread renamed to `name`, so
    /// the threads it starts inherit that name, and returns the ids of those new threads. Opens are
    /// serialised process-wide so that two jobs opening at once cannot claim each other's threads.
    static func starting<T, E: Error>(named name: String, _ open: () throws(E) -> T) throws(E) -> (T, HelperThreads) {
        openLock.lock(); defer { openLock.unlock() }
        let threadName = String(name.prefix(15))
        let before = CPUTime.threadIDs(named: threadName)
        var saved = [CChar](repeating: 0, count: 32)
        vidd_get_thread_name(&saved)
        vidd_set_thread_name(threadName)
        let result: T
        do { result = try open() } catch { vidd_set_thread_name(saved); throw error }
        vidd_set_thread_name(saved)
        // Listed after the caller got its own name back, so only the new threads carry this one.
        let started = CPUTime.threadIDs(named: threadName).subtracting(before)
        return (result, HelperThreads(started))
    }

    private static let openLock = NSLock()
}
