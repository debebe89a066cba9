import Foundation
import Testing
import TestSupport

/// Uploads that stall or are too big (issue 14, items 8 and 9): a body that stops mid-way is
/// closed within the body-progress timeout, one over `VIDD_MAX_UPLOAD_BYTES` is refused with 413
/// — before `100 Continue` when its length is declared, as it streams when it is chunked — and
/// neither leaves a byte in storage or a row. A suite of its own beside `FaultSuite`: it only
/// waits on sockets, so it runs alongside the transcoding scenarios.
@Suite struct FaultSuiteUploads {
    /// HTTPServer's body-progress timeout (docs/httpserver.md), which vidd does not change.
    static let bodyProgressTimeout = 30.0

    @Test func stalledUploadsAreClosedWithinTheBodyTimeoutAndLeaveNothing() async throws {
        try await FaultScenario.run("stalled uploads (2 GB declared, 1 MiB sent)", prefix: "fault-stall", settings: [:]) { scenario, figures in
            let sut = scenario.sut
            let api = try await sut.start("serve")
            let port = try #require(api.port)
            let declared = 2_000_000_000
            let boundary = "fault-suite-boundary"
            let raw = "POST /jobs?name=stall.mp4 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: video/mp4\r\nContent-Length: \(declared)\r\n\r\n"
            let multipart = "POST /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=\(boundary)\r\nContent-Length: \(declared)\r\n\r\n"
            let partHead = Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"stall.mp4\"\r\nContent-Type: video/mp4\r\n\r\n".utf8)
            let mebibyte = [UInt8](repeating: 0x42, count: 1 << 20)
            let patience = Int(Self.bodyProgressTimeout) + 20
            async let rawOutcome = MisbehavingClient.stall(port: port, head: raw, body: mebibyte, patience: patience)
            async let multipartOutcome = MisbehavingClient.stall(port: port, head: multipart, body: partHead + mebibyte, patience: patience)
            for (form, outcome) in [("raw", try await rawOutcome), ("multipart", try await multipartOutcome)] {
                figures.submitted += 1
                figures.refused += 1
                if let after = outcome.closedAfter {
                    figures.notes.append(String(format: "%@: closed %.1f s after the last byte (%@)", form, after,
                                                outcome.response.split(separator: "\r\n").first.map(String.init) ?? "no answer"))
                    #expect(after <= Self.bodyProgressTimeout + 10, "\(form): closed only after \(after) s")
                } else {
                    Issue.record("\(form): still open \(patience) s after the body stalled")
                }
            }
            try await Self.nothingLeft(sut, rows: 0)
        }
    }

    @Test func oversizedUploadsAreRefusedWith413AndLeaveNothing() async throws {
        let limit = 8 << 20
        try await FaultScenario.run("oversized uploads (limit 8 MiB)", prefix: "fault-big", settings: ["VIDD_MAX_UPLOAD_BYTES": String(limit)]) { scenario, figures in
            let sut = scenario.sut
            let api = try await sut.start("serve")
            let port = try #require(api.port)
            func head(_ fields: String) -> String {
                "POST /jobs?name=big.mp4 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: video/mp4\r\n\(fields)\r\n"
            }
            // Declared and expecting 100 Continue: refused before a body byte is asked for.
            let declared = try await MisbehavingClient.push(port: port, head: head("Content-Length: 1000000000000000\r\nExpect: 100-continue\r\n"), bodyBytes: 0)
            #expect(declared.status == 413, "Content-Length 10^15: \(declared.response.prefix(300))")
            // Declared without Expect, body sent anyway.
            let plain = try await MisbehavingClient.push(port: port, head: head("Content-Length: \(2 * limit)\r\n"), bodyBytes: 2 * limit)
            #expect(plain.status == 413, "Content-Length 16 MiB: \(plain.response.prefix(300))")
            // Chunked: nothing declared, refused as it streams past the limit.
            let chunked = try await MisbehavingClient.push(port: port, head: head("Transfer-Encoding: chunked\r\n"), bodyBytes: 2 * limit, chunked: true)
            #expect(chunked.status == 413, "chunked 16 MiB: \(chunked.response.prefix(300))")
            figures.submitted = 3
            figures.refused = [declared, plain, chunked].filter { $0.status == 413 }.count
            try await Self.nothingLeft(sut, rows: 0)

            // Under the limit is still an upload like any other.
            let fits = try await sut.uploadFile(api, path: try await FaultMedia.clip(seconds: 3), name: "fits.mp4")
            #expect(fits.status == 202, "\(fits.status) \(fits.text)")
            figures.submitted += 1
            figures.accepted = fits.status == 202 ? 1 : 0
        }
    }

    /// No partial file in the storage's temporary directory, no source object, `rows` videos.
    static func nothingLeft(_ sut: ServiceUnderTest, rows: Int) async throws {
        let tmp = sut.storageDirectory + "/.tmp"
        try await waitUntil("partial uploads to be removed", timeout: .seconds(10), retryingErrors: false) {
            ((try? FileManager.default.contentsOfDirectory(atPath: tmp)) ?? []).isEmpty
        }
        #expect(try await sut.storage().list(prefix: "source/").isEmpty, "source objects left")
        #expect(try await sut.query("SELECT count(*)::text FROM videos") == [[String(rows)]])
    }
}
