import Testing
import TestSupport
@testable import VideoAPI
@testable import VideoCore

/// tus edges the protocol tests leave out: creation bodies past their length, uploads whose end
/// cannot be reached, metadata that cannot become a header.
@Suite struct TusEdgeTests {
    /// creation-with-upload whose body is longer than its Upload-Length: refused from the
    /// Content-Length before anything is created (no row, no multipart upload or partial file,
    /// as a PATCH is); a chunked body found too long only as it arrives is refused with the
    /// upload's Location, so the client can resume or terminate what was created.
    @Test(arguments: StorageBackendKind.allCases)
    func aCreationBodyPastItsLengthLeavesNoUnknownUpload(_ kind: StorageBackendKind) async throws {
        try await TusUploadTests.with(kind, "create-overflow") { env, tus in
            let (declared, declaredLocation) = try await tus.create(length: 10, body: .bytes(randomBytes(20)))
            #expect(declared.status == 413 && declaredLocation == nil, "\(declared.status) \(declared.text)")
            #expect(try await Self.uploadCount(env) == 0, "nothing was created")
            #expect(try await TusUploadTests.leftovers(env).isEmpty)
            let (deferred, _) = try await tus.create(length: nil, body: .bytes(randomBytes(20)))
            #expect(deferred.status == 201, "a deferred length is bounded by Tus-Max-Size only")

            let (chunked, chunkedLocation) = try await tus.create(length: 10, body: .chunked([randomBytes(15), randomBytes(5)]))
            #expect(chunked.status == 413, "\(chunked.status) \(chunked.text)")
            let path = try #require(chunkedLocation, "the upload exists: its Location is given")
            #expect(try await tus.offset(path) == 0)
            #expect(try await tus.delete(path).status == 204)
        }
    }

    static func uploadCount(_ env: APITestEnvironment) async throws -> Int {
        Int(try await env.database.pool.collect("SELECT count(*) FROM tus_uploads")[0].decode(Int64.self, at: 0))
    }
}
