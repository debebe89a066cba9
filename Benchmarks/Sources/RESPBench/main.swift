// RESPBench entry point; see Bench.swift.
#if canImport(Glibc)
import Glibc
#endif
import Reactor

let options = Options()
let task = Task(executorPreference: EventLoop.shared) { try await runBenchmark(options) }
do {
    try await task.value
} catch {
    print("RESPBench failed: \(error)")
    exit(1)
}
