import VideoCore
import HTTPServer
import Reactor

/// tus 1.0.0 (tus.io/protocols/resumable-upload) as vidd speaks it at `/uploads`: what is
/// advertised, and the header rules every exchange follows.
public enum TusProtocol {
    public static let version = "1.0.0"
    /// `Tus-Version`, most preferred first.
    public static let supportedVersions = ["1.0.0"]
    /// `Tus-Extension`. Not offered: concatenation (parallel partial uploads) and checksum-trailer.
    public static let extensions = ["creation", "creation-with-upload", "creation-defer-length", "expiration", "termination", "checksum"]
    /// `Tus-Checksum-Algorithm`: SHA-1 because the spec makes it mandatory, SHA-256 because it is sound.
    public static let checksumAlgorithms = Crypto.Digest.Algorithm.allCases.map(\.rawValue)
    public static let offsetContentType = "application/offset+octet-stream"
    /// The collection URL (creation) and the prefix of every upload's URL.
    public static let collectionPath = "/uploads"

    public static func uploadPath(_ id: String) -> String { "\(collectionPath)/\(id)" }

    /// Whether a request path belongs to the tus endpoint (its responses carry the tus headers and
    /// it honours `X-HTTP-Method-Override`).
    public static func isTusPath(_ path: some StringProtocol) -> Bool {
        path == collectionPath || path.hasPrefix(collectionPath + "/")
    }

    /// The method a tus request means: `X-HTTP-Method-Override` wins when present (for clients
    /// whose environment cannot send PATCH or DELETE), as the spec requires.
    public static func effectiveMethod(_ method: String, headers: HTTPFields) -> String {
        guard let override = headers["X-HTTP-Method-Override"]?.trimmingBlanks(), !override.isEmpty else { return method }
        return override.uppercased()
    }

    /// Adds what every tus response carries: `Tus-Resumable` always (errors included), `Tus-Version`
    /// on 412 (an unsupported version) and on OPTIONS, and `Cache-Control: no-store` so no proxy
    /// serves a stale offset.
    public static func decorate(_ response: inout HTTPResponse, method: String) {
        response.headers["Tus-Resumable"] = version
        if response.status.code == 412 || method == "OPTIONS" {
            response.headers["Tus-Version"] = supportedVersions.joined(separator: ",")
        }
        response.headers["Cache-Control"] = "no-store"
    }
}
