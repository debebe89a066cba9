/// Evaluation of conditional request fields (RFC 9110 §13.2.2) for a representation with a strong
/// `etag` and a modification time.
public enum ConditionalRequest {
    public enum Outcome: Sendable, Equatable {
        case proceed
        case notModified
        case preconditionFailed
    }

    public static func evaluate(method: HTTPMethod, headers: HTTPFields, etag: String, lastModified: Int) -> Outcome {
        if let ifMatch = headers["If-Match"] {
            if !matches(ifMatch, etag: etag, weak: false) { return .preconditionFailed }
        } else if let ius = headers["If-Unmodified-Since"], let date = HTTPDate.parse(ius), lastModified > date {
            return .preconditionFailed
        }
        let safe = method == .get || method == .head
        if let inm = headers["If-None-Match"] {
            if matches(inm, etag: etag, weak: true) { return safe ? .notModified : .preconditionFailed }
        } else if safe, let ims = headers["If-Modified-Since"], let date = HTTPDate.parse(ims), lastModified <= date {
            return .notModified
        }
        return .proceed
    }

    /// Whether a Range request may be honoured: If-Range absent, or naming the current validator.
    public static func rangeApplies(headers: HTTPFields, etag: String, lastModified: Int) -> Bool {
        guard let ifRange = headers["If-Range"]?.trimmingOWS else { return true }
        if ifRange.hasPrefix("\"") { return ifRange == etag }
        if ifRange.hasPrefix("W/") { return false }
        return HTTPDate.parse(String(ifRange)) == lastModified
    }

    /// Entity-tag list matching: `*`, or a member equal to `etag` (weak comparison ignores `W/`).
    static func matches(_ list: String, etag: String, weak: Bool) -> Bool {
        if list.trimmingOWS == "*" { return true }
        for member in list.split(separator: ",") {
            var tag = member.trimmingOWS
            if tag.hasPrefix("W/") {
                guard weak else { continue }
                tag = tag.dropFirst(2)
            }
            if tag == etag { return true }
        }
        return false
    }
}
