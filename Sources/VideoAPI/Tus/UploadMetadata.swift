import Reactor
import VideoCore

/// tus's `Upload-Metadata`: comma-separated pairs, each a key, a space and a base64 value; keys are
/// unique, non-empty, without spaces or commas; the value (and its space) may be left out.
///
/// The header is kept as the client sent it (HEAD must return it verbatim); the decoded values are
/// what vidd uses: `filename` (also `name`) and `title` (UTF-8 text), `filetype` (also `type`).
public struct UploadMetadata: Sendable, Equatable {
    public struct Pair: Sendable, Equatable {
        public var key: String
        /// nil when the client left the value out (a key alone).
        public var value: [UInt8]?
    }

    public var pairs: [Pair]
    /// The header as received (trimmed); empty when there was none.
    public var header: String

    public static let empty = UploadMetadata(pairs: [], header: "")

    /// Longest header accepted: the metadata lives in a row and goes back in every HEAD.
    public static let maximumHeaderLength = 4096

    public struct Invalid: Error, Sendable, Equatable, CustomStringConvertible {
        public var reason: String
        public var description: String { "Upload-Metadata: \(reason)" }
    }

    public init(pairs: [Pair], header: String) {
        self.pairs = pairs
        self.header = header
    }

    /// Parses the header (nil or blank: no metadata).
    public init(header raw: String?) throws(Invalid) {
        let text = (raw ?? "").trimmingBlanks()
        guard !text.isEmpty else {
            self = .empty
            return
        }
        guard text.utf8.count <= Self.maximumHeaderLength else {
            throw Invalid(reason: "longer than \(Self.maximumHeaderLength) bytes")
        }
        var pairs: [Pair] = []
        for (index, item) in text.split(separator: ",", omittingEmptySubsequences: false).enumerated() {
            let element = String(item).trimmingBlanks()
            guard !element.isEmpty else { throw Invalid(reason: "pair \(index + 1) is empty (two commas in a row, or a trailing comma)") }
            let parts = element.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(parts[0])
            guard key.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
                throw Invalid(reason: "key \(Self.shown(key)) must be printable ASCII without spaces")
            }
            guard !pairs.contains(where: { $0.key == key }) else { throw Invalid(reason: "key \(Self.shown(key)) appears twice") }
            var value: [UInt8]?
            if parts.count == 2 {
                let encoded = parts[1]
                guard !encoded.contains(" ") else { throw Invalid(reason: "the value of \(Self.shown(key)) contains a space") }
                if !encoded.isEmpty {
                    guard let decoded = Base64.decode(encoded) else {
                        throw Invalid(reason: "the value of \(Self.shown(key)) is not valid base64")
                    }
                    value = decoded
                } else {
                    value = []
                }
            }
            pairs.append(Pair(key: key, value: value))
        }
        self.pairs = pairs
        self.header = text
    }

    /// The value of `key` as UTF-8 text; nil when absent, valueless or not UTF-8.
    public func text(_ key: String) -> String? {
        guard let bytes = pairs.first(where: { $0.key == key })?.value else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }

    /// The upload's file name: `filename` (tus-js-client, Uppy), else `name`.
    public var filename: String? { (text("filename") ?? text("name")).flatMap(Self.nonBlank) }
    public var title: String? { text("title").flatMap(Self.nonBlank) }
    /// The client's idea of the type: `filetype` (tus-js-client, Uppy), else `type`. It becomes
    /// the object's Content-Type, so only a value a header may carry (visible ASCII and blanks):
    /// decoded base64 can hold CR, LF or NUL.
    public var fileType: String? {
        (text("filetype") ?? text("type")).flatMap(Self.nonBlank).flatMap { type in
            type.utf8.allSatisfy { ($0 >= 0x20 && $0 < 0x7F) || $0 == 0x09 } ? type : nil
        }
    }

    /// Encodes pairs the way a client would (for tests and docs).
    public static func encode(_ pairs: [(String, String?)]) -> String {
        pairs.map { key, value in value.map { "\(key) \(Base64.encode(Array($0.utf8)))" } ?? key }.joined(separator: ",")
    }

    private static func nonBlank(_ s: String) -> String? {
        let t = s.trimmingBlanks()
        return t.isEmpty ? nil : t
    }

    private static func shown(_ key: String) -> String {
        "\"" + RequestText.shown(key, limit: 40) + "\""
    }
}
