import FoundationEssentials
import Testing
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService
@testable import VideoWorker

@Suite struct APIErrorTests {
    @Test func bodyShapeAndStatus() throws {
        let e = APIError(.notFound, "no video \"x\"")
        #expect(e.status == 404)
        #expect(e.jsonBody == "{\"error\":{\"code\":\"not_found\",\"message\":\"no video \\\"x\\\"\"}}")
        struct Body: Decodable { struct Inner: Decodable { var code: String; var message: String }; var error: Inner }
        let decoded = try JSONDecoder().decode(Body.self, from: Data(e.jsonBody.utf8))
        #expect(decoded.error.code == "not_found" && decoded.error.message == "no video \"x\"")
        #expect(APIError(.unauthorized, "m").headers.map(\.0) == ["WWW-Authenticate"])
    }

    @Test func statusPerCode() {
        let statuses = Dictionary(uniqueKeysWithValues: APIError.Code.allCases.map { ($0.rawValue, $0.status) })
        #expect(statuses == ["bad_request": 400, "unauthorized": 401, "not_found": 404, "method_not_allowed": 405, "conflict": 409,
                             "payload_too_large": 413, "unsupported_media_type": 415, "validation_failed": 422,
                             "range_not_satisfiable": 416, "internal_error": 500, "unavailable": 503,
                             "precondition_failed": 412, "gone": 410, "checksum_mismatch": 460,
                             "source_url_refused": 422, "rate_limited": 429, "forbidden": 403,
                             "request_timeout": 408, "uri_too_long": 414, "header_fields_too_large": 431,
                             "expectation_failed": 417, "not_implemented": 501, "http_version_not_supported": 505])
    }

    @Test func aRefusalNamesItsRule() throws {
        let e = APIError(.sourceURLRefused, "source_url refused", rule: "loopback")
        #expect(e.jsonBody == "{\"error\":{\"code\":\"source_url_refused\",\"message\":\"source_url refused\",\"rule\":\"loopback\"}}")
    }
}

@Suite struct PageRequestTests {
    @Test func defaultsAndValues() throws {
        #expect(try PageRequest(query: "") == PageRequest(limit: 20, offset: 0, status: nil))
        #expect(try PageRequest(query: "limit=5&offset=10&status=failed&other=1") == PageRequest(limit: 5, offset: 10, status: .failed))
        #expect(try PageRequest(query: "status=processing").status == .processing)
    }

    @Test(arguments: ["limit=0", "limit=101", "limit=x", "offset=-1", "offset=1.5", "status=done", "limit="])
    func rejects(query: String) {
        #expect(throws: APIError.self) { try PageRequest(query: query) }
        let status = (try? PageRequest(query: query)).map { _ in 0 } ?? 400
        #expect(status == 400)
    }

    @Test func queryStringDecoding() {
        #expect(QueryString.parse("name=my%20clip+1.mp4&x&y=%zz&t=%C3%A9").map { "\($0.0)=\($0.1)" } == ["name=my clip 1.mp4", "x=", "y=%zz", "t=é"])
    }
}

@Suite struct JobSubmissionTests {
    static let id = "0f8e3c9a-1111-4222-8333-444455556666"

    @Test(arguments: [
        ("application/json", SubmissionForm.json),
        ("application/json; charset=utf-8", .json),
        ("video/mp4", .rawUpload),
        ("Video/QuickTime", .rawUpload),
        ("application/octet-stream", .rawUpload),
        ("multipart/form-data; boundary=----WebKitFormBoundaryX", .multipart(boundary: "----WebKitFormBoundaryX")),
        ("multipart/form-data; charset=utf-8; boundary=\"quoted boundary\"", .multipart(boundary: "quoted boundary")),
    ])
    func classifies(contentType: String, form: SubmissionForm) throws {
        #expect(try SubmissionForm.classify(contentType: contentType) == form)
    }

    @Test func refusesOtherContentTypes() {
        #expect(throws: APIError.self) { try SubmissionForm.classify(contentType: nil) }
        #expect((try? SubmissionForm.classify(contentType: "text/plain")) == nil)
        do { _ = try SubmissionForm.classify(contentType: "text/plain") } catch { #expect(error.status == 415) }
        do { _ = try SubmissionForm.classify(contentType: "multipart/form-data") } catch { #expect(error.status == 400) }
    }

    static func submission(_ json: String, bucket: String = "videos", prefixes: [String] = ["source/"]) throws(APIError) -> JobSubmission {
        try JobSubmission(json: Array(json.utf8), bucket: bucket, sourcePrefixes: prefixes)
    }

    @Test func jsonForms() throws {
        #expect(try Self.submission("{\"source_key\": \"source/a/clip.mp4\", \"title\": \"  Clip \"}")
                == JobSubmission(videoID: nil, sourceKey: "source/a/clip.mp4", title: "Clip"))
        let seed = "{\"video_id\": \"\(Self.id.uppercased())\", \"s3_path\": \"s3://videos/source/\(Self.id)/a.mp4\", \"original_name\": \"a.mp4\"}"
        #expect(try Self.submission(seed)
                == JobSubmission(videoID: Self.id, sourceKey: "source/\(Self.id)/a.mp4", title: nil, originalName: "a.mp4"))
        #expect(try Self.submission("{\"source_key\": \"incoming/a.mp4\"}", prefixes: ["source/", "incoming/"]).sourceKey == "incoming/a.mp4")
        #expect(try Self.submission("{\"s3_path\": \"s3://media-prod/source/a.mp4\"}", bucket: "media-prod").sourceKey == "source/a.mp4")
    }

