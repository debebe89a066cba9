import HTTPServer
import Reactor
import Testing
@testable import VideoAPI
@testable import VideoCore

/// The tus header rules as vectors: headers in, a validated request or the exact refusal out.
@Suite struct TusRequestHeadersTests {
    static let maxSize: Int64 = 1_000_000
    static let sha256OfHello = Base64.encode(Crypto.sha256(Array("hello".utf8)))

    static func fields(_ pairs: [(String, String)]) -> HTTPFields {
        var f = HTTPFields()
        for (n, v) in pairs { f.append(name: n, value: v) }
        return f
    }

    static let creations: [(headers: [(String, String)], framing: HTTPBodyFraming, length: Int64?, hasData: Bool)] = [
        ([("Tus-Resumable", "1.0.0"), ("Upload-Length", "100")], .none, 100, false),
        ([("Tus-Resumable", "1.0.0"), ("Upload-Defer-Length", "1")], .contentLength(0), nil, false),
        ([("Tus-Resumable", "1.0.0"), ("Upload-Length", "1000000"), ("Content-Type", "application/offset+octet-stream")], .contentLength(5), 1_000_000, true),
        ([("Tus-Resumable", "1.0.0"), ("Upload-Length", "7"), ("Content-Type", "Application/Offset+Octet-Stream; x=1")], .chunked, 7, true),
    ]

    @Test(arguments: creations.indices)
    func creation(_ i: Int) throws {
        let v = Self.creations[i]
        let c = try TusRequestHeaders.creation(Self.fields(v.headers), framing: v.framing, maxSize: Self.maxSize)
        #expect(c.length == v.length && c.hasInitialData == v.hasData)
    }

    static let refusedCreations: [(headers: [(String, String)], framing: HTTPBodyFraming, status: Int, message: String)] = [
        ([("Upload-Length", "1")], .none, 412, "Tus-Resumable is missing"),
        ([("Tus-Resumable", "0.2.2"), ("Upload-Length", "1")], .none, 412, "0.2.2 is not supported"),
        ([("Tus-Resumable", "1.0.0")], .none, 400, "needs Upload-Length"),
        ([("Tus-Resumable", "1.0.0"), ("Upload-Defer-Length", "2")], .none, 400, "must be 1"),
        ([("Tus-Resumable", "1.0.0"), ("Upload-Defer-Length", "1"), ("Upload-Length", "5")], .none, 400, "not both"),
        ([("Tus-Resumable", "1.0.0"), ("Upload-Length", "-1")], .none, 400, "non-negative integer"),
        ([("Tus-Resumable", "1.0.0"), ("Upload-Length", "+5")], .none, 400, "non-negative integer"),
        ([("Tus-Resumable", "1.0.0"), ("Upload-Length", "99999999999999999999")], .none, 400, "non-negative integer"),
        ([("Tus-Resumable", "1.0.0"), ("Upload-Length", "1"), ("Upload-Length", "1")], .none, 400, "more than once"),
        ([("Tus-Resumable", "1.0.0"), ("Upload-Length", "1000001")], .none, 413, "Tus-Max-Size"),
        ([("Tus-Resumable", "1.0.0"), ("Upload-Length", "0")], .none, 422, "empty file"),
        ([("Tus-Resumable", "1.0.0"), ("Upload-Length", "5"), ("Upload-Metadata", "a YQ==,a YQ==")], .none, 400, "appears twice"),
        ([("Tus-Resumable", "1.0.0"), ("Upload-Length", "5"), ("Upload-Metadata", "title " + Base64.encode(Array(String(repeating: "t", count: 501).utf8)))], .none, 422, "title is longer"),
        // Values vidd acts on: unreadable is refused, never dropped (a private video made public).
        ([("Tus-Resumable", "1.0.0"), ("Upload-Length", "5"), ("Upload-Metadata", "visibility")], .none, 422, "value of visibility must be UTF-8 text"),
        ([("Tus-Resumable", "1.0.0"), ("Upload-Length", "5"), ("Upload-Metadata", "visibility //4=")], .none, 422, "value of visibility must be UTF-8 text"),
        ([("Tus-Resumable", "1.0.0"), ("Upload-Length", "5"), ("Upload-Metadata", "filename YS5tcDQ=,title //4=")], .none, 422, "value of title must be UTF-8 text"),
        ([("Tus-Resumable", "1.0.0"), ("Upload-Length", "5"), ("Content-Type", "video/mp4")], .contentLength(5), 415, "application/offset+octet-stream"),
        ([("Tus-Resumable", "1.0.0"), ("Upload-Length", "5")], .chunked, 415, "application/offset+octet-stream"),
        // Concatenation is not offered: a partial upload would otherwise become a video of part of a file.
        ([("Tus-Resumable", "1.0.0"), ("Upload-Length", "5"), ("Upload-Concat", "partial")], .none, 400, "concatenation"),
        ([("Tus-Resumable", "1.0.0"), ("Upload-Concat", "final;/uploads/a /uploads/b")], .none, 400, "concatenation"),
        // creation-with-upload: a declared body past the length creates nothing, as a PATCH.
        ([("Tus-Resumable", "1.0.0"), ("Upload-Length", "5"), ("Content-Type", "application/offset+octet-stream")], .contentLength(6), 413, "6-byte body goes past Upload-Length 5"),
        ([("Tus-Resumable", "1.0.0"), ("Upload-Defer-Length", "1"), ("Content-Type", "application/offset+octet-stream")], .contentLength(1_000_001), 413, "Tus-Max-Size 1000000"),
    ]

