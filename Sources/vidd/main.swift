// vidd: argument parsing, configuration and signals only; the service lives in VideoService.
let version = "0.1.0"
let args = CommandLine.arguments.dropFirst()
switch args.first {
case "version", "--version":
    print("vidd \(version)")
default:
    print("""
    usage: vidd <command>
      version    print the version
    (serve, worker, all, migrate, probe and transcode arrive with their issues)
    """)
}