    /// A submission reaches only the configured bucket and the allowed prefixes (422 otherwise).
    @Test(arguments: [
        "{\"s3_path\": \"s3://otherbucket/source/a.mp4\"}",
        "{\"source_key\": \"s3://otherbucket/source/a.mp4\"}",
        "{\"source_key\": \"processed/00000000-0000-4000-8000-000000000000/mp4/360p.mp4\"}",
        "{\"source_key\": \"secrets/a.mp4\"}",
        "{\"source_key\": \"sourcery/a.mp4\"}",
        "{\"source_key\": \"source\"}",
    ])
    func jsonFormStaysInItsBucketAndPrefix(body: String) {
        do {
            _ = try Self.submission(body)
            Issue.record("accepted \(body)")
        } catch {
            #expect(error.status == 422, "\(body): \(error)")
        }
    }

    @Test(arguments: [
        ("not json", 400),
        ("[1]", 400),
        ("{\"source_key\": 5}", 400),
        ("{}", 422),
        ("{\"source_key\": \"../x\"}", 422),
        ("{\"source_key\": \"source/x\", \"video_id\": \"nope\"}", 422),
        ("{\"source_key\": \"source/x\", \"title\": \"\(String(repeating: "t", count: 501))\"}", 422),
    ])
    func jsonErrors(body: String, status: Int) {
        do {
            _ = try Self.submission(body)
            Issue.record("accepted \(body)")
        } catch {
            #expect(error.status == status, "\(body): \(error)")
        }
    }

    @Test func rawUploadName() throws {
        #expect(try JobSubmission.rawUploadName(query: "name=my%20clip.mp4&title=Hi") == ("my clip.mp4", "Hi"))
        #expect(throws: APIError.self) { try JobSubmission.rawUploadName(query: "title=x") }
    }
}

/// `{"source_url": …}`: what the API decides before answering (no lookup, no connection).
@Suite struct URLSubmissionTests {
    static func parse(_ json: String, allow: String = "") throws(APIError) -> URLSubmission {
        try URLSubmission(json: Array(json.utf8), policy: OutboundPolicy(allowList: try! OutboundAllowList(parsing: allow)))
    }

    @Test func accepted() throws {
        #expect(JobSubmission.isURLIngest(json: Array(#"{"source_url": "https://x.example/a.mp4"}"#.utf8)))
        #expect(!JobSubmission.isURLIngest(json: Array(#"{"source_key": "source/x/a.mp4"}"#.utf8)))
        let s = try Self.parse(#"{"source_url": "HTTPS://Media.Example/videos/My%20Clip.mp4?sig=1#t=3", "title": " Clip "}"#)
        #expect(s.sourceURL == "https://media.example/videos/My%20Clip.mp4?sig=1")
        #expect(s.fileName == "My_Clip.mp4" && s.originalName == "My Clip.mp4" && s.title == "Clip")
        let bare = try Self.parse(#"{"source_url": "http://127.0.0.2:9000/"}"#, allow: "127.0.0.2/32")
        #expect(bare.fileName == "source" && bare.originalName == nil)
        let named = try Self.parse(#"{"source_url": "https://media.example/get?id=1", "original_name": "talk.mov"}"#)
        #expect(named.fileName == "talk.mov")
    }

    @Test(arguments: [
        (#"{"source_url": "file:///etc/passwd"}"#, "scheme"),
        (#"{"source_url": "ftp://media.example/a.mp4"}"#, "scheme"),
        (#"{"source_url": "http://127.0.0.1/"}"#, "loopback"),
        (#"{"source_url": "http://localhost:8080/"}"#, "local_name"),
        (#"{"source_url": "http://[::1]/"}"#, "loopback"),
        (#"{"source_url": "http://[::ffff:127.0.0.1]/"}"#, "loopback"),
        (#"{"source_url": "http://127.1/"}"#, "loopback"),
        (#"{"source_url": "http://2130706433/"}"#, "loopback"),
        (#"{"source_url": "http://0x7f000001/"}"#, "loopback"),
        (#"{"source_url": "http://0.0.0.0/"}"#, "unspecified"),
        (#"{"source_url": "http://169.254.169.254/latest/meta-data/"}"#, "cloud_metadata"),
        (#"{"source_url": "http://user:pw@media.example/"}"#, "userinfo"),
        (#"{"source_url": "media.example/a.mp4"}"#, "invalid_url"),
    ])
    func refusedWithItsRule(json: String, rule: String) {
        do {
            _ = try Self.parse(json)
            Issue.record("accepted \(json)")
        } catch {
            #expect(error.status == 422 && error.code == .sourceURLRefused && error.rule == rule, "\(error)")
        }
    }

    @Test(arguments: [
        (#"{"source_url": 5}"#, 400),
        (#"{"source_url": "https://a.example/x", "source_key": "source/x/y"}"#, 422),
        (#"{"source_url": "https://a.example/x", "video_id": "0f8e3c9a-1111-4222-8333-444455556666"}"#, 422),
    ])
    func otherErrors(json: String, status: Int) {
        do {
            _ = try Self.parse(json)
            Issue.record("accepted \(json)")
        } catch {
            #expect(error.status == status, "\(error)")
        }
    }
}
