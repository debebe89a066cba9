import HTTPClientCodec
import HTTPFetch
import Reactor
import Synchronization
import Testing
import TestSupport

/// The fetcher against loopback origins that answer with whatever bytes a test wants.
@Suite struct HTTPFetcherTests {
    /// Resolves nothing: sends every URL to one fixed address and records what it was asked.
    final class FixedDialer: HTTPDialer {
        let address: SocketAddress
        let asked = Mutex<[String]>([])
        init(_ address: SocketAddress) { self.address = address }
        func addresses(for url: HTTPURL) async throws -> [SocketAddress] {
            asked.withLock { $0.append(url.description) }
            return [address]
        }
    }

    struct Refused: Error, Equatable { var url: String }

    /// Allows one port only; anything else is refused with `Refused`.
    struct PortDialer: HTTPDialer {
        let allowed: Int
        func addresses(for url: HTTPURL) async throws -> [SocketAddress] {
            guard url.port == allowed else { throw Refused(url: url.description) }
            return try await SystemDialer().addresses(for: url)
        }
    }

    static func fetcher(_ configure: (inout HTTPFetcher.Options) -> Void = { _ in }) -> HTTPFetcher {
        // Generous: these tests run beside hundreds of others on two cores (a debug-build TLS
        // handshake alone can take seconds there). The stall and deadline tests set their own.
        var options = HTTPFetcher.Options()
        options.connectTimeout = .seconds(30)
        options.stallTimeout = .seconds(30)
        configure(&options)
        return HTTPFetcher(options: options)
    }

    static func body(_ response: HTTPFetchResponse) async throws -> String {
        String(decoding: try await response.collect(upTo: 1 << 20), as: UTF8.self)
    }

    @Test func contentLengthBodyAndRequestHead() async throws {
        let origin = try await HTTPOrigin.start { _, c in try await HTTPOrigin.respond(c, body: Array("hello".utf8)) }
        defer { origin.close() }
        let url = try HTTPURL(origin.baseURL + "/a%20b/c.mp4?x=1#frag")
        let response = try await Self.fetcher().fetch(HTTPFetchRequest(url: url, headers: ["X-Test": "1"]), dialer: SystemDialer())
        #expect(response.status == 200)
        #expect(response.contentLength == 5)
        #expect(try await Self.body(response) == "hello")
        let request = try #require(origin.requests.first)
        #expect(request.method == "GET")
        #expect(request.target == "/a%20b/c.mp4?x=1")
        #expect(request.header("Host") == "127.0.0.1:\(origin.port)")
        #expect(request.header("Connection") == "close")
        #expect(request.header("User-Agent") == "vidd")
        #expect(request.header("X-Test") == "1")
        #expect(request.header("Accept-Encoding") == "identity")
    }

