import Foundation
import RESP
import Testing
import TestSupport
@testable import VideoCore

/// The promise a fault scenario checks once its batch has settled: every accepted video
/// completed exactly once — its row `completed`, one `resolutions` row per rung whose object is
/// in storage with the recorded size, one stream entry, at most one `job done` across every
/// worker's log (killed ones included) — nothing pending, nothing dead-lettered, and no object in storage
/// that no row explains.
struct BatchAudit {
    let sut: ServiceUnderTest
    /// Where the audit reads objects (for S3 behind the fault proxy: the server itself).
    let storage: any Storage

    init(_ sut: ServiceUnderTest, storage: (any Storage)? = nil) throws {
        self.sut = sut
        self.storage = try storage ?? sut.storage()
    }

    /// Statuses by video id, from the database.
    func statuses() async throws -> [String: String] {
        var out: [String: String] = [:]
        for row in try await sut.query("SELECT id::text, status FROM videos") { out[row[0]!] = row[1]! }
        return out
    }

    /// Waits until every video in `ids` has ended (completed or failed) and nothing is pending in
    /// the group (an outcome recorded by a worker killed before its XACK is acknowledged by the
    /// worker that claims it after the lease). Returns the statuses; throws at `timeout`.
    @discardableResult
    func waitUntilSettled(_ ids: [String], timeout: Duration) async throws -> [String: String] {
        let deadline = ContinuousClock.now + timeout
        var last: [String: String] = [:]
        var pending = -1
        while ContinuousClock.now < deadline {
            last = try await statuses()
            if ids.allSatisfy({ ["completed", "failed"].contains(last[$0] ?? "") }) {
                pending = try await pendingCount()
                if pending == 0 { return last }
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        let open = ids.filter { !["completed", "failed"].contains(last[$0] ?? "") }.map { "\($0): \(last[$0] ?? "no row")" }
        throw ServiceUnderTest.Failure("the batch did not settle within \(timeout): not ended \(open), pending \(pending)")
    }

    /// Until some video is being worked on: the moment to break something.
    func waitUntilOneIsProcessing() async throws {
        try await waitUntil("a job in progress", timeout: .seconds(120), retryingErrors: false) { try await statuses().values.contains("processing") }
    }

    func pendingCount() async throws -> Int {
        try await sut.redis { try await $0.xpending(sut.keys.jobStream, group: sut.keys.consumerGroup) }.count
    }

    /// Stream entries per video id (the `video_id` field of every entry still in the stream).
    func streamEntriesPerVideo() async throws -> [String: Int] {
        let entries = try await sut.redis { try await $0.xrange(sut.keys.jobStream) }
        var out: [String: Int] = [:]
        for e in entries { if let id = e.string("video_id") { out[id, default: 0] += 1 } }
        return out
    }

    /// `job done` lines per video id over every process's log.
    func completionsPerVideo() -> [String: Int] {
        var out: [String: Int] = [:]
        for line in sut.logs.split(separator: "\n") where line.contains("msg=\"job done\"") {
            guard let field = line.split(separator: " ").first(where: { $0.hasPrefix("video_id=") }) else { continue }
            out[String(field.dropFirst("video_id=".count)), default: 0] += 1
        }
        return out
    }

    /// Checks the promise for `ids` (all made from one source, so with the rungs `heights`) and
    /// adds what it found to `figures`.
    func completedExactlyOnce(_ ids: [String], heights: [Int], figures: inout FaultFigures) async throws {
        var rows: [String: (status: String, attempts: Int, error: String)] = [:]
        for row in try await sut.query("SELECT id::text, status, attempts::text, coalesce(error_message, '') FROM videos") {
            rows[row[0]!] = (row[1]!, Int(row[2]!) ?? 0, row[3]!)
        }
        var renditions: [String: [(height: Int, size: Int64, mp4: String, playlist: String)]] = [:]
        for row in try await sut.query("SELECT video_id::text, height::text, size_bytes::text, mp4_key, coalesce(hls_playlist_key, '') FROM resolutions") {
            renditions[row[0]!, default: []].append((Int(row[1]!)!, Int64(row[2]!)!, row[3]!, row[4]!))
        }
        let entries = try await streamEntriesPerVideo()
        let completions = completionsPerVideo()
        for id in ids {
            guard let row = rows[id] else {
                figures.lost += 1
                Issue.record("\(id): accepted but has no row")
                continue
            }
            figures.jobRetries += max(0, row.attempts - 1)
            guard row.status == "completed" else {
                figures.lost += 1
                Issue.record("\(id): \(row.status) after \(row.attempts) attempt(s): \(row.error)")
                continue
            }
            figures.completed += 1
            // No `job done` is possible: a worker killed right after the database recorded the
            // completion never logged it (the row, the rungs and the objects prove the completion).
            if entries[id, default: 0] != 1 || completions[id, default: 0] > 1 {
                figures.duplicated += 1
                Issue.record("\(id): \(entries[id, default: 0]) stream entries and \(completions[id, default: 0]) completions; want 1 and at most 1")
            }
            let rungs = renditions[id] ?? []
            #expect(rungs.map(\.height).sorted(by: >) == heights.sorted(by: >), "\(id): rungs \(rungs.map(\.height))")
            for r in rungs {
                let stored = try await storage.head(key: r.mp4)
                #expect(stored?.size == r.size, "\(r.mp4): row says \(r.size) bytes, storage \(stored.map { String($0.size) } ?? "nothing")")
                if !r.playlist.isEmpty { #expect(try await storage.head(key: r.playlist) != nil, "\(r.playlist) missing") }
            }
            for whole in ["hls/master.m3u8", "poster.jpg", "storyboard.jpg", "storyboard.vtt"] {
                #expect(try await storage.head(key: "processed/\(id)/\(whole)") != nil, "processed/\(id)/\(whole) missing")
            }
        }
        let pending = try await pendingCount()
        #expect(pending == 0, "entries left pending: \(pending)")
        let dead = try await sut.redis { try await $0.xlen(sut.keys.deadLetterStream) }
        #expect(dead == 0, "dead-lettered: \(dead)")
        try await noObjectWithoutARow()
    }

    /// Every `source/{id}/…` and `processed/{id}/…` object belongs to a video that has a row (or
    /// is a row's `source_key`: a source submitted by key).
    func noObjectWithoutARow() async throws {
        var rowIDs = Set<String>(), sourceKeys = Set<String>()
        for row in try await sut.query("SELECT id::text, source_key FROM videos") {
            rowIDs.insert(row[0]!)
            sourceKeys.insert(row[1]!)
        }
        for prefix in ["source/", "processed/"] {
            let objects = try await storage.list(prefix: prefix).filter { !sourceKeys.contains($0.key) }
            let owners = Set(objects.compactMap { $0.key.split(separator: "/").dropFirst().first.map(String.init) })
            let orphans = owners.subtracting(rowIDs)
            #expect(orphans.isEmpty, "objects under \(prefix) of videos without a row: \(orphans.sorted())")
        }
    }
}
