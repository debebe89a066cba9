import Foundation
import Testing
import TestSupport
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService

/// A JSON body naming a member twice: JSONDecoder silently kept the first, where most clients'
/// parsers keep the last, so `{"visibility":"public","visibility":"private"}` made a video public
/// that its sender meant private. Now a 422 naming the member, on every JSON body of the API.
@Suite struct JSONDuplicateMemberTests {
    @Test(arguments: [
        (#"{"a":1,"a":2}"#, "a"),
        (#"{"k":1, "k" :2}"#, "k"),
        (#"{"t\u0069tle":"x","title":"y"}"#, "title"),
        ("\u{FEFF}{\"v\":1,\"v\":1}", "v"),
        (#"{"a":{"b":1,"b":2}}"#, nil),
        (#"{"a":["x","x"],"b":"a"}"#, nil),
        (#"{"a":"\"a\":","b":1}"#, nil),
        (#"{"a\\":1,"a":2}"#, nil),
        (#"["a","a"]"#, nil),
        (#"{"title":"x","visibility":"private"}"#, nil),
        (#"{"a":"unterminated"#, nil),
    ] as [(String, String?)])
    func findsARepeatedTopLevelMember(json: String, repeated: String?) {
        #expect(JSONDuplicateMember.first(in: Array(json.utf8)) == repeated)
    }

    @Test func patchSubmitAndWebhookRefuseARepeatedMember() async throws {
        try await APITestEnvironment.with("dup-member", configure: { $0.mediaSigning.keys = [String(repeating: "k", count: MediaSigningSettings.minimumKeyLength)] }) { env in
            let video = try await env.recordVideo(title: "Kept")
            let json = [("Content-Type", "application/json")]
            let patch = try await env.client.request("PATCH", "/videos/\(video.id)", headers: json,
                                                     body: .bytes(Array(#"{"visibility":"public","visibility":"private"}"#.utf8)))
            #expect(patch.status == 422 && (try? patch.apiError().message) == "visibility is given twice; send each field once", "\(patch.status) \(patch.text)")
            #expect(try await env.store.video(id: video.id)?.visibility == .public, "nothing changed")

            try await env.put("source/dup/clip.mp4", patternBytes(10))
            let submit = try await env.client.postJSON("/jobs", #"{"source_key":"source/dup/clip.mp4","visibility":"private","visibility":"public"}"#)
            #expect(submit.status == 422 && (try? submit.apiError().message) == "visibility is given twice; send each field once", "\(submit.status) \(submit.text)")
            let hook = try await env.client.postJSON("/webhooks", #"{"url":"https://example.com/a","url":"https://example.com/b"}"#)
            #expect(hook.status == 422 && (try? hook.apiError().message) == "url is given twice; send each field once", "\(hook.status) \(hook.text)")
            let (videos, total) = try await env.store.listVideos(PageRequest())
            #expect(total == 1 && videos.map(\.id) == [video.id], "no video was made")
        }
    }
}
