import Testing
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService
@testable import VideoWorker

/// docker-compose.yaml's vidd services (api, worker): built from the Dockerfile, wired to the
/// other services with the same credentials those services are given.
@Suite struct DockerComposeServiceTests {
    let compose: ComposeFile

    init() throws {
        compose = try ComposeFile(path: DockerComposeTests.composePath)
    }

    private func service(_ name: String) throws -> ComposeFile.Service {
        try #require(compose.services[name], "docker-compose.yaml has no service \(name)")
    }

    @Test func apiAndWorkerRunVidd() throws {
        let api = try service("api")
        let worker = try service("worker")
        #expect(api.scalars["build"] == ".")
        #expect(api.scalars["image"] == worker.scalars["image"], "the worker runs the image the api builds")
        #expect(api.arguments("command") == ["serve"])
        #expect(worker.arguments("command") == ["worker"])
        #expect(api.publishedHostPorts == [8080])
        #expect(worker.publishedHostPorts.isEmpty)
        #expect(api.maps["environment"]?["VIDD_LISTEN"] == "0.0.0.0:8080")
        for name in ["redis:", "postgres:", "minio-setup:"] {
            #expect(api.rawLines.contains(name), "api waits for \(name)")
        }
    }

    @Test(arguments: ["api", "worker"])
    func credentialsMatchTheServices(name: String) throws {
        let env = try #require(try service(name).maps["environment"])
        // Every value the service reads is valid configuration.
        let vidd = env.filter { $0.key.hasPrefix("VIDD_") }
        _ = try Configuration.load(from: vidd)

        let redisArgs = try service("redis").arguments("command")
        let redisPassword = redisArgs[try #require(redisArgs.firstIndex(of: "--requirepass")) + 1]
        #expect(env["VIDD_REDIS_URL"] == "redis://:\(redisPassword)@redis:6379")

        let pg = try #require(try service("postgres").maps["environment"])
        #expect(env["VIDD_DATABASE_URL"] == "postgres://\(pg["POSTGRES_USER"]!):\(pg["POSTGRES_PASSWORD"]!)@postgres:5432/\(pg["POSTGRES_DB"]!)")

        let minio = try #require(try service("minio").maps["environment"])
        #expect(env["VIDD_STORAGE"] == "s3")
        #expect(env["VIDD_S3_ENDPOINT"] == "http://minio:9000")
        #expect(env["VIDD_S3_ACCESS_KEY"] == minio["MINIO_ROOT_USER"])
        #expect(env["VIDD_S3_SECRET_KEY"] == minio["MINIO_ROOT_PASSWORD"])
        #expect(env["VIDD_S3_BUCKET"] == "videos")
    }

    @Test func workerGetsTimeToFinishAJob() throws {
        let worker = try service("worker")
        let grace = Int(try #require(worker.maps["environment"]?["VIDD_SHUTDOWN_GRACE_SECONDS"])) ?? 0
        let stop = try #require(worker.scalars["stop_grace_period"])
        #expect(stop.hasSuffix("s") && (Int(stop.dropLast()) ?? 0) > grace, "docker must wait longer than the worker's grace period")
    }
}
