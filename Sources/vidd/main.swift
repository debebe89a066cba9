// vidd: argument parsing, configuration and signals only; the service lives in VideoService.
import Foundation
import Transcode
let version = "0.1.0"
let args = Array(CommandLine.arguments.dropFirst())
switch args.first {
case "version", "--version":
    print("vidd \(version)")
case "probe":
    guard args.count == 2 else { print("usage: vidd probe FILE"); exit(2) }
    do { print(try Prober.probe(args[1]).jsonString()) } catch { FileHandle.standardError.write(Data("vidd: \(error)\n".utf8)); exit(1) }
default:
    print("""
    usage: vidd <command>
      version    print the version
      probe FILE print the media properties of FILE as JSON
    (serve, worker, all, migrate, probe and transcode arrive with their issues)
    """)
}
