// vidd: argument parsing, configuration and signals only; the service lives in VideoService.
import Foundation
import Transcode

let version = "0.1.0"
let args = Array(CommandLine.arguments.dropFirst())
let usage = """
usage: vidd <command>
  version                                   print the version
  probe FILE                                print the media properties of FILE as JSON
  transcode FILE -o DIR [--preset P] [--rungs 720,360]
                                            encode the ladder (MP4, HLS, poster, storyboard) into DIR
(serve, worker, all and migrate arrive with their issues)
"""

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("vidd: \(message)\n\(usage)\n".utf8))
    exit(2)
}

switch args.first {
case "version", "--version":
    print("vidd \(version)")
case "probe":
    guard args.count == 2 else { fail("probe takes one FILE") }
    exit(TranscodeCommand.probe(args[1]))
case "transcode":
    var file: String? = nil, output: String? = nil, preset: String? = nil, rungs: [Int]? = nil
    var i = 1
    while i < args.count {
        let a = args[i]
        func value() -> String {
            guard i + 1 < args.count else { fail("\(a) needs a value") }
            i += 1
            return args[i]
        }
        switch a {
        case "-o", "--output": output = value()
        case "--preset": preset = value()
        case "--rungs":
            let list = value().split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "p", with: "")) }
            guard list.allSatisfy({ $0 != nil }) else { fail("--rungs takes numbers like 720,360") }
            rungs = list.compactMap { $0 }
        default:
            if a.hasPrefix("-") || file != nil { fail("unexpected argument \(a)") }
            file = a
        }
        i += 1
    }
    guard let file, let output else { fail("transcode needs FILE and -o DIR") }
    exit(TranscodeCommand.transcode(source: file, outputDirectory: output, preset: preset, rungs: rungs))
default:
    print(usage)
}
