import HTTPClientCodec
import Reactor
import Testing
@testable import VideoCore

/// The SSRF guard as a pure function: URL text and the addresses a lookup would return in,
/// allowed or the refusing rule out. No test here opens a connection.
@Suite struct OutboundPolicyTests {
    struct Vector: Sendable, CustomStringConvertible {
        var url: String
        var resolved: [String] = []
        var allow: String = ""
        /// "ok", or the rule's name.
        var expected: String
        var description: String { "\(url) \(resolved) allow=\(allow)" }
    }

    static func decide(_ v: Vector) throws -> String {
        let policy = OutboundPolicy(allowList: try OutboundAllowList(parsing: v.allow))
        let addresses = v.resolved.map { IPAddress(numeric: $0)! }
        switch policy.decide(text: v.url, resolved: addresses) {
        case .success: return "ok"
        case .failure(let refusal): return refusal.rule.rawValue
        }
    }

    /// Every special-purpose block (IANA's IPv4 and IPv6 registries), as a literal in the URL.
    static let literals: [Vector] = [
        Vector(url: "http://0.0.0.0/", expected: "unspecified"),
        Vector(url: "http://0.1.2.3/", expected: "unspecified"),
        Vector(url: "http://10.0.0.1/", expected: "private"),
        Vector(url: "http://10.255.255.255/", expected: "private"),
        Vector(url: "http://100.64.0.1/", expected: "cgnat"),
        Vector(url: "http://100.127.255.254/", expected: "cgnat"),
        Vector(url: "http://100.100.100.200/", expected: "cloud_metadata"),
        Vector(url: "http://127.0.0.1/", expected: "loopback"),
        Vector(url: "http://127.255.255.254/", expected: "loopback"),
        Vector(url: "http://169.254.0.1/", expected: "link_local"),
        Vector(url: "http://169.254.169.254/latest/meta-data/", expected: "cloud_metadata"),
        Vector(url: "http://169.254.170.2/", expected: "cloud_metadata"),
        Vector(url: "http://172.16.0.1/", expected: "private"),
        Vector(url: "http://172.31.255.255/", expected: "private"),
        Vector(url: "http://192.0.0.8/", expected: "reserved"),
        Vector(url: "http://192.0.0.192/", expected: "cloud_metadata"),
        Vector(url: "http://192.0.2.1/", expected: "documentation"),
        Vector(url: "http://192.88.99.1/", expected: "reserved"),
        Vector(url: "http://192.168.1.1/", expected: "private"),
        Vector(url: "http://198.18.0.1/", expected: "benchmarking"),
        Vector(url: "http://198.19.255.255/", expected: "benchmarking"),
        Vector(url: "http://198.51.100.7/", expected: "documentation"),
        Vector(url: "http://203.0.113.9/", expected: "documentation"),
        Vector(url: "http://224.0.0.1/", expected: "multicast"),
        Vector(url: "http://239.255.255.250/", expected: "multicast"),
        Vector(url: "http://240.0.0.1/", expected: "reserved"),
        Vector(url: "http://255.255.255.254/", expected: "reserved"),
        Vector(url: "http://255.255.255.255/", expected: "broadcast"),
        // Neighbours of the blocks are public.
        Vector(url: "http://9.255.255.255/", expected: "ok"),
        Vector(url: "http://11.0.0.1/", expected: "ok"),
        Vector(url: "http://100.63.255.255/", expected: "ok"),
        Vector(url: "http://100.128.0.0/", expected: "ok"),
        Vector(url: "http://126.255.255.255/", expected: "ok"),
        Vector(url: "http://128.0.0.1/", expected: "ok"),
        Vector(url: "http://172.15.255.255/", expected: "ok"),
        Vector(url: "http://172.32.0.0/", expected: "ok"),
        Vector(url: "http://192.167.255.255/", expected: "ok"),
        Vector(url: "http://198.20.0.0/", expected: "ok"),
        Vector(url: "http://223.255.255.255/", expected: "ok"),
        Vector(url: "http://93.184.215.14/", expected: "ok"),
        // IPv6.
        Vector(url: "http://[::]/", expected: "unspecified"),
        Vector(url: "http://[::1]/", expected: "loopback"),
        Vector(url: "http://[::ffff:127.0.0.1]/", expected: "loopback"),
        Vector(url: "http://[::ffff:7f00:1]/", expected: "loopback"),
        Vector(url: "http://[::ffff:10.0.0.1]/", expected: "private"),
        Vector(url: "http://[::ffff:169.254.169.254]/", expected: "cloud_metadata"),
        Vector(url: "http://[::ffff:93.184.215.14]/", expected: "ok"),
        Vector(url: "http://[::ffff:0:127.0.0.1]/", expected: "reserved"),
        Vector(url: "http://[::127.0.0.1]/", expected: "reserved"),
        Vector(url: "http://[64:ff9b::127.0.0.1]/", expected: "loopback"),
        Vector(url: "http://[64:ff9b::a9fe:a9fe]/", expected: "cloud_metadata"),
        Vector(url: "http://[64:ff9b::93.184.215.14]/", expected: "ok"),
        Vector(url: "http://[64:ff9b:1::1]/", expected: "private"),
        Vector(url: "http://[100::1]/", expected: "reserved"),
        Vector(url: "http://[2001::1]/", expected: "reserved"),
        Vector(url: "http://[2001:1::1]/", expected: "reserved"),
        Vector(url: "http://[2001:2::1]/", expected: "benchmarking"),
        Vector(url: "http://[2001:10::1]/", expected: "reserved"),
        Vector(url: "http://[2001:1ff::1]/", expected: "reserved"),
        Vector(url: "http://[2001:200::1]/", expected: "ok"),
        Vector(url: "http://[2001:db8::1]/", expected: "documentation"),
        Vector(url: "http://[2002:7f00:1::1]/", expected: "loopback"),
        Vector(url: "http://[2002:c0a8:101::1]/", expected: "private"),
        Vector(url: "http://[2002:5db8:d70e::1]/", expected: "ok"),
        Vector(url: "http://[3fff::1]/", expected: "documentation"),
        Vector(url: "http://[5f00::1]/", expected: "reserved"),
        Vector(url: "http://[fc00::1]/", expected: "private"),
        Vector(url: "http://[fd00::1]/", expected: "private"),
        Vector(url: "http://[fd00:ec2::254]/", expected: "cloud_metadata"),
        Vector(url: "http://[fe80::1]/", expected: "link_local"),
        Vector(url: "http://[febf::1]/", expected: "link_local"),
        Vector(url: "http://[fec0::1]/", expected: "private"),
        Vector(url: "http://[ff02::1]/", expected: "multicast"),
        Vector(url: "http://[4000::1]/", expected: "reserved"),
        Vector(url: "http://[1::1]/", expected: "reserved"),
        Vector(url: "http://[2606:4700::1111]/", expected: "ok"),
    ]