    @Test(arguments: refusedCreations.indices)
    func refusedCreation(_ i: Int) {
        let v = Self.refusedCreations[i]
        #expect {
            _ = try TusRequestHeaders.creation(Self.fields(v.headers), framing: v.framing, maxSize: Self.maxSize)
        } throws: { error in
            guard let e = error as? APIError else { return false }
            return e.status == v.status && e.message.contains(v.message)
        }
    }

    static let patch: [(String, String)] = [("Tus-Resumable", "1.0.0"), ("Content-Type", "application/offset+octet-stream")]

    @Test func append() throws {
        let a = try TusRequestHeaders.append(Self.fields(Self.patch + [("Upload-Offset", "70"), ("Upload-Checksum", "sha256 \(Self.sha256OfHello)")]),
                                             framing: .contentLength(30), maxSize: Self.maxSize)
        #expect(a.offset == 70 && a.bodyLength == 30 && a.length == nil)
        #expect(a.checksum == UploadChecksum(algorithm: .sha256, digest: Crypto.sha256(Array("hello".utf8))))
        let b = try TusRequestHeaders.append(Self.fields(Self.patch + [("Upload-Offset", "0"), ("Upload-Length", "9"),
                                                                       ("Upload-Checksum", "sha1 Kq5sNclPz7QV2+lfQIuc6R7oRu0=")]),
                                             framing: .chunked, maxSize: Self.maxSize)
        #expect(b.offset == 0 && b.bodyLength == nil && b.length == 9 && b.checksum?.algorithm == .sha1)
    }

    static let refusedAppends: [(headers: [(String, String)], status: Int, message: String)] = [
        ([("Content-Type", "application/offset+octet-stream"), ("Upload-Offset", "0")], 412, "Tus-Resumable is missing"),
        ([("Tus-Resumable", "1.0.0"), ("Upload-Offset", "0")], 415, "application/offset+octet-stream"),
        ([("Tus-Resumable", "1.0.0"), ("Content-Type", "application/octet-stream"), ("Upload-Offset", "0")], 415, "got application/octet-stream"),
        (patch, 400, "needs Upload-Offset"),
        (patch + [("Upload-Offset", "x")], 400, "non-negative integer"),
        (patch + [("Upload-Offset", "1"), ("Upload-Offset", "2")], 400, "more than once"),
        (patch + [("Upload-Offset", "0"), ("Upload-Checksum", "md5 XUFAKrxLKna5cZ2REBfFkg==")], 400, "md5 is not supported"),
        (patch + [("Upload-Offset", "0"), ("Upload-Checksum", "sha256")], 400, "<algorithm> <base64 digest>"),
        (patch + [("Upload-Offset", "0"), ("Upload-Checksum", "sha256 !!!!")], 400, "32 bytes in base64"),
        (patch + [("Upload-Offset", "0"), ("Upload-Checksum", "sha1 \(sha256OfHello)")], 400, "20 bytes in base64"),
        (patch + [("Upload-Offset", "0"), ("Upload-Length", "2000000")], 413, "Tus-Max-Size"),
    ]

    @Test(arguments: refusedAppends.indices)
    func refusedAppend(_ i: Int) {
        let v = Self.refusedAppends[i]
        #expect {
            _ = try TusRequestHeaders.append(Self.fields(v.headers), framing: .contentLength(1), maxSize: Self.maxSize)
        } throws: { error in
            guard let e = error as? APIError else { return false }
            return e.status == v.status && e.message.contains(v.message)
        }
    }

    /// The PATCH against the upload's stored state (length 100 when known, offset 40), pure.
    static let stateChecks: [(length: Int64?, declared: Int64?, offset: Int64, body: Int64?, status: Int?, message: String)] = [
        (100, nil, 40, 60, nil, ""),
        (100, 100, 40, 0, nil, ""),
        (nil, nil, 40, nil, nil, ""),
        (100, 90, 40, 1, 400, "Upload-Length is already 100; it cannot change to 90"),
        (nil, 30, 40, 1, 400, "less than the 40 bytes already stored"),
        (100, nil, 39, 1, 409, "does not match the upload's offset 40"),
        (100, nil, 41, 1, 409, "HEAD gives the offset"),
        (100, nil, 40, 61, 413, "go past Upload-Length 100"),
        (nil, 70, 40, 31, 413, "go past Upload-Length 70"),
        (nil, nil, 40, maxSize, 413, "go past Tus-Max-Size"),
    ]

    @Test(arguments: stateChecks.indices)
    func appendAgainstTheStoredState(_ i: Int) {
        let v = Self.stateChecks[i]
        let append = TusAppendRequest(offset: v.offset, checksum: nil, length: v.declared, bodyLength: v.body)
        do {
            try TusRequestHeaders.check(append, against: v.length, offset: 40, maxSize: Self.maxSize)
            #expect(v.status == nil, "accepted")
        } catch {
            #expect(error.status == v.status && error.message.contains(v.message), "\(error.status) \(error.message)")
        }
    }

    @Test func methodOverrideAndDecoration() {
        #expect(TusProtocol.effectiveMethod("POST", headers: Self.fields([("X-HTTP-Method-Override", "patch")])) == "PATCH")
        #expect(TusProtocol.effectiveMethod("POST", headers: [:]) == "POST")
        #expect(APIResponder.method("POST", path: "/uploads/x", headers: Self.fields([("X-HTTP-Method-Override", "DELETE")])) == "DELETE")
        #expect(APIResponder.method("POST", path: "/videos/x", headers: Self.fields([("X-HTTP-Method-Override", "DELETE")])) == "POST",
                "the override is tus's, not the rest of the API's")
        #expect(TusProtocol.isTusPath("/uploads") && TusProtocol.isTusPath("/uploads/abc") && !TusProtocol.isTusPath("/uploadsx"))
        var refused = HTTPResponse(status: .preconditionFailed)
        TusProtocol.decorate(&refused, method: "PATCH")
        #expect(refused.headers["Tus-Resumable"] == "1.0.0" && refused.headers["Tus-Version"] == "1.0.0")
        #expect(refused.headers["Cache-Control"] == "no-store")
        var ok = HTTPResponse(status: .noContent)
        TusProtocol.decorate(&ok, method: "PATCH")
        #expect(ok.headers["Tus-Resumable"] == "1.0.0" && ok.headers["Tus-Version"] == nil)
        #expect(TusProtocol.checksumAlgorithms == ["sha1", "sha256"])
    }
}
