import Testing
@testable import PGWire

/// libpq's host lists in URLs, and target_session_attrs / load_balance_hosts.
@Suite struct MultiHostConfigurationTests {
    typealias E = PGConfiguration.Endpoint

    static let vectors: [(String, [E])] = [
        ("postgres://u@h1:5432,h2:5433/db", [.tcp(host: "h1", port: 5432), .tcp(host: "h2", port: 5433)]),
        // A host without a port gets the default, as in libpq's URL form.
        ("postgres://u@h1,h2:5433/db", [.tcp(host: "h1", port: 5432), .tcp(host: "h2", port: 5433)]),
        ("postgres://u@h1,h2/db", [.tcp(host: "h1", port: 5432), .tcp(host: "h2", port: 5432)]),
        // IPv6 in brackets, commas inside brackets are not separators.
        ("postgres://u@[::1]:5433,[fe80::2],10.0.0.3:6000/db",
         [.tcp(host: "::1", port: 5433), .tcp(host: "fe80::2", port: 5432), .tcp(host: "10.0.0.3", port: 6000)]),
        // Keyword parameters: one port for all, or one per host; an empty item is the default.
        ("postgres://u@/db?host=a,b&port=6000", [.tcp(host: "a", port: 6000), .tcp(host: "b", port: 6000)]),
        ("postgres://u@/db?host=a,b&port=6000,6001", [.tcp(host: "a", port: 6000), .tcp(host: "b", port: 6001)]),
        ("postgres://u@/db?host=a,b&port=,6001", [.tcp(host: "a", port: 5432), .tcp(host: "b", port: 6001)]),
        ("postgres://u@/db?port=6001&host=a,b", [.tcp(host: "a", port: 6001), .tcp(host: "b", port: 6001)]),
        // Parameters replace the URL's list; percent-encoding; an empty host is localhost.
        ("postgres://u@x:1,y:2/db?host=a%2Cz", [.tcp(host: "a", port: 1), .tcp(host: "z", port: 2)]),
        ("postgres://u@,h2:7/db", [.tcp(host: "localhost", port: 5432), .tcp(host: "h2", port: 7)]),
        // Socket directories and TCP hosts mixed.
        ("postgres://u@%2Frun%2Fpg:5433,db.example:5432/d", [.unixSocket(path: "/run/pg/.s.PGSQL.5433"), .tcp(host: "db.example", port: 5432)]),
        ("postgres://u@/d?host=/run/pg,db&port=5433", [.unixSocket(path: "/run/pg/.s.PGSQL.5433"), .tcp(host: "db", port: 5433)]),
    ]

    @Test(arguments: vectors)
    func hostLists(_ url: String, _ expected: [E]) throws {
        let c = try PGConfiguration(url: url)
        #expect(c.endpoints == expected)
        #expect(c.endpoint == expected[0])
    }

    @Test(arguments: PGTargetSessionAttributes.allCases)
    func targetSessionAttrs(_ target: PGTargetSessionAttributes) throws {
        let c = try PGConfiguration(url: "postgres://u@h1,h2/db?target_session_attrs=\(target.rawValue)")
        #expect(c.targetSessionAttributes == target)
        #expect(c.runtimeParameters.isEmpty, "not sent to the server as a run-time parameter")
    }

    @Test func defaultsAndLoadBalancing() throws {
        let c = try PGConfiguration(url: "postgres://u@h/db")
        #expect(c.targetSessionAttributes == .any && !c.loadBalanceHosts && c.endpoints.count == 1)
        #expect(try PGConfiguration(url: "postgres://u@a,b/db?load_balance_hosts=random").loadBalanceHosts)
        var one = c
        one.endpoint = .tcp(host: "z", port: 1)
        #expect(one.endpoints == [.tcp(host: "z", port: 1)], "setting endpoint replaces the list")
    }

