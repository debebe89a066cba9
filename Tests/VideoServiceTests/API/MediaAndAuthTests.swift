import Testing
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService
@testable import VideoWorker

@Suite struct ByteRangeTests {
    @Test(arguments: [
        (nil as String?, ByteRange.Resolution.whole),
        ("bytes=0-99", .partial(0...99)),
        ("bytes=100-", .partial(100...999)),
        ("bytes=-100", .partial(900...999)),
        ("bytes=-5000", .partial(0...999)),
        ("bytes=900-5000", .partial(900...999)),
        ("BYTES=1-1", .partial(1...1)),
        ("bytes=1000-", .unsatisfiable),
        ("bytes=-0", .unsatisfiable),
        ("bytes=5-1", .whole),
        ("bytes=0-1,5-9", .whole),
        ("items=0-1", .whole),
        ("bytes=a-b", .whole),
        ("bytes=", .whole),
    ])
    func resolves(header: String?, expected: ByteRange.Resolution) {
        #expect(ByteRange.resolve(header, size: 1000) == expected)
    }

    @Test func headers() {
        #expect(ByteRange.contentRange(0...99, size: 1000) == "bytes 0-99/1000")
        #expect(ByteRange.unsatisfiedContentRange(size: 1000) == "bytes */1000")
        #expect(ByteRange.resolve("bytes=0-", size: 0) == .unsatisfiable)
    }
}

@Suite struct BearerAuthorizationTests {
    static let submit = APIRoutes.all.first { $0.handler == .submitJob }!
    static let list = APIRoutes.all.first { $0.handler == .listVideos }!

    @Test func openWithoutTokens() {
        let auth = BearerAuthorization(tokens: [])
        #expect(auth.check(route: Self.submit, authorization: nil) == nil)
    }

    @Test func mutatingRoutesNeedAValidToken() {
        let auth = BearerAuthorization(tokens: ["token-aaaaaaaaaaaaaaaa", "token-bbbbbbbbbbbbbbbb"])
        #expect(auth.check(route: Self.list, authorization: nil) == nil, "reads stay open")
        #expect(auth.check(route: Self.submit, authorization: "Bearer token-bbbbbbbbbbbbbbbb") == nil)
        #expect(auth.check(route: Self.submit, authorization: "bearer token-aaaaaaaaaaaaaaaa") == nil)
        for header in [nil, "Bearer token-cccccccccccccccc", "Bearer token-aaaa", "Basic dXNlcjpwYXNz", "Bearer", "token-aaaaaaaaaaaaaaaa"] {
            let error = auth.check(route: Self.submit, authorization: header)
            #expect(error?.status == 401, "\(String(describing: header))")
            #expect(error?.headers.first?.1 == "Bearer")
        }
    }
}

@Suite struct ConsumerNameTests {
    @Test func hostPidRandom() {
        #expect(ConsumerName.make(host: "web-1.example", pid: 4242, random: [0xde, 0xad, 0xbe, 0xef]) == "web-1.example-4242-deadbeef")
        #expect(ConsumerName.make(host: "we ird/host", pid: 1, random: [0]) == "we_ird_host-1-00")
        #expect(ConsumerName.make() != ConsumerName.make(), "random part differs between processes started in the same pid")
        #expect(!ConsumerName.hostName().isEmpty)
    }
}
