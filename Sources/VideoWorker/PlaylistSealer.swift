import Transcode
import VideoCore

/// A video that fails after it became playable keeps what was stored (until a retry or a delete),
/// but nothing more will come: each of its media playlists in the bucket gets `#EXT-X-ENDLIST`
/// (the one change RFC 8216 §6.2.1 allows besides appending segments), so a player that is
/// watching ends at the last segment instead of reloading the playlist for ever. Its JSON says
/// `playable: false` and no `hls_master_url` from then on; `playable_at` stays as a record.
enum PlaylistSealer {
    /// Seals every media playlist of the video that is not complete; returns how many it sealed.
    static func seal(videoID: String, storage: any Storage) async throws -> Int {
        var sealed = 0
        for (key, text) in try await storage.storedMediaPlaylists(videoID: videoID) {
            guard let closed = MediaPlaylistText.sealed(text) else { continue }
            _ = try await storage.put(key: key, chunks: SingleChunk(bytes: Array(closed.utf8)), contentType: OutputLayout.contentType(forKey: key))
            sealed += 1
        }
        return sealed
    }
}
