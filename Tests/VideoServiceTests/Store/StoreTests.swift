import Synchronization
import Testing
import PGWire
import TestSupport
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService
@testable import VideoWorker

/// The migrations and every statement in `SQL`, run on the real test PostgreSQL through PGWire.
@Suite struct StoreTests {
    /// No endpoint is registered in these databases: the state changes record no deliveries.
    let events = WebhookEvents(configuration: Configuration())

    func withDatabase(_ name: String, _ body: (PGPool) async throws -> Void) async throws {
        guard let url = try TestServices.require(TestServices.postgresURL, "VIDD_TEST_PG_URL") else { return }
        let db = try await TestDatabase.fresh(url: url, prefix: TestServices.uniqueName(name).replacing("-", with: "_"))
        do { try await body(db.pool) } catch { await db.drop(); throw error }
        await db.drop()
    }

    @Test func migrationsApplyOnceAndAreRecorded() async throws {
        try await withDatabase("migrate") { db in
            let runner = MigrationRunner()
            #expect(try await runner.run(on: db) == Migrations.all.map(\.version).sorted())
            #expect(try await runner.run(on: db) == [], "second start: nothing to do")
            let recorded = try await db.simpleQuery("SELECT version::text, name FROM schema_migrations ORDER BY schema_migrations.version")
            #expect(recorded == Migrations.all.sorted { $0.version < $1.version }.map { [String($0.version), $0.name] })
            let tables = try await db.simpleQuery("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1")
            #expect(Set(tables.compactMap(\.first)).isSuperset(of: ["resolutions", "schema_migrations", "videos"]))
            let indexes = try await db.simpleQuery("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'videos' ORDER BY 1")
            #expect(Set(indexes.compactMap(\.first)).isSuperset(of: ["videos_created_at_idx", "videos_pkey", "videos_status_created_at_idx",
                                                                    "videos_source_key_idx", "videos_enqueue_pending_idx", "videos_name_trgm_idx"]))
            // Other tests migrate their own schemas at the same time: count this session's locks only.
            try await db.withConnection { session in
                _ = try await runner.run(on: session)
                let held = try await session.simpleQuery(
                    "SELECT count(*)::text FROM pg_locks WHERE locktype = 'advisory' AND objid = \(MigrationRunner.advisoryLockKey) AND pid = pg_backend_pid()")
                #expect(held == [["0"]], "the advisory lock is released")
            }
        }
    }

    @Test func aFailingMigrationLeavesNoTrace() async throws {
        try await withDatabase("badmig") { db in
            let bad = Migration(version: 2, name: "002_bad", sql: "CREATE TABLE half (x int); SELECT no_such_function()")
            await #expect(throws: MigrationRunner.Failure.self) { try await MigrationRunner(migrations: Migrations.all + [bad]).run(on: db) }
            // Applied in order: those before the bad one stay, nothing from it on.
            #expect(try await MigrationRunner.appliedVersions(on: db) == Set(Migrations.all.map(\.version).filter { $0 < bad.version }))
            let half = try await db.simpleQuery("SELECT to_regclass('half')::text")
            #expect(half == [[nil]], "the failed migration's statements were rolled back")
        }
    }

    @Test func videoLifecycle() async throws {
        try await withDatabase("lifecycle") { db in
            try await MigrationRunner().run(on: db)
            let store = VideoStore(db: db)
            let id = VideoID.generate()
            let key = ObjectKeys.source(videoID: id, originalName: "clip.mp4")
            let (created, isNew) = try await store.createVideo(id: id, title: "Clip", sourceKey: key, originalName: "clip.mp4")
            #expect(isNew && created.id == id && created.status == .queued && created.attempts == 0 && created.title == "Clip")
            #expect(created.createdAt.hasSuffix("Z") && created.createdAt.count == 24)
            let (again, againNew) = try await store.createVideo(id: id, title: "Other", sourceKey: "source/x/y", originalName: nil)
            #expect(!againNew && again == created, "re-submitting the same id is idempotent")

            #expect(try await store.markProcessing(id: id) == 1)
            try await store.updateSourceMetadata(id: id, SourceMetadata(durationSeconds: 12.5, width: 1920, height: 1080, frameRate: 29.97,
                                                                         videoCodec: "h264", audioCodec: nil, sizeBytes: 1_234_567, rotation: 90))
            let r720 = Rendition(videoID: id, height: 720, width: 1280, bitrate: 2_500_000, sizeBytes: 100, codec: "h264",
                                 mp4Key: ObjectKeys.mp4(videoID: id, height: 720), hlsPlaylistKey: ObjectKeys.hlsPlaylist(videoID: id, height: 720))
            try await store.upsertRendition(r720, events: events)
            try await store.upsertRendition(Rendition(videoID: id, height: 360, width: 640, bitrate: 800_000, sizeBytes: 50, codec: "h264",
                                                      mp4Key: ObjectKeys.mp4(videoID: id, height: 360)), events: events)
            // A retried job: the rung's row is updated, not duplicated.
            #expect(try await store.markProcessing(id: id) == 2)
            var retried = r720
            retried.sizeBytes = 101
            try await store.upsertRendition(retried, events: events)
            #expect(try await store.renditions(videoID: id).map(\.height) == [720, 360])
            #expect(try await store.renditions(videoID: id).first == retried)

            #expect(try await store.markCompleted(id: id, dashManifestKey: nil, events: events))
            #expect(try await !store.markCompleted(id: id, dashManifestKey: nil, events: events), "only from processing")
            #expect(try await !store.markFailed(id: id, message: "late", code: nil, events: events), "never overrides completed")
            #expect(try await store.markProcessing(id: id) == nil, "a finished video is not taken again")
            let done = try #require(try await store.video(id: id))
            #expect(done.status == .completed && done.attempts == 2 && done.startedAt != nil && done.completedAt != nil && done.errorMessage == nil)
            #expect(done.source == SourceMetadata(durationSeconds: 12.5, width: 1920, height: 1080, frameRate: 29.97, videoCodec: "h264",
                                                  audioCodec: nil, sizeBytes: 1_234_567, rotation: 90))

            let removed = Mutex<[String]>([])
            let outcome = try await store.deleteVideo(id: id, sourceKey: key, events: events) { k in removed.withLock { $0.append(k) } }
            #expect(outcome == .removed)
            #expect(removed.withLock { $0 } == [key], "the last (and owning) video takes its source along")
            #expect(try await store.video(id: id) == nil)
            #expect(try await store.renditions(videoID: id).isEmpty, "renditions go with the video")
            #expect(try await store.deleteVideo(id: id, sourceKey: key, events: events) { _ in Issue.record("nothing to remove") } == nil)
        }
    }

    /// Ownership of a source object: uploads (keys in the video's own `source/{id}/`) own it,
    /// submissions naming it do not; deleting the owner first passes ownership on; the object goes
    /// with the last owning user; a failed removal rolls the delete back.
    @Test func sourceOwnershipPassesToTheRemainingUsers() async throws {
        try await withDatabase("owners") { db in
            try await MigrationRunner().run(on: db)
            let store = VideoStore(db: db)
            let owner = VideoID.generate(), user = VideoID.generate(), outsider = VideoID.generate()
            let key = ObjectKeys.source(videoID: owner, originalName: "a.mp4")
            _ = try await store.createVideo(id: owner, title: nil, sourceKey: key, originalName: nil)
            #expect(try await store.createVideo(id: user, title: nil, sourceKey: key, originalName: nil) { true }?.created == true)
            #expect(try await store.createVideo(id: VideoID.generate(), title: nil, sourceKey: "source/gone.mp4", originalName: nil) { false } == nil,
                    "no row when the source is missing")
            _ = try await store.createVideo(id: outsider, title: nil, sourceKey: "source/shared/b.mp4", originalName: nil)
            struct StorageDown: Error {}
            await #expect(throws: StorageDown.self) {
                _ = try await store.createVideo(id: VideoID.generate(), title: nil, sourceKey: "source/x/c.mp4", originalName: nil) { throw StorageDown() }
            }

            #expect(try await store.deleteVideo(id: owner, sourceKey: key, events: events) { _ in Issue.record("still used") } == .keptForOtherVideos)
            await #expect(throws: StorageDown.self) {
                _ = try await store.deleteVideo(id: user, sourceKey: key, events: events) { _ in throw StorageDown() }
            }
            #expect(try await store.video(id: user) != nil, "a failed removal rolls the delete back")
            #expect(try await store.deleteVideo(id: user, sourceKey: key, events: events) { _ in } == .removed, "ownership passed to the last user")
            #expect(try await store.deleteVideo(id: outsider, sourceKey: "source/shared/b.mp4", events: events) { _ in Issue.record("not ours") } == .keptNotOwned)
        }
    }

    @Test func failureAndRetry() async throws {
        try await withDatabase("retry") { db in
            try await MigrationRunner().run(on: db)
            let store = VideoStore(db: db)
            let id = VideoID.generate()
            _ = try await store.createVideo(id: id, title: nil, sourceKey: "source/\(id)/a.mp4", originalName: nil)
            #expect(try await store.requeueFailed(id: id) == nil, "only a failed video can be retried")
            _ = try await store.markProcessing(id: id)
            #expect(try await store.markFailed(id: id, message: "not a media file: Invalid data found when processing input", code: nil, events: events))
            let failed = try #require(try await store.video(id: id))
            #expect(failed.status == .failed && failed.errorMessage == "not a media file: Invalid data found when processing input")
            let requeued = try #require(try await store.requeueFailed(id: id))
            #expect(requeued.status == .queued && requeued.errorMessage == nil && requeued.attempts == 0 && requeued.startedAt == nil)
        }
    }

    @Test func listingIsNewestFirstWithTotal() async throws {
        try await withDatabase("list") { db in
            try await MigrationRunner().run(on: db)
            let store = VideoStore(db: db)
            var ids: [String] = []
            for i in 0..<5 {
                let id = VideoID.generate()
                ids.append(id)
                _ = try await store.createVideo(id: id, title: "v\(i)", sourceKey: "source/\(id)/a.mp4", originalName: nil)
                // Distinct creation times, so "newest first" is checkable.
                _ = try await db.query("UPDATE videos SET created_at = now() + ($2::integer * interval '1 second') WHERE id = $1::uuid", [id, String(i)])
            }
            _ = try await store.markProcessing(id: ids[1])
            _ = try await store.markFailed(id: ids[1], message: "x", code: nil, events: events)
            let page = try await store.listVideos(PageRequest(limit: 2, offset: 1))
            #expect(page.total == 5)
            #expect(page.videos.map(\.title) == ["v3", "v2"])
            let failed = try await store.listVideos(PageRequest(limit: 10, offset: 0, status: .failed))
            #expect(failed.total == 1 && failed.videos.map(\.id) == [ids[1]])
            let beyond = try await store.listVideos(PageRequest(limit: 10, offset: 50))
            #expect(beyond.videos.isEmpty && beyond.total == 5)
            #expect(try await db.query(SQL.ping, []) == [["1"]])
        }
    }

    @Test func rowDecodingErrorsNameTheColumn() {
        #expect(throws: RowDecodingError(what: "video status", column: 2, value: "weird")) {
            try Video(row: ["id", nil, "weird"] + Array(repeating: nil, count: 15))
        }
        #expect(throws: RowDecodingError(what: "video", column: 7, value: "wide")) {
            try Video(row: ["id", nil, "queued", nil, "k", nil, nil, "wide"] + Array(repeating: nil, count: 7) + ["t", nil, nil])
        }
    }
}

