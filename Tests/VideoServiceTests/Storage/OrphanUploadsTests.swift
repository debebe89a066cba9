import Foundation
import Synchronization
import Testing
import TestSupport
@testable import VideoCore

/// `OrphanUploads` is best effort: it never throws, says what it aborted, says why it could not
/// look (refused: the lifecycle rule must do it; failing: now), and goes on to the next prefix.
@Suite struct OrphanUploadsTests {
    final class Refusing: ForwardingStorage {
        let inner: FileStorage
        let error: StorageError
        let asked = Mutex<[String]>([])
        init(inner: FileStorage, error: StorageError) {
            self.inner = inner
            self.error = error
        }
        func abortUnfinishedUploads(prefix: String) async throws -> Int {
            asked.withLock { $0.append(prefix) }
            throw error
        }
    }

    @Test(arguments: [
        (StorageError.backend("S3 ListMultipartUploads failed: HTTP 403 AccessDenied"), "lifecycle rule must remove them"),
        (StorageError.unavailable("S3 ListMultipartUploads failed: HTTP 503 SlowDown"), "cannot look for orphan uploads now"),
    ])
    func aStorageThatCannotListUploadsIsSaidNotThrown(error: StorageError, said: String) async throws {
        let directory = "/tmp/" + TestServices.uniqueName("orphans")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let storage = Refusing(inner: try FileStorage(root: directory), error: error)
        let sink = LogSink.memory()
        await OrphanUploads.abort(under: ["source/v1/", "processed/v1/"], storage: storage, logger: Logger(level: .debug, sink: sink))
        #expect(storage.asked.withLock { $0 } == ["source/v1/", "processed/v1/"], "every prefix is tried")
        #expect(sink.lines.count == 2 && sink.lines.allSatisfy { $0.contains(said) }, "\(sink.lines)")
    }

    @Test func theFileBackendHasNone() async throws {
        let directory = "/tmp/" + TestServices.uniqueName("orphans")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let storage = try FileStorage(root: directory)
        _ = try await storage.put(key: "processed/v1/a", chunks: AsyncChunks([[1]]), contentType: nil)
        #expect(try await storage.abortUnfinishedUploads(prefix: "processed/") == 0)
        #expect(try await storage.list(prefix: "processed/").count == 1)
    }
}
