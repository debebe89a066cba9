import Foundation
import RESP
import Testing
import TestSupport
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService

/// deploy/kubernetes/ says what the code does: parsed (PyYAML, through python3), every `VIDD_*`
/// it sets is one the configuration reads and its values load, probes and ports are the ones vidd
/// serves, termination outlasts the shutdown grace, and KEDA watches the stream and group vidd uses.
@Suite struct KubernetesManifestTests {
    typealias Object = [String: Any]

    /// Every document of every manifest the kustomization lists, by kind and name.
    static func load() async throws -> [Object]? {
        let dir = DeployFilesTests.root + "/deploy/kubernetes"
        let script = """
            import json, sys, yaml
            out = []
            for path in sys.argv[1:]:
                with open(path) as f:
                    out.append([d for d in yaml.safe_load_all(f) if d is not None])
            print(json.dumps(out))
            """
        guard (try? await TestProcess.run(["python3", "-c", "import yaml"]))?.status == 0 else {
            _ = try TestServices.require(nil, "python3 with PyYAML (Debian: python3-yaml)")
            return nil
        }
        let kustomization = try await TestProcess.run(["python3", "-c", script, dir + "/kustomization.yaml"])
        let top = try JSONSerialization.jsonObject(with: kustomization.output) as? [[Object]]
        let resources = try #require(top?.first?.first?["resources"] as? [String])
        let r = try await TestProcess.run(["python3", "-c", script] + resources.map { dir + "/" + $0 })
        guard r.status == 0 else { throw FileFixture.Failure(description: "YAML: \(String(decoding: r.errorOutput, as: UTF8.self))") }
        let files = try #require(try JSONSerialization.jsonObject(with: r.output) as? [[Object]])
        return files.flatMap { $0 }
    }

