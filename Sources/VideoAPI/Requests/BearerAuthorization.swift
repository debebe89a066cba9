import VideoCore
import Reactor

/// `Authorization: Bearer …` on mutating routes (and `APIRoute.tokenOnlyReads`) when API tokens are configured.
public struct BearerAuthorization: Sendable {
    private let tokens: [[UInt8]]

    public init(tokens: [String]) { self.tokens = tokens.map { Array($0.utf8) } }

    public var isEnabled: Bool { !tokens.isEmpty }

    /// nil when allowed; otherwise the 401 to answer. Every configured token is compared in
    /// constant time, so timing reveals neither which token nor how much of one matched.
    public func check(route: APIRoute, authorization: String?) -> APIError? {
        guard isEnabled, route.needsToken else { return nil }
        guard let authorization else { return APIError(.unauthorized, "this endpoint needs Authorization: Bearer <token>") }
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            return APIError(.unauthorized, "Authorization must be Bearer <token>")
        }
        let presented = Array(parts[1].utf8)
        var matched = false
        for token in tokens where token.count == presented.count {
            if Crypto.constantTimeEqual(token, presented) { matched = true }
        }
        return matched ? nil : APIError(.unauthorized, "invalid API token")
    }

    /// Whether the caller may see private videos: it presents a configured token, or no tokens
    /// are configured (then the API is open to every caller, private videos included; their
    /// media still need signed URLs).
    public func admitsPrivate(_ authorization: String?) -> Bool {
        !isEnabled || presentedToken(authorization) != nil
    }

    /// The configured token this `Authorization` presents, or nil (none, malformed, or unknown).
    public func presentedToken(_ authorization: String?) -> [UInt8]? {
        guard isEnabled, let authorization else { return nil }
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let presented = Array(parts[1].utf8)
        var found: [UInt8]?
        for token in tokens where token.count == presented.count {
            if Crypto.constantTimeEqual(token, presented) { found = token }
        }
        return found
    }
}
