/// What the transcoder and the worker need to know of an HLS media playlist's text (RFC 8216 §4.3): how many
/// segments it lists and whether it is complete — and the one change a server may make to close
/// a growing playlist (§6.2.1: add `#EXT-X-ENDLIST`).
package enum MediaPlaylistText {
    package static let endList = "#EXT-X-ENDLIST"

    /// URI lines: every line that is neither blank nor a tag or comment, leading blanks dropped.
    package static func segmentURIs(_ text: some StringProtocol) -> [Substring] {
        // `isNewline`: "\r\n" is one Character, which a split on "\n" would not see.
        text.split(whereSeparator: \.isNewline).compactMap { line in
            let trimmed = Substring(line.drop { $0 == " " || $0 == "\t" })
            return trimmed.isEmpty || trimmed.hasPrefix("#") ? nil : trimmed
        }
    }

    package static func segmentCount(_ text: some StringProtocol) -> Int { segmentURIs(text).count }

    package static func isComplete(_ text: some StringProtocol) -> Bool {
        text.split(whereSeparator: \.isNewline).contains { $0.hasPrefix(endList) }
    }

    /// The playlist ended where it is (nil when it already is, or is not a playlist at all): a
    /// player watching it then stops at its last segment instead of waiting for more.
    package static func sealed(_ text: String) -> String? {
        guard text.hasPrefix("#EXTM3U"), !isComplete(text) else { return nil }
        return text + (text.hasSuffix("\n") ? "" : "\n") + endList + "\n"
    }
}