    /// Every spelling of loopback and unspecified a URL parser accepts, and what is not a URL to fetch.
    static let spellings: [Vector] = [
        Vector(url: "file:///etc/passwd", expected: "scheme"),
        Vector(url: "ftp://example.com/a.mp4", expected: "scheme"),
        Vector(url: "gopher://example.com/", expected: "scheme"),
        Vector(url: "dict://example.com:11211/", expected: "scheme"),
        Vector(url: "HTTPS://example.com/a.mp4", resolved: ["93.184.215.14"], expected: "ok"),
        Vector(url: "example.com/a.mp4", expected: "invalid_url"),
        Vector(url: "http://127.1/", expected: "loopback"),
        Vector(url: "http://127.0.1/", expected: "loopback"),
        Vector(url: "http://2130706433/", expected: "loopback"),
        Vector(url: "http://0x7f000001/", expected: "loopback"),
        Vector(url: "http://0x7f.0.0.1/", expected: "loopback"),
        Vector(url: "http://0177.0.0.1/", expected: "loopback"),
        Vector(url: "http://017700000001/", expected: "loopback"),
        Vector(url: "http://127.0.0.1./", expected: "loopback"),
        Vector(url: "http://%31%32%37.0.0.1/", expected: "loopback"),
        Vector(url: "http://0/", expected: "unspecified"),
        Vector(url: "http://0x0/", expected: "unspecified"),
        Vector(url: "http://3232235777/", expected: "private"),
        Vector(url: "http://2852039166/", expected: "cloud_metadata"),
        Vector(url: "http://localhost/", expected: "local_name"),
        Vector(url: "http://LOCALHOST:8080/", expected: "local_name"),
        Vector(url: "http://localhost./", expected: "local_name"),
        Vector(url: "http://api.localhost/", expected: "local_name"),
        Vector(url: "http://%6c%6f%63%61%6c%68%6f%73%74/", expected: "local_name"),
        Vector(url: "http://good@127.0.0.1/", expected: "loopback"),
        Vector(url: "http://good.example@evil.example/", resolved: ["93.184.215.14"], expected: "userinfo"),
        Vector(url: "http://user:pass@example.com/", resolved: ["93.184.215.14"], expected: "userinfo"),
        Vector(url: "http://[::1%25lo]/", expected: "invalid_url"),
        Vector(url: "http://[fe80::1%eth0]/", expected: "invalid_url"),
        Vector(url: "http://example.com\\@127.0.0.1/", expected: "invalid_url"),
        Vector(url: "http:127.0.0.1/", expected: "invalid_url"),
        Vector(url: "http://exämple.com/", expected: "invalid_url"),
    ]

