import Testing
@testable import VideoAPI
@testable import VideoCore

/// `/openapi.json` describes every field the API sends: the video JSON and the progress event.
@Suite struct OpenAPISchemaTests {
    static func members(_ value: JSONValue, _ path: [String]) -> [String] {
        var current = value
        for key in path {
            guard case .object(let pairs) = current, let next = pairs.first(where: { $0.0 == key })?.1 else { return [] }
            current = next
        }
        guard case .object(let pairs) = current else { return [] }
        return pairs.map(\.0)
    }

    @Test func theVideoSchemaNamesEveryFieldOfTheVideoJSON() {
        let video = Video(id: VideoID.generate(), status: .completed, sourceKey: "source/x/a.mp4", createdAt: "t",
                          playableAt: "t", dashManifestKey: "processed/x/manifest.mpd")
        let sent = Set(Self.members(VideoJSON.video(video), []))
        let documented = Set(Self.members(OpenAPIDocument.schemas, ["Video", "properties"]))
        #expect(sent.isSubset(of: documented), "undocumented: \(sent.subtracting(documented).sorted())")
        #expect(documented.isSuperset(of: ["playable", "playable_at", "hls_master_url", "dash_manifest_url"]))
    }

    @Test func theProgressEventSchemaNamesEveryField() {
        let documented = Set(Self.members(OpenAPIDocument.schemas, ["ProgressEvent", "properties"]))
        #expect(documented == Set(ProgressEvent.CodingKeys.allCases.map(\.rawValue)))
    }
}
