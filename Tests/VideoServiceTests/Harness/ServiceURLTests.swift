import Testing

@Suite struct ServiceURLTests {
    @Test func redisWithPasswordOnly() throws {
        let url = try #require(ServiceURL("redis://:s3cr%2Bt@127.0.0.1:6390"))
        #expect(url == ServiceURL(scheme: "redis", user: nil, password: "s3cr+t", host: "127.0.0.1", port: 6390, path: ""))
    }

    @Test func postgresWithUserAndDatabase() throws {
        let url = try #require(ServiceURL("postgres://app:pw@localhost:5433/postgres"))
        #expect(url.user == "app" && url.password == "pw" && url.host == "localhost" && url.port == 5433 && url.path == "/postgres")
    }

    @Test func bracketedIPv6AndNoPort() throws {
        let url = try #require(ServiceURL("http://[::1]/"))
        #expect(url.host == "::1" && url.port == nil && url.path == "/")
    }

    @Test(arguments: ["127.0.0.1:80", "http://", "http://host:0", "http://host:99999", "http://[::1"])
    func rejectsMalformed(text: String) {
        #expect(ServiceURL(text) == nil)
    }
}
