import Foundation
import Reactor
import Testing
@testable import S3Lite

/// `.signed` uploads of a file sign the SHA-256 of exactly the region sent, hashed a chunk at a time.
@Suite struct FileDigestTests {
    @Test(arguments: [(Int64(0), 0), (Int64(0), 1000), (Int64(100), 3 * 4096 + 17), (Int64(5), 4096)])
    func regionDigestMatchesOneShotHash(offset: Int64, length: Int) async throws {
        let bytes = (0..<20_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let path = NSTemporaryDirectory() + "s3lite-digest-\(getpid())-\(offset)-\(length)"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let file = try FileHandle.openForReading(path)
        let digest = try await S3Client.sha256(of: file, offset: offset, length: Int64(length), chunkSize: 4096)
        #expect(digest == Crypto.sha256(bytes[Int(offset)..<Int(offset) + length]))
    }
}
