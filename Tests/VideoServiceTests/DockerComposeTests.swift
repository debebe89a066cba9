import Testing

/// docker-compose.yaml cannot run here (no Docker engine), so these tests check that it says what
/// README.md promises users: which services, images, ports and settings.
@Suite struct DockerComposeTests {
    /// The repository root, from this file's path (Tests/VideoServiceTests/DockerComposeTests.swift).
    static let composePath: String = {
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/") + "/docker-compose.yaml"
    }()

    let compose: ComposeFile

    init() throws {
        compose = try ComposeFile(path: Self.composePath)
    }

    private func service(_ name: String) throws -> ComposeFile.Service {
        try #require(compose.services[name], "docker-compose.yaml has no service \(name); it has \(compose.services.keys.sorted())")
    }

    @Test func namesTheServicesVideoNeeds() {
        #expect(Set(compose.services.keys).isSuperset(of: ["redis", "postgres", "minio", "minio-setup"]))
    }

    @Test(arguments: [
        ("redis", "redis:7", [6379]),
        ("postgres", "postgres:15", [5432]),
        ("minio", "minio/minio", [9000, 9001]),
    ])
    func imageAndPorts(name: String, image: String, ports: [Int]) throws {
        let s = try service(name)
        let actual = try #require(s.scalars["image"], "\(name) has no image")
        #expect(actual == image || actual.hasPrefix(image + ".") || actual.hasPrefix(image + ":") || actual.hasPrefix(image + "-"),
                "\(name): image \(actual), expected \(image)")
        #expect(s.publishedHostPorts == ports)
    }

    @Test func noTwoServicesPublishTheSameHostPort() {
        let ports = compose.services.values.flatMap(\.publishedHostPorts)
        #expect(ports.count == Set(ports).count, "ports: \(ports.sorted())")
    }

    @Test func redisKeepsAnAppendOnlyFileAndNeedsAPassword() throws {
        let args = try service("redis").arguments("command")
        let appendOnly = try #require(args.firstIndex(of: "--appendonly"), "command: \(args)")
        #expect(args.indices.contains(appendOnly + 1) && args[appendOnly + 1] == "yes", "command: \(args)")
        let password = try #require(args.firstIndex(of: "--requirepass"), "command: \(args)")
        #expect(args.indices.contains(password + 1) && !args[password + 1].isEmpty, "command: \(args)")
    }

    @Test func postgresUsesSCRAM() throws {
        let env = try #require(try service("postgres").maps["environment"], "postgres has no environment")
        #expect(env["POSTGRES_HOST_AUTH_METHOD"] == "scram-sha-256")
        #expect(env["POSTGRES_INITDB_ARGS"]?.contains("--auth-host=scram-sha-256") == true)
        #expect(env["POSTGRES_PASSWORD"]?.isEmpty == false)
    }

    @Test func minioGetsItsVideosBucket() throws {
        let minio = try service("minio")
        #expect(minio.maps["environment"]?["MINIO_ROOT_USER"]?.isEmpty == false)
        #expect(minio.maps["environment"]?["MINIO_ROOT_PASSWORD"]?.isEmpty == false)
        let setup = try service("minio-setup")
        #expect(setup.scalars["image"] == "minio/mc")
        #expect(setup.rawLines.contains { $0.hasPrefix("minio:") }, "minio-setup must wait for minio (depends_on)")
        #expect(setup.rawLines.contains { $0.contains("mc mb") && $0.contains("local/videos") },
                "minio-setup must create the bucket `videos`")
    }

    @Test func readerUnderstandsTheShapesItClaims() {
        let text = """
        version: "3"
        services:
          a:
            image: "x:1"   # comment
            command: ["run", "--flag", 'q,uoted']
            ports:
              - "127.0.0.1:80:8080"
              - 443:8443
            environment:
              K: "v # not a comment"
          b:
            image: y
        volumes:
          a-data:
        """
        let f = ComposeFile(text: text)
        #expect(f.services.keys.sorted() == ["a", "b"])
        #expect(f.services["a"]?.scalars["image"] == "x:1")
        #expect(f.services["a"]?.arguments("command") == ["run", "--flag", "q,uoted"])
        #expect(f.services["a"]?.publishedHostPorts == [80, 443])
        #expect(f.services["a"]?.maps["environment"]?["K"] == "v # not a comment")
        #expect(f.services["b"]?.scalars["image"] == "y")
    }
}