    @Test func chunkedAndCloseDelimitedBodies() async throws {
        let chunked = try await HTTPOrigin.start { _, c in
            try await c.write(Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4;x=y\r\ndefg\r\n0\r\nT: 1\r\n\r\n".utf8))
        }
        defer { chunked.close() }
        let r1 = try await Self.fetcher().fetch(HTTPFetchRequest(url: try HTTPURL(chunked.baseURL)), dialer: SystemDialer())
        #expect(r1.contentLength == nil)
        #expect(try await Self.body(r1) == "abcdefg")

        let delimited = try await HTTPOrigin.start { _, c in
            try await c.write(Array("HTTP/1.0 200 OK\r\n\r\nuntil close".utf8))
        }
        defer { delimited.close() }
        let r2 = try await Self.fetcher().fetch(HTTPFetchRequest(url: try HTTPURL(delimited.baseURL)), dialer: SystemDialer())
        #expect(try await Self.body(r2) == "until close")
    }

    @Test func redirectsAreFollowedThroughTheDialerEachHop() async throws {
        let origin = try await HTTPOrigin.start { request, c in
            switch request.target {
            case "/start": try await HTTPOrigin.redirect(c, status: 301, to: "/dir/next")
            case "/dir/next": try await HTTPOrigin.redirect(c, status: 307, to: "last?q=1")
            case "/dir/last?q=1": try await HTTPOrigin.respond(c, body: Array("done".utf8))
            default: try await HTTPOrigin.respond(c, status: 404)
            }
        }
        defer { origin.close() }
        let dialer = FixedDialer(SocketAddress(ipAddress: "127.0.0.1", port: origin.port)!)
        // The name is never resolved: the dialer decides where each hop goes.
        let url = try HTTPURL("http://media.example:\(origin.port)/start")
        let response = try await Self.fetcher().fetch(HTTPFetchRequest(url: url, maxRedirects: 5), dialer: dialer)
        #expect(try await Self.body(response) == "done")
        #expect(response.url.description == "http://media.example:\(origin.port)/dir/last?q=1")
        #expect(response.redirects.map(\.target) == ["/start", "/dir/next"])
        #expect(dialer.asked.withLock { $0 } == [
            "http://media.example:\(origin.port)/start", "http://media.example:\(origin.port)/dir/next",
            "http://media.example:\(origin.port)/dir/last?q=1",
        ])
        #expect(origin.requests.allSatisfy { $0.header("Host") == "media.example:\(origin.port)" })
    }

    @Test func tooManyRedirectsFail() async throws {
        let origin = try await HTTPOrigin.start { request, c in
            let n = Int(request.target.dropFirst()) ?? 0
            try await HTTPOrigin.redirect(c, to: "/\(n + 1)")
        }
        defer { origin.close() }
        do {
            _ = try await Self.fetcher().fetch(HTTPFetchRequest(url: try HTTPURL(origin.baseURL + "/0"), maxRedirects: 5), dialer: SystemDialer())
            Issue.record("a sixth redirect was followed")
        } catch let error as HTTPFetchError {
            #expect(error == .tooManyRedirects(limit: 5, url: origin.baseURL + "/6"))
        }
        #expect(origin.requests.map(\.target) == ["/0", "/1", "/2", "/3", "/4", "/5"])
    }

    @Test func withoutRedirectsTheRedirectIsTheResponse() async throws {
        let origin = try await HTTPOrigin.start { _, c in try await HTTPOrigin.redirect(c, to: "/elsewhere") }
        defer { origin.close() }
        let response = try await Self.fetcher().fetch(HTTPFetchRequest(url: try HTTPURL(origin.baseURL)), dialer: SystemDialer())
        #expect(response.status == 302)
        #expect(response.head.headers["Location"] == "/elsewhere")
        #expect(origin.requests.count == 1)
    }

    /// The dialer's refusal ends the fetch unchanged, and the refused origin sees no connection.
    @Test func aRefusedHopIsNeverConnected() async throws {
        let refused = try await HTTPOrigin.start { _, c in try await HTTPOrigin.respond(c, body: Array("secret".utf8)) }
        defer { refused.close() }
        let allowed = try await HTTPOrigin.start { _, c in try await HTTPOrigin.redirect(c, to: refused.baseURL + "/secret") }
        defer { allowed.close() }
        do {
            _ = try await Self.fetcher().fetch(HTTPFetchRequest(url: try HTTPURL(allowed.baseURL), maxRedirects: 5),
                                               dialer: PortDialer(allowed: allowed.port))
            Issue.record("the refused hop was fetched")
        } catch let error as Refused {
            #expect(error == Refused(url: refused.baseURL + "/secret"))
        }
        #expect(refused.acceptedConnections == 0)
    }

    @Test func seeOtherTurnsAPostIntoAGetAndCredentialsStayWithTheirOrigin() async throws {
        let target = try await HTTPOrigin.start { _, c in try await HTTPOrigin.respond(c, body: Array("ok".utf8)) }
        defer { target.close() }
        let first = try await HTTPOrigin.start { _, c in try await HTTPOrigin.redirect(c, status: 303, to: target.baseURL + "/result") }
        defer { first.close() }
        let request = HTTPFetchRequest(method: "POST", url: try HTTPURL(first.baseURL + "/submit"),
                                       headers: ["Authorization": "Bearer x", "Content-Type": "application/json"],
                                       body: Array("{}".utf8), maxRedirects: 1)
        let response = try await Self.fetcher().fetch(request, dialer: SystemDialer())
        #expect(try await Self.body(response) == "ok")
        let posted = try #require(first.requests.first)
        #expect(posted.method == "POST" && posted.body == Array("{}".utf8) && posted.header("Authorization") == "Bearer x")
        let followed = try #require(target.requests.first)
        #expect(followed.method == "GET" && followed.body.isEmpty)
        #expect(followed.header("Authorization") == nil && followed.header("Content-Type") == nil)
    }

    @Test func aStalledResponseTimesOut() async throws {
        let origin = try await HTTPOrigin.start { _, c in
            try await c.write(Array("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc".utf8))
            try await Task.sleep(for: .seconds(60))
        }
        defer { origin.close() }
        let fetcher = Self.fetcher { $0.stallTimeout = .seconds(1) }
        let started = ContinuousClock.now
        do {
            let response = try await fetcher.fetch(HTTPFetchRequest(url: try HTTPURL(origin.baseURL)), dialer: SystemDialer())
            _ = try await response.collect(upTo: 1000)
            Issue.record("a stalled body was read to its end")
        } catch let error as HTTPFetchError {
            // Normally while reading the body; on a loaded machine possibly while waiting for the head.
            guard case .stalled(_, let after, _) = error, after == .seconds(1) else { Issue.record("not a stall: \(error)"); return }
        }
        #expect(ContinuousClock.now - started < .seconds(30), "the stall timeout ended it, not the origin")
    }

    /// Bytes that keep trickling in never trip the stall timeout; the deadline ends them (long
    /// before the trickle would: a byte every 50 ms for 1000 bytes is 50 s).
    @Test func aTricklingBodyMeetsTheDeadline() async throws {
        let origin = try await HTTPOrigin.start { _, c in
            try await c.write(Array("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n".utf8))
            for _ in 0..<1000 {
                try await Task.sleep(for: .milliseconds(50))
                try await c.write([0x61])
            }
        }
        defer { origin.close() }
        let fetcher = Self.fetcher {
            $0.stallTimeout = .seconds(20)
            $0.totalTimeout = .seconds(3)
        }
        let started = ContinuousClock.now
        do {
            let response = try await fetcher.fetch(HTTPFetchRequest(url: try HTTPURL(origin.baseURL)), dialer: SystemDialer())
            _ = try await response.collect(upTo: 10_000)
            Issue.record("the whole trickle was read")
        } catch let error as HTTPFetchError {
            // On a loaded machine the deadline may pass before the body; it is the deadline either way.
            guard case .deadlineExceeded = error else { Issue.record("not the deadline: \(error)"); return }
        }
        #expect(ContinuousClock.now - started < .seconds(20), "ended by the deadline, not the stall timeout")
    }

    @Test func aDeclaredLengthOverTheLimitFailsBeforeTheBody() async throws {
        let origin = try await HTTPOrigin.start { _, c in try await HTTPOrigin.respond(c, body: [UInt8](repeating: 1, count: 2000)) }
        defer { origin.close() }
        let fetcher = Self.fetcher { $0.maxBodyBytes = 1000 }
        await #expect(throws: HTTPFetchError.bodyTooLarge(limit: 1000, declared: 2000, url: origin.baseURL + "/")) {
            _ = try await fetcher.fetch(HTTPFetchRequest(url: try HTTPURL(origin.baseURL)), dialer: SystemDialer())
        }
    }

    @Test func anUndeclaredBodyStopsAtTheLimit() async throws {
        let origin = try await HTTPOrigin.start { _, c in
            try await c.write(Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".utf8))
            for _ in 0..<100 { try await c.write(Array("100\r\n".utf8) + [UInt8](repeating: 0x62, count: 256) + Array("\r\n".utf8)) }
            try await c.write(Array("0\r\n\r\n".utf8))
        }
        defer { origin.close() }
        let fetcher = Self.fetcher { $0.maxBodyBytes = 1000 }
        let response = try await fetcher.fetch(HTTPFetchRequest(url: try HTTPURL(origin.baseURL)), dialer: SystemDialer())
        var received = 0
        do {
            for try await chunk in response.body { received += chunk.count }
            Issue.record("the body went past the limit")
        } catch let error as HTTPFetchError {
            #expect(error == .bodyTooLarge(limit: 1000, declared: nil, url: origin.baseURL + "/"))
        }
        #expect(received <= 1000)
    }

    @Test func truncatedAndMalformedResponses() async throws {
        let truncated = try await HTTPOrigin.start { _, c in try await c.write(Array("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc".utf8)) }
        defer { truncated.close() }
        let r = try await Self.fetcher().fetch(HTTPFetchRequest(url: try HTTPURL(truncated.baseURL)), dialer: SystemDialer())
        await #expect(throws: HTTPFetchError.connectionLost(phase: .body, url: truncated.baseURL + "/",
                                                           reason: "connection closed mid-response after 3 body bytes of 10")) {
            _ = try await r.collect(upTo: 100)
        }
        let garbage = try await HTTPOrigin.start { _, c in try await c.write(Array("SSH-2.0-OpenSSH\r\n\r\n".utf8)) }
        defer { garbage.close() }
        await #expect(throws: HTTPFetchError.malformedResponse(url: garbage.baseURL + "/", reason: .invalidStatusLine("SSH-2.0-OpenSSH"))) {
            _ = try await Self.fetcher().fetch(HTTPFetchRequest(url: try HTTPURL(garbage.baseURL)), dialer: SystemDialer())
        }
        let silent = try await HTTPOrigin.start { _, _ in }
        defer { silent.close() }
        await #expect(throws: HTTPFetchError.connectionLost(phase: .response, url: silent.baseURL + "/",
                                                           reason: "connection closed mid-response after 0 body bytes")) {
            _ = try await Self.fetcher().fetch(HTTPFetchRequest(url: try HTTPURL(silent.baseURL)), dialer: SystemDialer())
        }
    }

    /// The dialer's addresses are tried in order: a dead one is skipped.
    @Test func theNextAddressIsTriedWhenOneRefuses() async throws {
        let origin = try await HTTPOrigin.start { _, c in try await HTTPOrigin.respond(c, body: Array("up".utf8)) }
        defer { origin.close() }
        let dead = try await Listener.bind(host: "127.0.0.1", port: 0)
        let deadPort = dead.port
        dead.close()
        struct TwoAddresses: HTTPDialer {
            let dead: Int, live: Int
            func addresses(for url: HTTPURL) async throws -> [SocketAddress] {
                [SocketAddress(ipAddress: "127.0.0.1", port: dead)!, SocketAddress(ipAddress: "127.0.0.1", port: live)!]
            }
        }
        let response = try await Self.fetcher().fetch(HTTPFetchRequest(url: try HTTPURL("http://two.example/")),
                                                      dialer: TwoAddresses(dead: deadPort, live: origin.port))
        #expect(try await Self.body(response) == "up")
    }

    // MARK: TLS

    static func tlsOrigin() async throws -> (HTTPOrigin, caFile: String)? {
        guard let ca = try TestServices.require(TestServices.caFile, "VIDD_TEST_CA_FILE"),
              let cert = try TestServices.require(TestServices.serverCertFile, "VIDD_TEST_SERVER_CERT"),
              let key = try TestServices.require(TestServices.serverKeyFile, "VIDD_TEST_SERVER_KEY") else { return nil }
        let origin = try await HTTPOrigin.start(tls: .server(certificateFile: cert, keyFile: key)) { _, c in
            try await HTTPOrigin.respond(c, body: Array("over TLS".utf8))
        }
        return (origin, ca)
    }

    @Test func httpsWithTheNameVerified() async throws {
        guard let (origin, ca) = try await Self.tlsOrigin() else { return }
        defer { origin.close() }
        // The certificate names localhost: SNI and verification use the URL's host, while the
        // connection goes to the address the dialer chose.
        let dialer = FixedDialer(SocketAddress(ipAddress: "127.0.0.1", port: origin.port)!)
        let trusting = Self.fetcher { $0.tls = .client(caFile: ca) }
        let ok = try await trusting.fetch(HTTPFetchRequest(url: try HTTPURL("https://localhost:\(origin.port)/")), dialer: dialer)
        #expect(try await Self.body(ok) == "over TLS")
        // An IP literal is verified against the certificate's IP addresses.
        let byIP = try await trusting.fetch(HTTPFetchRequest(url: try HTTPURL(origin.baseURL)), dialer: SystemDialer())
        #expect(try await Self.body(byIP) == "over TLS")

        // A name the certificate does not carry, at the same address: refused by verification.
        do {
            _ = try await trusting.fetch(HTTPFetchRequest(url: try HTTPURL("https://media.example:\(origin.port)/")), dialer: dialer)
            Issue.record("a certificate for localhost was accepted for media.example")
        } catch let error as HTTPFetchError {
            guard case .tls = error else { Issue.record("not a TLS error: \(error)"); return }
        }
        // The system trust store does not know the test CA.
        do {
            _ = try await Self.fetcher().fetch(HTTPFetchRequest(url: try HTTPURL("https://localhost:\(origin.port)/")), dialer: dialer)
            Issue.record("the test CA was trusted without being configured")
        } catch let error as HTTPFetchError {
            guard case .tls = error else { Issue.record("not a TLS error: \(error)"); return }
        }
    }
}
