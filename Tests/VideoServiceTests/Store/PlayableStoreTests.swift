import Testing
import PGWire
import TestSupport
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService
@testable import VideoWorker

/// `playable_at` and the DASH manifest key through a video's life, on the real test PostgreSQL.
@Suite struct PlayableStoreTests {
    let events = WebhookEvents(configuration: Configuration())

    func withStore(_ name: String, _ body: (VideoStore<PGPool>, PGPool) async throws -> Void) async throws {
        guard let url = try TestServices.require(TestServices.postgresURL, "VIDD_TEST_PG_URL") else { return }
        let db = try await TestDatabase.fresh(url: url, prefix: TestServices.uniqueName(name).replacing("-", with: "_"))
        do {
            try await MigrationRunner().run(on: db.pool)
            try await body(VideoStore(db: db.pool), db.pool)
        } catch {
            await db.drop()
            throw error
        }
        await db.drop()
    }

    func newVideo(_ store: VideoStore<PGPool>) async throws -> String {
        let id = VideoID.generate()
        _ = try await store.createVideo(id: id, title: nil, sourceKey: ObjectKeys.source(videoID: id, originalName: "a.mp4"), originalName: "a.mp4")
        return id
    }

    @Test func playableOnceWhileProcessingThenCompletedWithItsManifest() async throws {
        try await withStore("playable") { store, _ in
            let id = try await newVideo(store)
            #expect(try await store.markPlayable(id: id, events: events) == nil, "a queued video is not being published")
            #expect(try await store.markProcessing(id: id) == 1)
            let first = try #require(try await store.markPlayable(id: id, events: events))
            #expect(first.first && first.playableAt.hasSuffix("Z"))
            // A redelivered job's master: the moment stays the first one.
            #expect(try await store.markProcessing(id: id) == 2)
            let again = try #require(try await store.markPlayable(id: id, events: events))
            #expect(!again.first && again.playableAt == first.playableAt)
            let processing = try #require(try await store.video(id: id))
            #expect(processing.isPlayable && processing.playableAt == first.playableAt)

            #expect(try await store.markCompleted(id: id, dashManifestKey: ObjectKeys.dashManifest(videoID: id), events: events))
            let done = try #require(try await store.video(id: id))
            #expect(done.playableAt == first.playableAt && done.dashManifestKey == ObjectKeys.dashManifest(videoID: id))
            #expect(done.playableAt! <= done.completedAt!)
            #expect(try await store.markPlayable(id: id, events: events) == nil, "completed: nothing more to announce")
        }
    }

    @Test func completedWithoutAnEarlyMasterIsPlayableFromCompletion() async throws {
        try await withStore("playable-late") { store, _ in
            let id = try await newVideo(store)
            _ = try await store.markProcessing(id: id)
            #expect(try await store.markCompleted(id: id, dashManifestKey: nil, events: events))
            let done = try #require(try await store.video(id: id))
            #expect(done.playableAt == done.completedAt && done.dashManifestKey == nil)
        }
    }

    @Test func aFailureKeepsTheMomentAndARetryStartsOver() async throws {
        try await withStore("playable-failed") { store, _ in
            let id = try await newVideo(store)
            _ = try await store.markProcessing(id: id)
            let at = try #require(try await store.markPlayable(id: id, events: events)).playableAt
            #expect(try await store.markFailed(id: id, message: "storage went away", code: nil, events: events))
            let failed = try #require(try await store.video(id: id))
            #expect(failed.playableAt == at && !failed.isPlayable)
            #expect(try await store.markPlayable(id: id, events: events) == nil, "a late master of the failed attempt announces nothing")
            let requeued = try #require(try await store.requeueFailed(id: id))
            #expect(requeued.playableAt == nil && requeued.status == .queued)
        }
    }

    /// Videos completed before migration 50 were playable at completion; none has a manifest.
    @Test func theMigrationBackfillsCompletedVideos() async throws {
        guard let url = try TestServices.require(TestServices.postgresURL, "VIDD_TEST_PG_URL") else { return }
        let db = try await TestDatabase.fresh(url: url, prefix: TestServices.uniqueName("mig50").replacing("-", with: "_"))
        do {
            let before = Migrations.all.filter { $0.version < 50 }
            try await MigrationRunner(migrations: before).run(on: db.pool)
            _ = try await db.pool.simpleQuery("""
                INSERT INTO videos (id, status, source_key, completed_at) VALUES
                  ('00000000-0000-4000-8000-000000000001', 'completed', 'source/a', '2026-01-01T00:00:00Z'),
                  ('00000000-0000-4000-8000-000000000002', 'failed', 'source/b', '2026-01-01T00:00:00Z')
                """)
            try await MigrationRunner().run(on: db.pool)
            let rows = try await db.pool.simpleQuery(
                "SELECT status, (playable_at = completed_at)::text, dash_manifest_key FROM videos ORDER BY id")
            #expect(rows == [["completed", "true", nil], ["failed", nil, nil]])
        } catch {
            await db.drop()
            throw error
        }
        await db.drop()
    }
}
