import VideoCore

extension Storage {
    /// The video's media playlists already in the bucket (`processed/{id}/hls/*/index.m3u8`),
    /// each with its text; one deleted since the listing is left out (nothing of it to keep).
    func storedMediaPlaylists(videoID: String) async throws -> [(key: String, text: String)] {
        var playlists: [(key: String, text: String)] = []
        for object in try await list(prefix: ObjectKeys.processedDirectory(videoID: videoID) + "hls/")
        where object.key.hasSuffix("/index.m3u8") {
            do {
                playlists.append((object.key, String(decoding: try await get(key: object.key), as: UTF8.self)))
            } catch StorageError.notFound {
                continue
            }
        }
        return playlists
    }
}