    static func find(_ objects: [Object], _ kind: String, _ name: String) throws -> Object {
        try #require(objects.first { $0["kind"] as? String == kind && ($0["metadata"] as? Object)?["name"] as? String == name },
                     "\(kind)/\(name) in deploy/kubernetes")
    }

    static func dig(_ object: Any?, _ path: String) -> Any? {
        var current = object
        for key in path.split(separator: ".") {
            if let i = Int(key), let array = current as? [Any] { current = i < array.count ? array[i] : nil } else {
                current = (current as? Object)?[String(key)]
            }
        }
        return current
    }

    /// `VIDD_*` names the configuration reads: the string literals of Configuration.swift.
    static func knownSettings() throws -> Set<String> {
        let source = try DeployFilesTests.read("Sources/VideoCore/Configuration/Configuration.swift")
        let regex = try Regex(#""(VIDD_[A-Z0-9_]+)""#)
        return Set(source.matches(of: regex).compactMap { $0.output[1].substring.map(String.init) })
    }

    /// The environment a container gets: envFrom's ConfigMap and Secret, then its own env.
    static func environment(of container: Object, _ objects: [Object]) throws -> [String: String] {
        var env: [String: String] = [:]
        for source in container["envFrom"] as? [Object] ?? [] {
            if let name = dig(source, "configMapRef.name") as? String {
                for (k, v) in try find(objects, "ConfigMap", name)["data"] as? [String: String] ?? [:] { env[k] = v }
            }
            if let name = dig(source, "secretRef.name") as? String {
                for (k, v) in try find(objects, "Secret", name)["stringData"] as? [String: String] ?? [:] { env[k] = v }
            }
        }
        for item in container["env"] as? [Object] ?? [] {
            if let name = item["name"] as? String, let value = item["value"] as? String { env[name] = value }
        }
        return env
    }

    @Test func everySettingIsKnownAndLoads() async throws {
        guard let objects = try await Self.load() else { return }
        let known = try Self.knownSettings()
        #expect(known.contains("VIDD_HEALTH_LISTEN") && known.contains("VIDD_REDIS_URL") && known.count > 20)
        for name in ["vidd-api", "vidd-worker"] {
            let deployment = try Self.find(objects, "Deployment", name)
            let container = try #require(Self.dig(deployment, "spec.template.spec.containers.0") as? Object)
            let env = try Self.environment(of: container, objects)
            let unknown = env.keys.filter { !known.contains($0) }
            #expect(unknown.isEmpty, "\(name) sets settings vidd does not read: \(unknown.sorted())")
            // The values themselves load: the sentinel URL, the host list, every number.
            let configuration = try Configuration.load(from: env)
            #expect(configuration.redisURL.hasPrefix("redis-sentinel://"))
            #expect(configuration.databaseURL.contains("target_session_attrs=read-write"))
            #expect(!configuration.mediaSigning.keys.isEmpty, "private videos can be made")
            // The command parses, and a Secret never lands in the ConfigMap.
            let args = try #require(container["args"] as? [String])
            #expect(throws: Never.self) { try DaemonCommand.parse(args) }
            let config = try Self.find(objects, "ConfigMap", "vidd-config")["data"] as? [String: String] ?? [:]
            for secret in configuration.secrets { #expect(!config.values.contains { $0.contains(secret) }, "a secret in the ConfigMap") }
        }
    }

    @Test func probesAndPortsAreTheOnesVidServes() async throws {
        guard let objects = try await Self.load() else { return }
        // The API: VIDD_LISTEN's port, /healthz for liveness, /readyz for readiness, a Service on it.
        let api = try #require(Self.dig(try Self.find(objects, "Deployment", "vidd-api"), "spec.template.spec.containers.0") as? Object)
        let apiConfig = try Configuration.load(from: try Self.environment(of: api, objects))
        let apiPort = try #require((api["ports"] as? [Object])?.first { $0["name"] as? String == "http" })
        #expect(apiPort["containerPort"] as? Int == apiConfig.listen.port)
        #expect(apiConfig.listen.host == "0.0.0.0", "reachable from the kubelet and the Service")
        #expect(Self.dig(api, "livenessProbe.httpGet.path") as? String == "/healthz")
        #expect(Self.dig(api, "readinessProbe.httpGet.path") as? String == "/readyz")
        for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
            #expect(Self.dig(api, "\(probe).httpGet.port") as? String == "http")
            let path = try #require(Self.dig(api, "\(probe).httpGet.path") as? String)
            guard case .found(let route, _) = APIRoutes.match(method: "GET", path: path) else { Issue.record("no route \(path)"); continue }
            #expect([.healthz, .readyz].contains(route.handler))
        }
        let service = try Self.find(objects, "Service", "vidd-api")
        #expect(Self.dig(service, "spec.ports.0.targetPort") as? String == "http")
        #expect((Self.dig(service, "spec.selector") as? [String: String])?.allSatisfy {
            (Self.dig(try? Self.find(objects, "Deployment", "vidd-api"), "spec.template.metadata.labels") as? [String: String])?[$0.key] == $0.value
        } == true, "the Service selects the API pods")

        // The worker: VIDD_HEALTH_LISTEN's port, /healthz for liveness, served by HealthService.
        let worker = try #require(Self.dig(try Self.find(objects, "Deployment", "vidd-worker"), "spec.template.spec.containers.0") as? Object)
        let workerConfig = try Configuration.load(from: try Self.environment(of: worker, objects))
        let health = try #require(workerConfig.healthListen, "a worker-only process needs VIDD_HEALTH_LISTEN for its liveness probe")
        let healthPort = try #require((worker["ports"] as? [Object])?.first { $0["name"] as? String == "health" })
        #expect(healthPort["containerPort"] as? Int == health.port)
        #expect(Self.dig(worker, "livenessProbe.httpGet.path") as? String == "/healthz")
        #expect(Self.dig(worker, "livenessProbe.httpGet.port") as? String == "health")
        #expect(HealthService.routes.contains { $0.path == "/healthz" })
        #expect(worker["readinessProbe"] == nil, "nothing routes to a worker")
    }

    @Test func terminationOutlastsTheShutdownGraceAndDisruptionsAreBudgeted() async throws {
        guard let objects = try await Self.load() else { return }
        for name in ["vidd-api", "vidd-worker"] {
            let deployment = try Self.find(objects, "Deployment", name)
            let container = try #require(Self.dig(deployment, "spec.template.spec.containers.0") as? Object)
            let grace = try Configuration.load(from: try Self.environment(of: container, objects)).shutdownGrace
            let termination = try #require(Self.dig(deployment, "spec.template.spec.terminationGracePeriodSeconds") as? Int)
            #expect(Duration.seconds(termination) > grace + .seconds(5), "\(name): SIGKILL \(termination) s after SIGTERM, grace \(grace)")
            // Requests sized, a memory limit.
            #expect(Self.dig(container, "resources.requests.cpu") != nil && Self.dig(container, "resources.requests.memory") != nil)
            #expect(Self.dig(container, "resources.limits.memory") != nil)
            // A PodDisruptionBudget selects these pods.
            let labels = try #require(Self.dig(deployment, "spec.template.metadata.labels") as? [String: String])
            let budget = try Self.find(objects, "PodDisruptionBudget", name)
            let selector = try #require(Self.dig(budget, "spec.selector.matchLabels") as? [String: String])
            #expect(selector.allSatisfy { labels[$0.key] == $0.value }, "\(name)'s budget selects its pods")
            #expect(Self.dig(budget, "spec.minAvailable") != nil || Self.dig(budget, "spec.maxUnavailable") != nil)
        }
    }

    @Test func kedaScalesTheWorkersOnTheirStreamAndGroup() async throws {
        guard let objects = try await Self.load() else { return }
        let scaled = try Self.find(objects, "ScaledObject", "vidd-worker")
        #expect(Self.dig(scaled, "spec.scaleTargetRef.name") as? String == "vidd-worker")
        let minimum = try #require(Self.dig(scaled, "spec.minReplicaCount") as? Int)
        let maximum = try #require(Self.dig(scaled, "spec.maxReplicaCount") as? Int)
        #expect(minimum >= 1 && maximum > minimum)
        #expect((Self.dig(scaled, "spec.cooldownPeriod") as? Int ?? 0) > 0)

        let worker = try #require(Self.dig(try Self.find(objects, "Deployment", "vidd-worker"), "spec.template.spec.containers.0") as? Object)
        let configuration = try Configuration.load(from: try Self.environment(of: worker, objects))
        let sentinel = try #require(try RESPConfigurationProbe.sentinel(configuration.redisURL))
        let triggers = try #require(Self.dig(scaled, "spec.triggers") as? [Object])
        #expect(Set(triggers.compactMap { Self.dig($0, "metadata.lagCount") != nil ? "lag" : Self.dig($0, "metadata.pendingEntriesCount") != nil ? "pending" : nil })
                == ["lag", "pending"], "the backlog scales out; running jobs keep their workers")
        for trigger in triggers {
            #expect(trigger["type"] as? String == "redis-sentinel-streams")
            #expect(Self.dig(trigger, "metadata.stream") as? String == configuration.keys.jobStream)
            #expect(Self.dig(trigger, "metadata.consumerGroup") as? String == configuration.keys.consumerGroup)
            #expect(Self.dig(trigger, "metadata.sentinelMaster") as? String == sentinel.master)
            #expect(Self.dig(trigger, "metadata.addresses") as? String == sentinel.addresses, "KEDA asks the sentinels vidd asks")
            let auth = try #require(Self.dig(trigger, "authenticationRef.name") as? String)
            let triggerAuth = try Self.find(objects, "TriggerAuthentication", auth)
            for ref in Self.dig(triggerAuth, "spec.secretTargetRef") as? [Object] ?? [] {
                let secret = try Self.find(objects, "Secret", try #require(ref["name"] as? String))
                #expect((secret["stringData"] as? [String: String])?[ref["key"] as? String ?? ""] != nil, "\(ref)")
            }
        }
    }
}

/// The sentinels and master name of a `redis-sentinel://` URL, as RESP parses it.
enum RESPConfigurationProbe {
    static func sentinel(_ url: String) throws -> (master: String, addresses: String)? {
        guard let s = try RESPConfiguration(url: url).sentinel else { return nil }
        return (s.settings.masterName, s.settings.sentinels.map(\.description).joined(separator: ","))
    }
}
