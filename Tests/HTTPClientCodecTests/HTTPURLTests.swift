import Testing
import HTTPClientCodec

/// URL vectors: every spelling of a host that a WHATWG parser turns into an address must come out
/// as that address here (that is what the SSRF policy checks), and what a browser would repair
/// silently is refused.
@Suite struct HTTPURLTests {
    struct Vector: Sendable, CustomStringConvertible {
        var input: String
        /// `host|port|target`, or `error: …` (the error's description).
        var expected: String
        var description: String { input }
    }

    static func render(_ input: String) -> String {
        do {
            let u = try HTTPURL(input)
            return "\(u.host)|\(u.port)|\(u.target)" + (u.userinfo.map { "|user=\($0)" } ?? "")
        } catch {
            return "error: \(error)"
        }
    }

    static let hosts: [Vector] = [
        Vector(input: "https://example.com/a.mp4", expected: "example.com|443|/a.mp4"),
        Vector(input: "HTTP://EXAMPLE.com", expected: "example.com|80|/"),
        Vector(input: "  http://example.com:8080/x?y=1#frag  ", expected: "example.com|8080|/x?y=1"),
        Vector(input: "http://example.com:/", expected: "example.com|80|/"),
        Vector(input: "http://example.com:0080/", expected: "example.com|80|/"),
        Vector(input: "https://example.com:443/", expected: "example.com|443|/"),
        Vector(input: "http://127.0.0.1/", expected: "127.0.0.1|80|/"),
        Vector(input: "http://127.1/", expected: "127.0.0.1|80|/"),
        Vector(input: "http://127.0.1/", expected: "127.0.0.1|80|/"),
        Vector(input: "http://2130706433/", expected: "127.0.0.1|80|/"),
        Vector(input: "http://0x7f000001/", expected: "127.0.0.1|80|/"),
        Vector(input: "http://0X7F.0.0.1/", expected: "127.0.0.1|80|/"),
        Vector(input: "http://0177.0.0.1/", expected: "127.0.0.1|80|/"),
        Vector(input: "http://0177.1/", expected: "127.0.0.1|80|/"),
        Vector(input: "http://127.0.0.1./", expected: "127.0.0.1|80|/"),
        Vector(input: "http://0/", expected: "0.0.0.0|80|/"),
        Vector(input: "http://0.0.0.0/", expected: "0.0.0.0|80|/"),
        Vector(input: "http://0x/", expected: "0.0.0.0|80|/"),
        Vector(input: "http://%31%32%37.0.0.1/", expected: "127.0.0.1|80|/"),
        Vector(input: "http://%6c%6f%63%61%6c%68%6f%73%74/", expected: "localhost|80|/"),
        Vector(input: "http://LocalHost./", expected: "localhost.|80|/"),
        Vector(input: "http://a.localhost/", expected: "a.localhost|80|/"),
        Vector(input: "http://good@127.0.0.1/", expected: "127.0.0.1|80|/|user=good"),
        Vector(input: "http://good.com@evil.com/", expected: "evil.com|80|/|user=good.com"),
        Vector(input: "http://a@b@127.0.0.1/", expected: "127.0.0.1|80|/|user=a@b"),
        Vector(input: "http://[::1]/", expected: "[::1]|80|/"),
        Vector(input: "http://[::1]:8080/", expected: "[::1]|8080|/"),
        Vector(input: "http://[::ffff:127.0.0.1]/", expected: "[::ffff:7f00:1]|80|/"),
        Vector(input: "http://[0:0:0:0:0:ffff:7f00:1]/", expected: "[::ffff:7f00:1]|80|/"),
        Vector(input: "http://[::]/", expected: "[::]|80|/"),
        Vector(input: "http://[2001:DB8::1]/", expected: "[2001:db8::1]|80|/"),
        Vector(input: "http://[64:ff9b::10.0.0.1]/", expected: "[64:ff9b::a00:1]|80|/"),
        Vector(input: "http://[1:0:0:2:0:0:0:3]/", expected: "[1:0:0:2::3]|80|/"),
        Vector(input: "http://xn--nxasmq6b.example/", expected: "xn--nxasmq6b.example|80|/"),
        Vector(input: "http://under_score.example/", expected: "under_score.example|80|/"),
        // Refused.
        Vector(input: "", expected: "error: the URL is empty"),
        Vector(input: "example.com/a", expected: "error: not an absolute URL (it must start with http:// or https://)"),
        Vector(input: "/relative", expected: "error: not an absolute URL (it must start with http:// or https://)"),
        Vector(input: "file:///etc/passwd", expected: "error: scheme file is not supported (only http and https)"),
        Vector(input: "FTP://example.com/a", expected: "error: scheme ftp is not supported (only http and https)"),
        Vector(input: "gopher://127.0.0.1:6379/_x", expected: "error: scheme gopher is not supported (only http and https)"),
        Vector(input: "javascript:alert(1)", expected: "error: scheme javascript is not supported (only http and https)"),
        Vector(input: "http:example.com", expected: "error: the scheme must be followed by // and the host"),
        Vector(input: "http:/example.com", expected: "error: the scheme must be followed by // and the host"),
        Vector(input: "http:\\\\example.com", expected: "error: the URL contains a backslash"),
        Vector(input: "http://example.com\\@127.0.0.1/", expected: "error: the URL contains a backslash"),
        Vector(input: "http://exa\tmple.com/", expected: "error: the URL contains a control character, a tab or a line break"),
        Vector(input: "http://127.0.0.\n1/", expected: "error: the URL contains a control character, a tab or a line break"),
        Vector(input: "http:///path", expected: "error: the URL has no host"),
        Vector(input: "http://user@/", expected: "error: the URL has no host"),
        Vector(input: "http://example.com:65536/", expected: "error: invalid port 65536"),
        Vector(input: "http://example.com:0/", expected: "error: invalid port 0"),
        Vector(input: "http://example.com:8o/", expected: "error: invalid port 8o"),
        Vector(input: "http://[::1%25eth0]/", expected: "error: invalid host [::1%25eth0]: IPv6 zone ids are not allowed"),
        Vector(input: "http://[fe80::1%eth0]/", expected: "error: invalid host [fe80::1%eth0]: IPv6 zone ids are not allowed"),
        Vector(input: "http://[::1/", expected: "error: invalid host [::1: unclosed ["),
        Vector(input: "http://[1::2::3]/", expected: "error: invalid host [1::2::3]: not an IPv6 address"),
        Vector(input: "http://[::ffff:127.0.0.01]/", expected: "error: invalid host [::ffff:127.0.0.01]: not an IPv6 address"),
        Vector(input: "http://256.0.0.1/", expected: "error: invalid host 256.0.0.1: not a valid IPv4 address"),
        Vector(input: "http://1.2.3.4.5/", expected: "error: invalid host 1.2.3.4.5: not a valid IPv4 address"),
        Vector(input: "http://4294967296/", expected: "error: invalid host 4294967296: not a valid IPv4 address"),
        Vector(input: "http://0xffffffffffffffffff/", expected: "error: invalid host 0xffffffffffffffffff: not a valid IPv4 address"),
        Vector(input: "http://08.0.0.1/", expected: "error: invalid host 08.0.0.1: not a valid IPv4 address"),
        Vector(input: "http://example.123/", expected: "error: invalid host example.123: not a valid IPv4 address"),
        Vector(input: "http://exämple.com/", expected: "error: host exämple.com is not ASCII: write it in its xn-- (punycode) form"),
        Vector(input: "http://ex%C3%A4mple.com/", expected: "error: host ex%C3%A4mple.com is not ASCII: write it in its xn-- (punycode) form"),
        Vector(input: "http://exa mple.com/", expected: "error: invalid host exa mple.com: contains a space"),
        Vector(input: "http://a..b/", expected: "error: invalid host a..b: empty label"),
        Vector(input: "http://a*b.com/", expected: "error: invalid host a*b.com: only a-z, 0-9, - and _ may appear in a name"),
        Vector(input: "http://%2500.0.0.1/", expected: "error: invalid host %2500.0.0.1: character '%' is not allowed in a host name"),
        Vector(input: "http://%zz/", expected: "error: invalid host %zz: character '%' is not allowed in a host name"),
        Vector(input: "http://a%00b/", expected: "error: invalid host a%00b: character 0x0 is not allowed in a host name"),
    ]

