import HTTPClientCodec
import Reactor

/// A small HTTP/1.1 client for URLs that come from outside the program (a source to ingest, a
/// webhook endpoint): one request per connection, `Connection: close`; redirects followed only
/// as far as the request allows, each hop's addresses chosen by an `HTTPDialer` (the caller's
/// policy) and connected to exactly — no second lookup between the check and the connection;
/// TLS through the reactor (SNI and the certificate checked against the URL's host); a stall
/// timeout on every read and write, an overall deadline, and a body size limit.
///
///     let fetcher = HTTPFetcher(options: .init())
///     let response = try await fetcher.fetch(HTTPFetchRequest(url: try HTTPURL("https://example.com/a.mp4"),
///                                                           maxRedirects: 5), dialer: SystemDialer())
///     for try await chunk in response.body { … }
public final class HTTPFetcher: Sendable {
    public struct Options: Sendable {
        /// Per address tried (TCP connect, then the TLS handshake).
        public var connectTimeout: Duration = .seconds(10)
        /// Longest wait for any progress: a byte read or written.
        public var stallTimeout: Duration = .seconds(30)
        /// The whole exchange, redirects and body included (nil: no overall limit).
        public var totalTimeout: Duration?
        /// Longer bodies fail with `bodyTooLarge` (a declared Content-Length before any byte is read).
        public var maxBodyBytes: Int64?
        public var parserLimits = HTTPResponseParser.Limits()
        public var userAgent = "vidd"
        /// For https: the system trust store by default, full verification of the host name.
        public var tls: TLSConfiguration = .client()

        public init() {}
    }

    public let options: Options

    public init(options: Options = Options()) { self.options = options }

    public func fetch(_ request: HTTPFetchRequest, dialer: any HTTPDialer) async throws -> HTTPFetchResponse {
        let deadline = options.totalTimeout.map { ContinuousClock.now + $0 }
        var request = request
        var previous: [HTTPURL] = []
        while true {
            let connection = try await connect(request.url, dialer: dialer, deadline: deadline)
            do {
                try await connection.send(try encode(request), method: request.method)
                let head = try await connection.readHead()
                if request.maxRedirects > 0, HTTPFetchRequest.redirectStatuses.contains(head.status) {
                    connection.close()
                    guard let location = head.headers["Location"] else {
                        throw HTTPFetchError.redirectWithoutLocation(status: head.status, url: request.url.description)
                    }
                    let next: HTTPURL
                    do { next = try request.url.resolving(location) } catch {
                        throw HTTPFetchError.invalidRedirect(location: location, reason: error)
                    }
                    guard previous.count < request.maxRedirects else {
                        throw HTTPFetchError.tooManyRedirects(limit: request.maxRedirects, url: next.description)
                    }
                    previous.append(request.url)
                    request = request.redirected(to: next, status: head.status)
                    continue
                }
                let response = HTTPFetchResponse(url: request.url, redirects: previous, head: head,
                                                 connection: connection, maxBodyBytes: options.maxBodyBytes)
                if request.method != "HEAD", let limit = options.maxBodyBytes, let declared = response.contentLength, declared > limit {
                    connection.close()
                    throw HTTPFetchError.bodyTooLarge(limit: limit, declared: declared, url: request.url.description)
                }
                return response
            } catch {
                connection.close()
                throw error
            }
        }
    }

    /// Tries the dialer's addresses in order until one connects (and, for https, completes the
    /// handshake).
    private func connect(_ url: HTTPURL, dialer: any HTTPDialer, deadline: ContinuousClock.Instant?) async throws -> FetchConnection {
        let addresses = try await dialer.addresses(for: url)
        guard !addresses.isEmpty else { throw HTTPFetchError.noAddresses(host: url.host.nameForLookup) }
        var attempts: [String] = []
        for address in addresses {
            var limit = options.connectTimeout
            if let deadline {
                let left = deadline - ContinuousClock.now
                guard left > .zero else { throw HTTPFetchError.deadlineExceeded(phase: .connect, url: url.description) }
                limit = min(limit, left)
            }
            let connection: Connection
            do {
                connection = try await Connection.connect(to: address, timeout: limit)
            } catch let error as NetworkError {
                attempts.append("\(address): \(error)")
                continue
            }
            if url.isSecure {
                do {
                    try await connection.startTLS(options.tls, serverName: url.host.nameForLookup, timeout: limit)
                } catch {
                    connection.close()
                    throw Self.map(error, phase: .tls, url: url, deadline: deadline, stall: limit)
                }
            }
            return FetchConnection(connection: connection, url: url, limits: options.parserLimits,
                                   stall: options.stallTimeout, deadline: deadline)
        }
        throw HTTPFetchError.connectFailed(url: url.description, attempts: attempts)
    }

    func encode(_ request: HTTPFetchRequest) throws -> [UInt8] {
        var headers = HTTPHeaders()
        headers.add("Host", request.url.hostHeader)
        let managed: Set<String> = ["host", "content-length", "connection", "transfer-encoding", "te", "upgrade", "keep-alive"]
        for field in request.headers where !managed.contains(field.name.lowercased()) {
            headers.add(field.name, field.value)
        }
        if !headers.contains("User-Agent") { headers.add("User-Agent", options.userAgent) }
        if !headers.contains("Accept") { headers.add("Accept", "*/*") }
        // Only identity bodies are decoded; asking for nothing else keeps servers from compressing.
        if !headers.contains("Accept-Encoding") { headers.add("Accept-Encoding", "identity") }
        headers.add("Connection", "close")
        if !request.body.isEmpty || ["POST", "PUT", "PATCH"].contains(request.method) {
            headers.add("Content-Length", String(request.body.count))
        }
        return try HTTPRequestHead(method: request.method, target: request.url.target, headers: headers).encode() + request.body
    }

    /// Socket and parser errors in the fetcher's terms; cancellation and anything else unchanged.
    static func map(_ error: any Error, phase: HTTPFetchError.Phase, url: HTTPURL, deadline: ContinuousClock.Instant?,
                    stall: Duration) -> any Error {
        switch error {
        case let e as NetworkError:
            switch e {
            case .timedOut:
                if let deadline, ContinuousClock.now >= deadline { return HTTPFetchError.deadlineExceeded(phase: phase, url: url.description) }
                return HTTPFetchError.stalled(phase: phase, after: stall, url: url.description)
            case .tls(let reason):
                return HTTPFetchError.tls(url: url.description, reason: reason)
            default:
                return HTTPFetchError.connectionLost(phase: phase, url: url.description, reason: e.description)
            }
        case let e as HTTPMessageError:
            if case .truncated = e { return HTTPFetchError.connectionLost(phase: phase, url: url.description, reason: e.description) }
            return HTTPFetchError.malformedResponse(url: url.description, reason: e)
        default:
            return error
        }
    }
}
