import Testing
@testable import RESP

/// The discovery decisions, with the replies sentinels and masters send.
@Suite struct SentinelDiscoveryTests {
    typealias Address = RESPSentinelAddress
    static let s1 = Address(host: "10.0.0.1", port: 26379)
    static let s2 = Address(host: "10.0.0.2", port: 26379)
    static let s3 = Address(host: "10.0.0.3", port: 26379)
    static let old = Address(host: "10.0.1.1", port: 6379)
    static let new = Address(host: "10.0.1.2", port: 6379)

    static func addressReply(_ a: Address) -> RESPValue { .array([.bulkString(Array(a.host.utf8)), .bulkString(Array(String(a.port).utf8))]) }

    @Test func firstSentinelNamesTheMaster() {
        var round = SentinelDiscovery(sentinels: [Self.s1, Self.s2], masterName: "m")
        #expect(round.nextSentinel() == Self.s1)
        #expect(round.received(Self.addressReply(Self.old), from: Self.s1) == .tryMaster(Self.old))
        #expect(round.masterRole("master", at: Self.old) == .found)
        #expect(round.answeredBy == Self.s1)
        #expect(round.nextSentinel() == nil, "the round ends at the first master")
    }

    /// A sentinel that has not heard of the failover names the old master, now a replica; the
    /// next sentinel names the new one.
    @Test func staleSentinelIsPassedOver() {
        var round = SentinelDiscovery(sentinels: [Self.s1, Self.s2, Self.s3], masterName: "m")
        _ = round.nextSentinel()
        #expect(round.received(Self.addressReply(Self.old), from: Self.s1) == .tryMaster(Self.old))
        #expect(round.masterRole("replica", at: Self.old) == .askNext)
        #expect(round.nextSentinel() == Self.s2)
        // Another stale sentinel naming the same server is not tried twice.
        #expect(round.received(Self.addressReply(Self.old), from: Self.s2) == .askNext)
        #expect(round.nextSentinel() == Self.s3)
        #expect(round.received(Self.addressReply(Self.new), from: Self.s3) == .tryMaster(Self.new))
        #expect(round.masterRole("master", at: Self.new) == .found)
        #expect(round.answeredBy == Self.s3)
    }

    @Test func unreachableSentinelsAndUnknownNames() {
        var round = SentinelDiscovery(sentinels: [Self.s1, Self.s2, Self.s3], masterName: "m")
        _ = round.nextSentinel()
        round.sentinelFailed(Self.s1, RESPClientError.connectFailed(endpoint: "10.0.0.1:26379", underlying: "refused"))
        _ = round.nextSentinel()
        #expect(round.received(.null, from: Self.s2) == .askNext)
        _ = round.nextSentinel()
        #expect(round.received(.array([.bulkString(Array("x".utf8))]), from: Self.s3) == .askNext, "malformed")
        #expect(round.nextSentinel() == nil)
        guard case .connectFailed(let endpoint, let detail) = round.failure as? RESPClientError else {
            Issue.record("\(round.failure)"); return
        }
        #expect(endpoint.contains("master m via sentinels 10.0.0.1:26379,10.0.0.2:26379,10.0.0.3:26379"))
        #expect(detail.contains("refused") && detail.contains("does not know a master named m") && detail.contains("unexpected reply"))
    }

    /// Every sentinel refusing our credentials is the server's error (not retried blindly); the
    /// master refusing them ends the round at once.
    @Test func authenticationFailuresAreReportedAsSuch() {
        let wrongpass = RESPServerError(line: "WRONGPASS invalid username-password pair or user is disabled.")
        var round = SentinelDiscovery(sentinels: [Self.s1, Self.s2], masterName: "m")
        while let s = round.nextSentinel() { round.sentinelFailed(s, wrongpass) }
        #expect(round.failure as? RESPServerError == wrongpass)

        var master = SentinelDiscovery(sentinels: [Self.s1, Self.s2], masterName: "m")
        _ = master.nextSentinel()
        _ = master.received(Self.addressReply(Self.old), from: Self.s1)
        master.masterFailed(Self.old, wrongpass)
        #expect(master.nextSentinel() == nil)
        #expect(master.failure as? RESPServerError == wrongpass)

        // A refusal by one sentinel among reachable ones is just that sentinel's problem.
        var mixed = SentinelDiscovery(sentinels: [Self.s1, Self.s2], masterName: "m")
        _ = mixed.nextSentinel()
        mixed.sentinelFailed(Self.s1, wrongpass)
        _ = mixed.nextSentinel()
        _ = mixed.received(.null, from: Self.s2)
        #expect(mixed.failure is RESPClientError)
    }

