import VideoCore
import FoundationEssentials

/// A JSON body that names one member twice (`{"visibility":"private","visibility":"public"}`).
/// RFC 8259 §4 leaves what that means to the parser, and JSONDecoder keeps the FIRST, where most
/// clients' parsers keep the last: a private video could be made public. So the API's JSON bodies
/// refuse a repeated member (422) instead of guessing.
enum JSONDuplicateMember {
    /// The first member name the top-level object repeats (escapes decoded), or nil. Meant for
    /// text JSONDecoder already accepted; on anything else it finds what it can and never traps.
    static func first(in json: some Collection<UInt8>) -> String? {
        let bytes = Array(json)
        var seen = Set<String>()
        var depth = 0
        var i = 0
        while i < bytes.count {
            switch bytes[i] {
            case UInt8(ascii: "\""):
                let start = i
                i += 1
                while i < bytes.count && bytes[i] != UInt8(ascii: "\"") {
                    i += bytes[i] == UInt8(ascii: "\\") ? 2 : 1
                }
                guard i < bytes.count else { return nil }
                let end = i
                i += 1
                guard depth == 1 else { continue }
                var j = i
                while j < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[j]) { j += 1 }
                guard j < bytes.count, bytes[j] == UInt8(ascii: ":") else { continue }
                let quoted = Data(bytes[start...end])
                let name = (try? JSONDecoder().decode(String.self, from: quoted)) ?? String(decoding: bytes[(start + 1)..<end], as: UTF8.self)
                if !seen.insert(name).inserted { return name }
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                i += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                i += 1
            default:
                i += 1
            }
        }
        return nil
    }

    /// 422 naming the member when `json` repeats one.
    static func refuse(in json: some Collection<UInt8>) throws(APIError) {
        if let name = first(in: json) {
            throw APIError(.validationFailed, "\(RequestText.shown(name, limit: 40)) is given twice; send each field once")
        }
    }
}