    /// Names: every address they resolve to is checked.
    static let names: [Vector] = [
        Vector(url: "https://media.example/a.mp4", resolved: ["93.184.215.14"], expected: "ok"),
        Vector(url: "https://media.example/a.mp4", resolved: ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"], expected: "ok"),
        Vector(url: "https://media.example/", resolved: ["93.184.215.14", "10.0.0.1"], expected: "private"),
        Vector(url: "https://media.example/", resolved: ["2606:4700::1", "::1"], expected: "loopback"),
        Vector(url: "https://media.example/", resolved: ["::ffff:127.0.0.1"], expected: "loopback"),
        Vector(url: "http://metadata.google.internal/", resolved: ["169.254.169.254"], expected: "cloud_metadata"),
        Vector(url: "http://nip.example/", resolved: ["100.64.0.1"], expected: "cgnat"),
        Vector(url: "http://media.example/", resolved: ["fd00::1"], expected: "private"),
        Vector(url: "http://media.example/", resolved: ["fe80::1"], expected: "link_local"),
        Vector(url: "http://media.example/", resolved: ["224.0.0.251"], expected: "multicast"),
        Vector(url: "http://media.example/", resolved: ["0.0.0.0"], expected: "unspecified"),
    ]

    /// What VIDD_INGEST_ALLOW admits, and what it does not.
    static let allowList: [Vector] = [
        Vector(url: "http://127.0.0.2:9000/a.mp4", allow: "127.0.0.2/32", expected: "ok"),
        Vector(url: "http://127.0.0.3:9000/a.mp4", allow: "127.0.0.2/32", expected: "loopback"),
        Vector(url: "http://127.0.0.1/", allow: "127.0.0.2/32", expected: "loopback"),
        Vector(url: "http://[::ffff:127.0.0.2]/", allow: "127.0.0.2/32", expected: "ok"),
        Vector(url: "http://0x7f000002/", allow: "127.0.0.2", expected: "ok"),
        Vector(url: "http://10.1.2.3/", allow: "10.1.0.0/16, fd00::/8", expected: "ok"),
        Vector(url: "http://10.2.0.1/", allow: "10.1.0.0/16, fd00::/8", expected: "private"),
        Vector(url: "http://[fd12::1]/", allow: "10.1.0.0/16, fd00::/8", expected: "ok"),
        Vector(url: "http://minio.internal:9000/", resolved: ["10.9.9.9"], allow: "minio.internal", expected: "ok"),
        Vector(url: "http://MINIO.internal.:9000/", resolved: ["10.9.9.9"], allow: "minio.internal", expected: "ok"),
        Vector(url: "http://other.internal/", resolved: ["10.9.9.9"], allow: "minio.internal", expected: "private"),
        Vector(url: "http://localhost:9000/", resolved: ["127.0.0.1"], allow: "localhost", expected: "ok"),
        Vector(url: "http://localhost:9000/", resolved: ["127.0.0.1"], allow: "127.0.0.0/8", expected: "local_name"),
        Vector(url: "http://media.example/", resolved: ["10.0.0.5"], allow: "10.0.0.0/24", expected: "ok"),
        Vector(url: "http://media.example/", resolved: ["10.0.0.5", "10.0.1.5"], allow: "10.0.0.0/24", expected: "private"),
        // The allow list never admits credentials or other schemes.
        Vector(url: "http://u:p@127.0.0.2/", allow: "127.0.0.2/32", expected: "userinfo"),
        Vector(url: "file:///etc/passwd", allow: "127.0.0.0/8, localhost", expected: "scheme"),
    ]

    @Test(arguments: literals) func literalAddresses(_ v: Vector) throws { #expect(try Self.decide(v) == v.expected) }
    @Test(arguments: spellings) func spellingsAndSchemes(_ v: Vector) throws { #expect(try Self.decide(v) == v.expected) }
    @Test(arguments: names) func resolvedNames(_ v: Vector) throws { #expect(try Self.decide(v) == v.expected) }
    @Test(arguments: allowList) func allowListEntries(_ v: Vector) throws { #expect(try Self.decide(v) == v.expected) }

    @Test func refusalsSayWhatAndHow() throws {
        let policy = OutboundPolicy()
        guard case .failure(let r) = policy.decide(text: "http://[::ffff:127.0.0.1]:8080/x", resolved: []) else { Issue.record("allowed"); return }
        #expect(r.description == "refused (rule loopback): ::ffff:7f00:1 (IPv4-mapped ::ffff:0:0/96) embeds 127.0.0.1, which is in 127.0.0.0/8 (loopback); an operator can admit it with VIDD_INGEST_ALLOW")
        guard case .failure(let n) = policy.decide(text: "https://media.example/", resolved: [IPAddress(numeric: "10.1.2.3")!]) else { Issue.record("allowed"); return }
        #expect(n.message == "media.example resolves to 10.1.2.3: 10.1.2.3 is in 10.0.0.0/8 (private-use); an operator can admit it with VIDD_INGEST_ALLOW")
        guard case .failure(let s) = policy.decide(text: "file:///etc/passwd", resolved: []) else { Issue.record("allowed"); return }
        #expect(s.message == "scheme file is not allowed: only http and https URLs can be fetched")
    }

    @Test func allowListParsing() throws {
        let list = try OutboundAllowList(parsing: " 127.0.0.2/32 , fd00::/8,10.0.0.7, Minio.Internal., ")
        #expect(list.networks.map(\.description) == ["127.0.0.2/32", "fd00::/8", "10.0.0.7/32"])
        #expect(list.names == ["minio.internal"])
        #expect(try OutboundAllowList(parsing: "").isEmpty)
        for bad in ["10.0.0.0/33", "127.1", "0x7f000001", "fd00::/129", "a b", "10.0.0.0/8/8", "http://x"] {
            #expect(throws: OutboundAllowList.ParseError.self, "\(bad)") { try OutboundAllowList(parsing: bad) }
        }
        // The block is reduced to its first address.
        #expect(IPNetwork(cidr: "10.1.2.3/8")?.description == "10.0.0.0/8")
    }

    /// The dialer looks the name up (here: the system resolver on names that need no DNS server),
    /// checks what it got, and returns exactly the checked addresses.
    @Test func guardedDialerResolvesThenChecksEveryAddress() async throws {
        let refusing = GuardedDialer(policy: OutboundPolicy())
        await #expect(throws: OutboundRefusal.self) { _ = try await refusing.addresses(for: try HTTPURL("http://127.0.0.1/")) }
        // A name resolved to a private address (the resolver stands in for DNS: no traffic).
        let fake = GuardedDialer(policy: OutboundPolicy()) { _, port in [SocketAddress(ipAddress: "10.0.0.1", port: port)!] }
        do {
            _ = try await fake.addresses(for: try HTTPURL("http://media.example/"))
            Issue.record("a private address was returned")
        } catch let refusal as OutboundRefusal {
            #expect(refusal.rule == .private)
        }
        let mixed = GuardedDialer(policy: OutboundPolicy()) { _, port in
            [SocketAddress(ipAddress: "93.184.215.14", port: port)!, SocketAddress(ipAddress: "169.254.169.254", port: port)!]
        }
        await #expect(throws: OutboundRefusal.self) { _ = try await mixed.addresses(for: try HTTPURL("http://media.example/")) }
        let allowed = GuardedDialer(policy: OutboundPolicy()) { _, port in [SocketAddress(ipAddress: "93.184.215.14", port: port)!] }
        let out = try await allowed.addresses(for: try HTTPURL("https://media.example/"))
        #expect(out.map(\.description) == ["93.184.215.14:443"])
        // An allow-listed loopback literal comes back as written, with its port.
        let listed = GuardedDialer(policy: OutboundPolicy(allowList: try OutboundAllowList(parsing: "127.0.0.2/32")))
        #expect(try await listed.addresses(for: try HTTPURL("http://0x7f000002:9/")).map(\.description) == ["127.0.0.2:9"])
    }
}
