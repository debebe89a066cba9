import HTTPClientCodec

/// One request for `HTTPFetcher`.
public struct HTTPFetchRequest: Sendable {
    public var method: String
    public var url: HTTPURL
    /// Sent as given; `Host`, `Content-Length` and `Connection` are set by the fetcher.
    /// `Authorization` and `Cookie` are not sent to another origin after a redirect.
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// 301, 302, 303, 307 and 308 are followed this many times (each hop through the dialer);
    /// 0 returns the redirect response itself.
    public var maxRedirects: Int

    public init(method: String = "GET", url: HTTPURL, headers: HTTPHeaders = [:], body: [UInt8] = [], maxRedirects: Int = 0) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.maxRedirects = maxRedirects
    }

    static let redirectStatuses: Set<Int> = [301, 302, 303, 307, 308]

    /// The request for the next hop: 303 (and 301/302 after a POST, as browsers do) becomes a
    /// bodiless GET; credentials stay with their origin.
    func redirected(to next: HTTPURL, status: Int) -> HTTPFetchRequest {
        var r = self
        r.url = next
        if status == 303 || ((status == 301 || status == 302) && method == "POST") {
            if method != "HEAD" { r.method = "GET" }
            r.body = []
            r.headers.remove("Content-Type")
        }
        if next.origin != url.origin {
            r.headers.remove("Authorization")
            r.headers.remove("Cookie")
        }
        return r
    }
}