    @Test(arguments: [
        (RESPValue.array([.bulkString(Array("127.0.0.1".utf8)), .bulkString(Array("6379".utf8))]), Address?.some(Address(host: "127.0.0.1", port: 6379))),
        (RESPValue.array([.simpleString("::1"), .integer(7000)]), Address?.some(Address(host: "::1", port: 7000))),
        (RESPValue.null, Address?.none),
    ])
    func readsMasterAddresses(_ reply: RESPValue, _ expected: Address?) throws {
        #expect(try SentinelDiscovery.masterAddress(in: reply).get() == expected)
    }

    @Test(arguments: [
        RESPValue.array([.bulkString(Array("h".utf8))]),
        .array([.bulkString(Array("h".utf8)), .bulkString(Array("0".utf8))]),
        .array([.bulkString([]), .bulkString(Array("1".utf8))]),
        .integer(3),
        .error(RESPServerError(line: "ERR unknown command")),
    ])
    func refusesMalformedAddresses(_ reply: RESPValue) {
        #expect(throws: RESPClientError.self) { try SentinelDiscovery.masterAddress(in: reply).get() }
    }

    @Test func rolesFromHelloAndROLE() {
        let hello = RESPValue.map([RESPPair(.bulkString(Array("server".utf8)), .bulkString(Array("redis".utf8))),
                                   RESPPair(.bulkString(Array("role".utf8)), .bulkString(Array("master".utf8)))])
        #expect(SentinelDiscovery.role(inHello: hello) == "master")
        let replicaHello = RESPValue.map([RESPPair(.simpleString("role"), .simpleString("replica"))])
        #expect(SentinelDiscovery.role(inHello: replicaHello) == "replica")
        #expect(SentinelDiscovery.role(inHello: .null) == nil)
        #expect(SentinelDiscovery.role(inROLE: .array([.bulkString(Array("master".utf8)), .integer(0), .array([])])) == "master")
        #expect(SentinelDiscovery.role(inROLE: .array([.bulkString(Array("slave".utf8)), .bulkString(Array("h".utf8))])) == "replica")
        #expect(SentinelDiscovery.role(inROLE: .array([.bulkString(Array("sentinel".utf8))])) == "sentinel")
    }

    @Test func orderOfTheSentinels() {
        var list = SentinelList([Self.s1, Self.s2, Self.s1, Self.s3])
        #expect(list.addresses == [Self.s1, Self.s2, Self.s3])
        list.promote(Self.s3)
        #expect(list.addresses == [Self.s3, Self.s1, Self.s2])
        list.promote(Self.s3)
        #expect(list.addresses == [Self.s3, Self.s1, Self.s2])
        #expect(list.learn([Self.s2, Address(host: "10.0.0.4", port: 26379)]) == 1)
        #expect(list.addresses.last == Address(host: "10.0.0.4", port: 26379))
    }

    @Test(arguments: [
        ("+switch-master", "mymaster 127.0.0.1 17001 127.0.0.1 17002",
         SentinelEvent?.some(.switchMaster(name: "mymaster", from: Address(host: "127.0.0.1", port: 17001), to: Address(host: "127.0.0.1", port: 17002)))),
        ("+switch-master", "mymaster 127.0.0.1 17001 127.0.0.1", nil),
        ("+switch-master", "mymaster a x b 2", nil),
        ("+sdown", "master mymaster 127.0.0.1 17001", nil),
    ])
    func switchMasterMessages(_ channel: String, _ payload: String, _ expected: SentinelEvent?) {
        #expect(SentinelEvent(channel: channel, payload: payload) == expected)
    }

    @Test func otherSentinelsFromTheirReply() {
        func entry(_ ip: String, _ port: String) -> RESPValue {
            .map([RESPPair(.bulkString(Array("name".utf8)), .bulkString(Array("x".utf8))),
                  RESPPair(.bulkString(Array("ip".utf8)), .bulkString(Array(ip.utf8))),
                  RESPPair(.bulkString(Array("port".utf8)), .bulkString(Array(port.utf8)))])
        }
        // RESP2 sentinels send flat arrays; RESP3 ones maps. A malformed entry is skipped.
        let flat = RESPValue.array([.bulkString(Array("ip".utf8)), .bulkString(Array("10.0.0.9".utf8)),
                                    .bulkString(Array("port".utf8)), .bulkString(Array("26379".utf8))])
        let reply = RESPValue.array([entry("10.0.0.2", "26379"), entry("", "1"), flat, entry("h", "x")])
        #expect(SentinelEvent.sentinels(in: reply) == [Self.s2, Address(host: "10.0.0.9", port: 26379)])
    }

    @Test(arguments: [("READONLY", true), ("UNBLOCKED", true), ("ERR", false), ("WRONGTYPE", false), ("MASTERDOWN", false)])
    func demotionReplies(_ code: String, _ demoted: Bool) {
        #expect(SentinelDiscovery.meansDemoted(RESPServerError(code: code, message: "x")) == demoted)
    }
}
