import Foundation

/// Runs a command-line tool (curl, python3, psql, redis-cli …) for a test.
///
/// The child is waited for on a thread of its own: the cooperative pool has only as many
/// threads as cores (two here), and a test that blocks them starves every other test's
/// continuations until their deadlines fire.
public enum TestProcess {
    public struct Result: Sendable {
        public let status: Int32
        public let output: Data
        public let errorOutput: Data
        public var text: String { String(decoding: output, as: UTF8.self) }
    }

    public static func run(_ arguments: [String], stdin: Data? = nil) async throws -> Result {
        try await withCheckedThrowingContinuation { cont in
            Thread.detachNewThread {
                cont.resume(with: Swift.Result { try runBlocking(arguments, stdin: stdin) })
            }
        }
    }

    static func runBlocking(_ arguments: [String], stdin: Data?) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        let input = Pipe()
        p.standardInput = stdin == nil ? FileHandle.nullDevice : input
        try p.run()
        if let stdin {
            // Written from another thread: the child may fill its output pipe before reading all input.
            Thread.detachNewThread {
                input.fileHandleForWriting.write(stdin)
                try? input.fileHandleForWriting.close()
            }
        }
        // stderr is drained on another thread so that neither pipe can fill up and stall the child.
        let errBox = DataBox()
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            errBox.data = err.fileHandleForReading.readDataToEndOfFile()
            done.signal()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        done.wait()
        let errData = errBox.data
        p.waitUntilExit()
        return Result(status: p.terminationStatus, output: outData, errorOutput: errData)
    }
}

/// Written by one thread before a semaphore signal, read by another after the wait.
private final class DataBox: @unchecked Sendable {
    var data = Data()
}
