import Testing
@testable import VideoCore

/// The settings of issue 14's edges: upload size and stall limits, where submissions may read
/// sources from, and where workers keep their per-job files.
@Suite struct EdgeSettingsTests {
    @Test func defaults() throws {
        let c = try Configuration.load(from: [:])
        #expect(c.maxUploadBytes == 20 << 30)
        #expect(c.bodyTimeout == .seconds(30))
        #expect(c.sourcePrefixes == ["source/"])
        #expect(c.workDirectory == "/tmp")
        #expect(try Configuration.load(from: ["TMPDIR": "/var/tmp/"]).workDirectory == "/var/tmp", "$TMPDIR, as for any temporary file")
        #expect(try Configuration.load(from: ["TMPDIR": "relative"]).workDirectory == "/tmp")
    }

    @Test func readsThem() throws {
        let c = try Configuration.load(from: [
            "VIDD_MAX_UPLOAD_BYTES": "1048576", "VIDD_BODY_TIMEOUT_SECONDS": "5",
            "VIDD_SOURCE_PREFIXES": "source/, incoming/uploads/", "VIDD_WORK_DIR": "/srv/vidd-work/", "TMPDIR": "/var/tmp",
        ])
        #expect(c.maxUploadBytes == 1 << 20 && c.bodyTimeout == .seconds(5))
        #expect(c.sourcePrefixes == ["source/", "incoming/uploads/"])
        #expect(c.workDirectory == "/srv/vidd-work")
    }

    @Test(arguments: [
        ("VIDD_MAX_UPLOAD_BYTES", "1000", "must be between 1048576 and 1125899906842624"),
        ("VIDD_MAX_UPLOAD_BYTES", "20G", "must be a whole number"),
        ("VIDD_BODY_TIMEOUT_SECONDS", "0", "must be between 1 and 3600"),
        ("VIDD_SOURCE_PREFIXES", "processed/", "processed/ overlaps processed/, where outputs are stored"),
        ("VIDD_SOURCE_PREFIXES", "source", "source is not a key prefix ending in /, e.g. source/"),
        ("VIDD_SOURCE_PREFIXES", "../x/", "../x/ is not a key prefix ending in /, e.g. source/"),
        ("VIDD_SOURCE_PREFIXES", ",", "must name at least one prefix, e.g. source/"),
        ("VIDD_WORK_DIR", "work", "must be an absolute path without .."),
    ])
    func refusesBadValues(variable: String, value: String, message: String) {
        do {
            _ = try Configuration.load(from: [variable: value])
            Issue.record("accepted \(variable)=\(value)")
        } catch {
            #expect(error.problems.map(\.message) == [message], "\(variable)=\(value): \(error)")
        }
    }
}
