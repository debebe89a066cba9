// vidd: the command line goes to VideoService's Daemon, which parses it, loads the configuration,
// handles signals and runs the API, the worker, or both.
import VideoService
#if canImport(Glibc)
import Glibc
#endif

let version = "0.2.0"
exit(await Daemon.main(arguments: Array(CommandLine.arguments.dropFirst()), version: version))
