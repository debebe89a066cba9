import Testing
@testable import RESP

/// The watcher's catch-up after (re)subscribing to a sentinel: what the sentinel names and what
/// the named server says it is decide whether the client leaves its current master.
@Suite struct SentinelCatchUpTests {
    typealias Address = RESPSentinelAddress
    typealias Step = SentinelCatchUp.Step
    static let current = Address(host: "10.0.1.2", port: 6379)
    static let other = Address(host: "10.0.1.1", port: 6379)

    static func addressReply(_ a: Address) -> RESPValue { .array([.bulkString(Array(a.host.utf8)), .bulkString(Array(String(a.port).utf8))]) }
    static let unknownName = RESPValue.null
    static let refused = RESPValue.error(RESPServerError(line: "NOAUTH Authentication required."))
    static let malformed = RESPValue.array([.bulkString(Array("10.0.1.1".utf8))])

    /// (current master, the sentinel's reply, role of the named server) → what happens. The role
    /// is asked only when the sentinel names another server; nil means unreachable or unknown.
    static let vectors: [(Address?, RESPValue, String?, [Step])] = [
        // The sentinel agrees: nothing to check.
        (current, addressReply(current), nil, [.stay]),
        // A missed switch: the named server is the master now.
        (current, addressReply(other), "master", [.checkRole(other), .move(other)]),
        // A lagging sentinel names the old master, now a replica: stay.
        (current, addressReply(other), "replica", [.checkRole(other), .stay]),
        // Unreachable, or a role not reported: no reason to leave a working master.
        (current, addressReply(other), nil, [.checkRole(other), .stay]),
        (current, addressReply(other), "sentinel", [.checkRole(other), .stay]),
        // Nothing usable named.
        (current, unknownName, nil, [.stay]),
        (current, refused, nil, [.stay]),
        (current, malformed, nil, [.stay]),
        // No master yet: nothing to leave (discovery finds one).
        (nil, addressReply(other), "master", [.stay]),
    ]

    @Test(arguments: vectors)
    func decides(_ master: Address?, _ reply: RESPValue, _ role: String?, _ expected: [Step]) {
        var catchUp = SentinelCatchUp(currentMaster: master)
        var steps = [catchUp.named(reply)]
        if case .checkRole = steps[0] { steps.append(catchUp.role(role)) }
        #expect(steps == expected)
    }

    @Test func aRoleWithoutACandidateIsNoMove() {
        #expect(SentinelCatchUp(currentMaster: Self.current).role("master") == .stay)
    }
}
