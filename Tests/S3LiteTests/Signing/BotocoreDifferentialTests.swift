import Foundation
import Reactor
import Testing
@testable import S3Lite

/// Signs a few hundred random requests with our signer and with botocore (one python3 process,
/// JSON in and out) and requires identical signatures: odd keys (`+ = ! * ( ) ' : , @ %`,
/// spaces, unicode, deep and empty segments), empty and repeated query parameters, headers with
/// extra spaces and repeated names, session tokens, non-default ports, presigned URLs.
@Suite struct BotocoreDifferentialTests {
    struct Case: Codable {
        var method: String
        var scheme: String
        var hostPort: String
        var path: String
        var query: [[String]]
        var headers: [[String]]
        var payload: String
        var presign: Bool
        var expires: Int
        var epoch: Int64
        var region: String
        var accessKey: String
        var secretKey: String
        var token: String?
    }

    struct Reference: Codable {
        var authorization: String?
        var url: String
    }

    /// Deterministic so a failure reproduces (SplitMix64).
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let keyPieces = ["a", "b", "Z9", "+", "=", "!", "*", "(", ")", "'", ":", ",", "@", "%", " ", "  ",
                            "é", "日本", "🎬", "~", "-", "_", ".", "$", "&", "?", "#", ";", "[", "]", "^", "|",
                            "\"", "<", ">", "\\", "{", "}", "`", "%20", "%2F", "/", "//", "..", "x.mp4"]
    static let queryNames = ["prefix", "max-keys", "uploads", "partNumber", "uploadId", "list-type",
                             "continuation-token", "a b", "ü", "x=y", "delete", "response-content-type"]
    static let headerNames = ["x-amz-meta-Title", "X-Amz-Meta-a", "Content-Type", "cache-control",
                              "x-amz-storage-class", "Range", "Content-MD5", "x-amz-meta-z"]

    static func randomString(_ pieces: [String], max: Int, using g: inout SeededGenerator) -> String {
        (0..<Int.random(in: 0...max, using: &g)).map { _ in pieces.randomElement(using: &g)! }.joined()
    }

    static func makeCases(count: Int) -> [Case] {
        var g = SeededGenerator(state: 0x5335_4C49_5445)
        let valueChars = ["a", "B", "1", " ", "  ", "\t", "-", "/", "+", "=", ",", ";", "\"", "text/plain", "max-age=60"]
        return (0..<count).map { i in
            let presign = i % 4 == 3
            let secure = Bool.random(using: &g)
            let port = [80, 443, 9000, 9010].randomElement(using: &g)!
            let host = ["s3.amazonaws.com", "bucket.s3.eu-west-1.amazonaws.com", "127.0.0.1", "minio.local"].randomElement(using: &g)!
            let hostPort = port == (secure ? 443 : 80) ? host : "\(host):\(port)"
            let key = randomString(keyPieces, max: 12, using: &g)
            let path = "/" + (Bool.random(using: &g) ? "bucket-\(i)/" : "") + key
            var query: [[String]] = []
            var usedNames = Set<String>()
            for _ in 0..<Int.random(in: 0...4, using: &g) {
                let name = queryNames.randomElement(using: &g)!
                if presign && !usedNames.insert(name).inserted { continue }  // botocore presigns from a dict
                query.append([name, randomString(keyPieces, max: 3, using: &g)])
            }
            var headers: [[String]] = []
            for _ in 0..<Int.random(in: 0...(presign ? 1 : 4), using: &g) {
                headers.append([headerNames.randomElement(using: &g)!, randomString(valueChars, max: 6, using: &g)])
            }
            let payload = ["UNSIGNED-PAYLOAD", Hex.encode(Crypto.sha256([UInt8]())),
                           Hex.encode(Crypto.sha256(Array("body \(i)".utf8)))].randomElement(using: &g)!
            return Case(
                method: ["GET", "PUT", "HEAD", "DELETE", "POST"].randomElement(using: &g)!,
                scheme: secure ? "https" : "http", hostPort: hostPort, path: path, query: query,
                headers: headers, payload: payload, presign: presign,
                expires: Int.random(in: 1...SigV4Signer.maximumExpirySeconds, using: &g),
                epoch: Int64.random(in: 946_684_800...1_893_456_000, using: &g),
                region: ["us-east-1", "eu-central-1", "auto"].randomElement(using: &g)!,
                accessKey: "AKID\(i)", secretKey: "secret/\(i)+key",
                token: Bool.random(using: &g) ? "session+token/\(i)=" : nil)
        }
    }

