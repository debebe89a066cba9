import Foundation
import HTTPServer
import Testing

/// One case of the parser corpus (Tests/HTTPServerTests/Corpus/*.md), in the shape of llhttp's
/// test/request/*.md: a `## title`, an optional `limits:` line, a ```http block of raw bytes and a
/// ```log block of the expected events.
///
/// In the ```http block, line breaks of the file are ignored: every byte is spelled, with the escapes
/// `\r \n \t \\ \xHH`. So `GET / HTTP/1.1\r\n` is exactly those 16 bytes — a bare `\n` is visible.
struct ParserCorpusCase: Sendable, CustomTestStringConvertible {
    var file: String
    var title: String
    var input: [UInt8]
    var expected: [String]
    var limits: HTTPParserLimits
    var bodyLimit: HTTPBodyLimitKind

    var testDescription: String { "\(file): \(title)" }

    static func loadAll() -> [ParserCorpusCase] {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Corpus")
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return files.filter { $0.hasSuffix(".md") }.sorted().flatMap { name in
            let text = (try? String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)) ?? ""
            return parse(file: name, text: text)
        }
    }

    static func parse(file: String, text: String) -> [ParserCorpusCase] {
        var cases: [ParserCorpusCase] = []
        var current: ParserCorpusCase?
        var block: String?
        var blockLines: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if let kind = block {
                if line == "```" {
                    if kind == "http" { current?.input = unescape(blockLines.joined()) }
                    if kind == "log" { current?.expected = blockLines.filter { !$0.isEmpty } }
                    block = nil
                    blockLines = []
                } else {
                    blockLines.append(line)
                }
            } else if line.hasPrefix("## ") {
                if let c = current { cases.append(c) }
                current = ParserCorpusCase(
                    file: file, title: String(line.dropFirst(3)), input: [], expected: [],
                    limits: HTTPParserLimits(), bodyLimit: .collected)
            } else if line.hasPrefix("```") {
                block = String(line.dropFirst(3))
            } else if line.hasPrefix("limits:") {
                for setting in line.dropFirst(7).split(separator: " ") {
                    let kv = setting.split(separator: "=")
                    guard kv.count == 2 else { continue }
                    let value = Int(kv[1]) ?? 0
                    switch kv[0] {
                    case "maxRequestTargetLength": current?.limits.maxRequestTargetLength = value
                    case "maxHeaderBytes": current?.limits.maxHeaderBytes = value
                    case "maxHeaderCount": current?.limits.maxHeaderCount = value
                    case "maxCollectedBodyBytes": current?.limits.maxCollectedBodyBytes = value
                    case "maxStreamedBodyBytes": current?.limits.maxStreamedBodyBytes = value
                    case "maxChunkLineLength": current?.limits.maxChunkLineLength = value
                    case "body": current?.bodyLimit = kv[1] == "streamed" ? .streamed : .collected
                    default: fatalError("unknown limit \(kv[0]) in \(file)")
                    }
                }
            }
        }
        if let c = current { cases.append(c) }
        return cases
    }

    static func unescape(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        var bytes = Array(s.utf8)[...]
        while let c = bytes.popFirst() {
            guard c == 0x5C, let e = bytes.popFirst() else {
                out.append(c)
                continue
            }
            switch e {
            case UInt8(ascii: "r"): out.append(13)
            case UInt8(ascii: "n"): out.append(10)
            case UInt8(ascii: "t"): out.append(9)
            case UInt8(ascii: "x"):
                let hex = String(decoding: bytes.prefix(2), as: UTF8.self)
                bytes = bytes.dropFirst(2)
                out.append(UInt8(hex, radix: 16)!)
            default: out.append(e)
            }
        }
        return out
    }
}

/// Runs the parser over `input` delivered in pieces of `chunkSize` bytes (the pieces accumulate in a
/// pending buffer, as a connection's read buffer does) and renders the events as log lines.
func runParser(_ c: ParserCorpusCase, chunkSize: Int) -> [String] {
    var parser = HTTPRequestParser(limits: c.limits)
    var log: [String] = []
    var body: [UInt8] = []
    var pending: [UInt8] = []
    func flushBody() {
        if !body.isEmpty { log.append("body \"\(render(body))\"") }
        body = []
    }
    var position = 0
    while position < c.input.count {
        let end = min(position + chunkSize, c.input.count)
        pending.append(contentsOf: c.input[position..<end])
        position = end
        var offset = 0
        do {
            while true {
                let step = try pending.withUnsafeBytes { p in
                    try parser.parse(UnsafeRawBufferPointer(rebasing: p[offset...]))
                }
                defer { offset += step.consumed }
                guard let event = step.event else { break }
                switch event {
                case .head(let head):
                    flushBody()
                    log.append("head \(head.method) \(head.target) \(head.version)")
                    for field in head.headers { log.append("header \(field.name): \(field.value)") }
                    switch head.framing {
                    case .none: log.append("framing none")
                    case .contentLength(let n): log.append("framing length \(n)")
                    case .chunked: log.append("framing chunked")
                    }
                    log.append(head.keepAlive ? "keep-alive" : "close")
                    if head.expectsContinue { log.append("expect-continue") }
                    parser.setBodyLimit(c.bodyLimit)
                case .body(let range):
                    body.append(contentsOf: pending[(offset + range.lowerBound)..<(offset + range.upperBound)])
                case .end(let trailers):
                    flushBody()
                    for field in trailers { log.append("trailer \(field.name): \(field.value)") }
                    log.append("end")
                }
            }
        } catch let error as HTTPParseError {
            flushBody()
            log.append("error \(error.status.code) \(error.kind.rawValue)")
            return log
        } catch {
            log.append("unexpected \(error)")
            return log
        }
        pending.removeFirst(offset)
    }
    flushBody()
    if !parser.isIdle { log.append("incomplete") }
    return log
}

private func render(_ bytes: [UInt8]) -> String {
    var s = ""
    for b in bytes {
        switch b {
        case 13: s += "\\r"
        case 10: s += "\\n"
        case 0x5C: s += "\\\\"
        case 0x22: s += "\\\""
        case 0x20..<0x7F: s.unicodeScalars.append(Unicode.Scalar(b))
        default: s += "\\x" + (b < 16 ? "0" : "") + String(b, radix: 16)
        }
    }
    return s
}