    @Test(arguments: hosts + paths)
    func parse(_ v: Vector) {
        #expect(Self.render(v.input) == v.expected)
    }

    static let paths: [Vector] = [
        Vector(input: "http://h/a b/\"c\"/ä", expected: "h|80|/a%20b/%22c%22/%C3%A4"),
        Vector(input: "http://h/a/./b/../c", expected: "h|80|/a/c"),
        Vector(input: "http://h/a/%2e%2E/b", expected: "h|80|/b"),
        Vector(input: "http://h/../../x", expected: "h|80|/x"),
        Vector(input: "http://h/a/..", expected: "h|80|/"),
        Vector(input: "http://h?q='x y'", expected: "h|80|/?q=%27x%20y%27"),
        Vector(input: "http://h/p%41th?x=%zz", expected: "h|80|/p%41th?x=%zz"),
    ]


    struct Redirect: Sendable, CustomStringConvertible {
        var base: String
        var location: String
        var expected: String
        var description: String { "\(base) + \(location)" }
    }

    static let redirects: [Redirect] = [
        Redirect(base: "https://a.example/x/y?q", location: "https://b.example/z", expected: "https://b.example/z"),
        Redirect(base: "https://a.example/x/y?q", location: "//b.example/z", expected: "https://b.example/z"),
        Redirect(base: "http://a.example:8080/x/y", location: "/z?w", expected: "http://a.example:8080/z?w"),
        Redirect(base: "http://a.example/x/y", location: "z", expected: "http://a.example/x/z"),
        Redirect(base: "http://a.example/x/y", location: "../z", expected: "http://a.example/z"),
        Redirect(base: "http://a.example/x/y?q", location: "?r", expected: "http://a.example/x/y?r"),
        Redirect(base: "http://a.example/x/y?q", location: "#f", expected: "http://a.example/x/y?q"),
        Redirect(base: "http://u:p@a.example/x", location: "/y", expected: "http://a.example/y"),
        Redirect(base: "http://a.example/", location: "http://127.1/", expected: "http://127.0.0.1/"),
        Redirect(base: "http://a.example/", location: "file:///etc/passwd", expected: "error: scheme file is not supported (only http and https)"),
        Redirect(base: "http://a.example/", location: "http://[::1", expected: "error: invalid host [::1: unclosed ["),
    ]