    static func runBotocore(_ cases: [Case]) throws -> [Reference] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [pythonWithBotocore(), "-c", botocoreSignScript]
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = try JSONEncoder().encode(cases)
        // Write from another thread: the child may fill its stdout pipe before reading all input.
        let writer = Thread {
            input.fileHandleForWriting.write(data)
            try? input.fileHandleForWriting.close()
        }
        writer.start()
        let result = output.fileHandleForReading.readDataToEndOfFile()
        let stderr = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw BotocoreFailed(message: String(decoding: stderr, as: UTF8.self))
        }
        return try JSONDecoder().decode([Reference].self, from: result)
    }

    /// The project's virtualenv (scripts/install-deps.sh installs boto3 there with moto) when it
    /// exists, else `python3` from PATH; `VIDD_TEST_PYTHON` overrides both.
    static func pythonWithBotocore() -> String {
        if let p = ProcessInfo.processInfo.environment["VIDD_TEST_PYTHON"], !p.isEmpty { return p }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let venv = root.appendingPathComponent(".venv/bin/python3").path
        return FileManager.default.isExecutableFile(atPath: venv) ? venv : "python3"
    }

    struct BotocoreFailed: Error, CustomStringConvertible {
        var message: String
        var description: String { "botocore signing script failed (is botocore installed?): \(message)" }
    }

    /// Query items of a URL as (name, value) strings still encoded, X-Amz-Signature apart.
    static func splitQuery(_ url: String) -> (items: [String], signature: String?) {
        guard let q = url.firstIndex(of: "?") else { return ([], nil) }
        var items: [String] = []
        var signature: String?
        for part in url[url.index(after: q)...].split(separator: "&") {
            if part.hasPrefix("X-Amz-Signature=") { signature = String(part.dropFirst(16)) } else { items.append(String(part)) }
        }
        return (items.sorted(), signature)
    }

    @Test func signaturesMatchBotocore() throws {
        let cases = Self.makeCases(count: 400)
        let references = try Self.runBotocore(cases)
        try #require(references.count == cases.count)
        var mismatches = 0
        for (c, ref) in zip(cases, references) {
            let secure = c.scheme == "https"
            let parts = c.hostPort.split(separator: ":")
            let host = SignableRequest.hostHeader(host: String(parts[0]), port: parts.count > 1 ? Int(parts[1])! : (secure ? 443 : 80), secure: secure)
            let signer = SigV4Signer(credentials: S3Credentials(accessKeyID: c.accessKey, secretAccessKey: c.secretKey, sessionToken: c.token), region: c.region)
            let request = SignableRequest(method: c.method, host: host, path: c.path,
                                          query: c.query.map { QueryItem($0[0], $0[1]) },
                                          headers: c.headers.map { ($0[0], $0[1]) })
            let date = SigningDate(secondsSince1970: c.epoch)
            let refPath = String(ref.url.dropFirst(c.scheme.count + 3 + c.hostPort.count).prefix { $0 != "?" })
            if c.presign {
                let ours = try signer.presign(request, expiresInSeconds: c.expires, date: date)
                let (ourItems, ourSig) = Self.splitQuery(ours)
                let (refItems, refSig) = Self.splitQuery(ref.url)
                let ok = ourSig == refSig && ourItems == refItems && ours.prefix { $0 != "?" } == refPath
                if !ok { mismatches += 1 }
                #expect(ok, "presign mismatch for \(c)\nours: \(ours)\nbotocore: \(ref.url)")
            } else {
                let payload: PayloadHash = c.payload == "UNSIGNED-PAYLOAD" ? .unsigned : .sha256(Hex.decode(c.payload)!)
                let signed = try signer.sign(request, payload: payload, date: date)
                let ours = signed.headers.first { $0.name == "authorization" }?.value
                let ok = ours == ref.authorization && signed.target.prefix { $0 != "?" } == refPath
                if !ok { mismatches += 1 }
                #expect(ok, "header signing mismatch for \(c)\nours: \(ours ?? "-") target \(signed.target)\nbotocore: \(ref.authorization ?? "-") url \(ref.url)")
            }
            if mismatches > 5 { break }
        }
        #expect(mismatches == 0)
    }
}

/// Kept inline (not a file beside the test) so the test target needs no resources.
let botocoreSignScript = #"""
#!/usr/bin/env python3
"""Signs a batch of requests with botocore (the reference SigV4 implementation).

stdin: JSON list of cases; stdout: JSON list of {"authorization", "url"} in the same order.
Used by BotocoreDifferentialTests: one process for the whole batch.
"""
import datetime
import json
import sys

import botocore.auth as auth
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.utils import percent_encode


class FixedPayloadAuth(S3SigV4Auth):
    """S3 header signing with the payload hash the case names (botocore would hash the body)."""

    def __init__(self, creds, region, payload):
        super().__init__(creds, "s3", region)
        self._payload = payload

    def payload(self, request):
        return self._payload


out = []
for c in json.load(sys.stdin):
    dt = datetime.datetime.fromtimestamp(c["epoch"], datetime.timezone.utc).replace(tzinfo=None)
    auth.get_current_datetime = lambda dt=dt: dt
    creds = Credentials(c["accessKey"], c["secretKey"], c.get("token"))
    # botocore's S3 serializer encodes a greedy key label exactly like this.
    url = c["scheme"] + "://" + c["hostPort"] + percent_encode(c["path"], safe="/~")
    query = [(q[0], q[1]) for q in c["query"]]
    if c["presign"]:
        req = AWSRequest(method=c["method"], url=url, params=dict(query))
    else:
        req = AWSRequest(method=c["method"], url=url, params=query)
    for name, value in c["headers"]:
        req.headers[name] = value  # HTTPHeaders appends: repeated names stay repeated
    if c["presign"]:
        S3SigV4QueryAuth(creds, "s3", c["region"], expires=c["expires"]).add_auth(req)
        out.append({"authorization": None, "url": req.url})
    else:
        FixedPayloadAuth(creds, c["region"], c["payload"]).add_auth(req)
        out.append({"authorization": req.headers["Authorization"], "url": req.url})
json.dump(out, sys.stdout)
"""#
