import Foundation
import Testing
import TestSupport
@testable import VideoAPI
@testable import VideoCore

/// A submission reaches only its own bucket and the upload prefix, and a source object goes with
/// the last video that uses it — never earlier (other videos still need it), never twice, and
/// never out from under a submission racing the delete.
@Suite struct SourceOwnershipTests {
    /// The seed's `s3://bucket/key` names a bucket: one that is not the configured bucket is
    /// refused, not silently read from ours.
    @Test func seedFormRefusesAnotherBucket() async throws {
        try await APITestEnvironment.with("otherbucket") { env in
            try await env.put("source/seed/clip.mp4", patternBytes(10))
            let other = try await env.client.postJSON(
                "/jobs", #"{"video_id": "\#(VideoID.generate())", "s3_path": "s3://otherbucket/source/seed/clip.mp4"}"#)
            #expect(other.status == 422, "\(other.text)")
            #expect(try other.apiError().code == "validation_failed")
            #expect(try other.apiError().message.contains("otherbucket"))
            let ours = try await env.client.postJSON(
                "/jobs", #"{"video_id": "\#(VideoID.generate())", "s3_path": "s3://videos/source/seed/clip.mp4"}"#)
            #expect(ours.status == 202, "the configured bucket (videos) is accepted: \(ours.text)")
            #expect(try await env.streamEntries().count == 1)
        }
    }

    /// `source_key` may only name objects under the upload prefix (`source/` by default), never
    /// another video's outputs or any other key of the bucket.
    @Test(arguments: ["processed/{other}/mp4/360p.mp4", "processed/{other}/poster.jpg", "private/payroll.mp4", "sourcex/clip.mp4"])
    func sourceKeyOutsideTheUploadPrefixIsRefused(_ pattern: String) async throws {
        try await APITestEnvironment.with("prefix") { env in
            let key = pattern.replacing("{other}", with: VideoID.generate())
            try await env.put(key, patternBytes(10))
            let response = try await env.client.postJSON("/jobs", #"{"source_key": "\#(key)"}"#)
            #expect(response.status == 422, "\(key): \(response.text)")
            #expect(try response.apiError().message.contains("source/"), "the message names the allowed prefix")
            #expect(try await env.streamEntries().isEmpty)
            #expect(try await env.store.listVideos(PageRequest()).total == 0)
        }
    }

    /// Uploads `bytes` as a raw body; the new video's id and source key.
    func upload(_ env: APITestEnvironment) async throws -> (id: String, key: String) {
        let response = try await env.client.request("POST", "/jobs?name=shared.mp4", headers: [("Content-Type", "video/mp4")],
                                                    body: .bytes(patternBytes(1000)))
        #expect(response.status == 202, "\(response.text)")
        let json = try response.json()
        return (try #require(json["id"] as? String), try #require(json["source_key"] as? String))
    }

    func reference(_ env: APITestEnvironment, _ key: String) async throws -> TestHTTPResponse {
        try await env.client.postJSON("/jobs", #"{"source_key": "\#(key)"}"#)
    }

    func delete(_ env: APITestEnvironment, _ id: String) async throws -> Int {
        try await env.client.request("DELETE", "/videos/\(id)").status
    }

    /// Four videos on one uploaded source: deleting the uploader and two others keeps it; the
    /// last one takes it along.
    @Test func aSharedSourceGoesWithItsLastVideo() async throws {
        try await APITestEnvironment.with("shared") { env in
            let (owner, key) = try await upload(env)
            var others: [String] = []
            for _ in 0..<3 {
                let r = try await reference(env, key)
                #expect(r.status == 202, "\(r.text)")
                others.append(try #require(try r.json()["id"] as? String))
            }
            #expect(try await delete(env, owner) == 204)
            #expect(try await env.storage.head(key: key) != nil, "three videos still use \(key)")
            for id in others.dropLast() {
                #expect(try await delete(env, id) == 204)
                #expect(try await env.storage.head(key: key) != nil, "still used by \(others.last!)")
            }
            #expect(try await delete(env, others.last!) == 204)
            #expect(try await env.storage.head(key: key) == nil, "the last user's delete removes the source")
            #expect(try await env.storage.list(prefix: "source/").isEmpty)
        }
    }

    /// The last two users deleted at the same moment: both succeed and the source is removed —
    /// neither delete may leave it to the other.
    @Test func concurrentDeletesOfTheLastTwoUsersRemoveTheSource() async throws {
        try await APITestEnvironment.with("shareddel") { env in
            for round in 0..<8 {
                let (owner, key) = try await upload(env)
                let second = try #require(try await reference(env, key).json()["id"] as? String)
                async let a = delete(env, owner)
                async let b = delete(env, second)
                let statuses = try await [a, b]
                #expect(statuses == [204, 204], "round \(round)")
                #expect(try await env.storage.head(key: key) == nil, "round \(round): \(key) removed")
            }
            #expect(try await env.storage.list(prefix: "source/").isEmpty)
        }
    }

    /// A submission naming the source while its last video is deleted: either the submission is
    /// refused (the source is gone) or it is accepted and the source stays for it.
    @Test func aSubmissionRacingTheLastDeleteNeverLosesItsSource() async throws {
        try await APITestEnvironment.with("sharedrace") { env in
            var accepted = 0
            for round in 0..<12 {
                let (owner, key) = try await upload(env)
                async let deleted = delete(env, owner)
                async let submitted = reference(env, key)
                let (status, response) = try await (deleted, submitted)
                #expect(status == 204, "round \(round)")
                switch response.status {
                case 202:
                    accepted += 1
                    let id = try #require(try response.json()["id"] as? String)
                    #expect(try await env.store.video(id: id) != nil)
                    #expect(try await env.storage.head(key: key) != nil, "round \(round): accepted, so \(key) must still exist")
                    #expect(try await delete(env, id) == 204)
                    #expect(try await env.storage.head(key: key) == nil, "round \(round): its own delete removes it")
                case 422:
                    #expect(try await env.storage.head(key: key) == nil, "round \(round): refused because \(key) is gone")
                default:
                    Issue.record("round \(round): \(response.status) \(response.text)")
                }
            }
            #expect(try await env.storage.list(prefix: "source/").isEmpty)
            print("submissions racing a delete: \(accepted) of 12 accepted")
        }
    }
}
