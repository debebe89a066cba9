import Testing
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService
@testable import VideoWorker

@Suite struct MetricsTests {
    /// A strict reader of the Prometheus text format (0.0.4): HELP/TYPE before samples, sample
    /// syntax, label quoting, numbers, and histogram consistency.
    struct Exposition {
        struct Sample: Equatable { var name: String; var labels: [String: String]; var value: Double }
        var types: [String: String] = [:]
        var samples: [Sample] = []

        struct Bad: Error, CustomStringConvertible { var line: String; var description: String { "bad line: \(line)" } }

        init(_ text: String) throws {
            #expect(text.hasSuffix("\n"))
            for line in text.split(separator: "\n") {
                if line.hasPrefix("# HELP ") { continue }
                if line.hasPrefix("# TYPE ") {
                    let parts = line.split(separator: " ")
                    guard parts.count == 4, ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[3]) else { throw Bad(line: String(line)) }
                    types[String(parts[2])] = String(parts[3])
                    continue
                }
                guard !line.hasPrefix("#") else { continue }
                var rest = Substring(line)
                let name = String(rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == ":" })
                rest = rest.dropFirst(name.count)
                var labels: [String: String] = [:]
                if rest.first == "{" {
                    rest = rest.dropFirst()
                    while rest.first != "}" {
                        let key = String(rest.prefix { $0 != "=" })
                        rest = rest.dropFirst(key.count)
                        guard rest.hasPrefix("=\"") else { throw Bad(line: String(line)) }
                        rest = rest.dropFirst(2)
                        var value = ""
                        while let c = rest.first, c != "\"" {
                            rest = rest.dropFirst()
                            if c == "\\" { let e = rest.removeFirst(); value.append(e == "n" ? "\n" : e) } else { value.append(c) }
                        }
                        guard rest.first == "\"" else { throw Bad(line: String(line)) }
                        rest = rest.dropFirst()
                        if rest.first == "," { rest = rest.dropFirst() }
                        labels[key] = value
                    }
                    rest = rest.dropFirst()
                }
                guard rest.first == " " else { throw Bad(line: String(line)) }
                let valueText = rest.dropFirst()
                guard let value = valueText == "+Inf" ? Double.infinity : Double(valueText) else { throw Bad(line: String(line)) }
                let family = types[name] != nil ? name : String(name.split(separator: "_").dropLast().joined(separator: "_"))
                guard types[name] != nil || types[family] == "histogram" else { throw Bad(line: "sample before its TYPE: \(line)") }
                samples.append(Sample(name: name, labels: labels, value: value))
            }
        }

        func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
            samples.first { $0.name == name && $0.labels == labels }?.value
        }
    }

    @Test func rendersAndParsesBack() throws {
        let r = MetricsRegistry()
        ServiceMetrics.registerAll(in: r)
        r.increment(ServiceMetrics.httpRequests, labels: [("route", "/videos"), ("status", "200")])
        r.increment(ServiceMetrics.httpRequests, by: 2, labels: [("status", "200"), ("route", "/videos")])
        r.increment(ServiceMetrics.httpRequests, labels: [("route", "/weird \"q\"\n"), ("status", "404")])
        r.set(ServiceMetrics.jobsActive, 3)
        r.observe(ServiceMetrics.httpDuration, 0.003, labels: [("route", "/videos")])
        r.observe(ServiceMetrics.httpDuration, 0.2, labels: [("route", "/videos")])
        r.observe(ServiceMetrics.httpDuration, 30, labels: [("route", "/videos")])
        r.increment(ServiceMetrics.jobsCompleted, by: 1.5)

        let e = try Exposition(r.render())
        #expect(e.types[ServiceMetrics.httpRequests] == "counter")
        #expect(e.types[ServiceMetrics.jobsActive] == "gauge")
        #expect(e.types[ServiceMetrics.httpDuration] == "histogram")
        #expect(e.value(ServiceMetrics.httpRequests, ["route": "/videos", "status": "200"]) == 3)
        #expect(e.value(ServiceMetrics.httpRequests, ["route": "/weird \"q\"\n", "status": "404"]) == 1)
        #expect(e.value(ServiceMetrics.jobsActive) == 3)
        #expect(e.value(ServiceMetrics.jobsCompleted) == 1.5)
        let h = ServiceMetrics.httpDuration
        #expect(e.value(h + "_bucket", ["route": "/videos", "le": "0.001"]) == 0)
        #expect(e.value(h + "_bucket", ["route": "/videos", "le": "0.005"]) == 1)
        #expect(e.value(h + "_bucket", ["route": "/videos", "le": "0.25"]) == 2)
        #expect(e.value(h + "_bucket", ["route": "/videos", "le": "10"]) == 2)
        #expect(e.value(h + "_bucket", ["route": "/videos", "le": "+Inf"]) == 3)
        #expect(e.value(h + "_count", ["route": "/videos"]) == 3)
        #expect(abs((e.value(h + "_sum", ["route": "/videos"]) ?? 0) - 30.203) < 1e-9)
        // Buckets are cumulative and end at the count.
        let buckets = e.samples.filter { $0.name == h + "_bucket" }.map(\.value)
        #expect(buckets == buckets.sorted())
    }

    @Test func unregisteredMetricsAreIgnored() {
        let r = MetricsRegistry()
        r.increment("nope")
        #expect(r.render() == "")
    }

    @Test func numbers() {
        #expect(MetricsRegistry.number(3) == "3")
        #expect(MetricsRegistry.number(0.25) == "0.25")
        #expect(MetricsRegistry.number(.infinity) == "+Inf")
        #expect(MetricsRegistry.number(.nan) == "NaN")
        #expect(MetricsRegistry.isValidName("vidd_http_requests_total") && !MetricsRegistry.isValidName("9x") && !MetricsRegistry.isValidName("a-b"))
    }
}