    @Test(arguments: [
        ("postgres://u@a,b,c/db?port=1,2", "could not match 2 port numbers to 3 hosts"),
        ("postgres://u@a:1,b:x/db", "invalid port x"),
        ("postgres://u@a:1,b:70000/db", "invalid port 70000"),
        ("postgres://u@[::1:5432/db", "unterminated"),
        ("postgres://u@[::1]x/db", "unexpected"),
        ("postgres://u@a,b/db?target_session_attrs=writable", "target_session_attrs writable"),
        ("postgres://u@a,b/db?load_balance_hosts=yes", "load_balance_hosts yes"),
        ("postgres://u@a,b/db?hostaddr=10.0.0.1", "hostaddr with several hosts"),
    ])
    func refuses(_ url: String, _ reason: String) {
        let error = #expect(throws: PGError.self) { try PGConfiguration(url: url) }
        #expect(error?.description.contains(reason) == true, "\(error.map { "\($0)" } ?? "no error") should say \(reason)")
    }
}

/// target_session_attrs as libpq checks it: reported parameters first, a query otherwise.
@Suite struct TargetSessionAttributesTests {
    typealias T = PGTargetSessionAttributes
    static let primary = ["in_hot_standby": "off", "default_transaction_read_only": "off"]
    static let fenced = ["in_hot_standby": "off", "default_transaction_read_only": "on"]
    static let standby = ["in_hot_standby": "on", "default_transaction_read_only": "off"]
    static let old: [String: String] = ["server_version": "13.9"]

    static let vectors: [(T, [String: String], Int, T.Check)] = [
        (.any, old, 1, .accept),
        (.readWrite, primary, 1, .accept),
        (.readWrite, fenced, 1, .reject("the server is read-only")),
        (.readWrite, standby, 1, .reject("the server is read-only")),
        (.readWrite, old, 1, .ask(T.readOnlyQuery)),
        (.readWrite, ["in_hot_standby": "off"], 1, .ask(T.readOnlyQuery)),
        (.readOnly, standby, 1, .accept),
        (.readOnly, fenced, 1, .accept),
        (.readOnly, primary, 1, .reject("the server accepts writes")),
        (.primary, fenced, 1, .accept),
        (.primary, standby, 1, .reject("the server is a standby (in recovery)")),
        (.primary, old, 1, .ask(T.recoveryQuery)),
        (.standby, standby, 1, .accept),
        (.standby, primary, 1, .reject("the server is not a standby")),
        (.preferStandby, standby, 1, .accept),
        (.preferStandby, primary, 1, .reject("the server is not a standby")),
        (.preferStandby, primary, 2, .accept),
        (.preferStandby, old, 1, .ask(T.recoveryQuery)),
    ]

    @Test(arguments: vectors)
    func checksReportedParameters(_ target: T, _ parameters: [String: String], _ pass: Int, _ expected: T.Check) {
        #expect(target.check(parameters: parameters, pass: pass) == expected)
    }

    @Test(arguments: [
        (T.readWrite, "off", T.readOnlyQuery, T.Check.accept),
        (.readWrite, "on", T.readOnlyQuery, .reject("the server is read-only")),
        (.readOnly, "on", T.readOnlyQuery, .accept),
        (.primary, "f", T.recoveryQuery, .accept),
        (.primary, "t", T.recoveryQuery, .reject("the server is a standby (in recovery)")),
        (.standby, "t", T.recoveryQuery, .accept),
        (.preferStandby, "f", T.recoveryQuery, .reject("the server is not a standby")),
        (.readWrite, "maybe", T.readOnlyQuery, .reject("unexpected answer \"maybe\" to SHOW transaction_read_only")),
    ])
    func checksQueryAnswers(_ target: T, _ answer: String, _ query: String, _ expected: T.Check) {
        #expect(target.check(answer: answer, to: query) == expected)
    }

    /// A session coming back to a pool: dropped only when what it reported says it no longer
    /// suits the target; unknown (an old server) keeps it; `prefer-standby` keeps any session, as
    /// its second pass accepts any server.
    @Test(arguments: [
        (T.any, standby, true),
        (.readWrite, primary, true),
        (.readWrite, fenced, false),
        (.readWrite, standby, false),
        (.readWrite, old, true),
        (.readOnly, primary, false),
        (.readOnly, fenced, true),
        (.primary, standby, false),
        (.primary, fenced, true),
        (.standby, primary, false),
        (.standby, old, true),
        (.preferStandby, primary, true),
        (.preferStandby, standby, true),
    ])
    func aPooledSessionStillSuits(_ target: T, _ parameters: [String: String], _ expected: Bool) {
        #expect(target.stillSuits(parameters: parameters) == expected)
    }