    @Test(arguments: redirects)
    func resolveLocation(_ r: Redirect) throws {
        let base = try HTTPURL(r.base)
        let out: String
        do { out = try base.resolving(r.location).description } catch { out = "error: \(error)" }
        #expect(out == r.expected)
    }

    @Test func serialization() throws {
        let u = try HTTPURL("http://user:pw@[::1]:8080/a?b")
        #expect(u.description == "http://[::1]:8080/a?b")  // no credentials
        #expect(u.hostHeader == "[::1]:8080")
        #expect(u.host.nameForLookup == "::1")
        #expect(try HTTPURL("https://Example.COM./").host.nameForLookup == "example.com")
        #expect(try HTTPURL("https://example.com:443/").hostHeader == "example.com")
    }

    @Test func tooLong() {
        let long = "http://h/" + String(repeating: "a", count: HTTPURL.maximumLength)
        #expect(throws: HTTPURLError.tooLong(limit: HTTPURL.maximumLength)) { try HTTPURL(long) }
    }

    /// Found by HTTPClientFuzz (Fuzz/Seeds/HTTPClientFuzz/regression-url-too-long-once-encoded): a
    /// URL of 3 200 bytes whose path was mostly `` ` ``, `}` and non-ASCII bytes was accepted, but
    /// its percent-encoded form was longer than `maximumLength`, so its own text did not parse again.
    @Test func tooLongOnceEncoded() throws {
        let written = "http://h/" + String(repeating: "`", count: 3000)  // 3 009 bytes, 9 009 encoded
        #expect(throws: HTTPURLError.tooLong(limit: HTTPURL.maximumLength)) { try HTTPURL(written) }
        #expect(throws: HTTPURLError.tooLong(limit: HTTPURL.maximumLength)) { try HTTPURL("http://h/?" + String(repeating: "'", count: 3000)) }
        // Exactly the limit once encoded: accepted, and its text parses to the same URL.
        let encoded = (HTTPURL.maximumLength - "http://h/".utf8.count) / 3
        let fits = "http://h/" + String(repeating: "`", count: encoded) + String(repeating: "a", count: HTTPURL.maximumLength - "http://h/".utf8.count - 3 * encoded)
        let url = try HTTPURL(fits)
        #expect(url.description.utf8.count == HTTPURL.maximumLength)
        #expect(try HTTPURL(url.description) == url)
    }

    @Test func ipv6TextForms() {
        #expect(IPv6Address(text: "::ffff:127.0.0.1")?.description == "::ffff:7f00:1")
        #expect(IPv6Address(text: "fe80::1")?.pieces == [0xfe80, 0, 0, 0, 0, 0, 0, 1])
        #expect(IPv6Address(text: "1:2:3:4:5:6:7:8")?.description == "1:2:3:4:5:6:7:8")
        #expect(IPv6Address(text: "1:2:3:4:5:6:7:8:9") == nil)
        #expect(IPv6Address(text: "12345::") == nil)
        #expect(IPv6Address(text: ":1") == nil)
        #expect(IPv6Address(text: "1:") == nil)
        #expect(IPAddress(numeric: "10.0.0.1") == .v4(IPv4Address(10, 0, 0, 1)))
        #expect(IPAddress(numeric: "010.0.0.1") == nil)
        #expect(IPAddress(numeric: "127.1") == nil)
        #expect(IPAddress(numeric: "[::1]") == .v6(IPv6Address(high: 0, low: 1)))
        #expect(IPAddress(numeric: "fe80::1%eth0") == nil)
    }
}