/// Several vidd processes starting at once, each with its own session: the advisory lock lets
/// exactly one apply the migrations; the others wait, then find nothing to do.
@Suite struct ConcurrentMigrationTests {
    @Test func concurrentStartsApplyEachMigrationOnce() async throws {
        guard let url = try TestServices.require(TestServices.postgresURL, "VIDD_TEST_PG_URL") else { return }
        let db = try await TestDatabase.fresh(url: url, prefix: TestServices.uniqueName("concurrent").replacing("-", with: "_"))
        var sessions: [PGConnection] = []
        for _ in 0..<4 { sessions.append(try await db.session()) }
        // A slow migration widens the window in which the others must wait on the lock.
        let slow = Migrations.all + [Migration(version: 2, name: "002_slow", sql: "SELECT pg_sleep(0.3); CREATE TABLE slow_marker (x int)")]
        let applied = try await withThrowingTaskGroup(of: [Int].self) { group in
            for session in sessions {
                group.addTask { try await MigrationRunner(migrations: slow).run(on: session) }
            }
            var all: [[Int]] = []
            for try await result in group { all.append(result) }
            return all
        }
        let versions = slow.map(\.version).sorted()
        #expect(applied.filter { !$0.isEmpty } == [versions], "exactly one process applied the migrations: \(applied)")
        #expect(applied.filter(\.isEmpty).count == 3)
        let recorded = try await db.pool.simpleQuery("SELECT version::text FROM schema_migrations ORDER BY schema_migrations.version")
        #expect(recorded == versions.map { [String($0)] })
        for s in sessions { await s.close() }
        await db.drop()
    }

    @Test func executorReportsErrorsAndSurvivesThem() async throws {
        guard let url = try TestServices.require(TestServices.postgresURL, "VIDD_TEST_PG_URL") else { return }
        let session = try await PGConnection.connect(url: url)
        #expect(try await session.simpleQuery("SELECT 1, NULL::text") as [[String?]] == [["1", nil]])
        #expect(try await session.query("SELECT $1::int + 1, $2::text IS NULL", ["41", nil]) == [["42", "t"]])
        await #expect(throws: PGError.self) { _ = try await session.simpleQuery("SELECT no_such_column FROM pg_class") as [[String?]] }
        #expect(try await session.simpleQuery("SELECT 2") as [[String?]] == [["2"]], "the session survives an error")
        await session.close()
    }
}