    static let readOnlyTransaction = PGError.server(PGServerError(fields: [0x43: "25006", 0x4D: "cannot execute INSERT in a read-only transaction"]))
    static let uniqueViolation = PGError.server(PGServerError(fields: [0x43: "23505", 0x4D: "duplicate key value violates unique constraint"]))

    /// After a request failed on a pooled session: a server refusing writes (25006, a demoted or
    /// fenced primary) is left whatever the target; another server error, with a target, means
    /// check the session before its next use; anything but a server error is not about the server.
    @Test(arguments: [
        (T.any, readOnlyTransaction, T.AfterRequestFailure.close),
        (.readWrite, readOnlyTransaction, .close),
        (.preferStandby, readOnlyTransaction, .close),
        (.any, uniqueViolation, .keep),
        (.readWrite, uniqueViolation, .checkBeforeReuse),
        (.primary, uniqueViolation, .checkBeforeReuse),
        (.standby, uniqueViolation, .checkBeforeReuse),
        (.readWrite, .connectionClosed("reset"), .keep),
        (.readWrite, .queryTimeout, .keep),
    ] as [(T, PGError, T.AfterRequestFailure)])
    func whatAFailedRequestMeansForItsSession(_ target: T, _ error: PGError, _ expected: T.AfterRequestFailure) {
        #expect(target.afterRequestFailure(error) == expected)
    }

    @Test func anErrorThatIsNotPGErrorIsNotAboutTheServer() {
        #expect(T.readWrite.afterRequestFailure(CancellationError()) == .keep)
    }

    @Test func hostsAreTriedInOrderThenAStandbyIsPreferred() {
        let a = PGConfiguration.Endpoint.tcp(host: "a", port: 1), b = PGConfiguration.Endpoint.tcp(host: "b", port: 2)
        let c = PGConfiguration.Endpoint.tcp(host: "c", port: 3)
        var s = PGHostSelection(endpoints: [a, b, c], target: .preferStandby)
        #expect(s.next()! == (a, 1))
        #expect(s.connectFailed(a, .network("connection refused")) == .tryNext)
        #expect(s.next()! == (b, 1))
        s.rejected(b, pass: 1, "the server is not a standby")
        #expect(s.next()! == (c, 1))
        s.rejected(c, pass: 1, "the server is not a standby")
        // Second pass: only the hosts that answered, accepting any.
        #expect(s.next()! == (b, 2))
        #expect(s.next()! == (c, 2))
        #expect(s.next() == nil)

        var w = PGHostSelection(endpoints: [a, b], target: .readWrite)
        _ = w.next()
        w.rejected(a, pass: 1, "the server is read-only")
        _ = w.next()
        #expect(w.connectFailed(b, .network("timed out")) == .tryNext)
        #expect(w.next() == nil, "one pass for read-write")
        guard case .noUsableServer(let text) = w.failure else { Issue.record("\(w.failure)"); return }
        #expect(text == "none of 2 hosts could be used (target_session_attrs=read-write): a:1: the server is read-only; b:2: PostgreSQL network error: timed out")
    }

    @Test(arguments: [
        (PGError.authentication("SCRAM server proof mismatch"), PGHostSelection.AfterFailure.stop),
        (.server(PGServerError(fields: [0x43: "28P01", 0x4D: "password authentication failed"])), .stop),
        (.server(PGServerError(fields: [0x43: "57P03", 0x4D: "the database system is starting up"])), .tryNext),
        (.server(PGServerError(fields: [0x43: "53300", 0x4D: "too many connections"])), .tryNext),
        (.connectionClosed("reset"), .tryNext),
        (.tls("certificate verify failed"), .tryNext),
        (.invalidConfiguration("sslmode verify-full needs a root certificate"), .stop),
    ])
    func whichFailuresEndTheSearch(_ error: PGError, _ expected: PGHostSelection.AfterFailure) {
        var s = PGHostSelection(endpoints: [.tcp(host: "a", port: 1), .tcp(host: "b", port: 2)], target: .any)
        _ = s.next()
        #expect(s.connectFailed(.tcp(host: "a", port: 1), error) == expected)
    }
}
